#!/bin/bash
# Graceful stop of the master: SIGTERM to both of F1's daemons, carpd first,
# then (after F1 came back) syncd first. Each time F2 takes both addresses,
# every one of 50 TCP streams survives and the longest stall is under 50 ms.
. "$(dirname "$0")/fwlib.sh"
fw_topology
fw_pair_up
fw_run_streams 50

fw_event "SIGTERM carpd, syncd"
fw_signal F1 TERM carpd syncd
fw_wait_holds F2 10 $LAN_VIP $WAN_VIP || echo "F2 did not take both addresses"
sleep 2
fw_event "F1 restarts"
fw_start F1
fw_wait_holds F1 45 $LAN_VIP $WAN_VIP || echo "F1 did not take both addresses back"
fw_wait_flowing 10
sleep 1
fw_event "SIGTERM syncd, carpd"
fw_signal F1 TERM syncd carpd
fw_wait_holds F2 10 $LAN_VIP $WAN_VIP || echo "F2 did not take both addresses"
sleep 2
fw_event "end"
sleep 0.2
fw_finish

fw_check takeover --from "SIGTERM carpd, syncd" --fw F2 --within 1
fw_check stall --from "SIGTERM carpd, syncd" --to "F1 restarts" --max 0.05
fw_check takeover --from "SIGTERM syncd, carpd" --fw F2 --within 1
fw_check stall --from "SIGTERM syncd, carpd" --to end --max 0.05
fw_check survive
fw_verdict
