#!/bin/bash
# A SIGHUP reload is all or nothing (issue 15): a file that parses but cannot
# be applied (a vhost on an interface that does not exist, or on one without
# an address to send from, a password file others can read) is refused as a
# whole: the running vhosts keep their state and addresses, an ERROR names
# the problem, and the refusal is counted in status. A changed control path
# is reported as needing a restart and the socket stays; a good reload
# (a changed advskew) still applies.
. "$(dirname "$0")/lib.sh"
require_netns
make_bridge
add_host A 1
add_host B 2
# On A an interface that is up but has no IPv4 address: no source to send from.
in_ns A ip link add dum0 type veth peer name dum1 || fail "cannot create dum0"
in_ns A ip link set dum1 up
in_ns A ip link set dum0 up

# conf FILE SKEW1 SKEW2 [IF1] [CONTROL]: two vhosts; vhost 1 on IF1 (eth0).
conf() {
	{
		[ -n "${5:-}" ] && echo "control $5"
		cat <<EOC
vhost ${4:-eth0} 1
  pass one
  addr 10.77.0.100/24
  advbase 0
  advskew $2
vhost eth0 2
  pass two
  addr 10.77.0.101/24
  advbase 0
  advskew $3
EOC
	} >"$1"
}

# A's control socket comes from its file (not --control: the command line would
# win over the file, and a changed path in the file would not matter).
conf "$T_DIR/A.conf" 30 30 eth0 "$T_DIR/A.sock"
conf "$T_DIR/B.conf" 60 60
ip netns exec "$(ns A)" "$CARPD" -f none --startup-demote 0 --config "$T_DIR/A.conf" \
	>"$T_DIR/A.log" 2>&1 &
PID_A=$!
T_PIDS+=("$PID_A")
for i in $(seq 50); do
	[ -S "$T_DIR/A.sock" ] && break
	kill -0 "$PID_A" 2>/dev/null || fail "carpd in A exited at start"
	sleep 0.05
done
start_carpd B --startup-demote 0 --config "$T_DIR/B.conf"
wait_state A MASTER 5 1
wait_state A MASTER 5 2
sleep 0.5
[ "$(state A 1)/$(state A 2)/$(state B 1)/$(state B 2)" = MASTER/MASTER/BACKUP/BACKUP ] ||
	fail "election: A $(state A 1)/$(state A 2), B $(state B 1)/$(state B 2)"
ok "A MASTER of both vhosts, B BACKUP"

# reload_node FIELD: A's status node "reloads" FIELD (applied, refused).
reload_node() {
	ctl A carp status --json | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["node"]["reloads"][sys.argv[1]])' "$1" 2>/dev/null || echo none
}

# after MARK: A's log lines after line MARK.
after() { tail -n +"$(($1 + 1))" "$T_DIR/A.log"; }

# unchanged WHAT MARK: A's vhosts as before the refused reload.
unchanged() {
	[ "$(state A 1)/$(state A 2)" = MASTER/MASTER ] ||
		fail "$1: A is $(state A 1)/$(state A 2) after a refused reload"
	has_addr A 10.77.0.100 && has_addr A 10.77.0.101 || fail "$1: A lost an address"
	[ "$(vhost_field A advskew 1)/$(vhost_field A advskew 2)" = 30/30 ] ||
		fail "$1: advskew now $(vhost_field A advskew 1)/$(vhost_field A advskew 2)"
	after "$2" | grep -q "removed or changed by reload" && fail "$1: a vhost was restarted"
	after "$2" | grep -q "MASTER -> " && fail "$1: A left MASTER"
	after "$2" | grep -q "configuration reloaded" && fail "$1: logged as reloaded"
	[ "$(state B 1)/$(state B 2)" = BACKUP/BACKUP ] || fail "$1: B is $(state B 1)/$(state B 2)"
}

# ---- vhost 1 moved to an interface that does not exist (and vhost 2's advskew
# changed in the same file): refused as a whole
mark=$(wc -l <"$T_DIR/A.log")
conf "$T_DIR/A.conf" 30 40 nosuch0 "$T_DIR/A.sock"
kill -HUP "$PID_A"
wait_log A "reload refused, configuration unchanged: .*A.conf:[0-9]*: vhost nosuch0 1: interface nosuch0: No such device"
sleep 0.5
unchanged "missing interface" "$mark"
[ "$(reload_node refused)/$(reload_node applied)" = 1/0 ] ||
	fail "reload counters: refused $(reload_node refused), applied $(reload_node applied)"
ctl A carp status | grep -q "reloads: applied 0 refused 1" || fail "text status lacks the refusal"
ok "vhost on a missing interface: reload refused, nothing changed (MASTER, addresses, advskew), counted"

