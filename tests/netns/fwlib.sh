# Two firewalls that act as one, in network namespaces; sourced by the
# fw_*.sh tests and scripts/demo-fw.sh (on top of synclib.sh and lib.sh).
#
#   C (client 10.10.0.100, gw 10.10.0.1)
#   |
#   LB: LAN bridge br0 ----------- lan 10.10.0.2 [F1] wan 10.20.0.2 ----.
#   |                   \                          | sync 10.30.0.1     |
#   |                    `-------- lan 10.10.0.3 [F2] wan 10.20.0.3 ----+ WB: WAN bridge br0
#                                                  | sync 10.30.0.2     |
#                                   (F1 sync <-> F2 sync: one veth)     S (server 10.20.0.100,
#                                                                          10.10/24 via 10.20.0.1)
#
# Each firewall forwards with a stateful nftables policy (nf_conntrack_tcp_loose
# 0; established and related accepted, invalid TCP answered with a reset, new
# connections from the LAN accepted), runs one carpd (--config: the LAN vhost
# 10 with 10.10.0.1 and the WAN vhost 20 with 10.20.0.1; carpd manages the
# addresses) and one syncd (secure mode on the sync link, carpd-control
# pointing at its carpd). Daemons: $T_DIR/FN-carpd.{sock,log,conf},
# $T_DIR/FN-syncd.{sock,log}; PIDs in FW_PID[FN-carpd] and FW_PID[FN-syncd].
#
# The streams, the monitor and the drawing are fw_stream.py and fw_report.py.
. "$(dirname "${BASH_SOURCE[0]}")/synclib.sh"
FW_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

LAN_VIP=10.10.0.1
WAN_VIP=10.20.0.1
# Timing of both vhosts; F1 is preferred. Both preempt (OpenBSD's
# net.inet.carp.preempt is set on both firewalls of a pair).
FW_ADVBASE=${FW_ADVBASE:-1}
FW_SKEW_F1=${FW_SKEW_F1:-0}
FW_SKEW_F2=${FW_SKEW_F2:-100}
FW_PASS=fw-pass-42
declare -A FW_PID=()
declare -A FW_IP=([F1-lan]=10.10.0.2 [F1-wan]=10.20.0.2 [F1-sync]=10.30.0.1
	[F2-lan]=10.10.0.3 [F2-wan]=10.20.0.3 [F2-sync]=10.30.0.2)
FW_EVENTS=$T_DIR/events
: >"$FW_EVENTS"
# The name of the current run of streams: $T_DIR/$FW_RUN.json, .svg, -stream.log.
FW_RUN=run

# fw_port FN lan|wan: the bridge-side name of FN's veth on that bridge.
fw_port() {
	case $2 in
	lan) echo "l${1#F}-$$" ;;
	wan) echo "w${1#F}-$$" ;;
	esac
}
fw_bridge() { [ "$1" = lan ] && echo LB || echo WB; }

# fw_ns_add NAME: an empty namespace with lo up, no DAD.
fw_ns_add() {
	ip netns add "$(ns "$1")" || fail "cannot create namespace $1"
	T_NS+=("$(ns "$1")")
	in_ns "$1" ip link set lo up
	in_ns "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# fw_veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
fw_veth() {
	ip link add "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")" ||
		fail "cannot create veth $1/$2 - $3/$4"
	in_ns "$1" ip link set "$2" up
	in_ns "$3" ip link set "$4" up
}

# fw_topology: root, the tools, and the whole network above with the nftables
# policy on both firewalls (no daemons yet).
fw_topology() {
	require_netns
	require_cmd conntrack nft /usr/bin/python3 "$SYNCD"
	local b f
	for b in LB WB; do
		fw_ns_add $b
		in_ns $b ip link add br0 type bridge
		# No multicast snooping: the bridge floods CARP like a plain switch.
		in_ns $b ip link set br0 type bridge mcast_snooping 0
		in_ns $b ip link set br0 up
	done
	fw_ns_add C
	fw_ns_add S
	fw_veth C eth0 LB "lc-$$"
	fw_veth S eth0 WB "ws-$$"
	in_ns LB ip link set "lc-$$" master br0
	in_ns WB ip link set "ws-$$" master br0
	in_ns C ip addr add 10.10.0.100/24 dev eth0
	in_ns C ip route add default via $LAN_VIP
	in_ns S ip addr add 10.20.0.100/24 dev eth0
	in_ns S ip route add 10.10.0.0/24 via $WAN_VIP
	# The fake flows of fw_load_states end on the server: drop them quietly
	# (no ICMP back, and no conntrack in S: this rule has no ct expression).
	in_ns S nft -f - <<'EOF' || fail "nft on S"
table inet s {
	chain in {
		type filter hook input priority 0;
		udp dport 1-65535 drop
	}
}
EOF
	for f in F1 F2; do
		fw_ns_add $f
		fw_veth $f lan LB "$(fw_port $f lan)"
		fw_veth $f wan WB "$(fw_port $f wan)"
		in_ns LB ip link set "$(fw_port $f lan)" master br0
		in_ns WB ip link set "$(fw_port $f wan)" master br0
	done
	ip link add sync netns "$(ns F1)" type veth peer name sync netns "$(ns F2)" ||
		fail "cannot create the sync link"
	for f in F1 F2; do
		in_ns $f ip link set sync up
		for i in lan wan sync; do
			in_ns $f ip addr add "${FW_IP[$f-$i]}/24" dev $i
		done
		fw_sysctl $f
		fw_nft $f
	done
	"$REDUNDCTL" sync genkey "$T_DIR/sync.key" >/dev/null || fail "redundctl sync genkey"
}

