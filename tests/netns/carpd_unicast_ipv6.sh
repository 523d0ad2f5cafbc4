#!/bin/bash
# Unicast peers (--peer), IPv4 and IPv6: advertisements go to the peer,
# never to the multicast group, and failover works. IPv6: a vhost with an IPv6 address
# advertises to ff02::12 from the link-local address, the MASTER holds the
# address, and on failover the client's neighbour entry follows the
# unsolicited neighbour advertisement (Override flag).
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd tcpdump
make_bridge
add_host A 1
add_host B 2
VIP=10.77.0.100
VIP6=fd77::100

# ---- unicast IPv4 (captured on B's link: every ad of the pair passes there)
start_capture "$T_DIR/uni.pcap" B eth0
start_carpd A --startup-demote 0 -i eth0 -v 3 -p s3cret -a $VIP/24 -b 0 -k 10 --peer 10.77.0.2
start_carpd B --startup-demote 0 -i eth0 -v 3 -p s3cret -a $VIP/24 -b 0 -k 50 --peer 10.77.0.1
wait_state A MASTER 5
wait_state B BACKUP 5
sleep 0.5
[ "$(state B)" = BACKUP ] || fail "B did not stay BACKUP: it does not hear A's unicast"
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null # reaped quietly
wait_state B MASTER 5
has_addr B $VIP || fail "B lacks $VIP"
sleep 0.5
stop_capture
to_peer=$(tcpdump -nr "$T_DIR/uni.pcap" 'ip proto 112 and dst host 10.77.0.2' 2>/dev/null | wc -l)
to_b_peer=$(tcpdump -nr "$T_DIR/uni.pcap" 'ip proto 112 and dst host 10.77.0.1' 2>/dev/null | wc -l)
mcast=$(tcpdump -nr "$T_DIR/uni.pcap" 'ip proto 112 and dst host 224.0.0.18' 2>/dev/null | wc -l)
[ "$to_peer" -gt 5 ] || fail "only $to_peer advertisements from A to its peer"
[ "$to_b_peer" -gt 0 ] || fail "B's advertisements as MASTER did not go to its peer"
[ "$mcast" = 0 ] || fail "$mcast advertisements went to 224.0.0.18 in unicast mode"
ok "unicast: $to_peer ads A->peer, $to_b_peer B->peer, none multicast; failover to B"
kill -TERM "$PID_B"
wait "$PID_B"
in_ns A ip addr del $VIP/24 dev eth0 2>/dev/null

# ---- IPv6 multicast
wait_link_local A
wait_link_local B
start_capture "$T_DIR/v6.pcap"
start_carpd A --startup-demote 0 -i eth0 -v 6 -p s3cret -a $VIP6/64 -b 0 -k 10
start_carpd B --startup-demote 0 -i eth0 -v 6 -p s3cret -a $VIP6/64 -b 0 -k 50
wait_state A MASTER 5
wait_state B BACKUP 5
sleep 0.5
[ "$(state B)" = BACKUP ] || fail "B did not stay BACKUP: it does not hear A over IPv6"
has_addr A $VIP6 || fail "MASTER A lacks $VIP6"
has_addr B $VIP6 && fail "BACKUP B holds $VIP6"
[ "$(neigh_mac $VIP6)" = "$(mac_of A)" ] || fail "client does not resolve $VIP6 to A"
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null # reaped quietly
wait_state B MASTER 5
has_addr B $VIP6 || fail "B lacks $VIP6 after failover"
sleep 0.2
in_ns BR ip -6 neigh show $VIP6 | grep -qi "$(mac_of B)" ||
	fail "client's neighbour entry for $VIP6 did not follow B's unsolicited NA"
stop_capture
v6=$(tcpdump -nr "$T_DIR/v6.pcap" 'ip6 and dst host ff02::12' 2>/dev/null | grep -c 'fe80::')
hl=$(tcpdump -vnr "$T_DIR/v6.pcap" 'ip6 and dst host ff02::12' 2>/dev/null | grep -c 'hlim 255')
[ "$v6" -gt 5 ] || fail "only $v6 IPv6 advertisements from link-local sources to ff02::12"
[ "$hl" = "$v6" ] || fail "$((v6 - hl)) IPv6 advertisements without hop limit 255"
[ "$(counter B badauth)" = 0 ] || fail "B refused IPv6 advertisements (HMAC)"
ok "IPv6: $v6 ads to ff02::12 with hop limit 255; failover; neighbour entry follows the NA"
kill -TERM "$PID_B"
wait "$PID_B"
in_ns A ip addr del $VIP6/64 dev eth0 2>/dev/null

# ---- unicast IPv6 (global sources, no multicast)
start_capture "$T_DIR/u6.pcap" B eth0
start_carpd A --startup-demote 0 -i eth0 -v 4 -p s3cret -a fd77::104/64 -b 0 -k 10 --peer fd77::2
start_carpd B --startup-demote 0 -i eth0 -v 4 -p s3cret -a fd77::104/64 -b 0 -k 50 --peer fd77::1
wait_state A MASTER 5
wait_state B BACKUP 5
sleep 0.5
[ "$(state B)" = BACKUP ] || fail "B did not stay BACKUP: it does not hear A's IPv6 unicast"
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null # reaped quietly
wait_state B MASTER 5
has_addr B fd77::104 || fail "B lacks fd77::104"
sleep 0.5
stop_capture
a=$(tcpdump -nr "$T_DIR/u6.pcap" 'ip6 and src host fd77::1 and dst host fd77::2' 2>/dev/null | wc -l)
b=$(tcpdump -nr "$T_DIR/u6.pcap" 'ip6 and src host fd77::2 and dst host fd77::1' 2>/dev/null | wc -l)
m=$(tcpdump -nr "$T_DIR/u6.pcap" 'ip6 and dst host ff02::12' 2>/dev/null | wc -l)
[ "$a" -gt 5 ] && [ "$b" -gt 0 ] && [ "$m" = 0 ] || fail "IPv6 unicast: A->B $a, B->A $b, multicast $m"
ok "IPv6 unicast: $a ads A->peer, $b B->peer, none to ff02::12; failover to B"
exit 0
