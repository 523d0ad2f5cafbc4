#!/bin/bash
# The notify hooks (issue 11). `notify PATH` is called for every state change
# of every vhost, in order, with interface, vhid, old state, new state and
# the reason carpd logs: the calls recorded by the script are exactly the
# transitions in carpd's log (start, takeover, leave with its bow-out, join,
# and the peer's takeover). `notify-master-before PATH` runs before the
# addresses are taken: it sees them absent, and they come once it exits; a
# hook that hangs is killed at its timeout and the addresses come anyway.
# Reports this covers: keepalived #101 (no notify on some transitions), #157
# and #1835 (notify called twice / for a state not entered), vyos-1x #292
# (notify scripts run out of order).
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd /usr/bin/python3
make_bridge
add_host A 1
add_host B 2

# notify: one line per call, its arguments joined by '|', a file per node.
for n in A B; do
	cat >"$T_DIR/notify-$n.sh" <<EOC
#!/bin/bash
IFS='|'; echo "\$*" >>"$T_DIR/$n.notify"
EOC
	chmod 0755 "$T_DIR/notify-$n.sh"
done
# notify-master-before: records whether the address is there when it starts
# and when it ends 0.6 s later (a cloud API call); while B.hang exists it
# hangs past its timeout.
cat >"$T_DIR/before.sh" <<EOC
#!/bin/bash
addr() { if ip -o addr show dev eth0 | grep -q "10.77.0.100/"; then echo present; else echo absent; fi; }
r=\$(addr)
[ -e "$T_DIR/B.hang" ] && sleep 30
sleep 0.6
echo "\$1 \$2 \$3 \$4 start \$r end \$(addr)" >>"$T_DIR/before.calls"
EOC
chmod 0755 "$T_DIR/before.sh"

conf() { # FILE SKEW EXTRA-GLOBAL-LINES
	{
		echo "startup-demote 0"
		echo "notify $T_DIR/notify-$3.sh"
		[ -n "${4:-}" ] && echo "$4"
		cat <<EOC
vhost eth0 1
  pass notify
  addr 10.77.0.100/24
  advbase 0
  advskew $2
EOC
	} >"$1"
}
conf "$T_DIR/A.conf" 50 A
conf "$T_DIR/B.conf" 100 B "notify-master-before $T_DIR/before.sh timeout 2"
start_carpd A --config "$T_DIR/A.conf"
wait_state A MASTER 5
start_carpd B --config "$T_DIR/B.conf"
wait_state B BACKUP 5

# ---- A leaves (bow-out): B becomes MASTER; its addresses wait for before.sh
ctl A carp leave >/dev/null || fail "leave refused"
wait_state B MASTER 3
for i in $(seq 60); do has_addr B 10.77.0.100 && break; sleep 0.05; done
has_addr B 10.77.0.100 || fail "B MASTER without the address after notify-master-before"
[ "$(cat "$T_DIR/before.calls")" = "eth0 1 BACKUP MASTER start absent end absent" ] ||
	fail "notify-master-before calls: $(cat "$T_DIR/before.calls")"
ok "notify-master-before ran (eth0 1 BACKUP MASTER) before B took the address, which came after it"

# ---- A joins again (B does not preempt: A stays BACKUP); B leaves with the hook hanging
ctl A carp join >/dev/null || fail "join refused"
wait_state A BACKUP 3
ctl B carp leave >/dev/null || fail "B leave refused"
wait_state A MASTER 3
ctl B carp join >/dev/null
wait_state B BACKUP 3
touch "$T_DIR/B.hang"
ctl A carp leave >/dev/null
wait_state B MASTER 3
wait_log B "notify-master-before (pid [0-9]*) killed after 2 s: taking the addresses"
for i in $(seq 60); do has_addr B 10.77.0.100 && break; sleep 0.05; done
has_addr B 10.77.0.100 || fail "B without the address after the hook's timeout"
# In B's log, since the last takeover: the kill, then the address added.
tail -n +"$(grep -n "BACKUP -> MASTER" "$T_DIR/B.log" | tail -1 | cut -d: -f1)" "$T_DIR/B.log" |
	grep -E "killed after 2 s|added 10.77.0.100" | cut -d' ' -f2- >"$T_DIR/B.order"
[ "$(sed 's/ (pid [0-9]*)//' "$T_DIR/B.order" | cut -c1-60)" = "$(printf '%s\n' \
	"carpd: eth0 vhid 1: notify-master-before killed after 2 s: t" \
	"carpd: eth0: added 10.77.0.100/24")" ] || fail "kill and address out of order: $(cat "$T_DIR/B.order")"
[ "$(wc -l <"$T_DIR/before.calls")" = 1 ] || fail "the killed hook wrote its end line"
ok "a hanging notify-master-before is killed at its timeout (2 s), then B takes the address"

# ---- stop both; then compare each node's notify calls with its log's transitions
kill -TERM "$PID_A" "$PID_B"
wait "$PID_A" || fail "carpd in A exited with status $?"
wait "$PID_B" || fail "carpd in B exited with status $?"
for n in A B; do
	sed -n 's/.*carpd: \([^ ]*\) vhid \([0-9]*\): \([A-Z]*\) -> \([A-Z]*\) (\(.*\))$/\1|\2|\3|\4|\5/p' \
		"$T_DIR/$n.log" >"$T_DIR/$n.expected"
	[ -s "$T_DIR/$n.expected" ] || fail "$n: no transitions in its log"
	diff "$T_DIR/$n.expected" "$T_DIR/$n.notify" >&2 ||
		fail "$n: notify calls differ from the transitions in its log"
done
grep -q '^eth0|1|BACKUP|MASTER|.*master down' "$T_DIR/A.notify" ||
	fail "A's takeover reason missing: $(cat "$T_DIR/A.notify")"
grep -q '^eth0|1|MASTER|INIT|' "$T_DIR/B.notify" || fail "B's leaving MASTER missing"
grep -q '^eth0|1|INIT|BACKUP|' "$T_DIR/A.notify" || fail "A's start missing"
ok "notify: every transition of A ($(wc -l <"$T_DIR/A.notify")) and B ($(wc -l <"$T_DIR/B.notify")) in order, with its reason, as logged"
