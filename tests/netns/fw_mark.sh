#!/bin/bash
# The conntrack mark survives a failover (issue 16). Policy routing keyed on
# the connection's mark, as multi-WAN and QoS set-ups use it (conntrackd
# users ask for exactly this: connmark-based routing that breaks after a
# VRRP failover, e.g. freifunk-berlin/bbb-configs#96 and firehol#23's
# connmark routing): each firewall marks new connections to the server's
# port 5001 (ct mark 0x2a), copies the connection's mark to its packets
# (meta mark set ct mark) and routes to the server only marked packets (ip
# rule fwmark 0x2a; the main table blackholes the server). F1, the master,
# crashes: F2 forwards the streams only if the entries syncd wrote there for
# F1's connections carry the mark. They do (conntrack -L shows mark=42 on
# every one, before and after), and every stream survives. The connections'
# label 5 travels too, beside syncd's own bit 127 of entries written for a
# peer (merged, not replaced): F2's forward chain counts packets whose entry
# has both.
. "$(dirname "$0")/fwlib.sh"
fw_topology
for f in F1 F2; do
	in_ns $f nft -f - <<'EOF2' || fail "mark rules on $f"
table inet connmark {
	chain pre {
		type filter hook prerouting priority mangle;
		iifname "lan" ct state new tcp dport 5001 ct mark set 0x2a ct label set 5
		meta mark set ct mark
	}
	chain labelled {
		type filter hook forward priority filter - 1;
		tcp dport 5001 ct label 5 ct label 127 counter
	}
}
EOF2
	in_ns $f ip route add blackhole 10.20.0.100/32 || fail "blackhole on $f"
	in_ns $f ip route add 10.20.0.100/32 dev wan table 42 || fail "table 42 on $f"
	in_ns $f ip rule add fwmark 0x2a lookup 42 pref 100 || fail "ip rule on $f"
done
md=$(fw_master_down)
N=20

# marked FN: FN's entries of the streams that carry mark 42.
marked() {
	in_ns "$1" conntrack -L -p tcp --dport 5001 2>/dev/null | grep -c 'mark=42 '
}

fw_pair_up
fw_run_streams $N
m=$(marked F2)
echo "F2 holds $m of $N streams' entries with mark=42 before the crash"
[ "$m" = $N ] || { in_ns F2 conntrack -L -p tcp --dport 5001; fail "F2's entries lack the mark"; }
echo "F1 sent $(fw_sync_stat F1 carry ext_sent) extension records, F2 received $(fw_sync_stat F2 carry ext_received)"
fw_event "crash"
fw_power_off F1
fw_wait_holds F2 15 $LAN_VIP $WAN_VIP || echo "F2 did not take both addresses"
fw_wait_flowing 15
sleep 1
fw_event "end"
sleep 0.2
fw_finish
m=$(marked F2)
echo "F2 holds $m of $N streams' entries with mark=42 after the crash"
[ "$m" = $N ] || fail "F2's entries lost the mark"
both=$(in_ns F2 nft list chain inet connmark labelled |
	awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')
echo "F2 forwarded $both packets of entries with label 5 and syncd's label 127"
[ "${both:-0}" -gt 0 ] || fail "F2's entries do not have both labels"
fw_check takeover --from crash --fw F2 --within "$(awk -v m="$md" 'BEGIN { print m + 1 }')"
fw_check survive
fw_verdict
