#!/bin/bash
# carpd's configuration file (several vhosts, errors naming file:line,
# SIGHUP reload), the control socket (demote, leave, join, status), link
# state through netlink, SIGUSR1, and up/down scripts with ucarp's
# convention that never hold back advertisements.
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd tcpdump
make_bridge
add_host A 1
add_host B 2

# ---- configuration errors name the file, the line and what was expected
printf 'vhost eth0 1\n  pass x\n  addr 10.77.0.100/24\n  advskew 300\n' >"$T_DIR/bad1.conf"
out=$("$CARPD" --config "$T_DIR/bad1.conf" 2>&1) && fail "bad config accepted"
echo "$out" | grep -q "bad1.conf:4: advskew: expected an advskew from 0 to 254, got '300'" ||
	fail "unexpected error: $out"
printf '# c\naddr 10.77.0.100\n' >"$T_DIR/bad2.conf"
out=$("$CARPD" --config "$T_DIR/bad2.conf" 2>&1) && fail "bad config accepted"
echo "$out" | grep -q "bad2.conf:2: expected a 'vhost INTERFACE VHID' line before 'addr'" ||
	fail "unexpected error: $out"
printf 'vhost eth0 1\n  pass x\n' >"$T_DIR/bad3.conf"
out=$("$CARPD" --config "$T_DIR/bad3.conf" 2>&1) && fail "bad config accepted"
echo "$out" | grep -q "bad3.conf:1: vhost eth0 1: expected at least one virtual address" ||
	fail "unexpected error: $out"
out=$("$CARPD" -i eth0 -v 1 -a 10.0.0.1 -k 255 2>&1) && fail "bad option accepted"
echo "$out" | grep -q -- "--advskew: expected an advskew from 0 to 254" || fail "unexpected: $out"
ok "configuration errors name file:line and what was expected"

# ---- two vhosts from a file on each host; A is faster on both (A's master-down,
# 3 x 117 ms, outlasts B's 234 ms interval, so a demoted A waits instead of flapping)
conf() { # FILE SKEW1 SKEW2
	cat >"$1" <<EOC
# two vhosts on eth0
vhost eth0 1
  pass one
  addr 10.77.0.100/24
  advbase 0
  advskew $2
  group maint
vhost eth0 2
  pass two
  addr 10.77.0.101/24
  addr fd77::101/64
  advbase 0
  advskew $3
  group maint
EOC
}
conf "$T_DIR/A.conf" 30 30
conf "$T_DIR/B.conf" 60 60
wait_link_local A
wait_link_local B
start_carpd A --startup-demote 0 --config "$T_DIR/A.conf"
start_carpd B --startup-demote 0 --config "$T_DIR/B.conf"
wait_state A MASTER 5
sleep 0.5
[ "$(state A 1)/$(state A 2)/$(state B 1)/$(state B 2)" = MASTER/MASTER/BACKUP/BACKUP ] ||
	fail "election: A $(state A 1)/$(state A 2), B $(state B 1)/$(state B 2)"
has_addr A 10.77.0.101 && has_addr A fd77::101 || fail "A lacks vhost 2's addresses"
ok "config file: two vhosts, A MASTER of both"

# ---- demotion through the control socket moves both vhosts to B
ctl A carp demote maint +5 >/dev/null || fail "demote refused"
wait_state B MASTER 3 1
wait_state B MASTER 3 2
[ "$(node_group A maint)/$(node_group A maint demote)" = 5/5 ] ||
	fail "status lacks demotion group maint 5"
[ "$(vhost_field A groups 2)" = '["carp", "maint"]' ] || fail "vhost 2's groups: $(vhost_field A groups 2)"
ctl A carp status | grep -q "demotion 5, groups carp maint" || fail "text status lacks the demotion"
ctl A carp demote maint +x 2>/dev/null && fail "bad demote accepted"
ctl A carp demote maint -5 >/dev/null || fail "undemote refused"
sleep 0.5
[ "$(state B 1)" = MASTER ] && [ "$(state A 1)" = BACKUP ] || fail "without preempt A must stay BACKUP"
ok "demote maint +5 hands both vhosts (group maint) to B; -5 restores A's demotion, B keeps MASTER (no preempt)"

# ---- leave / join: B bows out, A takes over; B rejoins as BACKUP
ctl B carp leave >/dev/null || fail "leave refused"
wait_state A MASTER 3 1
wait_state A MASTER 3 2
[ "$(state B 1)/$(state B 2)" = INIT/INIT ] || fail "leave: B is $(state B 1)/$(state B 2)"
has_addr B 10.77.0.100 && fail "B kept its address after leaving"
ctl B carp join >/dev/null || fail "join refused"
wait_state B BACKUP 3 1
wait_state B BACKUP 3 2
ok "leave: A takes over, B releases its addresses; join: B BACKUP"

