#!/bin/bash
# Two syncd hosts (A, B) in plain mode: raw pfsync (IP protocol 240) to the
# multicast group 224.0.0.240 on their bridge, TTL 255.
#  - an entry inserted with `conntrack -I` on A appears in B's kernel;
#  - a pfsync INS injected from a third namespace E with TTL 64 is refused
#    (counted badttl by B's transport) and its state does not appear;
#  - the same INS with TTL 255 is accepted: plain mode has no authentication
#    (the reason secure mode is the default), and TTL 255 is its only check.
. "$(dirname "$0")/lib.sh"
SYNCD=${SYNCD:?SYNCD must point at the syncd binary}
require_netns
require_cmd conntrack /usr/bin/python3
make_bridge
add_host A 1
add_host B 2
add_host E 9

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

sstat() { # NAME SECTION COUNTER|-: a value of `redundctl sync status --json`
	"$REDUNDCTL" --control "$T_DIR/$1.sock" sync status --json |
		/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d[sys.argv[1]] if sys.argv[2] == "-" else d[sys.argv[1]].get(sys.argv[2], 0))' "$2" "$3"
}

wait_ct() { # NAME PATTERN SECONDS
	local i
	for i in $(seq $(($3 * 20))); do
		in_ns "$1" conntrack -L 2>/dev/null | grep -q -- "$2" && return 0
		sleep 0.05
	done
	return 1
}

start_syncd A -i eth0 -m plain
start_syncd B -i eth0 -m plain
sleep 0.5

in_ns A conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41000 --dport 443 \
	--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 600 >/dev/null 2>&1 || fail "conntrack -I on A"
wait_ct B "ESTABLISHED src=10.1.0.1 dst=10.2.0.1 sport=41000 dport=443" 3 ||
	fail "plain mode: the entry inserted on A did not reach B: $(in_ns B conntrack -L 2>&1)"
ok "plain mode: conntrack -I on A, the same entry in B's kernel"

# inject TTL: a pfsync v6 INS of a UDP state 10.9.9.9:1111 -> 10.8.8.8:2222 from E.
inject() {
	in_ns E /usr/bin/python3 - "$1" <<'EOF' || fail "injection from E"
import socket, struct, sys
def key(a, b, pa, pb):
    return (socket.inet_aton(a) + b"\0" * 12 + socket.inet_aton(b) + b"\0" * 12 +
            struct.pack("!HHHBB", pa, pb, 0, 2, 0))
def peer(state):
    return b"\0" * 8 + struct.pack("!IIIHHBB", 0, 0, 0, 0, 0, state, 0) + b"\0" * 6
st = (struct.pack("!Q", 0x1234) + b"all".ljust(16, b"\0") +
      key("10.9.9.9", "10.8.8.8", 1111, 2222) * 2 + peer(1) + peer(0) + b"\0" * 16 +
      struct.pack("!iiiII", -1, -1, -1, 0, 60) + b"\0" * 32 + struct.pack("!I", 0x0BADBEEF) +
      b"\0" * 8 + struct.pack("!H", 0) + bytes([2, 17, 1, 0, 0, 6, 0, 0, 0, 0]) +
      struct.pack("!H", 0) + b"\0\0")
assert len(st) == 264, len(st)
body = bytes([13, 66]) + struct.pack("!H", 1) + st
pkt = bytes([6, 0]) + struct.pack("!H", 20 + len(body)) + b"\0" * 16 + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 240)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(sys.argv[1]))
s.sendto(pkt, ("10.77.0.2", 0))
EOF
}

bad0=$(sstat B transport badttl)
inject 64
sleep 0.5
[ "$(sstat B transport badttl)" = $((bad0 + 1)) ] || fail "TTL 64: badttl did not count once"
in_ns B conntrack -L 2>/dev/null | grep -q "sport=1111" && fail "TTL 64: the state was applied"
ok "raw pfsync with TTL 64 from E: refused, counted badttl, not applied"

inject 255
wait_ct B "src=10.9.9.9 dst=10.8.8.8 sport=1111 dport=2222" 3 ||
	fail "TTL 255 from E: not applied (the injection path does not work?)"
ok "the same packet with TTL 255: applied (plain mode has no authentication)"
exit 0
