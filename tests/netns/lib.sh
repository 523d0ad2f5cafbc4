# Shared helpers of the netns tests; sourced by each test script.
#
# Each test builds its own namespaces, named after the test and its pid,
# so tests can run in parallel; a trap removes everything on exit. All
# traffic stays inside the namespaces.
#
# Topology (nsbridge holds a Linux bridge and acts as the client/observer):
#
#   [ns A] eth0 10.77.0.1 ---.
#                             br0 (10.77.0.254) in [ns BR]
#   [ns B] eth0 10.77.0.2 ---'      (+ more hosts with add_host)

set -u

NETNS_SKIP=77
T_NAME=${T_NAME:-$(basename "$0" .sh)}
T_ID="${T_NAME}-$$"
T_DIR=$(mktemp -d "/tmp/${T_ID}.XXXX")
T_NS=()
T_PIDS=()
T_FAILED=0

CARPD=${CARPD:?CARPD must point at the carpd binary}
REDUNDCTL=${REDUNDCTL:?REDUNDCTL must point at the redundctl binary}

skip_or_fail() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI=true, cannot run): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit $NETNS_SKIP
}

require_netns() {
	[ "$(id -u)" -eq 0 ] || skip_or_fail "needs root (network namespaces)"
	command -v ip >/dev/null || skip_or_fail "needs iproute2"
	ip netns add "${T_ID}-probe" 2>/dev/null || skip_or_fail "cannot create network namespaces"
	ip netns del "${T_ID}-probe"
}

require_cmd() {
	local c
	for c in "$@"; do
		[ -x "$c" ] || command -v "$c" >/dev/null || skip_or_fail "needs $c"
	done
}

# require_scapy: python3 with scapy, for the tests that inject packets.
require_scapy() {
	require_cmd /usr/bin/python3
	/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip_or_fail "needs python3-scapy"
}

