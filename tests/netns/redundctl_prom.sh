#!/bin/bash
# `redundctl carp status --prom` and `redundctl sync status --prom` for
# node_exporter's textfile collector: the text passes a strict check of the
# exposition format (prom_check.py: HELP and TYPE once per family and
# before its samples, valid names, escaped label values, samples of a
# family together, counters named _total, no series twice), every counter
# of the JSON status has one sample (so fields added later appear), each
# vhost's state is a gauge (MASTER 2, BACKUP 1) labelled by interface and
# vhid (not a label of its own: mehdy/keepalived-exporter#97), the
# demotion of each group and the time in state are there, and a daemon that
# does not answer gives PREFIX_up 0 and exit 1 (no stale numbers:
# mehdy/keepalived-exporter#86).
. "$(dirname "$0")/synclib.sh"
sync_pair
check=$(dirname "$0")/prom_check.py

cat >"$T_DIR/A.conf" <<EOC
vhost eth0 1
  addr 10.77.0.100/24
  advbase 0
  advskew 10
vhost eth0 2
  addr 10.77.0.101/24
  advbase 0
  advskew 200
  group uplink
EOC
sed -e 's/advskew 10$/advskew 100/' -e 's/advskew 200/advskew 20/' "$T_DIR/A.conf" >"$T_DIR/B.conf"
start_carpd A --startup-demote 0 --config "$T_DIR/A.conf"
start_carpd B --startup-demote 0 --config "$T_DIR/B.conf"
"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
start_syncd_in A SA -i eth0 -k "$T_DIR/key"
start_syncd_in B SB -i eth0 -k "$T_DIR/key"
wait_state A MASTER 5 1
wait_state B MASTER 5 2
# uplink holds only vhid 2, where A is BACKUP already: nothing moves.
ctl A carp demote uplink +5 >/dev/null || fail "demote uplink"
sleep 0.3

# prom WORD NAME PREFIX: the text then the JSON, checked together.
prom() {
	"$REDUNDCTL" --control "$T_DIR/$2.sock" "$1" status --prom >"$T_DIR/$2-$1.prom" ||
		fail "$1 status --prom on $2"
	"$REDUNDCTL" --control "$T_DIR/$2.sock" "$1" status --json >"$T_DIR/$2-$1.json" ||
		fail "$1 status --json on $2"
	/usr/bin/python3 "$check" "$T_DIR/$2-$1.prom" "$T_DIR/$2-$1.json" "$3" ||
		fail "$2 $1 --prom: $(head -40 "$T_DIR/$2-$1.prom")"
}
prom carp A carpd
p=$T_DIR/A-carp.prom
grep -qx 'carpd_up 1' "$p" || fail "no carpd_up 1"
grep -qx 'carpd_vhost_state{interface="eth0",vhid="1"} 2' "$p" || fail "vhid 1 not MASTER (2)"
grep -qx 'carpd_vhost_state{interface="eth0",vhid="2"} 1' "$p" || fail "vhid 2 not BACKUP (1)"
grep -qx '# TYPE carpd_vhost_state gauge' "$p" || fail "state not a gauge"
grep -qE '^carpd_vhost_state_seconds\{interface="eth0",vhid="1"\} [0-9.]+$' "$p" ||
	fail "no time in state"
grep -qx 'carpd_group_value{group="uplink"} 5' "$p" || fail "group uplink's demotion not 5"
grep -qE '^carpd_vhost_opackets_total\{interface="eth0",vhid="1"\} [1-9][0-9]*$' "$p" ||
	fail "MASTER's advertisements not counted"
ok "carp status --prom: strict format, every counter, state gauges, group demotion, time in state"

prom sync SA syncd
prom sync SB syncd
p=$T_DIR/SA-sync.prom
grep -qx 'syncd_up 1' "$p" || fail "no syncd_up 1"
grep -qx '# TYPE syncd_channel_sent_total counter' "$p" || fail "channel counters not counters"
grep -qE '^syncd_bulk_pending [01]$' "$p" || fail "no bulk progress"
grep -qE '^syncd_info\{creatorid="[0-9a-f]{8}",interface="eth0"\} 1$' "$p" || fail "no syncd_info"
ok "sync status --prom: strict format, every counter, bulk progress, info labels"

kill "$PID_A"
wait "$PID_A" 2>/dev/null
rc=0
"$REDUNDCTL" --control "$T_DIR/A.sock" carp status --prom >"$T_DIR/down.prom" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "a daemon down: exit $rc, want 1"
/usr/bin/python3 "$check" "$T_DIR/down.prom" >/dev/null || fail "down: bad format"
grep -qx 'carpd_up 0' "$T_DIR/down.prom" || fail "down: no carpd_up 0: $(cat "$T_DIR/down.prom")"
ok "a daemon that does not answer: carpd_up 0, exit 1"
