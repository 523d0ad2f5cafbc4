#!/bin/bash
# Holds and the start-up hold: a preferred node (advskew 50, preempt) started
# while the other is MASTER stays BACKUP under its start-up hold; syncd's
# `hold syncd carp 32 10 unless-master` keeps it held and ends the start-up
# hold; `hold syncd carp 0 10` lets it preempt at once; a hold not re-stated
# lapses after its TTL (WARNING, holds_lapsed); on a MASTER `unless-master`
# applies 0 and the answer says masters 1; bad requests are refused and
# counted; the instance changes across a restart; `hold startup carp 0 1`
# ends the start-up hold; with nobody reporting it ends after startup-hold
# seconds with a warning.
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd /usr/bin/python3
make_bridge
add_host A 1
add_host B 2

VIP=10.77.0.100
# advbase 0: A (advskew 50) advertises every 195 ms, B (100) every 390 ms; A's
# master-down (3 x 195 ms) outlasts B's interval, so a held A waits as BACKUP.
vh=(-i eth0 -v 9 -p s3cret -a $VIP/24 -b 0)

# node NAME EXPR: a Python expression over n, NAME's status "node" object.
node() {
	ctl "$1" carp status --json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)["node"]
print(eval(sys.argv[1]))' "$2"
}
# vdemotion NAME: the demotion NAME's vhost advertises.
vdemotion() {
	ctl "$1" carp status --json | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["interfaces"][0]["vhosts"][0]["demotion"])'
}
# stays NAME STATE SECONDS: NAME's vhost is in STATE throughout (polled).
stays() {
	local end=$(($(date +%s%N) + $3 * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		[ "$(state "$1")" = "$2" ] || fail "$1: expected to stay $2, is $(state "$1")"
		sleep 0.05
	done
}

# ---- B (slower, no start-up hold: it has no syncd) is MASTER alone
start_carpd B --startup-demote 0 "${vh[@]}" -k 100
wait_state B MASTER 5

# ---- A, preferred and preempting, starts with the default start-up hold (128)
start_carpd A --startup-hold 20 "${vh[@]}" -k 50 -P
wait_state A BACKUP 3
stays A BACKUP 1
[ "$(node A 'n["startup_hold"]["held"]')" = True ] || fail "start-up hold not shown as held"
[ "$(node A 'n["startup_hold"]["demote"]')" = 128 ] || fail "start-up demotion not 128"
[ "$(node A '[(h["holder"], h["group"], h["value"]) for h in n["holds"]]')" = \
	"[('startup', 'carp', 128)]" ] || fail "holds: $(node A 'n["holds"]')"
[ "$(vdemotion A)" = 128 ] || fail "A advertises demotion $(vdemotion A), expected 128"
grep -q "start-up hold: group carp demoted by 128" "$T_DIR/A.log" || fail "start-up hold not logged"
inst1=$(node A 'n["instance"]')
[[ $inst1 =~ ^[0-9a-f]{16}$ ]] || fail "instance '$inst1' is not 16 lowercase hex digits"
ok "preferred A started under its start-up hold (128): BACKUP while B is MASTER"

# ---- syncd reports 32 (its bulk is pending): A stays held, the start-up hold ends
ans=$(ctl A carp hold syncd carp 32 10 unless-master) || fail "hold refused"
[ "$ans" = "held syncd carp 32 ttl 10 instance $inst1 masters 0" ] || fail "answer: '$ans'"
wait_log A "start-up hold released: syncd reported"
[ "$(node A 'n["startup_hold"]["held"]')" = False ] || fail "start-up hold still shown held"
[ "$(node A 'n["startup_hold"]["released"]')" = "syncd reported" ] || fail "release reason"
[ "$(node A '[(h["holder"], h["value"], h["ttl"]) for h in n["holds"]]')" = \
	"[('syncd', 32, 10)]" ] || fail "holds: $(node A 'n["holds"]')"
[ "$(vdemotion A)" = 32 ] || fail "A advertises demotion $(vdemotion A), expected 32"
stays A BACKUP 1
ok "hold syncd carp 32 10 unless-master: A held at 32, start-up hold released"

# ---- syncd's bulk is done: 0, and A preempts at once
t0=$(date +%s%N)
ans=$(ctl A carp hold syncd carp 0 10 unless-master) || fail "hold 0 refused"
[ "$ans" = "held syncd carp 0 ttl 10 instance $inst1 masters 0" ] || fail "answer: '$ans'"
wait_state A MASTER 2
wait_state B BACKUP 2
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 1000 ] || fail "A took $ms ms to preempt"
[ "$(node A 'len(n["holds"])')" = 0 ] || fail "a hold of 0 is still listed"
[ "$(node A 'n["masters"]')" = 1 ] || fail "masters not 1"
ok "hold syncd carp 0 10: A preempts on B's next advertisement (MASTER within $ms ms)"

# ---- on a MASTER, unless-master applies 0 and says so
ans=$(ctl A carp hold syncd carp 32 10 unless-master) || fail "hold refused"
[ "$ans" = "held syncd carp 0 ttl 10 instance $inst1 masters 1" ] || fail "answer: '$ans'"
[ "$(vdemotion A)" = 0 ] || fail "MASTER A demoted to $(vdemotion A) despite unless-master"
stays A MASTER 1
ok "unless-master on a MASTER: applied 0, masters 1, A stays MASTER"

# ---- a hold not re-stated lapses after its TTL: demoted A hands over, then takes back
ans=$(ctl A carp hold check carp 32 2) || fail "hold check refused"
[ "$ans" = "held check carp 32 ttl 2 instance $inst1 masters 1" ] || fail "answer: '$ans'"
wait_state B MASTER 2
[ "$(node A 'n["counters"]["holds_lapsed"]')" = 0 ] || fail "lapsed too early"
wait_state A MASTER 4
grep -q "hold check on carp (32) lapsed: not re-stated within 2 s" "$T_DIR/A.log" ||
	fail "lapse not logged"
[ "$(node A 'n["counters"]["holds_lapsed"]')" = 1 ] || fail "holds_lapsed not 1"
[ "$(vdemotion A)" = 0 ] || fail "lapsed hold left demotion $(vdemotion A)"
ok "hold check carp 32 2 not re-stated: B took over, the hold lapsed after 2 s, A MASTER again"

# ---- bad requests are refused with what was expected, and counted
out=$(ctl A carp hold syncd carp 300 10 2>&1) && fail "VALUE 300 accepted"
echo "$out" | grep -q "expected 'hold HOLDER GROUP VALUE TTL \[unless-master\]' (VALUE: 0 to 255, got '300')" ||
	fail "unexpected error: $out"
out=$(ctl A carp hold 'sy:ncd' carp 3 10 2>&1) && fail "bad holder accepted"
echo "$out" | grep -q "HOLDER: 1 to 31 characters" || fail "unexpected error: $out"
out=$(ctl A carp hold syncd carp 3 0 2>&1) && fail "TTL 0 accepted"
echo "$out" | grep -q "TTL: 1 to 86400 seconds" || fail "unexpected error: $out"
ctl A carp hold syncd carp 3 1 now 2>/dev/null && fail "a fifth word other than unless-master accepted"
[ "$(node A '(n["counters"]["bad_value"], n["counters"]["bad_holder"], n["counters"]["bad_ttl"])')" = \
	"(1, 1, 1)" ] || fail "error counters: $(node A 'n["counters"]')"
ctl A carp status | grep -q "bad_value 1" || fail "text status lacks the error counter"
[ "$(vdemotion A)" = 0 ] || fail "a refused request changed the demotion"
ok "bad hold requests refused with what was expected, counted per reason"

# ---- a restarted carpd has another instance; 'hold startup carp 0 1' ends its hold
kill -TERM "$PID_A"
wait "$PID_A"
wait_state B MASTER 2
start_carpd A --startup-hold 20 "${vh[@]}" -k 50 -P
wait_state A BACKUP 3
inst2=$(node A 'n["instance"]')
[[ $inst2 =~ ^[0-9a-f]{16}$ ]] && [ "$inst2" != "$inst1" ] ||
	fail "instance after restart '$inst2' (before: '$inst1')"
stays A BACKUP 1
ans=$(ctl A carp hold startup carp 0 1) || fail "hold startup 0 refused"
[ "$ans" = "held startup carp 0 ttl 1 instance $inst2 masters 0" ] || fail "answer: '$ans'"
wait_state A MASTER 2
wait_log A "start-up hold released: by request"
ok "restart: new instance ($inst1 -> $inst2); hold startup carp 0 1 released it, A preempted"

# ---- nobody reports: the start-up hold ends after startup-hold seconds, with a warning
kill -TERM "$PID_A"
wait "$PID_A"
wait_state B MASTER 2
start_carpd A --startup-hold 3 "${vh[@]}" -k 50 -P
wait_state A BACKUP 3
stays A BACKUP 1
wait_state A MASTER 5
wait_log A "start-up hold released after 3 s: nobody reported (set startup-demote 0 when no syncd runs)"
[ "$(node A 'n["startup_hold"]["released"]')" = "time limit (3 s)" ] || fail "release reason"
[ "$(node A 'n["counters"]["holds_lapsed"]')" = 1 ] || fail "the time limit is not counted as a lapse"
ok "nobody reported: start-up hold released after 3 s with a warning, A preempted"

# ---- a demote request ends it too
kill -TERM "$PID_A"
wait "$PID_A"
wait_state B MASTER 2
start_carpd A --startup-hold 20 "${vh[@]}" -k 50 -P
wait_state A BACKUP 3
ctl A carp demote carp +0 >/dev/null || fail "demote carp +0 refused"
wait_state A MASTER 2
wait_log A "start-up hold released: demote request"
ok "demote carp +0 ended the start-up hold, A preempted"
exit 0
