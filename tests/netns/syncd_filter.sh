#!/bin/bash
# syncd's filters (accept-/ignore- address, protocol, mark, state) between
# two plain-mode hosts A and B. A's rules, as conntrackd users write theirs
# (an Address Ignore of a network that stays local, Protocol Accept { TCP
# UDP }, connmark-selected traffic, only ASSURED entries; reports:
# freifunk-berlin/bbb-configs#15, vyos accept-protocol, seapath/ansible#520's
# Accept policy trouble):
#  - an entry that passes every kind reaches B's kernel;
#  - an entry of an ignored network, one of another protocol, one without
#    the mark and one not yet ASSURED do not, and each moves the counter of
#    the rule or kind that refused it (sync status, text and JSON);
#  - the entry not yet ASSURED is synchronised once an update makes it so;
#  - once synchronised, an entry whose mark changes stays synchronised: its
#    delete still reaches B.
. "$(dirname "$0")/synclib.sh"
sync_pair

start_syncd A -i eth0 -m plain --no-bulk \
	--ignore-address 10.66.0.0/16 --accept-protocol tcp,udp \
	--accept-mark 0x10/0xf0 --accept-state assured
start_syncd B -i eth0 -m plain --no-bulk
sleep 0.5

# filt NAME PYEXPR: PYEXPR over f = the "filter" object of NAME's JSON status.
filt() {
	"$REDUNDCTL" --control "$T_DIR/$1.sock" sync status --json |
		/usr/bin/python3 -c '
import json, sys
f = json.load(sys.stdin)["filter"]
rules = {r["rule"]: r["matched"] for r in f["rules"]}
print(eval(sys.argv[1]))' "$2"
}
ins() {
	in_ns A conntrack -I "$@" -t 600 >/dev/null 2>&1 || fail "conntrack -I $*"
}

ins -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41001 --dport 443 --state ESTABLISHED \
	-u SEEN_REPLY,ASSURED -m 0x11
ins -p tcp -s 10.66.0.5 -d 10.2.0.1 --sport 41002 --dport 443 --state ESTABLISHED \
	-u SEEN_REPLY,ASSURED -m 0x11
ins -p icmp -s 10.1.0.1 -d 10.2.0.1 --icmp-type 8 --icmp-code 0 --icmp-id 77 -m 0x11
ins -p udp -s 10.1.0.1 -d 10.2.0.1 --sport 41004 --dport 53 -u SEEN_REPLY,ASSURED -m 0x20
ins -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41005 --dport 443 --state ESTABLISHED \
	-u SEEN_REPLY -m 0x1f

wait_ct B "sport=41001 dport=443" 3 ||
	fail "the entry every rule accepts did not reach B: $(in_ns B conntrack -L 2>&1)"
sleep 0.5
for p in 41002 41004 41005; do
	in_ns B conntrack -L 2>/dev/null | grep -q "sport=$p " &&
		fail "the entry of source port $p (filtered on A) reached B"
done
in_ns B conntrack -L -p icmp 2>/dev/null | grep -q "id=77" && fail "the ICMP entry reached B"
ok "A's filters: the entry that passes reached B; the ignored network, ICMP, the wrong mark, the unassured did not"

[ "$(filt A 'rules["ignore-address 10.66.0.0/16"]')" = 1 ] ||
	fail "ignore-address: matched is not 1: $(filt A f)"
# (IGMP and ICMPv6 entries of the hosts' own traffic count there too.)
[ "$(filt A 'f["not_accepted"]["protocol"]')" -ge 1 ] ||
	fail "ICMP: not_accepted protocol did not move: $(filt A f)"
[ "$(filt A 'f["not_accepted"]["mark"]')" = 1 ] ||
	fail "mark 0x20: not_accepted mark is not 1: $(filt A f)"
[ "$(filt A 'f["not_accepted"]["state"]')" -ge 1 ] ||
	fail "SEEN_REPLY only: not_accepted state did not move: $(filt A f)"
[ "$(filt A 'rules["accept-state assured"]')" -ge 1 ] || fail "accept-state assured: never matched"
[ "$(filt A 'f["passed"]')" -ge 1 ] || fail "passed did not count the synchronised entry"
[ "$(filt B 'f["rules"]')" = "[]" ] || fail "B has rules it was not given"
"$REDUNDCTL" --control "$T_DIR/A.sock" sync status | grep -q "filter rule ignore-address 10.66.0.0/16: matched 1" ||
	fail "the text status does not show the rule's count: $("$REDUNDCTL" --control "$T_DIR/A.sock" sync status | grep filter)"
ok "each refusal moved the counter of its rule or kind (JSON and text status)"

# ASSURED now: the update passes the filter and the entry is synchronised.
in_ns A conntrack -U -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41005 --dport 443 \
	-u SEEN_REPLY,ASSURED >/dev/null 2>&1 || fail "conntrack -U on A"
wait_ct B "sport=41005 dport=443" 3 ||
	fail "the entry did not reach B once ASSURED: $(in_ns A conntrack -L 2>&1)"
ok "an entry refused while unassured is synchronised by the update that makes it ASSURED"

# Synchronised entries stay so when they stop matching: the delete reaches B.
in_ns A conntrack -U -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41001 --dport 443 -m 0x20 \
	>/dev/null 2>&1 || fail "conntrack -U of the mark on A"
sleep 0.3
in_ns A conntrack -D -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 41001 --dport 443 >/dev/null 2>&1 ||
	fail "conntrack -D on A"
for i in $(seq 60); do
	in_ns B conntrack -L 2>/dev/null | grep -q "sport=41001 " || break
	sleep 0.05
done
in_ns B conntrack -L 2>/dev/null | grep -q "sport=41001 " &&
	fail "the delete of a synchronised entry whose mark changed did not reach B"
ok "a synchronised entry whose mark stopped matching: its delete still reached B"

# sync commit is for --no-apply (fw_commit.sh): refused here, nothing written.
out=$("$REDUNDCTL" --control "$T_DIR/B.sock" sync commit 2>&1) && fail "sync commit in apply mode succeeded: $out"
echo "$out" | grep -q "nothing to commit" || fail "sync commit in apply mode: '$out'"
[ "$(sstat B daemon commits)" = 0 ] || fail "a refused commit was counted"
ok "sync commit without --no-apply: refused ($out)"
exit 0
