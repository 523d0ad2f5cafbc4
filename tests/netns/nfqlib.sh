# nfq-firewall in network namespaces; sourced by the nfq_*.sh tests (on top
# of lib.sh) and bench/nfq-bench.sh.
#
#   C (10.10.0.100, default via 10.10.0.2)
#   |
#   LB br0 --- lan 10.10.0.2 [A] wan 10.20.0.2 --- WB br0 --- S (10.20.0.100,
#          \                  | sync 10.30.0.1         /       10.10/24 via 10.20.0.2)
#           `- lan 10.10.0.3 [B] wan 10.20.0.3 -------'
#                               sync 10.30.0.2   (B only with nfq_topology 2)
#
# Each firewall forwards through queue 0 (nfq_nft): packets marked with the
# firewall's reset mark get a TCP reset, sources in nftables set `bad` get a
# reset, everything else goes to nfq-firewall. No ct expression: the kernel's
# conntrack is never attached in these namespaces.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NFQ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NFQFW=${NFQFW:?NFQFW must point at the nfq-firewall binary}
declare -A NFQ_PID=()

nfq_ns_add() {
	ip netns add "$(ns "$1")" || fail "cannot create namespace $1"
	T_NS+=("$(ns "$1")")
	in_ns "$1" ip link set lo up
	in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}

nfq_veth() {
	ip link add "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")" ||
		fail "cannot create veth $1/$2 - $3/$4"
	in_ns "$1" ip link set "$2" up
	in_ns "$3" ip link set "$4" up
}

# nfq_topology N: C, S, the bridges and N firewalls (1: A; 2: A and B).
nfq_topology() {
	require_netns
	require_cmd nft /usr/bin/python3 "$NFQFW"
	local b f n
	for b in LB WB; do
		nfq_ns_add $b
		in_ns $b ip link add br0 type bridge
		in_ns $b ip link set br0 up
	done
	nfq_ns_add C
	nfq_ns_add S
	nfq_veth C eth0 LB "lc-$$"
	nfq_veth S eth0 WB "ws-$$"
	in_ns LB ip link set "lc-$$" master br0
	in_ns WB ip link set "ws-$$" master br0
	in_ns C ip addr add 10.10.0.100/24 dev eth0
	in_ns C ip route add default via 10.10.0.2
	in_ns S ip addr add 10.20.0.100/24 dev eth0
	in_ns S ip route add 10.10.0.0/24 via 10.20.0.2
	for f in A B; do
		[ $f = B ] && [ "$1" -lt 2 ] && break
		[ $f = A ] && n=2 || n=3
		nfq_ns_add $f
		nfq_veth $f lan LB "l$n-$$"
		nfq_veth $f wan WB "w$n-$$"
		in_ns LB ip link set "l$n-$$" master br0
		in_ns WB ip link set "w$n-$$" master br0
		in_ns $f ip addr add 10.10.0.$n/24 dev lan
		in_ns $f ip addr add 10.20.0.$n/24 dev wan
		in_ns $f sysctl -qw net.ipv4.ip_forward=1
		nfq_nft $f
	done
	if [ "$1" -ge 2 ]; then
		ip link add sync netns "$(ns A)" type veth peer name sync netns "$(ns B)" ||
			fail "cannot create the sync link"
		in_ns A ip addr add 10.30.0.1/24 dev sync
		in_ns B ip addr add 10.30.0.2/24 dev sync
		in_ns A ip link set sync up
		in_ns B ip link set sync up
		"$REDUNDCTL" sync genkey "$T_DIR/sync.key" >/dev/null || fail "redundctl sync genkey"
	fi
}

# The queue(s): N, or a range N-M (packets spread over them by flow).
NFQ_QUEUES=${NFQ_QUEUES:-0}