cleanup() {
	local p ns
	for p in "${T_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for ns in "${T_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$T_FAILED" = 0 ] && [ "${KEEP_LOGS:-0}" != 1 ]; then
		rm -rf "$T_DIR"
	else
		echo "logs kept in $T_DIR" >&2
	fi
}
trap cleanup EXIT

fail() {
	T_FAILED=1
	echo "FAIL: $*" >&2
	local f
	for f in "$T_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

ok() {
	echo "ok: $*"
}

# ns NAME: the full namespace name of a short name.
ns() { echo "${T_ID}-$1"; }

# in_ns NAME cmd...: run a command in a namespace.
in_ns() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@"
}

# make_bridge: the bridge namespace BR with br0 10.77.0.254/24 and fd77::fe/64.
make_bridge() {
	ip netns add "$(ns BR)" || fail "cannot create namespace"
	T_NS+=("$(ns BR)")
	in_ns BR ip link set lo up
	in_ns BR ip link add br0 type bridge
	in_ns BR sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	in_ns BR sysctl -qw net.ipv6.conf.br0.accept_dad=0
	# No multicast snooping: a bridge then floods CARP like a plain switch.
	in_ns BR ip link set br0 type bridge mcast_snooping 0
	in_ns BR ip addr add 10.77.0.254/24 dev br0
	in_ns BR ip addr add fd77::fe/64 dev br0 nodad
	in_ns BR ip link set br0 up
}

# add_host NAME N: namespace NAME with eth0 10.77.0.N/24, fd77::N/64, on br0.
add_host() {
	local name=$1 n=$2
	ip netns add "$(ns "$name")" || fail "cannot create namespace"
	T_NS+=("$(ns "$name")")
	in_ns "$name" ip link set lo up
	in_ns "$name" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip link add "v${n}-$$" netns "$(ns BR)" type veth peer name eth0 netns "$(ns "$name")" ||
		fail "cannot create veth"
	in_ns BR ip link set "v${n}-$$" master br0 up
	# No address learning: the bridge floods every frame like a hub, so a capture
	# on br0 sees unicast between hosts too.
	in_ns BR bridge link set dev "v${n}-$$" learning off
	in_ns "$name" ip addr add "10.77.0.$n/24" dev eth0
	in_ns "$name" ip addr add "fd77::$n/64" dev eth0 nodad
	in_ns "$name" ip link set eth0 up
}

# make_bridge2: a second bridge, br1 in BR with 10.78.0.254/24 (a WAN beside br0's LAN).
make_bridge2() {
	in_ns BR ip link add br1 type bridge
	in_ns BR ip link set br1 type bridge mcast_snooping 0
	in_ns BR ip addr add 10.78.0.254/24 dev br1
	in_ns BR ip link set br1 up
}

# add_link NAME N: eth1 in NAME with 10.78.0.N/24 on br1; its bridge end in BR is
# "w${N}-$$" (set it down to cut NAME's second link).
add_link() {
	local name=$1 n=$2
	ip link add "w${n}-$$" netns "$(ns BR)" type veth peer name eth1 netns "$(ns "$name")" ||
		fail "cannot create veth"
	in_ns BR ip link set "w${n}-$$" master br1 up
	in_ns BR bridge link set dev "w${n}-$$" learning off
	in_ns "$name" ip addr add "10.78.0.$n/24" dev eth1
	in_ns "$name" ip link set eth1 up
}

# wait_link_local NAME: until eth0 has a usable IPv6 link-local address.
wait_link_local() {
	local i
	for i in $(seq 50); do
		in_ns "$1" ip -6 addr show dev eth0 scope link | grep -v tentative | grep -q fe80 &&
			return 0
		sleep 0.1
	done
	fail "$1: no IPv6 link-local address"
}

# start_daemon WHAT BINARY NAME [args...]: a daemon (carpd, syncd) in NAME with its
# own control socket and log, no syslog; sets PID_<NAME>, returns once it listens.
start_daemon() {
	local what=$1 bin=$2 name=$3
	shift 3
	# Not through a shell function: $! must be the daemon itself (ip netns exec execs it).
	ip netns exec "$(ns "$name")" "$bin" --control "$T_DIR/$name.sock" -f none "$@" \
		>"$T_DIR/$name.log" 2>&1 &
	local pid=$!
	T_PIDS+=("$pid")
	eval "PID_$name=$pid"
	local i
	for i in $(seq 50); do
		[ -S "$T_DIR/$name.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || fail "$what in $name exited at start"
		sleep 0.05
	done
	fail "$what in $name: no control socket"
}

# start_carpd NAME [args...]: carpd in NAME (see start_daemon). carpd starts with
# group carp demoted by 128 until syncd reports (its start-up hold): tests that
# are not about it pass --startup-demote 0.
start_carpd() {
	local name=$1
	shift
	start_daemon carpd "$CARPD" "$name" "$@"
}

# ctl NAME args...: redundctl against NAME's carpd.
ctl() {
	local name=$1
	shift
	"$REDUNDCTL" --control "$T_DIR/$name.sock" "$@"
}

# state NAME [VHID]: the state of the (first, or given) vhost of NAME's carpd.
state() {
	local v=${2:-}
	ctl "$1" carp status --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
v = sys.argv[1]
try:
    d = json.load(sys.stdin)
except Exception:
    print("DOWN"); sys.exit(0)
for i in d["interfaces"]:
    for h in i["vhosts"]:
        if not v or str(h["vhid"]) == v:
            print(h["state"]); sys.exit(0)
print("NONE")' "$v"
}

# counter NAME STAT: an interface-level counter of NAME's carpd (first interface).
counter() {
	ctl "$1" carp status --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["interfaces"][0]["counters"][sys.argv[1]])' "$2"
}

# node_group NAME GROUP [FIELD]: FIELD (default value; demote, holds, raised) of
# demotion group GROUP of NAME's carpd, or "none" when the node has no such group.
node_group() {
	ctl "$1" carp status --json | /usr/bin/python3 -c '
import json, sys
for g in json.load(sys.stdin)["node"]["groups"]:
    if g["name"] == sys.argv[1]:
        print(g[sys.argv[2]]); sys.exit(0)
print("none")' "$2" "${3:-value}"
}

# vhost_field NAME FIELD [VHID]: FIELD of NAME's (first, or given) vhost, as JSON.
vhost_field() {
	ctl "$1" carp status --json | /usr/bin/python3 -c '
import json, sys
v = sys.argv[2]
for i in json.load(sys.stdin)["interfaces"]:
    for h in i["vhosts"]:
        if not v or str(h["vhid"]) == v:
            print(json.dumps(h[sys.argv[1]])); sys.exit(0)
print("none")' "$2" "${3:-}"
}

# wait_state NAME STATE SECONDS [VHID]: poll until NAME's (first, or given) vhost is in STATE.
wait_state() {
	local name=$1 want=$2 secs=$3 vhid=${4:-} i s
	for i in $(seq $((secs * 20))); do
		s=$(state "$name" $vhid)
		[ "$s" = "$want" ] && return 0
		sleep 0.05
	done
	fail "$name${vhid:+ vhid $vhid}: expected $want within ${secs}s, is $(state "$name" $vhid)"
}

# has_addr NAME ADDR: whether eth0 in NAME carries ADDR.
has_addr() {
	in_ns "$1" ip -o addr show dev eth0 | grep -qw "inet6\? $2/[0-9]*"
}

# masters NAMES...: how many of them are MASTER.
masters() {
	local n=0 h
	for h in "$@"; do
		[ "$(state "$h")" = MASTER ] && n=$((n + 1))
	done
	echo $n
}

# neigh_mac ADDR: the client's (BR's) neighbour entry for ADDR after a probe
# (a UDP datagram makes the kernel resolve the address; no ping needed).
neigh_mac() {
	in_ns BR bash -c "echo x > /dev/udp/$1/9" 2>/dev/null
	local i
	for i in $(seq 20); do
		in_ns BR ip neigh show "$1" | grep -q lladdr && break
		sleep 0.05
	done
	in_ns BR ip neigh show "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'
}

mac_of() { in_ns "$1" cat /sys/class/net/eth0/address; }

# start_capture FILE [NS IF]: tcpdump of CARP into FILE, on the
# bridge by default, or on interface IF of namespace NS. Immediate mode: without it
# libpcap hands packets over in blocks and those of the last block are lost at stop.
start_capture() {
	ip netns exec "$(ns "${2:-BR}")" tcpdump -i "${3:-br0}" --immediate-mode -U -s 0 -w "$1" \
		ip proto 112 or ip6 proto 112 >/dev/null 2>&1 &
	T_PIDS+=($!)
	CAPTURE_PID=$!
	sleep 0.5
}

stop_capture() {
	sleep 0.2
	kill -INT "$CAPTURE_PID" 2>/dev/null
	wait "$CAPTURE_PID" 2>/dev/null
}

# wait_log NAME PATTERN: until NAME's carpd log has a line matching PATTERN (3 s).
wait_log() {
	local i
	for i in $(seq 60); do
		grep -q -- "$2" "$T_DIR/$1.log" && return 0
		sleep 0.05
	done
	fail "$1: no log line matching '$2'"
}
