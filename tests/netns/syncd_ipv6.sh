#!/bin/bash
# Two syncd hosts in secure mode with unicast IPv6 peers (no multicast):
# an IPv6 and an IPv4 conntrack entry inserted on A both reach B's kernel
# over UDP/IPv6, and B's `redundctl sync status` shows them as inserts.
. "$(dirname "$0")/lib.sh"
SYNCD=${SYNCD:?SYNCD must point at the syncd binary}
require_netns
require_cmd conntrack /usr/bin/python3
make_bridge
add_host A 1
add_host B 2
"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"

start_syncd() { # NAME args...
	local name=$1
	shift
	ip netns exec "$(ns "$name")" "$SYNCD" --control "$T_DIR/$name.sock" -f none -d "$@" \
		>"$T_DIR/$name.log" 2>&1 &
	local pid=$!
	T_PIDS+=("$pid")
	local i
	for i in $(seq 50); do
		[ -S "$T_DIR/$name.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || fail "syncd in $name exited at start"
		sleep 0.05
	done
	fail "syncd in $name: no control socket"
}

wait_ct() { # NAME FAMILY PATTERN SECONDS
	local i
	for i in $(seq $(($4 * 20))); do
		in_ns "$1" conntrack -L -f "$2" 2>/dev/null | grep -q -- "$3" && return 0
		sleep 0.05
	done
	return 1
}

start_syncd A -p fd77::2 -k "$T_DIR/key"
start_syncd B -p fd77::1 -k "$T_DIR/key"
sleep 0.5

in_ns A conntrack -I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1000 --dport 2000 \
	-t 100 >/dev/null 2>&1 || fail "conntrack -I (IPv6) on A"
in_ns A conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 43000 --dport 25 \
	--state SYN_SENT -t 100 >/dev/null 2>&1 || fail "conntrack -I (IPv4) on A"
wait_ct B ipv6 "src=2001:db8::1 dst=2001:db8::2 sport=1000 dport=2000" 3 ||
	fail "the IPv6 entry did not reach B: $(in_ns B conntrack -L -f ipv6 2>&1)"
wait_ct B ipv4 "SYN_SENT src=10.1.0.1 dst=10.2.0.1 sport=43000 dport=25" 3 ||
	fail "the IPv4 entry did not reach B: $(in_ns B conntrack -L 2>&1)"
ins=$("$REDUNDCTL" --control "$T_DIR/B.sock" sync status --json |
	/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["engine"]["inserts"])')
[ "$ins" = 2 ] || fail "B's engine counted $ins inserts, expected 2"
ok "secure mode over unicast IPv6: an IPv6 and an IPv4 entry from A in B's kernel"
exit 0
