#!/bin/bash
# The master crashes: F1's daemons are SIGKILLed and its links go dark at the
# same instant (power lost). With syncd, F2 takes both addresses holding the
# states and every one of 50 TCP streams survives. Then the same pair without
# syncd (fresh conntrack tables, carpd only): F2 takes over without the
# states, its policy resets every stream, and every stream dies.
. "$(dirname "$0")/fwlib.sh"
fw_topology
md=$(fw_master_down)

fw_pair_up
FW_RUN=with-syncd fw_run_streams 50
fw_event "crash (syncd)"
fw_power_off F1
fw_wait_holds F2 15 $LAN_VIP $WAN_VIP || echo "F2 did not take both addresses"
fw_wait_flowing 15
sleep 1
fw_event "end (syncd)"
sleep 0.2
FW_RUN=with-syncd fw_finish
FW_RUN=with-syncd fw_check takeover --from "crash (syncd)" --fw F2 --within "$(awk -v m="$md" 'BEGIN { print m + 1 }')"
FW_RUN=with-syncd fw_check survive

# The same without syncd: new tables, carpd alone on both.
fw_signal F2 TERM carpd syncd
for f in F1 F2; do
	in_ns $f conntrack -F >/dev/null 2>&1
	in_ns $f ip addr del $LAN_VIP/24 dev lan 2>/dev/null
	in_ns $f ip addr del $WAN_VIP/24 dev wan 2>/dev/null
done
fw_links F1 up
export FW_NO_SYNCD=1
fw_pair_up
FW_RUN=without-syncd fw_run_streams 50
fw_event "crash (no syncd)"
fw_power_off F1
fw_wait_holds F2 15 $LAN_VIP $WAN_VIP || echo "F2 did not take both addresses"
# Every stream's next retransmission reaches F2 within a few seconds (TCP backs off).
for i in $(seq 100); do
	read -r t n dead <"$T_DIR/status"
	[ "$dead" = 50 ] && break
	sleep 0.1
done
fw_event "end (no syncd)"
sleep 0.2
FW_RUN=without-syncd fw_finish
echo "resets sent by F2's policy: $(fw_resets F2)"
FW_RUN=without-syncd fw_check die --after "crash (no syncd)"
fw_verdict
