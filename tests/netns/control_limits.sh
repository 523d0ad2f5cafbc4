#!/bin/bash
# The control sockets of carpd and syncd (daemon/control.c) against careless
# and hostile clients, both daemons under the default limit of 1,024 open
# files (ulimit -n 1024):
#  - 1,100 connections to each daemon that send nothing: the daemon does not
#    spin (its CPU time over 3 s stays under 0.3 s), answers a status from
#    redundctl within redundctl's timeout meanwhile, counts what it closed,
#    and closes every one of the 1,100 (the oldest idle ones to make room,
#    the rest after the idle timeout);
#  - a client that sends half a request is closed after the idle timeout
#    with an error line;
#  - a request longer than the limit (with or without a line end) and one
#    with a NUL byte are answered "error ..." and counted;
#  - redundctl gives up with a clear message and exit status 1 when a socket
#    accepts nobody (full backlog) or never answers, after --timeout
#    seconds or its default;
#  - carpd: 20,000 distinct demotion groups, each raised and lowered by
#    request, leave only the configured group in status (groups that reach
#    zero and that no vhost names are freed); 64 request groups at once are
#    the limit, the 65th is refused with a clear error and counted.
. "$(dirname "$0")/synclib.sh"
require_netns
require_cmd /usr/bin/python3 timeout
make_bridge
add_host A 1
CLIENT="$(dirname "$0")/ctl_client.py"
HZ=$(getconf CLK_TCK)

client() { /usr/bin/python3 "$CLIENT" "$@"; }
# cpu_ms PID: the process's CPU time (user + system) so far, in ms.
cpu_ms() { awk -v hz="$HZ" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# jget SOCK EXPR: a Python expression over s, the daemon's status --json.
jget() {
	timeout 20 "$REDUNDCTL" --control "$1" carp status --json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2"
}

# The daemons get the usual default limit; the clients raise their own.
ulimit -Sn 1024
start_carpd A --startup-demote 0 -i eth0 -v 1 -p s3cret -a 10.77.0.100/24 -b 0
start_syncd_in A sA -i eth0 -m plain
wait_state A MASTER 5

# idle_flood SOCK PID WHAT STATUS-COMMAND...
idle_flood() {
	local sock=$1 pid=$2 what=$3 i c0 c1 t0 t1 out conn closed
	shift 3
	client idle "$sock" 1100 9 >"$T_DIR/idle-$what.out" 2>&1 &
	local cpid=$!
	T_PIDS+=("$cpid")
	for i in $(seq 300); do
		grep -q connected "$T_DIR/idle-$what.out" && break
		kill -0 "$cpid" 2>/dev/null || fail "idle client: $(cat "$T_DIR/idle-$what.out")"
		sleep 0.1
	done
	conn=$(awk '/^connected/ { print $2 }' "$T_DIR/idle-$what.out")
	[ -n "$conn" ] || fail "$what: the idle clients could not connect in 30 s"
	c0=$(cpu_ms "$pid")
	sleep 3
	c1=$(cpu_ms "$pid")
	[ $((c1 - c0)) -le 300 ] ||
		fail "$what used $((c1 - c0)) ms of CPU in 3 s with $conn idle clients (spinning)"
	t0=$(now_ms)
	out=$(timeout 20 "$REDUNDCTL" --control "$sock" --timeout 3 "$@" 2>&1) ||
		fail "$what did not answer status with $conn idle clients: $out"
	t1=$(now_ms)
	wait "$cpid"
	closed=$(awk '/^closed_by_server/ { print $2 }' "$T_DIR/idle-$what.out")
	[ "$conn" = 1100 ] && [ "$closed" = 1100 ] ||
		fail "$what: $conn of 1100 idle clients connected, $closed closed by the daemon"
	ok "$what: 1,100 idle clients: $((c1 - c0)) ms of CPU in 3 s, status answered in" \
		"$((t1 - t0)) ms, all 1,100 closed by the daemon"
}

idle_flood "$T_DIR/A.sock" "$PID_A" carpd carp status
[ "$(jget "$T_DIR/A.sock" 's["control"]["evicted"] + s["control"]["timed_out"] >= 1100')" = True ] ||
	fail "carpd's control counters: $(jget "$T_DIR/A.sock" 's["control"]')"
idle_flood "$T_DIR/sA.sock" "$PID_sA" syncd sync status
"$REDUNDCTL" --control "$T_DIR/sA.sock" sync status --json | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)["control"]
assert c["evicted"] + c["timed_out"] >= 1100, c' || fail "syncd's control counters"
ok "control counters: carpd $(jget "$T_DIR/A.sock" 's["control"]')"

# ---- half a request: closed with an error after the idle timeout
for s in A sA; do
	t0=$(now_ms)
	out=$(client send "$T_DIR/$s.sock" 'stat' 10) ||
		fail "$s: half a request was never closed: $out"
	t1=$(now_ms)
	case "$out" in "error "*"within"*) ;; *) fail "$s: half a request: '$out'" ;; esac
	[ $((t1 - t0)) -ge 2000 ] && [ $((t1 - t0)) -le 6000 ] ||
		fail "$s: half a request closed after $((t1 - t0)) ms"
done
ok "half a request: '$out' after $((t1 - t0)) ms"

