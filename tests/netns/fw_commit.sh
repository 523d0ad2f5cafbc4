#!/bin/bash
# Commit mode (conntrackd's -c): both syncd run with --no-apply, and carpd's
# up script (syncd/carpd-up-commit.sh) runs `redundctl sync commit` before it
# adds each address. Before the failover F2's syncd holds the 50 TCP
# streams' states and F2's kernel has none of them; F1 crashes, F2's up
# script commits, every state is written (none refused) and every stream
# survives F2's policy, which resets TCP segments without a state.
# Users' reports covered: conntrackd's external cache committed by the
# keepalived notify script (primary-backup.sh), whose connections die when
# the commit is missing or late (vyos conntrack-sync, freifunk-berlin
# bbb-configs#96: "no conntrack entries are injected").
. "$(dirname "$0")/fwlib.sh"
fw_topology
md=$(fw_master_down)
SRC=$(cd "$FW_DIR/../.." && pwd)

for f in F1 F2; do
	cat >"$T_DIR/$f-up.sh" <<EOF
#!/bin/sh
echo "\$(date +%s.%N) up \$*" >>"$T_DIR/$f-scripts.log"
REDUNDCTL=$REDUNDCTL SYNCD_CONTROL=$T_DIR/$f-syncd.sock \\
	"$SRC/syncd/carpd-up-commit.sh" "\$@" 2>>"$T_DIR/$f-scripts.log"
EOF
	cat >"$T_DIR/$f-down.sh" <<EOF
#!/bin/sh
ip addr del "\$2/\$3" dev "\$1" 2>/dev/null
exit 0
EOF
	chmod +x "$T_DIR/$f-up.sh" "$T_DIR/$f-down.sh"
done
export FW_SCRIPTS=1 FW_SYNCD_ARGS=--no-apply

fw_pair_up
fw_run_streams 50

streams_in_kernel() {
	in_ns "$1" conntrack -L -p tcp --dport 5001 2>/dev/null | grep -c "dport=5001"
}
held=$(fw_sync_stat F2 states -)
inkernel=$(streams_in_kernel F2)
written=$(fw_sync_stat F2 mirror written)
echo "before the crash: F2's syncd holds $held states, F2's kernel $inkernel of the streams' entries, $written written"
[ "$held" -ge 50 ] || fail "F2's syncd holds $held states, not the 50 streams'"
[ "$inkernel" = 0 ] && [ "$written" = 0 ] ||
	fail "--no-apply: F2's kernel has $inkernel of the streams' entries ($written written)"
[ "$(fw_sync_stat F2 daemon committed)" = 0 ] || fail "F2 committed states while BACKUP"
echo "ok: --no-apply: the backup's kernel has none of the streams' entries, its syncd holds them"

fw_event "crash"
fw_power_off F1
fw_wait_holds F2 15 $LAN_VIP $WAN_VIP || echo "F2 did not take both addresses"
fw_wait_flowing 15
sleep 1
fw_event "end"
sleep 0.2
fw_finish
fw_check takeover --from "crash" --fw F2 --within "$(awk -v m="$md" 'BEGIN { print m + 1 }')"
fw_check survive

commits=$(fw_sync_stat F2 daemon commits)
committed=$(fw_sync_stat F2 daemon committed)
cfailed=$(fw_sync_stat F2 daemon commit_failed)
echo "F2: $commits commit(s), $committed states written, $cfailed refused; $(grep -c committed "$T_DIR/F2-scripts.log") answers in its scripts' log"
grep committed "$T_DIR/F2-scripts.log" | head -2
[ "$commits" -ge 1 ] || fail "F2's up script did not commit"
[ "$committed" -ge 50 ] || fail "the commit wrote $committed states, fewer than the 50 streams'"
[ "$cfailed" = 0 ] || fail "the kernel refused $cfailed committed states"
[ "$(fw_sync_stat F2 mirror written)" = 0 ] || fail "--no-apply: the mirror wrote states itself"
[ "$(streams_in_kernel F2)" -ge 50 ] || fail "after the commit F2's kernel has $(streams_in_kernel F2) of the streams' entries"
echo "ok: sync commit in F2's up script wrote every state (none refused)"
fw_verdict
