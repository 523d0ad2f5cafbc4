#!/bin/bash
# Virtual MAC (issue 11, `vmac`): a vhost's address lives on a macvlan with
# the CARP MAC 00:00:5e:00:01:VHID, its advertisements leave from it, so on
# failover the client's neighbour entry does not change: the switch (the
# bridge) learns the MAC from the new master's advertisements. The link is
# removed when carpd exits.
# Reports this covers: keepalived's use_vmac users whose clients keep a
# stale ARP entry after failover (gratuitous ARP filtered or ignored).
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd /usr/bin/python3 tcpdump
make_bridge
add_host A 1
add_host B 2

conf() { # FILE SKEW
	cat >"$1" <<EOC
startup-demote 0
vhost eth0 1
  pass vmac
  addr 10.77.0.100/24
  advbase 0
  advskew $2
  vmac
EOC
}
conf "$T_DIR/A.conf" 50
conf "$T_DIR/B.conf" 100
start_capture "$T_DIR/cap.pcap"
start_carpd A --config "$T_DIR/A.conf"
wait_state A MASTER 5
start_carpd B --config "$T_DIR/B.conf"
wait_state B BACKUP 5
in_ns A ip -o link show vmac1.eth0 | grep -q "00:00:5e:00:01:01" || fail "A has no vmac1.eth0 with the CARP MAC"
in_ns A ip -o addr show dev vmac1.eth0 | grep -q "10.77.0.100/24" || fail "the address is not on the vmac link"
mac=$(neigh_mac 10.77.0.100)
[ "$mac" = 00:00:5e:00:01:01 ] || fail "client's neighbour entry: $mac, expected 00:00:5e:00:01:01 (A eth0 $(mac_of A), B eth0 $(mac_of B), A arp_ignore $(in_ns A cat /proc/sys/net/ipv4/conf/eth0/arp_ignore))"
ok "A MASTER on vmac1.eth0 (00:00:5e:00:01:01) with the address; the client resolves it to the CARP MAC"

# ---- failover: A leaves, B takes over; the client's entry is the same MAC and B answers
ctl A carp leave >/dev/null || fail "leave refused"
wait_state B MASTER 3
in_ns B ip -o addr show dev vmac1.eth0 | grep -q "10.77.0.100/24" || fail "B's vmac link lacks the address"
in_ns BR ip neigh show 10.77.0.100 | grep -q "lladdr 00:00:5e:00:01:01" || fail "the client's entry changed: $(in_ns BR ip neigh show 10.77.0.100)"
in_ns BR ping -c 1 -W 2 10.77.0.100 >/dev/null || fail "the address does not answer after failover"
in_ns BR ip neigh show 10.77.0.100 | grep -q "lladdr 00:00:5e:00:01:01" || fail "the client's entry changed after the ping: $(in_ns BR ip neigh show 10.77.0.100)"
sleep 1.5 # B advertises every ~0.4 s: at least 3 in the capture
stop_capture

# Every advertisement of either node left from the CARP MAC, none from eth0's own.
tcpdump -e -n -r "$T_DIR/cap.pcap" 'ip proto 112' 2>/dev/null >"$T_DIR/ads.txt"
[ "$(grep -c " 10.77.0.1 > 224.0.0.18" "$T_DIR/ads.txt")" -ge 3 ] || fail "too few advertisements from A captured"
[ "$(grep -c " 10.77.0.2 > 224.0.0.18" "$T_DIR/ads.txt")" -ge 3 ] || fail "too few advertisements from B captured"
bad=$(grep -v "^[0-9:.]* 00:00:5e:00:01:01 > 01:00:5e:00:00:12" "$T_DIR/ads.txt" | head -3)
[ -z "$bad" ] || fail "advertisements not from the CARP MAC: $bad"
ok "failover: the client's entry stays 00:00:5e:00:01:01 and B answers; every advertisement from the CARP MAC"

# ---- exit removes the link
kill -TERM "$PID_A"
wait "$PID_A" || fail "carpd in A exited with status $?"
in_ns A ip link show vmac1.eth0 >/dev/null 2>&1 && fail "vmac1.eth0 left behind in A"
ok "carpd's exit removes its vmac link"