# ---- vhost 1 moved to an interface without an IPv4 address to send from
mark=$(wc -l <"$T_DIR/A.log")
conf "$T_DIR/A.conf" 30 30 dum0 "$T_DIR/A.sock"
kill -HUP "$PID_A"
wait_log A "reload refused, configuration unchanged: .*vhid 1: no IPv4 address on dum0"
sleep 0.3
unchanged "no source address" "$mark"
[ "$(reload_node refused)" = 2 ] || fail "refused reloads: $(reload_node refused)"
ok "vhost on an interface without an address: refused, nothing changed"

# ---- a password file that others can read
conf "$T_DIR/A.conf" 30 30 eth0 "$T_DIR/A.sock"
echo secret >"$T_DIR/pass"
chmod 0644 "$T_DIR/pass"
sed -i 's|  pass two|  passfile '"$T_DIR"'/pass|' "$T_DIR/A.conf"
mark=$(wc -l <"$T_DIR/A.log")
kill -HUP "$PID_A"
wait_log A "reload refused, configuration unchanged: .*passfile: .*pass: group or others can access it"
sleep 0.3
unchanged "public password file" "$mark"
[ "$(reload_node refused)" = 3 ] || fail "refused reloads: $(reload_node refused)"
ok "password file readable by others: refused, nothing changed"

# ---- a changed control path: reported, the socket stays where it was
mark=$(wc -l <"$T_DIR/A.log")
conf "$T_DIR/A.conf" 30 30 eth0 "$T_DIR/A2.sock"
kill -HUP "$PID_A"
wait_log A "configuration reloaded"
after "$mark" | grep -q "control changed: needs a restart; the running value stays" ||
	fail "no log line for the changed control path"
[ -e "$T_DIR/A2.sock" ] && fail "a control socket appeared at the new path"
[ "$(state A 1)/$(state A 2)" = MASTER/MASTER ] || fail "control socket gone or vhosts moved"
after "$mark" | grep -q "removed or changed by reload" && fail "unchanged vhosts restarted"
[ "$(reload_node applied)/$(reload_node refused)" = 1/3 ] ||
	fail "reload counters: applied $(reload_node applied), refused $(reload_node refused)"
ok "changed control: needs a restart, the socket stays at the old path"

# ---- a good reload still applies: vhost 2's advskew
mark=$(wc -l <"$T_DIR/A.log")
conf "$T_DIR/A.conf" 30 40 eth0 "$T_DIR/A.sock"
kill -HUP "$PID_A"
wait_log A "configuration reloaded from .*A.conf"
[ "$(after "$mark" | grep -c "configuration reloaded")" = 1 ] || fail "second reload not logged"
# Issue 11: an advskew changes running, without a restart (carpd_reload_live).
after "$mark" | grep -q "vhid 2: advbase 0 advskew 40 (reload, applied running)" ||
	fail "vhost 2's advskew not applied running"
after "$mark" | grep -q "removed or changed by reload" && fail "a vhost restarted"
after "$mark" | grep -q "control changed" && fail "control reported changed when back to its value"
[ "$(state A 2)" = MASTER ] || fail "vhost 2 is $(state A 2) after the reload"
[ "$(vhost_field A advskew 1)/$(vhost_field A advskew 2)" = 30/40 ] ||
	fail "advskew after reload: $(vhost_field A advskew 1)/$(vhost_field A advskew 2)"
[ "$(reload_node applied)/$(reload_node refused)" = 2/3 ] ||
	fail "reload counters: applied $(reload_node applied), refused $(reload_node refused)"
ok "a good reload applies (vhost 2 advskew 40 running, still MASTER; vhost 1 untouched)"

# ---- B's control socket and log facility came from its command line (start_carpd:
# --control, -f none): they win over the file on reload as at start, no restart needed
conf "$T_DIR/B.conf" 60 60 eth0 "$T_DIR/elsewhere.sock"
echo "facility local3" >>"$T_DIR/B.conf.tmp"
cat "$T_DIR/B.conf" >>"$T_DIR/B.conf.tmp" && mv "$T_DIR/B.conf.tmp" "$T_DIR/B.conf"
kill -HUP "$PID_B"
wait_log B "configuration reloaded"
grep -q "changed: needs a restart" "$T_DIR/B.log" && fail "B: the command line's value reported as changed"
[ -e "$T_DIR/elsewhere.sock" ] && fail "B: a socket at the file's path"
[ "$(state B 1)" = BACKUP ] || fail "B: vhost 1 is $(state B 1)"
ok "command-line control and facility win over the file's on reload (nothing to restart)"
kill -TERM "$PID_A" "$PID_B"
wait "$PID_A" || fail "carpd in A exited with status $?"
wait "$PID_B" || fail "carpd in B exited with status $?"
