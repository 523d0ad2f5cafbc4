#!/bin/bash
# Replay: a recorded advertisement of a dead master, sent again by an
# attacker, makes the new master step down in OpenBSD-compatible mode (the
# counter is a constant cookie); with --replay-strict the counter must grow
# per sender, so the replay is refused, counted as "replay", and changes
# nothing.
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd tcpdump
require_scapy
make_bridge
add_host A 1
add_host B 2
add_host E 9
VIP=10.77.0.100
REPLAY="$(dirname "$0")/replay_carp.py"

# run MODE-ARGS: B (fast) is MASTER and recorded, dies; A takes over; E replays B.
run() {
	start_capture "$T_DIR/rec.pcap"
	start_carpd B --startup-demote 0 -i eth0 -v 11 -p s3cret -a $VIP/24 -b 0 -k 10 "$@"
	wait_state B MASTER 5
	start_carpd A --startup-demote 0 -i eth0 -v 11 -p s3cret -a $VIP/24 -b 0 -k 50 "$@"
	wait_state A BACKUP 5
	sleep 0.5
	kill -KILL "$PID_B"
	wait "$PID_B" 2>/dev/null
	wait_state A MASTER 5
	stop_capture
	in_ns E /usr/bin/python3 "$REPLAY" "$T_DIR/rec.pcap" 10.77.0.2 eth0 3 || fail "scapy"
	sleep 0.3
}

# OpenBSD-compatible mode: the replay works (this is the attack strict mode stops).
stepdowns() { grep -c "MASTER -> BACKUP" "$T_DIR/A.log"; }
run
# (A takes over again after its master-down: a replay must be repeated to hold it off.)
[ "$(stepdowns)" -ge 1 ] || fail "default mode: the replayed advertisement did not take effect"
ok "default mode: a replayed advertisement of the dead master makes A step down"
kill -TERM "$PID_A"
wait "$PID_A"
in_ns B ip addr del $VIP/24 dev eth0 2>/dev/null

# Strict mode: refused as replay, A stays MASTER.
run --replay-strict
[ "$(counter A replay)" = 3 ] || fail "strict mode: replay counter is $(counter A replay), expected 3"
[ "$(stepdowns)" = 0 ] || fail "strict mode: A stepped down after the replay"
[ "$(state A)" = MASTER ] || fail "strict mode: A is $(state A) after the replay"
has_addr A $VIP || fail "strict mode: A lost $VIP"
[ "$(counter A badauth)" = 0 ] || fail "strict mode: the replay was refused for its HMAC, not as a replay"
ok "--replay-strict: the replay is refused, counted as replay, A stays MASTER"
exit 0