fw_sysctl() {
	in_ns "$1" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward on $1"
	# Fake UDP flows (fw_load_states) must outlive the test.
	in_ns "$1" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 \
		net.netfilter.nf_conntrack_udp_timeout_stream=600 || fail "conntrack sysctls on $1"
}

# fw_nft FN: the stateful forward policy. A TCP segment without a state is
# invalid (loose 0: no pick-up of a connection in the middle) and is answered
# with a reset, so a firewall that forwards before it holds the states kills
# the streams instead of stalling them. The counters are read by fw_resets.
fw_nft() {
	in_ns "$1" nft -f - <<'EOF' || fail "nft on $1"
table inet fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid meta l4proto tcp counter reject with tcp reset
		ct state invalid counter drop
		iifname "lan" ct state new accept
	}
}
EOF
	# Set after the ruleset: nf_conntrack is loaded (and its sysctls exist) by then.
	in_ns "$1" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || fail "tcp_loose on $1"
	# For diagnosis only (the tests run with the kernel's default, 0): with 1 the
	# kernel checks no TCP sequence windows, so only a segment without any state
	# is invalid; a failure that disappears with FW_BE_LIBERAL=1 is a window one.
	if [ "${FW_BE_LIBERAL:-0}" = 1 ]; then
		in_ns "$1" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1 || fail "be_liberal on $1"
	fi
}

# fw_resets FN: the TCP resets FN's policy sent so far.
fw_resets() {
	in_ns "$1" nft list chain inet fw forward 2>/dev/null |
		awk '/reject with tcp reset/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# fw_conf FN: FN's carpd configuration ($T_DIR/FN-carpd.conf). With
# FW_SCRIPTS=1 the scripts $T_DIR/FN-up.sh and FN-down.sh manage the
# addresses (xparam: the prefix length).
fw_conf() {
	local skew scripts=
	[ "$1" = F1 ] && skew=$FW_SKEW_F1 || skew=$FW_SKEW_F2
	[ "${FW_SCRIPTS:-0}" = 1 ] &&
		scripts="  upscript $T_DIR/$1-up.sh
  downscript $T_DIR/$1-down.sh
  xparam 24"
	{
		# Without syncd nobody releases a start-up hold: carpd(8) says to turn it off.
		if [ "${FW_NO_SYNCD:-0}" = 1 ] && fw_carpd_has startup-demote; then
			echo "startup-demote 0"
		fi
		cat <<EOF
vhost lan 10
  pass $FW_PASS
  addr $LAN_VIP/24
  advbase $FW_ADVBASE
  advskew $skew
  preempt
$scripts
vhost wan 20
  pass $FW_PASS
  addr $WAN_VIP/24
  advbase $FW_ADVBASE
  advskew $skew
  preempt
$scripts
EOF
	} >"$T_DIR/$1-carpd.conf"
}

# fw_carpd_has KEYWORD: whether this carpd knows a configuration keyword (its --help names it).
fw_carpd_has() {
	"$CARPD" --help 2>&1 | grep -q -- "$1"
}

# fw_daemon FN carpd|syncd [args...]: start one daemon in FN without waiting.
# Not through in_ns: $! must be the daemon itself (ip netns exec execs it).
fw_daemon() {
	local f=$1 d=$2 bin
	shift 2
	case $d in
	carpd)
		bin=$CARPD
		fw_conf "$f"
		set -- --config "$T_DIR/$f-carpd.conf" "$@"
		;;
	syncd)
		bin=$SYNCD
		set -- -i sync -k "$T_DIR/sync.key" --carpd-control "$T_DIR/$f-carpd.sock" \
			--state-dir "$T_DIR/$f-syncd-state" \
			${FW_SYNCD_DEBUG:+-d} ${FW_SYNCD_ARGS:-} "$@"
		;;
	esac
	rm -f "$T_DIR/$f-$d.sock"
	echo "==== $(date +%s.%N) start" >>"$T_DIR/$f-$d.log"
	ip netns exec "$(ns "$f")" "$bin" --control "$T_DIR/$f-$d.sock" -f none "$@" \
		>>"$T_DIR/$f-$d.log" 2>&1 &
	FW_PID[$f-$d]=$!
	T_PIDS+=($!)
}

