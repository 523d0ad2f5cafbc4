#!/bin/bash
# Split brain: the LAN between the two firewalls is partitioned (a
# bridge-family nftables rule in the LAN bridge drops every frame between
# their two ports; the client still reaches both), so F2 stops hearing F1 on
# the LAN and becomes MASTER of the LAN vhost too, and its gratuitous ARP turns
# the client to it. When the partition heals there must be one MASTER within
# one advertisement interval of the winner (F1), and the client's neighbour
# entry for the LAN address must point at the winner's MAC: the winner
# re-announces its addresses at once. 50 TCP streams run throughout (counted,
# not asserted: during the partition the path is asymmetric).
. "$(dirname "$0")/fwlib.sh"
fw_topology
fw_pair_up
fw_run_streams 50
p1=$(fw_port F1 lan)
p2=$(fw_port F2 lan)
mac1=$(in_ns F1 cat /sys/class/net/lan/address)
mac2=$(in_ns F2 cat /sys/class/net/lan/address)
# The winner's interval, plus the 20 ms resolution of fw_stream.py's polling of carpd.
within=$(awk -v i="$(fw_interval F1)" 'BEGIN { print i + 0.05 }')

client_mac() {
	in_ns C ip neigh show $LAN_VIP | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}
client_on() { [ "$(client_mac)" = "$1" ]; }

fw_event "LAN partitioned"
in_ns LB nft -f - <<EOF || fail "nft in LB"
table bridge partition {
	chain split {
		type filter hook forward priority 0;
		iifname "$p1" oifname "$p2" drop
		iifname "$p2" oifname "$p1" drop
	}
}
EOF
fw_wait_vhost F2 10 MASTER 10 || fail "F2 did not become MASTER of the LAN vhost during the partition"
[ "$(fw_vhost F1 10)" = MASTER ] || fail "F1 left MASTER of the LAN vhost during the partition"
fw_until 5 client_on "$mac2" ||
	fail "during the partition the client's entry for $LAN_VIP is $(client_mac), not F2's $mac2"
echo "partitioned: both MASTER of vhid 10; the client's entry for $LAN_VIP points at F2 ($mac2)"
sleep 2
fw_event "LAN healed"
in_ns LB nft delete table bridge partition || fail "nft in LB"
sleep "$within"
sleep 0.3
got=$(client_mac)
# The re-announce's second round (two advertisements later) repeats the
# gratuitous ARP: a cache that a late announcement of the loser turned back
# is corrected by then at the latest.
late=""
if [ "$got" != "$mac1" ]; then
	fw_until "$(awk -v i="$(fw_interval F1)" 'BEGIN { printf "%d", 2 * i + 1 }')" client_on "$mac1" &&
		late=$(client_mac)
fi
echo "$(awk -v w="$within" 'BEGIN { print w + 0.3 }') s after the heal: F1 $(fw_vhost F1 10), F2 $(fw_vhost F2 10); the client's entry for $LAN_VIP: $got (F1 $mac1, F2 $mac2)"
sleep 1
fw_event "end"
sleep 0.2
fw_finish

fw_check masters --from "LAN healed" --to end --vhid 10 --within "$within"
if [ "$got" = "$mac1" ]; then
	echo "ok: the client's neighbour entry for $LAN_VIP points at the winner F1 ($mac1) 0.3 s after one advertisement interval"
elif [ "$late" = "$mac1" ]; then
	echo "ok: the client's neighbour entry for $LAN_VIP points at the winner F1 ($mac1) after the re-announce's second round (it was $got 0.3 s after one advertisement interval)"
else
	echo "FAIL: the client's neighbour entry for $LAN_VIP points at $(client_mac), not at the winner F1 ($mac1), even after the re-announce's second round"
	FW_FAILED=$((FW_FAILED + 1))
fi
fw_verdict