# ---- oversize and NUL
long=$(head -c 600 /dev/zero | tr '\0' x)
for s in A sA; do
	out=$(client send "$T_DIR/$s.sock" "status $long\\n") ||
		fail "$s: no answer to a long request"
	case "$out" in "error request too long"*) ;; *) fail "$s: long request: '$out'" ;; esac
	out=$(client send "$T_DIR/$s.sock" "$(head -c 5000 /dev/zero | tr '\0' y)") ||
		fail "$s: no answer to 5,000 bytes without a line end"
	case "$out" in "error request too long"*) ;; *) fail "$s: 5,000 bytes: '$out'" ;; esac
	out=$(client send "$T_DIR/$s.sock" 'status\x00json\n') ||
		fail "$s: no answer to a request with a NUL byte"
	case "$out" in "error request contains a NUL byte"*) ;; *) fail "$s: NUL: '$out'" ;; esac
done
[ "$(jget "$T_DIR/A.sock" 's["control"]["too_long"]')/$(jget "$T_DIR/A.sock" 's["control"]["nul"]')" = 2/1 ] ||
	fail "carpd's counters of long and NUL requests: $(jget "$T_DIR/A.sock" 's["control"]')"
ok "a long request, 5,000 bytes without a line end and a NUL byte are answered 'error' and counted"

# ---- redundctl's timeout: a socket whose backlog is full, one that never answers
client hang "$T_DIR/hang.sock" 30 >"$T_DIR/hang.out" 2>&1 &
T_PIDS+=($!)
client mute "$T_DIR/mute.sock" 30 >"$T_DIR/mute.out" 2>&1 &
T_PIDS+=($!)
for i in $(seq 50); do
	grep -q listening "$T_DIR/hang.out" && grep -q listening "$T_DIR/mute.out" && break
	sleep 0.1
done
for s in hang mute; do
	t0=$(now_ms)
	out=$(timeout 20 "$REDUNDCTL" --control "$T_DIR/$s.sock" --timeout 1 carp status 2>&1)
	rc=$?
	t1=$(now_ms)
	[ "$rc" = 1 ] || fail "redundctl --timeout 1 against $s: exit $rc ($out)"
	echo "$out" | grep -q "timed out" || fail "redundctl against $s: '$out'"
	[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -le 2500 ] ||
		fail "redundctl --timeout 1 against $s took $((t1 - t0)) ms"
	echo "  $s: $out ($((t1 - t0)) ms)"
done
t0=$(now_ms)
out=$(timeout 30 "$REDUNDCTL" --control "$T_DIR/mute.sock" carp status 2>&1)
rc=$?
t1=$(now_ms)
[ "$rc" = 1 ] && [ $((t1 - t0)) -le 8000 ] ||
	fail "redundctl without --timeout against a mute socket: exit $rc after $((t1 - t0)) ms"
"$REDUNDCTL" --timeout 0 carp status 2>/dev/null
[ $? = 2 ] || fail "--timeout 0 accepted"
ok "redundctl: --timeout 1 gives up after about a second, the default after $((t1 - t0)) ms"

# ---- demotion groups made by requests are freed at zero, and bounded
client demotes "$T_DIR/A.sock" 20000 g || fail "demote requests"
size=$(timeout 20 "$REDUNDCTL" --control "$T_DIR/A.sock" carp status --json | wc -c)
groups=$(jget "$T_DIR/A.sock" '[g["name"] for g in s["node"]["groups"]][:5]')
n=$(jget "$T_DIR/A.sock" 'len(s["node"]["groups"])')
[ "$groups" = "['carp']" ] && [ "$size" -le 4000 ] ||
	fail "after 20,000 groups raised and lowered: status is $size bytes, $n groups ($groups...)"
ok "20,000 demotion groups raised and lowered by request: status $size bytes, groups $groups"
for i in $(seq 64); do
	echo "demote b$i +1"
done | while read -r line; do
	out=$(client send "$T_DIR/A.sock" "$line\\n") || exit 1
	[ "$out" = ok ] || { echo "$line: $out"; exit 1; }
done || fail "64 groups by request"
out=$(timeout 20 "$REDUNDCTL" --control "$T_DIR/A.sock" carp demote b65 +1 2>&1) &&
	fail "a 65th group by request was accepted"
echo "$out" | grep -q "at most 64 demotion groups" || fail "65th group: '$out'"
[ "$(jget "$T_DIR/A.sock" 's["node"]["counters"]["table_full"]')" = 1 ] || fail "table_full not counted"
for i in $(seq 64); do
	client send "$T_DIR/A.sock" "demote b$i -1\\n" >/dev/null
done
timeout 20 "$REDUNDCTL" --control "$T_DIR/A.sock" carp hold h1 held1 5 30 >/dev/null ||
	fail "hold on a new group"
[ "$(jget "$T_DIR/A.sock" 'len(s["node"]["groups"])')" = 2 ] || fail "the held group is missing"
timeout 20 "$REDUNDCTL" --control "$T_DIR/A.sock" carp hold h1 held1 0 30 >/dev/null ||
	fail "hold 0"
groups=$(jget "$T_DIR/A.sock" '[g["name"] for g in s["node"]["groups"]]')
[ "$groups" = "['carp']" ] || fail "after the groups went back to 0: $groups"
ok "the 65th group by request is refused ('$out') and counted; groups back at 0 (demote, hold) are freed"

[ "$(state A)" = MASTER ] || fail "carpd's vhost left MASTER: $(state A)"
kill -TERM "$PID_A" "$PID_sA"
wait "$PID_A" "$PID_sA"
exit 0