# fw_wait_sock FN carpd|syncd: until that daemon listens (5 s).
fw_wait_sock() {
	local i pid=${FW_PID[$1-$2]}
	for i in $(seq 100); do
		[ -S "$T_DIR/$1-$2.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || fail "$2 in $1 exited at start"
		sleep 0.05
	done
	fail "$2 in $1: no control socket"
}

# fw_start FN [ORDER...]: start FN's daemons back to back in ORDER (default
# carpd syncd, or carpd alone with FW_NO_SYNCD=1), as systemd starts them,
# then wait until both listen.
fw_start() {
	local f=$1 d
	shift
	if [ $# = 0 ]; then
		[ "${FW_NO_SYNCD:-0}" = 1 ] && set -- carpd || set -- carpd syncd
	fi
	for d in "$@"; do
		fw_daemon "$f" "$d"
	done
	for d in "$@"; do
		fw_wait_sock "$f" "$d"
	done
}

# fw_signal FN SIG DAEMON...: signal FN's daemons and reap them.
fw_signal() {
	local f=$1 sig=$2 d pid
	shift 2
	for d in "$@"; do
		pid=${FW_PID[$f-$d]:-}
		[ -n "$pid" ] || continue
		kill -"$sig" "$pid" 2>/dev/null
	done
	for d in "$@"; do
		pid=${FW_PID[$f-$d]:-}
		[ -n "$pid" ] || continue
		wait "$pid" 2>/dev/null
		unset "FW_PID[$f-$d]"
	done
}

# fw_event LABEL: mark the time of an event for the timeline and the drawing.
fw_event() {
	echo "$(date +%s.%N) $*" >>"$FW_EVENTS"
}

# fw_link FN lan|wan down|up: carrier loss (or its end) on FN's interface,
# from the bridge side as when a cable is pulled.
fw_link() {
	in_ns "$(fw_bridge "$2")" ip link set "$(fw_port "$1" "$2")" "$3" || fail "link $1 $2 $3"
}

# fw_links FN up|down: all of FN's links at once (one rtnetlink batch, so no
# moment has one link up and another down).
fw_links() {
	printf 'link set %s %s\n' lan "$2" wan "$2" sync "$2" | ip -n "$(ns "$1")" -batch - ||
		fail "links of $1 $2"
}

# fw_power_off FN: FN crashes as when power is lost: its daemons freeze
# (SIGSTOP: they cannot react to what follows), all its links go dark at once
# (no frames in or out), and the daemons die (SIGKILL).
fw_power_off() {
	local pids=() d
	for d in carpd syncd; do
		[ -n "${FW_PID[$1-$d]:-}" ] && pids+=("${FW_PID[$1-$d]}")
	done
	[ ${#pids[@]} -gt 0 ] && kill -STOP "${pids[@]}" 2>/dev/null
	fw_links "$1" down
	[ ${#pids[@]} -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null
	for d in carpd syncd; do
		[ -n "${FW_PID[$1-$d]:-}" ] && wait "${FW_PID[$1-$d]}" 2>/dev/null
		unset "FW_PID[$1-$d]"
	done
}

# fw_power_on FN [ORDER...]: FN boots: what a reboot loses is gone (its
# conntrack table, the virtual addresses), its links come up, and its daemons
# start together in ORDER (see fw_start).
fw_power_on() {
	local f=$1
	shift
	in_ns "$f" conntrack -F >/dev/null 2>&1
	in_ns "$f" ip addr del $LAN_VIP/24 dev lan 2>/dev/null
	in_ns "$f" ip addr del $WAN_VIP/24 dev wan 2>/dev/null
	fw_links "$f" up
	fw_start "$f" "$@"
}

# fw_holds FN ADDR: whether FN carries ADDR.
fw_holds() {
	in_ns "$1" ip -o -4 addr show | grep -qwF "inet $2/24"
}

# fw_until SECONDS CMD...: run CMD every 50 ms until it succeeds (0) or SECONDS
# have passed (1), however long CMD itself takes.
fw_until() {
	local end=$(($(date +%s%N) + ${1%.*} * 1000000000))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -lt $end ] || return 1
		sleep 0.05
	done
}

# fw_holds_all FN ADDR...: whether FN carries every ADDR.
fw_holds_all() {
	local f=$1 a
	shift
	for a in "$@"; do
		fw_holds "$f" "$a" || return 1
	done
}

# fw_wait_holds FN SECONDS ADDR...: until FN carries every ADDR.
fw_wait_holds() {
	local f=$1 secs=$2
	shift 2
	fw_until "$secs" fw_holds_all "$f" "$@"
}

# fw_count FN: FN's conntrack entries.
fw_count() {
	in_ns "$1" cat /proc/sys/net/netfilter/nf_conntrack_count
}

# fw_sync_stat FN SECTION COUNTER|-: a value of FN's `redundctl sync status --json`.
fw_sync_stat() {
	"$REDUNDCTL" --control "$T_DIR/$1-syncd.sock" sync status --json 2>/dev/null |
		/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d[sys.argv[1]] if sys.argv[2] == "-" else d[sys.argv[1]].get(sys.argv[2], 0))' "$2" "$3"
}

# fw_load_states N [SPORT]: N fake UDP flows from the client through the
# firewall that holds the LAN address (one datagram each from source port
# SPORT, default 30000, one more port each 50,000 flows; distinct destination
# ports; dropped by the server), so that firewall's conntrack table gains N
# entries quickly.
fw_load_states() {
	ip netns exec "$(ns C)" /usr/bin/python3 - "$1" "${2:-30000}" <<'EOF' || fail "loading states"
import socket, sys, time
n = int(sys.argv[1])
base = int(sys.argv[2])
socks = {}
t = time.monotonic()
for i in range(n):
    sport = base + i // 50000
    if sport not in socks:
        socks[sport] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        socks[sport].bind(("10.10.0.100", sport))
    socks[sport].sendto(b"x", ("10.20.0.100", 10000 + i % 50000))
    if i % 2000 == 1999:  # about 100,000 a second: the ctnetlink events keep up
        d = t + (i + 1) / 100000 - time.monotonic()
        if d > 0:
            time.sleep(d)
EOF
}

# fw_streams_start N [ARGS...]: N TCP streams from C to S through the virtual
# addresses, and the monitor of both firewalls (fw_stream.py); returns when
# every stream carries data. Output: $T_DIR/run.json at fw_streams_stop.
fw_streams_start() {
	local n=$1 i
	shift
	FW_STREAMS=$n
	rm -f "$T_DIR/ready" "$T_DIR/status"
	# Niced up: on a busy machine a late measuring process shows as a stall of
	# every stream (fw_report.py names the moments it was not scheduled).
	nice -n -10 /usr/bin/python3 "$FW_DIR/fw_stream.py" --streams "$n" --prefix "$T_ID-" \
		--ready "$T_DIR/ready" --status "$T_DIR/status" --events "$FW_EVENTS" \
		--out "$T_DIR/$FW_RUN.json" \
		--carpd F1="$T_DIR/F1-carpd.sock" --carpd F2="$T_DIR/F2-carpd.sock" "$@" \
		>"$T_DIR/$FW_RUN-stream.log" 2>&1 &
	FW_STREAM_PID=$!
	T_PIDS+=($!)
	for i in $(seq 200); do
		[ -f "$T_DIR/ready" ] && return 0
		kill -0 $FW_STREAM_PID 2>/dev/null || fail "fw_stream.py exited: $(cat "$T_DIR/$FW_RUN-stream.log")"
		sleep 0.05
	done
	fail "the streams did not start within 10 s: $(cat "$T_DIR/$FW_RUN-stream.log")"
}

# fw_flowing: whether every living stream received data in the last 200 ms.
fw_flowing() {
	local t n dead
	read -r t n dead <"$T_DIR/status" 2>/dev/null || return 1
	[ "$n" = $((FW_STREAMS - dead)) ]
}

# fw_wait_flowing SECONDS: until every stream carries data again (TCP backs
# off during an outage: its next retransmission may come seconds after the
# path is back). Returns 1 (and says so) if not within SECONDS.
fw_wait_flowing() {
	fw_until "$1" fw_flowing && return 0
	echo "not every stream carries data after $1 s: $(cat "$T_DIR/status" 2>/dev/null) (time flowing dead)"
	return 1
}

fw_streams_stop() {
	kill -INT "$FW_STREAM_PID" 2>/dev/null
	wait "$FW_STREAM_PID" || fail "fw_stream.py failed: $(tail -5 "$T_DIR/$FW_RUN-stream.log")"
}

# fw_check ARGS...: one fw_report.py check on the run: prints ok or FAIL and the
# evidence; on FAIL, FW_FAILED counts it (fw_verdict fails the test at the end).
FW_FAILED=0
fw_check() {
	/usr/bin/python3 "$FW_DIR/fw_report.py" check "$T_DIR/$FW_RUN.json" "$@" ||
		FW_FAILED=$((FW_FAILED + 1))
}

# fw_verdict: fail the test if a check failed (with the logs), else exit 0.
# On a failure it first prints each firewall's conntrack entries of the
# streams (their server port), as they are now: which a firewall lacks, and
# in what state and with what timeout and flags it holds the others.
fw_verdict() {
	local f
	if [ "$FW_FAILED" != 0 ]; then
		for f in F1 F2; do
			echo "== $f: conntrack entries of the streams (port 5001, fw_stream.py's), at the end"
			in_ns "$f" conntrack -L -p tcp --dport 5001 -o extended 2>/dev/null |
				sort -t= -k4 | head -100
		done
	fi
	[ "$FW_FAILED" = 0 ] || fail "$FW_FAILED check(s) failed (see above; drawings: $T_DIR/*.svg)"
	exit 0
}

# fw_master_down: F2's master-down interval in seconds (3 of its advertisement
# intervals; 1/256 s when advbase and advskew are both 0).
fw_master_down() {
	awk -v b="$FW_ADVBASE" -v k="$FW_SKEW_F2" 'BEGIN {
		i = b + k / 256; if (i == 0) i = 1 / 256; printf "%.4f", 3 * i }'
}

# fw_interval FN: FN's advertisement interval in seconds.
fw_interval() {
	local k
	[ "$1" = F1 ] && k=$FW_SKEW_F1 || k=$FW_SKEW_F2
	awk -v b="$FW_ADVBASE" -v k="$k" 'BEGIN { i = b + k / 256; if (i == 0) i = 1 / 256; printf "%.4f", i }'
}

# fw_vhost FN VHID: the state of FN's vhost VHID (DOWN when carpd does not answer).
fw_vhost() { state "$1-carpd" "$2"; }

# fw_wait_vhost FN VHID STATE SECONDS: until FN's vhost VHID is in STATE.
fw_is_vhost() { [ "$(fw_vhost "$1" "$2")" = "$3" ]; }
fw_wait_vhost() { fw_until "$4" fw_is_vhost "$1" "$2" "$3"; }

# fw_wait_bulk FN SECONDS: until FN's syncd has no bulk update running.
fw_bulk_done() { [ "$(fw_sync_stat "$1" bulk_pending - 2>/dev/null)" = False ]; }
fw_wait_bulk() { fw_until "$2" fw_bulk_done "$1"; }

# fw_pair_up [ORDER...]: F1 starts alone and takes both addresses, then F2
# starts, becomes BACKUP on both vhosts and (with syncd) ends its bulk update.
fw_pair_up() {
	fw_start F1 "$@"
	fw_wait_holds F1 40 $LAN_VIP $WAN_VIP || fail "F1 alone did not take both addresses in 40 s"
	fw_start F2 "$@"
	fw_wait_vhost F2 10 BACKUP 10 && fw_wait_vhost F2 20 BACKUP 10 ||
		fail "F2 did not become BACKUP on both vhosts"
	if [ -n "${FW_PID[F2-syncd]:-}" ]; then
		fw_wait_bulk F2 40 || fail "F2's syncd did not end its bulk update in 40 s"
	fi
	fw_holds F1 $LAN_VIP && fw_holds F1 $WAN_VIP || fail "F1 lost an address when F2 started"
}

# fw_run_streams N [ARGS...]: fw_streams_start with both firewalls' syncd
# sockets, then 1.5 s: syncd sends a state's updates within 1 s (as pfsync),
# so a connection younger than that may not be established on the peer yet.
fw_run_streams() {
	local n=$1
	shift
	fw_streams_start "$n" --syncd F1="$T_DIR/F1-syncd.sock" --syncd F2="$T_DIR/F2-syncd.sock" "$@"
	sleep 1.5
}

# fw_finish: stop the streams, print the timeline, draw $T_DIR/run.svg.
fw_finish() {
	fw_streams_stop
	/usr/bin/python3 "$FW_DIR/fw_report.py" timeline "$T_DIR/$FW_RUN.json"
	/usr/bin/python3 "$FW_DIR/fw_report.py" svg -o "$T_DIR/$FW_RUN.svg" "$T_DIR/$FW_RUN.json"
}
