#!/bin/bash
# syncd's hold against the real carpd (needs a carpd with holds: skipped
# otherwise). B is MASTER (no start-up hold) with a syncd holding 6000
# states that answers bulks at 1000 states a second (about 6 s). On A, the
# preferred node (advskew 50, preempt), syncd starts first, then carpd:
#  - carpd's start-up hold (128) ends when syncd first reports; A stays BACKUP
#    while its join bulk runs (syncd's hold 32), and takes the address once,
#    after the bulk ended (syncd's hold 0);
#  - carpd restarted: syncd re-states at once, logs and counts the restart,
#    and the new carpd's start-up hold ends by syncd's report (A MASTER again
#    in about a second, not after the 20 s start-up limit).
. "$(dirname "$0")/synclib.sh"
"$CARPD" --help 2>&1 | grep -q -- --startup-demote || {
	echo "SKIP: this carpd has no holds (hold HOLDER GROUP VALUE TTL)" >&2
	exit $NETNS_SKIP
}
sync_pair

N=6000
VIP=10.77.0.100
vh=(-i eth0 -v 9 -p s3cret -a $VIP/24 -b 0)

# node NAME EXPR: a Python expression over n, NAME's carpd status "node" object.
node() {
	ctl "$1" carp status --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["node"]
print(eval(sys.argv[1]))' "$2"
}
# stays NAME STATE SECONDS: NAME's vhost is in STATE throughout (polled).
stays() {
	local end=$(($(date +%s%N) + $3 * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		[ "$(state "$1")" = "$2" ] || fail "$1: expected to stay $2, is $(state "$1")"
		sleep 0.05
	done
}
# log_ms FILE PATTERN: the time of FILE's first line matching PATTERN, ms of the day.
log_ms() {
	grep -m1 -- "$2" "$1" | awk '{ split($1, t, "[:.]"); print ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4] }'
}

start_carpd B --startup-demote 0 "${vh[@]}" -k 100
wait_state B MASTER 5
for i in $(seq 1 $N); do
	echo "-I -p udp -s 10.1.$((i / 250)).$((i % 250 + 1)) -d 10.2.0.1 --sport 4000 --dport 53 -t 600"
done >"$T_DIR/ct.load"
in_ns B conntrack -R "$T_DIR/ct.load" >/dev/null 2>&1 || fail "conntrack -R on B"
start_syncd_in B sB -i eth0 -m plain --bulk-rate 1000
for i in $(seq 200); do
	[ "$(sstat sB states -)" -ge $N ] && break
	sleep 0.05
done
[ "$(sstat sB states -)" -ge $N ] || fail "B's syncd did not read its $N states"

# 1. A: syncd first (its join bulk starts, carpd is not there yet), then carpd.
start_syncd_in A sA -i eth0 -m plain --carpd-control "$T_DIR/A.sock"
sleep 0.5
start_carpd A --startup-hold 20 "${vh[@]}" -k 50 -P
wait_log A "start-up hold released: syncd reported"
[ "$(node A '[(h["holder"], h["group"], h["value"]) for h in n["holds"]]')" = \
	"[('syncd', 'carp', 32)]" ] || fail "carpd's holds during the bulk: $(node A 'n["holds"]')"
[ "$(sstat sA carpd applied)" = 32 ] || fail "syncd does not show carpd's 32"
[ "$(sstat sA carpd instance)" = "$(node A 'n["instance"]')" ] || fail "syncd shows another instance"
[ "$(sstat sA bulk_pending -)" = True ] || fail "A's join bulk ended too early for this test"
stays A BACKUP 2
ok "syncd before carpd: the start-up hold ended by syncd's report; A held BACKUP at 32 during its join bulk"

for i in $(seq 300); do
	[ "$(sstat sA bulk_pending -)" = False ] && break
	sleep 0.05
done
[ "$(sstat sA states -)" -ge $N ] || fail "A's join bulk brought $(sstat sA states -) states"
wait_state A MASTER 3
wait_state B BACKUP 2
ended=$(log_ms "$T_DIR/sA.log" "join bulk update ended")
took=$(log_ms "$T_DIR/A.log" "-> MASTER")
[ -n "$ended" ] && [ -n "$took" ] && [ "$took" -ge "$ended" ] ||
	fail "A took the address at $took, before its bulk ended at $ended"
[ "$(grep -c -- "-> MASTER" "$T_DIR/A.log")" = 1 ] || fail "A became MASTER more than once"
ok "A took the address once, $((took - ended)) ms after its join bulk of $N states ended"

# 2. carpd restarted: syncd re-states at once; the new carpd's start-up hold ends by it.
inst1=$(node A 'n["instance"]')
kill -TERM "$PID_A"
wait "$PID_A" 2>/dev/null
wait_state B MASTER 3
mv "$T_DIR/A.log" "$T_DIR/A-first.log"
t0=$(date +%s%N)
start_carpd A --startup-hold 20 "${vh[@]}" -k 50 -P
wait_log A "start-up hold released: syncd reported"
wait_state A MASTER 3
ms=$((($(date +%s%N) - t0) / 1000000))
inst2=$(node A 'n["instance"]')
grep -q "restarted (instance $inst2, was $inst1)" "$T_DIR/sA.log" || fail "syncd did not log carpd's restart"
[ "$(sstat sA carpd carpd_restarts)" = 1 ] || fail "carpd_restarts $(sstat sA carpd carpd_restarts)"
[ "$ms" -lt 3000 ] || fail "A MASTER $ms ms after carpd's restart"
ok "carpd restarted: syncd re-stated 0 (logged, counted), the start-up hold ended, A MASTER after $ms ms"
exit 0
