#!/bin/bash
# A member's syncd restarts while its kernel table stays (issue 10):
#  - B keeps its creatorid across the restart (its state directory): A sees
#    a new incarnation of a member it knows (channel peer_restarts), counts
#    nothing lost, and asks for no repair bulk;
#  - while B's syncd was away, A's side deleted 30 states that B's kernel
#    still holds (written there for A, so marked with syncd's conntrack
#    label): after B's join bulk they are removed from B's kernel (mirror
#    counter `gone`) and come back on neither member;
#  - a state created in B's kernel while its syncd was away (unmarked) is
#    B's: it reaches A;
#  - `nft flush ruleset` removes syncd's labels rule (table inet
#    libredund_syncd); syncd puts it back within 10 s;
#  - B comes back with --reserve (its table's memory taken at start) and
#    says so; everything above holds with it.
. "$(dirname "$0")/synclib.sh"
sync_pair nft

"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
start_syncd A -i eth0 -k "$T_DIR/key"
start_syncd B -i eth0 -k "$T_DIR/key"
sleep 0.5
id_b=$(sstat B creatorid -)

ins() { # ins NAME PORT: an established TCP entry of port PORT in NAME's kernel
	in_ns "$1" conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport "$2" --dport 80 \
		--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 3600 >/dev/null 2>&1 ||
		fail "conntrack -I on $1 (port $2)"
}
count() { # count NAME FROM TO: entries of source ports FROM..TO in NAME's kernel
	in_ns "$1" conntrack -L -p tcp 2>/dev/null |
		awk -v lo="$2" -v hi="$3" '{ for (i = 1; i <= NF; i++) if ($i ~ /^sport=/) {
			split($i, a, "="); if (a[2] >= lo && a[2] <= hi) n++; break } } END { print n + 0 }'
}

for p in $(seq 41000 41099); do ins A "$p"; done
for i in $(seq 100); do
	[ "$(count B 41000 41099)" = 100 ] && break
	sleep 0.05
done
[ "$(count B 41000 41099)" = 100 ] || fail "A's 100 states did not reach B ($(count B 41000 41099))"
in_ns B nft list table inet libredund_syncd >/dev/null 2>&1 ||
	fail "B: syncd's labels table is missing: $(in_ns B nft list ruleset 2>&1)"
ok "100 states inserted on A are in B's kernel; B keeps conntrack labels in use"

# B's syncd stops; its kernel keeps A's 100 states (marked).
kill -TERM "$PID_B"
wait "$PID_B" 2>/dev/null
for p in $(seq 41000 41029); do
	in_ns A conntrack -D -p tcp --sport "$p" --dport 80 >/dev/null 2>&1 || fail "conntrack -D on A"
done
ins B 42000 # created locally while B's syncd is away
[ "$(count B 41000 41099)" = 100 ] || fail "B's kernel lost entries while its syncd was down"
# A's own start-up request may still run (secure mode: a member asked
# while its own request runs answers once that ended, 6 s for a pair
# started together): the counters below are read once it ended.
for i in $(seq 200); do
	[ "$(sstat A bulk_pending -)" = False ] && break
	sleep 0.05
done
[ "$(sstat A bulk_pending -)" = False ] || fail "A's start-up bulk request still runs after 10 s"
lost_a=$(sstat A channel lost)
restarts_a=$(sstat A channel peer_restarts)
bulks_a=$(( $(sstat A engine bulk_ok) + $(sstat A engine bulk_fail) ))

start_syncd B -i eth0 -k "$T_DIR/key" --reserve --limit 5000
grep -q "memory of 5000 states reserved" "$T_DIR/B.log" ||
	fail "B with --reserve --limit 5000 did not say it reserved the memory of 5000 states"
[ "$(sstat B creatorid -)" = "$id_b" ] || fail "B's creatorid changed over its restart"
for i in $(seq 200); do
	grep -q "kernel table read" "$T_DIR/B.log" && break
	sleep 0.05
done
grep -q "kernel table read" "$T_DIR/B.log" || fail "B never read its kernel table"
sleep 1
[ "$(count B 41000 41029)" = 0 ] || "$REDUNDCTL" --control "$T_DIR/B.sock" sync status >&2
[ "$(count B 41000 41029)" = 0 ] ||
	fail "B kept $(count B 41000 41029) of the 30 states deleted while it was away"
[ "$(count A 41000 41029)" = 0 ] ||
	fail "B's restart brought back $(count A 41000 41029) deleted states to A"
[ "$(count B 41030 41099)" = 70 ] || fail "B: $(count B 41030 41099) of A's 70 live states"
[ "$(count A 41000 41099)" = 70 ] || fail "A: $(count A 41000 41099) of its 70 live states"
[ "$(sstat B mirror gone)" = 30 ] || fail "B's mirror counted gone $(sstat B mirror gone), want 30"
wait_ct A "sport=42000 dport=80" 5 || fail "the state B made while its syncd was away did not reach A"
ok "B restarted: the 30 states deleted meanwhile stay deleted (gone 30), the one made meanwhile reached A"

[ "$(sstat A channel peer_restarts)" = $((restarts_a + 1)) ] ||
	fail "A: peer_restarts $(sstat A channel peer_restarts), want $((restarts_a + 1))"
[ "$(sstat A channel lost)" = "$lost_a" ] || fail "A counted B's restart lost: $(sstat A channel lost)"
[ $(( $(sstat A engine bulk_ok) + $(sstat A engine bulk_fail) )) = "$bulks_a" ] &&
	[ "$(sstat A bulk_pending -)" = False ] || fail "A asked for a repair bulk on B's restart"
ok "A saw a new incarnation of B (peer_restarts +1): nothing lost, no repair bulk"

in_ns B nft flush ruleset
for i in $(seq 130); do
	in_ns B nft list table inet libredund_syncd >/dev/null 2>&1 && break
	sleep 0.1
done
in_ns B nft list table inet libredund_syncd >/dev/null 2>&1 || fail "labels table not put back"
grep -q "was gone (ruleset reloaded?), put back" "$T_DIR/B.log" || fail "no log line for the put-back"
ok "nft flush ruleset: syncd put its labels rule back"
