#!/bin/bash
# Demotion groups belong to the node: a firewall with a LAN vhost (eth0) and a
# WAN vhost (eth1) loses its WAN link; the lost carpdev raises group carp, in
# which both vhosts are, so the other firewall takes both addresses, and both
# come back together when the link returns. Split with 'group -carp' plus
# 'group lan' / 'group wan' (a SIGHUP relabels the running vhosts without a
# restart), the same loss moves the WAN vhost alone, and 'redundctl carp
# demote lan +1' the LAN vhost alone.
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd /usr/bin/python3
make_bridge
make_bridge2
add_host A 1
add_host B 2
add_link A 1
add_link B 2

# conf FILE SKEW [PREEMPT] [LAN-GROUPS] [WAN-GROUPS]: a LAN vhost (1) and a WAN vhost (2).
# advbase 0: A (advskew 50) every 195 ms, B (100) every 390 ms; A's master-down
# outlasts B's interval.
conf() {
	local g
	{
		echo "startup-demote 0"
		echo "vhost eth0 1"
		echo "  pass lan-secret"
		echo "  addr 10.77.0.100/24"
		echo "  advbase 0"
		echo "  advskew $2"
		[ -n "${3:-}" ] && echo "  preempt"
		for g in ${4:-}; do echo "  group $g"; done
		echo "vhost eth1 2"
		echo "  pass wan-secret"
		echo "  addr 10.78.0.100/24"
		echo "  advbase 0"
		echo "  advskew $2"
		[ -n "${3:-}" ] && echo "  preempt"
		for g in ${5:-}; do echo "  group $g"; done
	} >"$1"
}
both() { echo "$(state "$1" 1)/$(state "$1" 2)"; }
wait_both() { # NAME STATE/STATE SECONDS
	local i
	for i in $(seq $(($3 * 20))); do
		[ "$(both "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	fail "$1: expected $2 within $3 s, is $(both "$1")"
}

conf "$T_DIR/A.conf" 50 preempt
conf "$T_DIR/B.conf" 100 ""
start_carpd A --config "$T_DIR/A.conf"
start_carpd B --config "$T_DIR/B.conf"
wait_both A MASTER/MASTER 5
wait_both B BACKUP/BACKUP 5
[ "$(vhost_field A groups 1)/$(vhost_field A groups 2)" = '["carp"]/["carp"]' ] ||
	fail "default groups: $(vhost_field A groups 1) $(vhost_field A groups 2)"
ok "A MASTER of the LAN and the WAN vhost, both in group carp"

# ---- A loses its WAN link: the whole firewall fails over
in_ns BR ip link set "w1-$$" down
wait_both B MASTER/MASTER 3
wait_both A BACKUP/INIT 3
[ "$(node_group A carp)/$(node_group A carp raised)" = 1/1 ] ||
	fail "group carp on A: $(node_group A carp) (raised $(node_group A carp raised))"
[ "$(vhost_field A demotion 1)" = 1 ] || fail "A's LAN vhost demotion $(vhost_field A demotion 1)"
has_addr A 10.77.0.100 && fail "A kept the LAN address"
ok "WAN link lost: carp raised to 1, B holds both addresses (LAN and WAN)"

# ---- the link returns: A takes both back (preempt), as a whole
in_ns BR ip link set "w1-$$" up
wait_both A MASTER/MASTER 5
wait_both B BACKUP/BACKUP 3
[ "$(node_group A carp)" = 0 ] || fail "carp not back to 0: $(node_group A carp)"
ok "WAN link back: carp 0, A MASTER of both again"

# ---- split into groups lan and wan by a reload: no restart, no failover
conf "$T_DIR/A.conf" 50 preempt "-carp lan" "-carp wan"
before=$(wc -l <"$T_DIR/A.log")
kill -HUP "$PID_A"
wait_log A "configuration reloaded"
sleep 0.5
after() { tail -n +$((before + 1)) "$T_DIR/A.log"; }
after | grep -q "removed or changed by reload" && fail "new groups restarted a vhost"
after | grep -q "eth0 vhid 1: groups now lan (reload)" || fail "LAN vhost groups not logged"
after | grep -q "eth1 vhid 2: groups now wan (reload)" || fail "WAN vhost groups not logged"
[ "$(vhost_field A groups 1)/$(vhost_field A groups 2)" = '["lan"]/["wan"]' ] ||
	fail "groups after reload: $(vhost_field A groups 1) $(vhost_field A groups 2)"
[ "$(both A)" = MASTER/MASTER ] || fail "reload moved a vhost: A $(both A)"
after | grep -q "MASTER -> " && fail "A left MASTER during the reload"
ok "SIGHUP: vhosts relabelled lan / wan while running, A still MASTER of both"

# ---- now the WAN loss moves the WAN vhost alone
in_ns BR ip link set "w1-$$" down
wait_state B MASTER 3 2
wait_state A INIT 3 2
sleep 1
[ "$(both A)" = MASTER/INIT ] || fail "split: A is $(both A)"
[ "$(node_group A wan)/$(node_group A carp)/$(vhost_field A demotion 1)" = 1/0/0 ] ||
	fail "split: wan $(node_group A wan), carp $(node_group A carp), LAN demotion $(vhost_field A demotion 1)"
in_ns BR ip link set "w1-$$" up
wait_both A MASTER/MASTER 5
ok "split groups: a lost WAN link moves the WAN vhost only, LAN stays on A"

# ---- an operator's step on group lan moves the LAN vhost alone
ctl A carp demote lan +1 >/dev/null || fail "demote lan refused"
wait_state B MASTER 3 1
sleep 0.5
[ "$(both A)" = BACKUP/MASTER ] || fail "demote lan: A is $(both A)"
[ "$(node_group A lan)/$(node_group A lan demote)" = 1/1 ] || fail "group lan: $(node_group A lan)"
ctl A carp status | grep -q "group lan: 1 (demote 1, holds 0, raised 0)" ||
	fail "text status lacks group lan"
ctl A carp demote lan -1 >/dev/null || fail "demote lan -1 refused"
wait_both A MASTER/MASTER 3
ok "demote lan +1 moves the LAN vhost only; -1 brings it back"
exit 0
