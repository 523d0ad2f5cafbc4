#!/bin/bash
# Tracking that demotes (issue 11). A (advskew 50) and B (advskew 100) both
# preempt. A's health check (track-script, fall 2 rise 2 weight 50) fails:
# after its second failure group carp on A is 50, B takes the address; after
# two successes A is healthy and takes it back. A check that hangs is killed
# at its timeout (with what it started) and counts as a failure. A tracked
# interface (track-interface, default weight 255) losing its link moves the
# address to B, and back when the link returns. Status (text and JSON) shows
# each tracker.
# Reports this covers: keepalived #535 (a check that times out must fail
# over), #942 (a failing check must move the master), #2126 (a check that
# cannot run counted as healthy: here it is a failure), #1371 (the state
# must come back once the check passes again).
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd /usr/bin/python3
make_bridge
add_host A 1
add_host B 2
in_ns A ip link add trk0 type veth peer name trk1 || fail "cannot create trk0"
in_ns A ip link set trk1 up
in_ns A ip link set trk0 up

# The check fails while A.fail exists, hangs (a child sleeping) while A.hang exists.
cat >"$T_DIR/check.sh" <<EOC
#!/bin/sh
[ -e "$T_DIR/A.hang" ] && sleep 31.4159
[ ! -e "$T_DIR/A.fail" ]
EOC
chmod 0755 "$T_DIR/check.sh"

conf() { # FILE SKEW [TRACK-LINES]
	{
		echo "startup-demote 0"
		printf '%s\n' "${3:-}"
		cat <<EOC
vhost eth0 1
  pass track
  addr 10.77.0.100/24
  advbase 0
  advskew $2
  preempt
EOC
	} >"$1"
}
conf "$T_DIR/A.conf" 50 "track-script $T_DIR/check.sh interval 1 timeout 1 fall 2 rise 2 weight 50
track-interface trk0"
conf "$T_DIR/B.conf" 100
start_carpd A --config "$T_DIR/A.conf"
start_carpd B --config "$T_DIR/B.conf"
wait_state A MASTER 5
wait_state B BACKUP 5
has_addr A 10.77.0.100 || fail "A MASTER without the address"

# track FIELD KIND: FIELD of A's tracker of KIND (script, interface) in JSON status.
track() {
	ctl A carp status --json | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin)["tracking"]:
    if t["kind"] == sys.argv[2]:
        print(t[sys.argv[1]]); sys.exit(0)
print("none")' "$1" "$2"
}
sleep 1.2
[ "$(track state script)/$(track state interface)" = healthy/healthy ] ||
	fail "trackers at start: $(track state script)/$(track state interface)"
[ "$(track runs script)" -ge 1 ] || fail "the check did not run"
ok "A MASTER, its check and its tracked interface healthy"

# ---- the check fails: demoted after 'fall' (2) failures, B takes over
touch "$T_DIR/A.fail"
t0=$(date +%s.%N)
wait_state B MASTER 6
t1=$(date +%s.%N)
wait_state A BACKUP 2
[ "$(track state script)" = failed ] || fail "check state: $(track state script)"
[ "$(node_group A carp)" = 50 ] || fail "group carp on A: $(node_group A carp), expected 50"
has_addr B 10.77.0.100 || fail "B MASTER without the address"
has_addr A 10.77.0.100 && fail "A kept the address"
# Two failures at a 1 s interval: not before the second (>= 1 s), well within 4 s.
/usr/bin/python3 -c "import sys; d=$t1-$t0; sys.exit(0 if 0.9 <= d <= 4.5 else 1)" ||
	fail "takeover after $(/usr/bin/python3 -c "print(round($t1-$t0,2))") s, expected after the 2nd failure"
ctl A carp status | grep -q "track-script $T_DIR/check.sh: FAILED" || fail "text status lacks the failed check"
grep -q "track-script $T_DIR/check.sh: failed (2 failure(s) in a row, last: exit 1): group carp demoted by 50" \
	"$T_DIR/A.log" || fail "no log line for the failed check"
ok "failing check: after 2 failures carp +50 on A, B MASTER with the address"

# ---- it passes again: healthy after 'rise' (2) successes, A (preempt) takes back
rm -f "$T_DIR/A.fail"
wait_state A MASTER 6
[ "$(track state script)" = healthy ] || fail "check state after recovery: $(track state script)"
[ "$(node_group A carp)" = 0 ] || fail "group carp on A after recovery: $(node_group A carp)"
grep -q "healthy again (2 success(es) in a row)" "$T_DIR/A.log" || fail "no recovery log line"
wait_state B BACKUP 2
ok "check passes again: after 2 successes A healthy and MASTER again"