# ---- link state: carrier loss puts A in INIT (demoted), B takes over; back up: BACKUP
in_ns BR ip link set "v1-$$" down
wait_state A INIT 3 1
wait_state B MASTER 3 1
ctl A carp status --json | grep -q '"link": "down"' || fail "status does not show the link down"
# Each of A's two vhosts on the lost link raises each of its groups by 1.
[ "$(node_group A carp)/$(node_group A carp raised)/$(node_group A maint)" = 2/2/2 ] ||
	fail "link-loss demotion missing: carp $(node_group A carp), maint $(node_group A maint)"
[ "$(state B 1)" = MASTER ] || fail "B did not take over while A's link was down"
has_addr A 10.77.0.100 && fail "A kept its address with the link down"
in_ns BR ip link set "v1-$$" up
wait_state A BACKUP 3 1
[ "$(node_group A carp)/$(node_group A maint)" = 0/0 ] || fail "link-loss demotion not undone"
ok "link down: INIT and demoted, B MASTER; link up: BACKUP"

# ---- SIGUSR1 logs every vhost; SIGHUP reloads (a changed advskew applies running, issue 11)
kill -USR1 "$PID_A"
wait_log A "vhid 2: BACKUP for"
conf "$T_DIR/A.conf" 30 40
kill -HUP "$PID_A"
wait_log A "configuration reloaded"
grep -q "vhid 2: advbase [0-9]* advskew 40 (reload, applied running)" "$T_DIR/A.log" ||
	fail "vhost 2's advskew not applied running"
grep -q "removed or changed by reload" "$T_DIR/A.log" && fail "a vhost restarted"
ctl A carp status --json | /usr/bin/python3 -c '
import json, sys
v = {h["vhid"]: h for h in json.load(sys.stdin)["interfaces"][0]["vhosts"]}
assert v[2]["advskew"] == 40, v[2]
assert v[1]["advskew"] == 30, v[1]
' || fail "reload: vhost 2's new advskew not in effect"
echo "vhost eth0 1" >"$T_DIR/A.conf"
kill -HUP "$PID_A"
wait_log A "reload refused, configuration unchanged: .*A.conf:1: vhost eth0 1: expected at least one"
[ "$(state A 2)" != NONE ] || fail "bad reload removed vhosts"
ok "SIGUSR1 logs vhosts; SIGHUP reloads, applies a new advskew running, keeps the old on error"
kill -TERM "$PID_A" "$PID_B"
wait "$PID_A" "$PID_B"

# ---- scripts: ucarp's arguments, run without holding back advertisements
cat >"$T_DIR/up.sh" <<EOS
#!/bin/sh
echo "up \$*" >> "$T_DIR/scripts.out"
sleep 2
echo "up-done" >> "$T_DIR/scripts.out"
EOS
cat >"$T_DIR/down.sh" <<EOS
#!/bin/sh
echo "down \$*" >> "$T_DIR/scripts.out"
EOS
chmod +x "$T_DIR/up.sh" "$T_DIR/down.sh"
start_capture "$T_DIR/s.pcap"
start_carpd A --startup-demote 0 -i eth0 -v 9 -p s3cret -a 10.77.0.109/24 -b 0 -k 20 -u "$T_DIR/up.sh" \
	-d "$T_DIR/down.sh" -x extra
wait_state A MASTER 5
sleep 1
grep -q "^down eth0 10.77.0.109 extra$" "$T_DIR/scripts.out" || fail "no down script at start"
grep -q "^up eth0 10.77.0.109 extra$" "$T_DIR/scripts.out" || fail "no up script"
grep -q "up-done" "$T_DIR/scripts.out" && fail "up script finished too early to test"
stop_capture
# During the first second of the 2-second script, A kept advertising every 86 ms.
n=$(tcpdump -nr "$T_DIR/s.pcap" 'src host 10.77.0.1' 2>/dev/null | wc -l)
[ "$n" -ge 8 ] || fail "only $n advertisements while the up script ran"
has_addr A 10.77.0.109 && fail "carpd added the address although scripts manage it"
ok "scripts: 'script eth0 ADDR xparam', $n ads sent while the up script ran"
sleep 1.2
kill -TERM "$PID_A"
wait "$PID_A"
tail -1 "$T_DIR/scripts.out" | grep -q "^down eth0 10.77.0.109 extra$" ||
	fail "no down script on SIGTERM"
ok "SIGTERM runs the down script and waits for it"
exit 0
