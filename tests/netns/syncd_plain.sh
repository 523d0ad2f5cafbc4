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
start_syncd B -i eth0 -m plain --carpd-control "$T_DIR/no-carpd.sock"
sleep 0.5

in_ns A conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41000 --dport 443 \
	--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 600 >/dev/null 2>&1 || fail "conntrack -I on A"
wait_ct B "ESTABLISHED src=10.1.0.1 dst=10.2.0.1 sport=41000 dport=443" 3 ||
	fail "plain mode: the entry inserted on A did not reach B: $(in_ns B conntrack -L 2>&1)"
ok "plain mode: conntrack -I on A, the same entry in B's kernel"
# B's hold on a carpd that is not there: logged once, counted, retried.
[ "$(sstat B carpd hold_unreachable)" -ge 1 ] || fail "hold requests to an absent carpd: not counted"
[ "$(sstat B carpd hold_failed)" -ge 1 ] || fail "hold requests to an absent carpd: hold_failed not counted"
[ "$(grep -c "hold syncd carp .* not confirmed: connect" "$T_DIR/B.log")" = 1 ] ||
	fail "the failing hold on an absent carpd is not logged exactly once: $(grep hold "$T_DIR/B.log")"
ok "hold requests to an absent carpd: logged once, counted hold_failed / hold_unreachable"

bad0=$(sstat B transport badttl)
inject_pfsync E 10.77.0.2 64
sleep 0.5
[ "$(sstat B transport badttl)" = $((bad0 + 1)) ] || fail "TTL 64: badttl did not count once"
in_ns B conntrack -L 2>/dev/null | grep -q "sport=1111" && fail "TTL 64: the state was applied"
ok "raw pfsync with TTL 64 from E: refused, counted badttl, not applied"

inject_pfsync E 10.77.0.2 255
wait_ct B "src=10.9.9.9 dst=10.8.8.8 sport=1111 dport=2222" 3 ||
	fail "TTL 255 from E: not applied (the injection path does not work?)"
ok "the same packet with TTL 255: applied (plain mode has no authentication)"
exit 0