# nfq_nft FN: the forward policy handing every packet to $NFQ_QUEUES. With an
# nftables `queue` statement where the kernel has it (CONFIG_NFT_QUEUE);
# otherwise the same rules as iptables-nft's NFQUEUE target (nft_compat, in
# nftables table ip filter), after the inet fw chain that holds set `bad`.
# Either way the reset-mark rule sits in the chain that queues: a verdict
# NF_REPEAT runs that chain again.
nfq_nft() {
	if [ -z "${NFQ_MODE:-}" ]; then
		if in_ns "$1" nft -f - 2>/dev/null <<'EOF'
table inet probe { chain c { type filter hook forward priority 0; queue num 0 bypass; } }
EOF
		then
			NFQ_MODE=nft
			in_ns "$1" nft delete table inet probe
		else
			NFQ_MODE=xt
			require_cmd iptables-nft
		fi
	fi
	if [ "$NFQ_MODE" = nft ]; then
		in_ns "$1" nft -f - <<EOF || fail "nft on $1"
table inet fw {
	set bad { type ipv4_addr; }
	chain forward {
		type filter hook forward priority filter; policy drop;
		meta mark 0x7e5e7 meta l4proto tcp counter reject with tcp reset
		meta mark 0x7e5e7 counter drop
		ip saddr @bad meta l4proto tcp counter reject with tcp reset
		ip saddr @bad counter drop
		queue num $NFQ_QUEUES
	}
}
EOF
		return
	fi
	in_ns "$1" nft -f - <<'EOF' || fail "nft on $1"
table inet fw {
	set bad { type ipv4_addr; }
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		ip saddr @bad meta l4proto tcp counter reject with tcp reset
		ip saddr @bad counter drop
	}
}
EOF
	in_ns "$1" iptables-nft -P FORWARD DROP || fail "iptables-nft on $1"
	in_ns "$1" iptables-nft -A FORWARD -m mark --mark 0x7e5e7 -p tcp -j REJECT --reject-with tcp-reset
	in_ns "$1" iptables-nft -A FORWARD -m mark --mark 0x7e5e7 -j DROP
	if [ "${NFQ_QUEUES%-*}" = "$NFQ_QUEUES" ]; then
		in_ns "$1" iptables-nft -A FORWARD -j NFQUEUE --queue-num "$NFQ_QUEUES"
	else
		in_ns "$1" iptables-nft -A FORWARD -j NFQUEUE --queue-balance "${NFQ_QUEUES/-/:}"
	fi || fail "NFQUEUE on $1"
}

# nfq_start FN [args...]: nfq-firewall in FN on $NFQ_QUEUES with its control socket
# $T_DIR/FN.sock and log $T_DIR/FN.log; returns once it answers. NFQ_WRAP
# (an array, e.g. taskset -c 1) is put before the binary (it must exec it).
nfq_start() {
	local f=$1 i
	shift
	rm -f "$T_DIR/$f.sock"
	ip netns exec "$(ns "$f")" ${NFQ_WRAP[@]+"${NFQ_WRAP[@]}"} "$NFQFW" --queue "$NFQ_QUEUES" --inside lan --control "$T_DIR/$f.sock" "$@" \
		>>"$T_DIR/$f.log" 2>&1 &
	NFQ_PID[$f]=$!
	T_PIDS+=($!)
	for i in $(seq 60); do
		[ -S "$T_DIR/$f.sock" ] && return 0
		kill -0 "${NFQ_PID[$f]}" 2>/dev/null || fail "nfq-firewall in $f exited at start"
		sleep 0.05
	done
	fail "nfq-firewall in $f: no control socket"
}

nfq_stop() {
	kill -TERM "${NFQ_PID[$1]}" 2>/dev/null
	wait "${NFQ_PID[$1]}" 2>/dev/null
}

# nfq_status FN: the firewall's `status --json`.
nfq_status() {
	/usr/bin/python3 "$NFQ_DIR/ctl_client.py" send "$T_DIR/$1.sock" 'status --json\n'
}

# nfq_get FN EXPR: a value of the status, EXPR a Python expression over d.
nfq_get() {
	nfq_status "$1" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2"
}

# nfq_server [SECONDS] [PORT]: the server in S, fates to $T_DIR/server-PORT.json.
# Not through in_ns: $! must be the server itself, which the clean-up kills.
nfq_server() {
	local secs=${1:-60} port=${2:-5001}
	ip netns exec "$(ns S)" /usr/bin/python3 "$NFQ_DIR/nfq_conn.py" server "$port" "$secs" \
		"$T_DIR/server-$port.json" &
	T_PIDS+=($!)
	sleep 0.3
}
