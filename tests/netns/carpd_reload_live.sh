#!/bin/bash
# Reload without failover (issue 11). A is MASTER of vhosts 1 and 2, B (which
# preempts) BACKUP. A SIGHUP that changes vhost 1's advskew is applied
# running and one that adds an address to vhost 2 (on both nodes) rebuilds
# it in place: A stays MASTER of both, no bow-out advertisement is captured,
# B never becomes MASTER, the new advskew is advertised and the new address
# is on A. A vhid that disappears bows out (B takes it at once), a new one
# starts in BACKUP. A broken file keeps everything running and says why.
# Reports this covers: keepalived #1425 and #349 (a reload sends the master
# through BACKUP), #2159 (a reload moves every VIP), #208 (two SIGHUPs in a
# row leave MASTER).
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd /usr/bin/python3 tcpdump
make_bridge
add_host A 1
add_host B 2

conf() { # FILE SKEW1 SKEW2 [EXTRA-ADDR-OF-2] [VHIDS] [PREEMPT]
	local v
	{
		echo "startup-demote 0"
		for v in ${5:-1 2}; do
			echo "vhost eth0 $v"
			echo "  pass reload$v"
			echo "  addr 10.77.0.10$v/24"
			[ "$v" = 2 ] && [ -n "${4:-}" ] && echo "  addr $4/24"
			echo "  advbase 0"
			if [ "$v" = 1 ]; then echo "  advskew $2"; else echo "  advskew $3"; fi
			[ -n "${6:-}" ] && echo "  preempt"
		done
	} >"$1"
}
conf "$T_DIR/A.conf" 30 30
conf "$T_DIR/B.conf" 60 60 "" "1 2" preempt
start_carpd A --config "$T_DIR/A.conf"
wait_state A MASTER 5 1
wait_state A MASTER 5 2
start_carpd B --config "$T_DIR/B.conf"
wait_state B BACKUP 5 1
wait_state B BACKUP 5 2
ok "A MASTER of vhosts 1 and 2, B (preempt) BACKUP"

after() { tail -n +"$(($2 + 1))" "$T_DIR/$1.log"; }
# ads FILTER: the advertisements of the capture matching a python expression on h.
ads() {
	"$REDUNDCTL" decode carp "$T_DIR/cap.pcap" | /usr/bin/python3 -c '
import json, sys
n = 0
for l in sys.stdin:
    h = json.loads(l)
    if "vhid" in h and eval(sys.argv[1]):
        n += 1
print(n)' "$1"
}

start_capture "$T_DIR/cap.pcap"
markA=$(wc -l <"$T_DIR/A.log")
markB=$(wc -l <"$T_DIR/B.log")
# ---- advskew of vhost 1 on A; an address more on vhost 2 (B first, then A)
conf "$T_DIR/B.conf" 60 60 10.77.0.112 "1 2" preempt
conf "$T_DIR/A.conf" 40 30 10.77.0.112
kill -HUP "$PID_B"
kill -HUP "$PID_A"
wait_log A "configuration reloaded"
wait_log B "configuration reloaded"
sleep 1.5
stop_capture
[ "$(state A 1)/$(state A 2)/$(state B 1)/$(state B 2)" = MASTER/MASTER/BACKUP/BACKUP ] ||
	fail "after reload: A $(state A 1)/$(state A 2), B $(state B 1)/$(state B 2)"
after A "$markA" | grep -q " -> " && fail "A changed state: $(after A "$markA" | grep " -> ")"
after B "$markB" | grep -q " -> " && fail "B changed state: $(after B "$markB" | grep " -> ")"
after A "$markA" | grep -q "removed or changed by reload" && fail "A restarted a vhost"
after A "$markA" | grep -q "vhid 1: advbase 0 advskew 40 (reload, applied running)" ||
	fail "no log line for the advskew applied running"
after A "$markA" | grep -q "vhid 2: rebuilt by reload .* MASTER kept without a bow-out" ||
	fail "no log line for vhost 2 rebuilt"
