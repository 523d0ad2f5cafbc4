#!/bin/bash
# Failback with 100,000 states: F1 (preferred, preempt) crashes (its daemons
# SIGKILLed, its links dark), F2 takes over and gains 100,000 more states;
# F1 then boots (empty conntrack table) and its carpd and syncd start
# together, as systemd starts them:
#   round 1: carpd, then syncd;
#   round 2: syncd, then carpd;
#   round 3: carpd, then syncd, and carpd restarted while syncd's bulk update runs.
# Each time each address must move to F1 exactly once (no flap), only after
# F1 holds the states (its conntrack count when it takes an address is at
# least 100,000 and 99% of F2's), and every one of 50 TCP streams survives
# (F1's policy resets a segment it has no state for).
. "$(dirname "$0")/fwlib.sh"
STATES=${FW_STATES:-100000}
fw_topology
fw_pair_up
fw_run_streams 50

# crash N: F1 dies, F2 takes both addresses.
crash() {
	fw_event "crash $1"
	fw_power_off F1
	fw_wait_holds F2 15 $LAN_VIP $WAN_VIP || echo "round $1: F2 did not take both addresses"
	# The streams run through F2 again before F1 comes back, so F1's takeover
	# meets them (TCP backed off during the outage).
	fw_wait_flowing 20
}

# back N ORDER...: F1 boots with its daemons in ORDER; wait until it holds both
# addresses (or 45 s) and the streams flow through it, then 2 s more to see a flap.
back() {
	local r=$1
	shift
	fw_event "power on $r"
	fw_power_on F1 "$@"
	if [ "${RESTART_CARPD:-0}" = 1 ]; then
		# carpd restarts once syncd's bulk update is under way.
		fw_until 10 fw_bulk_running F1 || echo "round $r: F1's syncd never reported a bulk update running"
		fw_event "carpd restart $r"
		fw_signal F1 TERM carpd
		fw_daemon F1 carpd
		fw_wait_sock F1 carpd
		fw_bulk_running F1 && echo "round $r: carpd restarted while the bulk update runs" ||
			echo "round $r: the bulk update was over when carpd restarted"
	fi
	fw_wait_holds F1 45 $LAN_VIP $WAN_VIP || echo "round $r: F1 did not take both addresses back in 45 s"
	fw_wait_flowing 10
	sleep 2
}
fw_bulk_running() {
	[ "$(fw_sync_stat "$1" bulk_pending - 2>/dev/null)" = True ] &&
		[ "$(fw_count "$1")" -gt 100 ]
}

crash 1
fw_load_states "$STATES"
n=$(fw_count F2)
[ "$n" -ge "$STATES" ] || fail "F2 holds $n conntrack entries after loading $STATES"
echo "F2 (master) holds $n conntrack entries"
back 1 carpd syncd
crash 2
back 2 syncd carpd
crash 3
RESTART_CARPD=1 back 3 carpd syncd
fw_event "end"
sleep 0.2
fw_finish

for r in 1 2 3; do
	to="crash $((r + 1))"
	[ $r = 3 ] && to=end
	fw_check moves --from "power on $r" --to "$to" --fw F1 --exactly 1
	fw_check states --from "power on $r" --to "$to" --fw F1 --min "$STATES"
done
fw_check survive
fw_verdict
