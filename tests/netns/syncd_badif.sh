#!/bin/bash
# syncd refuses sync datagrams that arrive on an interface other than its
# sync interface (-i): the transport (libredund/io/sync_sock.c) compares the
# arrival interface (IP_PKTINFO) with -i and counts them `badif` before the
# secure channel or the engine sees them. The socket is bound to no device,
# so such datagrams do reach it: B has a second link, eth1 (10.78.0.2/24),
# to a namespace X (10.78.0.9) that is not on the sync bridge.
#  - plain mode: a valid pfsync INS with TTL 255 from X, sent to B's eth1
#    address, to B's sync address routed through eth1, and to the
#    all-hosts group 224.0.0.1 on eth1, is refused each time, counted badif
#    once a datagram in `redundctl sync status` (text and JSON), and
#    reaches neither the engine nor B's kernel conntrack table; the same
#    packet from E on the sync bridge is applied, so badif was the only
#    thing that stopped it;
#  - secure mode: a forged envelope from X to UDP port 8240 is counted
#    badif and never reaches the channel (opened and badtag do not move);
#    from E on the sync bridge the same datagram is counted badtag.
# (The interface name inside a pfsync state is another matter: syncd maps
# no interface names, so every state is imported floating.)
. "$(dirname "$0")/synclib.sh"
sync_pair
add_host E 9

# X and B's eth1: a veth pair, not on the bridge.
ip netns add "$(ns X)" || fail "cannot create namespace"
T_NS+=("$(ns X)")
in_ns X ip link set lo up
ip link add eth1 netns "$(ns B)" type veth peer name eth0 netns "$(ns X)" ||
	fail "cannot create veth"
in_ns B ip addr add 10.78.0.2/24 dev eth1
in_ns B ip link set eth1 up
in_ns X ip addr add 10.78.0.9/24 dev eth0
in_ns X ip link set eth0 up
in_ns X ip route add 10.77.0.0/24 via 10.78.0.2 || fail "route on X"
in_ns X ip route add 224.0.0.0/4 dev eth0 || fail "multicast route on X"

# ct_snapshot NAME: NAME's kernel table (IPv4 and IPv6), one entry a line
# without the remaining-time field, sorted; not the entries of the sync traffic
# itself (syncd's labels rule keeps conntrack on, so B tracks what X sends).
ct_snapshot() {
	{
		in_ns "$1" conntrack -L 2>/dev/null
		in_ns "$1" conntrack -L -f ipv6 2>/dev/null
	} | awk '$2 != 240 && !/port=8240 / { $3 = ""; print }' | sort
}

start_syncd A -i eth0 -m plain
start_syncd B -i eth0 -m plain
sleep 0.5

# The pair works: an entry inserted on A reaches B.
in_ns A conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41000 --dport 443 \
	--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 600 >/dev/null 2>&1 || fail "conntrack -I on A"
wait_ct B "ESTABLISHED src=10.1.0.1 dst=10.2.0.1 sport=41000 dport=443" 3 ||
	fail "plain mode: the entry inserted on A did not reach B: $(in_ns B conntrack -L 2>&1)"
ok "plain mode: conntrack -I on A, the same entry in B's kernel"

sleep 1.2 # A's and B's own traffic settles (flush delay 1 s)
badif0=$(sstat B transport badif)
ttl0=$(sstat B transport badttl)
ipk0=$(sstat B transport ipackets)
pin0=$(sstat B engine pkts_in)
states0=$(sstat B states -)
ct0=$(ct_snapshot B)
n=0
for dst in 10.78.0.2 10.77.0.2 224.0.0.1; do
	inject_pfsync X "$dst" 255
	n=$((n + 1))
	for i in $(seq 40); do
		[ "$(sstat B transport badif)" = $((badif0 + n)) ] && break
		sleep 0.05
	done
	[ "$(sstat B transport badif)" = $((badif0 + n)) ] ||
		fail "INS from X to $dst through eth1: badif is $(sstat B transport badif), expected $((badif0 + n))"