[ "$(vhost_field A advskew 1)" = 40 ] || fail "advskew of vhost 1: $(vhost_field A advskew 1)"
has_addr A 10.77.0.112 || fail "A lacks the new address of vhost 2"
has_addr A 10.77.0.101 && has_addr A 10.77.0.102 || fail "A lost an address"
has_addr B 10.77.0.112 && fail "B BACKUP has the new address"
[ "$(ads 'h["advbase"] == 255 and h["advskew"] == 255')" = 0 ] ||
	fail "bow-out advertisements captured: $(ads 'h["advbase"] == 255 and h["advskew"] == 255')"
[ "$(ads 'h["vhid"] == 1 and h["advskew"] == 40')" -ge 3 ] || fail "vhost 1 not advertised with advskew 40"
[ "$(ads 'h["src"] == "10.77.0.2"')" = 0 ] || fail "B advertised during the reload"
ok "advskew applied running, a new address rebuilt in place: A MASTER throughout, no bow-out captured, B silent"

# ---- again at once (two SIGHUPs in a row): nothing changes state
markA=$(wc -l <"$T_DIR/A.log")
kill -HUP "$PID_A"
kill -HUP "$PID_A"
sleep 1
after A "$markA" | grep -q " -> " && fail "A changed state on repeated SIGHUPs"
[ "$(state A 1)/$(state A 2)" = MASTER/MASTER ] || fail "A after repeated SIGHUPs: $(state A 1)/$(state A 2)"
ok "two SIGHUPs in a row with the same file: no transition"

# ---- a broken file: refused, the running configuration stays
markA=$(wc -l <"$T_DIR/A.log")
conf "$T_DIR/A.conf" 50 30 10.77.0.112
echo "  advskw 12" >>"$T_DIR/A.conf"
kill -HUP "$PID_A"
wait_log A "reload refused, configuration unchanged: .*A.conf:[0-9]*: unknown keyword 'advskw'"
sleep 0.5
[ "$(vhost_field A advskew 1)" = 40 ] || fail "advskew after a refused reload: $(vhost_field A advskew 1)"
[ "$(state A 1)/$(state A 2)" = MASTER/MASTER ] || fail "A after a refused reload: $(state A 1)/$(state A 2)"
after A "$markA" | grep -q " -> " && fail "A changed state on a refused reload"
ctl A carp status | grep -q "last reload refused: .*unknown keyword 'advskw'" || fail "status lacks the refusal"
ok "broken file: reload refused with file:line, running configuration kept"

# ---- vhid 2 gone, vhid 3 new: 2 bows out (B takes it at once), 3 starts BACKUP
markA=$(wc -l <"$T_DIR/A.log")
start_capture "$T_DIR/cap.pcap"
conf "$T_DIR/A.conf" 40 30 "" "1 3"
kill -HUP "$PID_A"
wait_log A "configuration reloaded"
wait_state B MASTER 2 2
after A "$markA" | grep -q "vhid 2: MASTER -> INIT" || fail "vhid 2 did not leave"
after A "$markA" | grep -q "vhid 3: INIT -> BACKUP" || fail "vhid 3 did not start in BACKUP"
[ "$(state A 1)" = MASTER ] || fail "vhost 1 is $(state A 1)"
after A "$markA" | grep -q "vhid 1: .* -> " && fail "vhost 1 changed state"
stop_capture
[ "$(ads 'h["vhid"] == 2 and h["src"] == "10.77.0.1" and h["advbase"] == 255 and h["advskew"] == 255')" -ge 1 ] ||
	fail "no bow-out advertisement of vhid 2 from A captured"
[ "$(ads 'h["vhid"] == 1 and h["advbase"] == 255')" = 0 ] || fail "vhid 1 bowed out"
ok "a vhid removed bows out (captured; B MASTER), a new vhid starts in BACKUP, vhost 1 untouched"