# ---- a check that hangs: killed at its 1 s timeout (its child too), a failure
touch "$T_DIR/A.hang"
wait_state B MASTER 8
[ "$(track timeouts script)" -ge 2 ] || fail "timeouts: $(track timeouts script)"
[ "$(track last script)" = "timeout (1 s)" ] || fail "last result: $(track last script)"
rm -f "$T_DIR/A.hang"
# The run under way when the file went is killed at its timeout too (1 s):
# no child of a check is left 2.5 s later (a zombie waiting for init does not count).
for i in $(seq 50); do
	ps -eo stat=,args= | grep -v '^Z' | grep -q "[s]leep 31.4159" || break
	sleep 0.05
done
ps -eo stat=,args= | grep -v '^Z' | grep -q "[s]leep 31.4159" && fail "a check's child outlived its timeout"
ok "hanging check killed at its timeout with its child, counted as failures: B MASTER"
wait_state A MASTER 6

# ---- the tracked interface loses its link: weight 255 on carp, B takes over
in_ns A ip link set trk0 down
wait_state B MASTER 4
[ "$(track state interface)/$(track link interface)" = failed/down ] ||
	fail "interface tracker: $(track state interface)/$(track link interface)"
[ "$(node_group A carp)" = 255 ] || fail "group carp on A: $(node_group A carp), expected 255"
has_addr B 10.77.0.100 || fail "B MASTER without the address"
has_addr A 10.77.0.100 && fail "A kept the address after trk0 went down"
ok "tracked interface down: carp +255 on A, the address moved to B"
in_ns A ip link set trk0 up
wait_state A MASTER 5
has_addr A 10.77.0.100 || fail "A MASTER again without the address"
[ "$(node_group A carp)" = 0 ] || fail "group carp on A after link up: $(node_group A carp)"
ok "tracked interface up again: A MASTER with the address"

# ---- a tracker cannot be cleared by a hold request under its holder name
holder=$(track holder interface)
ctl A carp hold "$holder" carp 0 10 >/dev/null 2>&1 && fail "a hold request took a tracker's holder name"
ok "hold requests refuse the trackers' holder names ($holder)"

# ---- reload: a failed check keeps its state and counters, with its new weight;
# a tracker no longer in the file takes its raise back
touch "$T_DIR/A.fail"
wait_state B MASTER 6
runs=$(track runs script)
conf "$T_DIR/A.conf" 50 "track-script $T_DIR/check.sh interval 1 timeout 1 fall 2 rise 2 weight 30"
kill -HUP "$PID_A"
wait_log A "configuration reloaded"
[ "$(track state script)" = failed ] || fail "the check's state after reload: $(track state script)"
[ "$(track runs script)" -ge "$runs" ] || fail "the check's counters restarted: $(track runs script) < $runs"
[ "$(track weight script)" = 30 ] || fail "weight after reload: $(track weight script)"
[ "$(node_group A carp)" = 30 ] || fail "group carp after reload: $(node_group A carp), expected 30"
[ "$(track state interface)" = none ] || fail "the interface tracker is still there"
grep -q "track-interface trk0: no longer tracked" "$T_DIR/A.log" || fail "no log line for the removed tracker"
conf "$T_DIR/A.conf" 50
kill -HUP "$PID_A"
for i in $(seq 40); do [ "$(node_group A carp)" = 0 ] && break; sleep 0.05; done
[ "$(node_group A carp)" = 0 ] || fail "group carp with no tracker: $(node_group A carp)"
wait_state A MASTER 4
ok "reload: a failed check stays failed with its new weight (30), removed trackers take their raise back"

# ---- a clean exit (under ASan: no leak) with a check configured
rm -f "$T_DIR/A.fail"
conf "$T_DIR/A.conf" 50 "track-script $T_DIR/check.sh interval 1 timeout 1"
kill -HUP "$PID_A"
sleep 1.2
[ "$(track runs script)" -ge 1 ] || fail "the check did not run after the reload"
kill -TERM "$PID_A"
wait "$PID_A" || fail "carpd in A exited with status $?"
ok "carpd exits cleanly with a tracker"
