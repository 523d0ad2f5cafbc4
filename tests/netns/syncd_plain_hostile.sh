#!/bin/bash
# Plain mode (raw pfsync, no key) against a host E on the sync link (issue 15):
#  - B with A listed as its peer refuses E's INS (transport counter notpeer);
#    B's kernel gets nothing from E;
#  - multicast, nobody listed: a CLR naming B's own creatorid, sent by E,
#    is refused (engine counter clr_ours) and B keeps its connections;
#  - 500 bulk requests from E over about a second make B send its table at
#    most three times (answers start 1 s apart: bulk_spaced), not 500 times.
. "$(dirname "$0")/synclib.sh"
sync_pair
add_host E 9

# 1. Listed peers: only they are heard.
start_syncd A -i eth0 -m plain --peer 10.77.0.2
start_syncd B -i eth0 -m plain --peer 10.77.0.1
sleep 0.3
inject_pfsync E 10.77.0.2 255
for i in $(seq 40); do
	[ "$(sstat B transport notpeer)" -ge 1 ] && break
	sleep 0.05
done
[ "$(sstat B transport notpeer)" -ge 1 ] || fail "E's INS to B: notpeer not counted"
[ "$(sstat B engine inserts)" = 0 ] || fail "E's INS was imported by B"
in_ns B conntrack -L 2>/dev/null | grep -q "10.9.9.9" && fail "E's INS is in B's kernel"
ok "peers listed: E's INS refused by B's transport (notpeer), nothing in B's kernel"
kill -TERM "$PID_A" "$PID_B"
wait "$PID_A" "$PID_B" 2>/dev/null

# 2. Multicast: B's own states, and E's CLR naming B's creatorid.
start_syncd A -i eth0 -m plain
start_syncd B -i eth0 -m plain
sleep 0.3
for p in $(seq 43000 43049); do
	in_ns B conntrack -I -p tcp -s 10.1.0.2 -d 10.2.0.2 --sport "$p" --dport 80 \
		--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 3600 >/dev/null 2>&1 || fail "conntrack -I on B"
done
wait_ct A "sport=43049 dport=80" 5 || fail "B's states did not reach A"
cid=$(sstat B creatorid -)
in_ns E /usr/bin/python3 - "$cid" <<'PY' || fail "CLR from E"
import socket, struct, sys
clr = b"\0" * 16 + struct.pack("!I", int(sys.argv[1], 16))
body = bytes([0, 5]) + struct.pack("!H", 1) + clr
pkt = bytes([6, 0]) + struct.pack("!H", 20 + len(body)) + b"\0" * 16 + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 240)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.sendto(pkt, ("10.77.0.2", 0))
PY
for i in $(seq 40); do
	[ "$(sstat B engine clr_ours)" = 1 ] && break
	sleep 0.05
done
[ "$(sstat B engine clr_ours)" = 1 ] || fail "E's CLR of B's creatorid: clr_ours $(sstat B engine clr_ours)"
n=$(in_ns B conntrack -L -p tcp 2>/dev/null | grep -c "dport=80 ")
[ "$n" -ge 50 ] || fail "B lost its connections to E's CLR ($n left)"
ok "E's CLR naming B's creatorid: refused (clr_ours), B keeps its 50 connections"

# 3. 500 bulk requests from E within a second.
sent0=$(sstat B engine bulk_sent)
in_ns E /usr/bin/python3 - <<'PY' || fail "bulk requests from E"
import socket, struct, time
req = struct.pack("!QI", 0, 0)
body = bytes([5, 3]) + struct.pack("!H", 1) + req
pkt = bytes([6, 0]) + struct.pack("!H", 20 + len(body)) + b"\0" * 16 + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 240)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
for i in range(500):
    s.sendto(pkt, ("10.77.0.2", 0))
    time.sleep(0.002)
PY
sleep 2.5
sent=$(($(sstat B engine bulk_sent) - sent0))
states=$(sstat B states -)
[ "$sent" -le $((3 * states)) ] ||
	fail "500 bulk requests made B send $sent states ($states in its table)"
[ "$(sstat B engine bulk_spaced)" -ge 1 ] || fail "bulk_spaced not counted"
ok "500 bulk requests in a second: B sent $sent states ($states in its table), not 500 tables"