done
sleep 0.3
[ "$(sstat B transport badif)" = $((badif0 + 3)) ] || fail "badif counted more than once a datagram"
[ "$(sstat B transport badttl)" = "$ttl0" ] || fail "badttl moved: refused for the wrong reason"
[ "$(sstat B transport ipackets)" = "$ipk0" ] || fail "B's transport passed a datagram from X on"
[ "$(sstat B engine pkts_in)" = "$pin0" ] || fail "B's engine got a packet from X"
[ "$(sstat B states -)" = "$states0" ] || fail "B's state count changed"
"$REDUNDCTL" --control "$T_DIR/B.sock" sync status | grep -q "^transport:.* badif $((badif0 + 3))\( \|$\)" ||
	fail "badif not in the text status: $("$REDUNDCTL" --control "$T_DIR/B.sock" sync status)"
[ "$(ct_snapshot B)" = "$ct0" ] || fail "B's kernel table changed:
before:
$ct0
after:
$(ct_snapshot B)"
ok "raw pfsync INS (TTL 255) from X through eth1, 3 destinations: refused, badif +3, B's conntrack unchanged"

inject_pfsync E 10.77.0.2 255
wait_ct B "src=10.9.9.9 dst=10.8.8.8 sport=1111 dport=2222" 3 ||
	fail "the same INS from E on the sync link: not applied (the injection path does not work?)"
[ "$(sstat B transport badif)" = $((badif0 + 3)) ] || fail "badif counted a datagram on eth0"
ok "the same INS from E on the sync interface: applied"

# Secure mode: B again, with a key; a forged envelope from X and from E.
kill -TERM "$PID_B"
wait "$PID_B" 2>/dev/null
"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
start_syncd B -i eth0 -k "$T_DIR/key" --no-bulk
sleep 0.3

# forge NS DST: a DATA envelope under key id 1 with random ciphertext and tag.
forge() {
	in_ns "$1" /usr/bin/python3 - "$2" <<'EOF' || fail "forged envelope from $1"
import os, socket, struct, sys
hdr = b"RD" + bytes([1, 1]) + struct.pack("!IIQ", 1, 0x0BADF00D, 1 << 62)
nonce = struct.pack("!IBQ", 0x0BADF00D, 1, 1 << 62) + os.urandom(11)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(hdr + nonce + os.urandom(200) + os.urandom(16), (sys.argv[1], 8240))
EOF
}

badif0=$(sstat B transport badif)
tag0=$(sstat B channel badtag)
opened0=$(sstat B channel opened)
ct0=$(ct_snapshot B)
forge X 10.78.0.2
forge X 10.77.0.2
for i in $(seq 40); do
	[ "$(sstat B transport badif)" = $((badif0 + 2)) ] && break
	sleep 0.05
done
[ "$(sstat B transport badif)" = $((badif0 + 2)) ] ||
	fail "secure: envelopes from X through eth1: badif is $(sstat B transport badif), expected $((badif0 + 2))"
[ "$(sstat B channel badtag)" = "$tag0" ] || fail "secure: an envelope from X reached the channel"
[ "$(sstat B channel opened)" = "$opened0" ] || fail "secure: the channel opened an envelope from X"
ok "secure mode: envelopes from X through eth1 refused by the transport (badif +2), never opened"

forge E 10.77.0.2
for i in $(seq 40); do
	[ "$(sstat B channel badtag)" = $((tag0 + 1)) ] && break
	sleep 0.05
done
[ "$(sstat B channel badtag)" = $((tag0 + 1)) ] ||
	fail "secure: the forged envelope from E was not counted badtag"
[ "$(sstat B transport badif)" = $((badif0 + 2)) ] || fail "secure: badif counted a datagram on eth0"
[ "$(ct_snapshot B)" = "$ct0" ] || fail "secure: B's kernel table changed"
ok "secure mode: the same envelope from E on the sync interface reaches the channel (badtag)"
exit 0
