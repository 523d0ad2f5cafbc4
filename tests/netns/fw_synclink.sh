#!/bin/bash
# The sync link goes down for 10 s while both firewalls run: no address moves
# (losing the sync link is no reason to fail over, nor to demote anyone), 50 TCP
# streams survive, and once the link is back the two conntrack tables converge:
# states created on the master during the outage reach F2, and states deleted
# there during the outage leave F2.
. "$(dirname "$0")/fwlib.sh"
fw_topology
fw_pair_up
fw_run_streams 50

# flows FN: FN's flows from the client (protocol, original addresses and ports), sorted.
flows() {
	in_ns "$1" conntrack -L -s 10.10.0.100 2>/dev/null | awk '{
		n = 0; k = $1
		for (i = 2; i <= NF && n < 4; i++)
			if ($i ~ /^(src|dst|sport|dport)=/) { k = k " " $i; n++ }
		print k }' | sort
}
converged() { [ "$(flows F1 | md5sum)" = "$(flows F2 | md5sum)" ]; }

# 3000 UDP flows before the outage (2000 from port 30000, 1000 from 30100);
# the 1000 end during it, 2000 new ones start.
fw_load_states 2000 30000
fw_load_states 1000 30100
fw_until 10 converged || fail "the tables differ before the outage: $(diff <(flows F1) <(flows F2) | head -5)"
echo "before: F1 $(flows F1 | wc -l) flows, F2 $(flows F2 | wc -l)"

fw_event "sync link down"
in_ns F1 ip link set sync down
in_ns F1 conntrack -D -p udp -s 10.10.0.100 -d 10.20.0.100 --sport 30100 >/dev/null 2>&1
ip netns exec "$(ns C)" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.100", 31000))
for p in range(20000, 22000):
    s.sendto(b"x", ("10.20.0.100", p))
' || fail "new flows"
echo "during: F1 $(flows F1 | wc -l) flows, F2 $(flows F2 | wc -l)"
sleep 10
fw_event "sync link up"
in_ns F1 ip link set sync up
t0=$(date +%s.%N)
fw_until 20 converged && conv=yes || conv=no
t1=$(date +%s.%N)
echo "after: F1 $(flows F1 | wc -l) flows, F2 $(flows F2 | wc -l)"
sleep 1
fw_event "end"
sleep 0.2
fw_finish

fw_check nomoves --from "sync link down" --to end
fw_check survive
if [ $conv = yes ]; then
	echo "ok: the tables converge $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the sync link is back ($(flows F1 | wc -l) flows)"
else
	echo "FAIL: the tables differ 20 s after the sync link is back: $(diff <(flows F1) <(flows F2) | grep -c '^<') flows only on F1, $(diff <(flows F1) <(flows F2) | grep -c '^>') only on F2, e.g."
	diff <(flows F1) <(flows F2) | head -5
	FW_FAILED=$((FW_FAILED + 1))
fi
fw_verdict
