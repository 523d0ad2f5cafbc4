#!/bin/bash
# carpd and syncd speak systemd's readiness protocol (Type=notify) to the
# socket $NOTIFY_SOCKET names, here a python listener: carpd READY=1 with
# its MAINPID once its vhost runs, a STATUS= line that follows its state
# (1 master), RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1
# when SIGTERM makes it leave; syncd the same at start and stop, through an
# abstract socket ('@name', in the daemon's network namespace). A listener
# that is gone costs nothing: carpd keeps running. Covers keepalived users'
# reports of a unit stuck in "reloading" or never ready
# (acassen/keepalived#2318, #1783, #2662).
. "$(dirname "$0")/synclib.sh"
sync_pair

# listen NS NAME OUT: the listener in namespace NS; waits until it is bound.
listen() {
	ip netns exec "$(ns "$1")" /usr/bin/python3 "$(dirname "$0")/notify_listen.py" "$2" "$3" &
	T_PIDS+=("$!")
	LISTENER=$!
	for i in $(seq 50); do
		grep -qx listening "$3" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "notify listener $2 did not start"
}
# wait_msg OUT REGEX [SECONDS]: a line of OUT matches REGEX.
wait_msg() {
	local i
	for i in $(seq $((${3:-5} * 20))); do
		grep -qE "$2" "$1" && return 0
		sleep 0.05
	done
	fail "no message matching '$2' in $1: $(cat "$1")"
}

out=$T_DIR/carpd.notify
listen A "$T_DIR/notify" "$out"
printf 'vhost eth0 1\n  addr 10.77.0.100/24\n  advbase 0\n  advskew 10\n' >"$T_DIR/A.conf"
NOTIFY_SOCKET=$T_DIR/notify start_carpd A --startup-demote 0 --config "$T_DIR/A.conf"
wait_msg "$out" "^READY=1\|MAINPID=$PID_A$"
wait_state A MASTER 5
wait_msg "$out" "^STATUS=1 vhost: 1 master, 0 backup, 0 init$"
ok "carpd: READY=1 with its MAINPID, then STATUS= 1 master"

sed -i 's/advskew 10/advskew 20/' "$T_DIR/A.conf"
n=$(wc -l <"$out")
kill -HUP "$PID_A"
wait_msg "$out" "^READY=1$"
tail -n +$((n + 1)) "$out" | grep -v '^STATUS=' | tr '\n' ' ' | grep -qE '^RELOADING=1\|MONOTONIC_USEC=[0-9]+ READY=1 $' ||
	fail "SIGHUP: want RELOADING=1 then READY=1, got: $(tail -n +$((n + 1)) "$out")"
ok "carpd: SIGHUP gives RELOADING=1 (with MONOTONIC_USEC) then READY=1"

# A listener gone: carpd runs on (a reload of the same file keeps its MASTER).
wait_state A MASTER 5
kill "$LISTENER"
wait "$LISTENER" 2>/dev/null
kill -HUP "$PID_A"
sleep 0.3
kill -0 "$PID_A" 2>/dev/null || fail "carpd died once the notify socket was gone"
[ "$(state A 1)" = MASTER ] || fail "carpd not MASTER after a reload with no listener"
out=$T_DIR/carpd2.notify
listen A "$T_DIR/notify" "$out"
kill -TERM "$PID_A"
wait_msg "$out" "^STOPPING=1"
wait "$PID_A" 2>/dev/null
ok "carpd: runs on without a listener; SIGTERM gives STOPPING=1"

# syncd, through an abstract socket in its namespace.
out=$T_DIR/syncd.notify
name=@libredund-notify-$$
listen B "$name" "$out"
"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
NOTIFY_SOCKET=$name start_syncd B -i eth0 -k "$T_DIR/key"
wait_msg "$out" "^READY=1\|MAINPID=$PID_B$"
wait_msg "$out" "^STATUS=secure mode, creatorid [0-9a-f]{8}, "
kill -TERM "$PID_B"
wait_msg "$out" "^STOPPING=1"
grep -n . "$out" | grep -E 'READY=1|STOPPING=1' | head -2 | cut -d: -f2 | tr '\n' ' ' |
	grep -q '^READY=1|MAINPID=[0-9]* STOPPING=1 $' || fail "syncd: READY=1 not before STOPPING=1: $(cat "$out")"
ok "syncd: READY=1 then STOPPING=1 on an abstract socket"
