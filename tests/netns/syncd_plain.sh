#!/bin/bash
# Two syncd hosts (A, B) in plain mode: raw pfsync (IP protocol 240) to the
# multicast group 224.0.0.240 on their bridge, TTL 255.
#  - an entry inserted with `conntrack -I` on A appears in B's kernel;
#  - a pfsync INS injected from a third namespace E with TTL 64 is refused
#    (counted badttl by B's transport) and its state does not appear;
#  - the same INS with TTL 255 is accepted: plain mode has no authentication
#    (the reason secure mode is the default), and TTL 255 is its only check.
. "$(dirname "$0")/synclib.sh"
sync_pair
add_host E 9

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
