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
		# carpd restarts as soon as syncd reports its bulk update under way
		# (checked afterwards from the record of fw_stream.py: "bulk" below).
		bulk_started F1 || echo "round $r: F1's syncd never reported a bulk update running"
		fw_event "carpd restart $r"
		fw_signal F1 TERM carpd
		fw_daemon F1 carpd
		fw_wait_sock F1 carpd
	fi
	fw_wait_holds F1 45 $LAN_VIP $WAN_VIP || echo "round $r: F1 did not take both addresses back in 45 s"
	fw_wait_flowing 10
	sleep 2
}
# bulk_started FN: until FN's syncd reports a bulk update running with
# states arriving (asked every 10 ms, for 10 s).
bulk_started() {
	/usr/bin/python3 - "$T_DIR/$1-syncd.sock" <<'EOF'
import json, socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        s.sendall(b"status json\n")
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
        s.close()
        st = json.loads(out[3:])
        if st.get("bulk_pending") and st.get("states", 0) > 100:
            sys.exit(0)
    except (OSError, ValueError):
        pass
    time.sleep(0.01)
sys.exit(1)
EOF
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
fw_check bulk --at "carpd restart 3" --fw F1
fw_check survive
fw_verdict
