#!/bin/bash
# Two syncd hosts in secure mode with unicast IPv6 peers (no multicast):
# an IPv6 and an IPv4 conntrack entry inserted on A both reach B's kernel
# over UDP/IPv6, and B's `redundctl sync status` shows them as inserts.
. "$(dirname "$0")/synclib.sh"
sync_pair
"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"

start_syncd A -p fd77::2 -k "$T_DIR/key"
start_syncd B -p fd77::1 -k "$T_DIR/key"
sleep 0.5

in_ns A conntrack -I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1000 --dport 2000 \
	-t 100 >/dev/null 2>&1 || fail "conntrack -I (IPv6) on A"
in_ns A conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 43000 --dport 25 \
	--state SYN_SENT -t 100 >/dev/null 2>&1 || fail "conntrack -I (IPv4) on A"
wait_ct B "src=2001:db8::1 dst=2001:db8::2 sport=1000 dport=2000" 3 ipv6 ||
	fail "the IPv6 entry did not reach B: $(in_ns B conntrack -L -f ipv6 2>&1)"
wait_ct B "SYN_SENT src=10.1.0.1 dst=10.2.0.1 sport=43000 dport=25" 3 ipv4 ||
	fail "the IPv4 entry did not reach B: $(in_ns B conntrack -L 2>&1)"
ins=$(sstat B engine inserts)
[ "$ins" = 2 ] || fail "B's engine counted $ins inserts, expected 2"
ok "secure mode over unicast IPv6: an IPv6 and an IPv4 entry from A in B's kernel"
exit 0
