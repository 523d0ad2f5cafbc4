#!/bin/bash
# The master loses carrier on its WAN interface only. The whole firewall
# must fail over: the other firewall holds every address (LAN and WAN)
# within one master-down interval, and every one of 50 TCP streams through
# the pair survives. When the carrier returns, the preferred firewall takes
# each address back exactly once and the streams survive that too.
. "$(dirname "$0")/fwlib.sh"
fw_topology
fw_pair_up
fw_run_streams 50
md=$(fw_master_down)

fw_event "F1 WAN carrier lost"
fw_link F1 wan down
fw_wait_holds F2 10 $LAN_VIP $WAN_VIP
fw_wait_flowing 15
sleep 1
fw_event "F1 WAN carrier back"
fw_link F1 wan up
fw_wait_holds F1 10 $LAN_VIP $WAN_VIP
fw_wait_flowing 10
sleep 2
fw_event "end"
sleep 0.2
fw_finish

# From the moment F1's WAN interface lost carrier (as fw_stream.py saw it in F1).
fw_check takeover --from "netlink:F1:link wan down" --to "F1 WAN carrier back" --fw F2 --within "$md"
fw_check moves --from "F1 WAN carrier back" --to end --fw F1 --exactly 1
fw_check survive --until "F1 WAN carrier back"
fw_check survive
fw_verdict
