#!/bin/bash
# The 17-source replay (issue 15): with --replay-strict, the MASTER B dies
# and an attacker sends B's last advertisement again, ten times a second
# for ten seconds, each time from the next of 17 source addresses (one more
# than the per-sender table of old held, so none was remembered). The
# BACKUP A must take over one master-down interval after B's last
# advertisement (3 x (1 + 50/256) s), as if nobody replayed anything, stay
# MASTER, and count every replay it received as "replay".
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd tcpdump /usr/bin/python3
make_bridge
add_host A 1
add_host B 2
add_host E 9
VIP=10.77.0.100
FLOOD="$(dirname "$0")/flood_carp.py"
MD=3.586 # A's master-down interval: 3 x (advbase 1 + advskew 50 / 256)
SOURCES=$(seq -s, -f "10.77.0.%g" 10 26)

start_carpd B --startup-demote 0 -i eth0 -v 11 -p s3cret -a $VIP/24 -b 1 -k 10 --replay-strict
wait_state B MASTER 6
start_carpd A --startup-demote 0 -i eth0 -v 11 -p s3cret -a $VIP/24 -b 1 -k 50 --replay-strict
wait_state A BACKUP 5
start_capture "$T_DIR/rec.pcap"
sleep 2.5
kill -KILL "$PID_B"
wait "$PID_B" 2>/dev/null
stop_capture

in_ns E /usr/bin/python3 "$FLOOD" "$T_DIR/rec.pcap" 10.77.0.2 eth0 100 "$SOURCES" 10 \
	>"$T_DIR/replay.out" 2>&1 &
REPLAY=$!
T_PIDS+=("$REPLAY")
wait_state A MASTER 6
wait "$REPLAY" || fail "flood_carp.py: $(cat "$T_DIR/replay.out")"
sleep 0.5

# When A took over, against B's last advertisement (the one replayed).
last=$(tcpdump -r "$T_DIR/rec.pcap" -tt -n src host 10.77.0.2 2>/dev/null | tail -1 | cut -d' ' -f1)
took=$(grep "BACKUP -> MASTER" "$T_DIR/A.log" | head -1 | cut -d' ' -f1)
delay=$(/usr/bin/python3 -c '
import datetime, sys
last = datetime.datetime.fromtimestamp(float(sys.argv[1]))
h, m, s = sys.argv[2].split(":")
took = last.replace(hour=int(h), minute=int(m), second=0, microsecond=0) + \
    datetime.timedelta(seconds=float(s))
print("%.3f" % (took - last).total_seconds())' "$last" "$took")
echo "A took over ${delay} s after B's last advertisement (master-down interval $MD s)"
awk -v d="$delay" -v md=$MD 'BEGIN { exit !(d >= md - 0.05 && d <= md + 0.3) }' ||
	fail "A took over ${delay} s after B's last advertisement, not after $MD s"
[ "$(grep -c "MASTER -> BACKUP" "$T_DIR/A.log")" = 0 ] || fail "A stepped down during the replay"
[ "$(state A)" = MASTER ] || fail "A is $(state A) after the replay"
has_addr A $VIP || fail "A does not hold $VIP"
n=$(counter A replay)
[ "$n" -ge 90 ] && [ "$n" -le 100 ] || fail "A counted $n replays of the 100 sent"
[ "$(counter A badauth)" = 0 ] || fail "the replays were refused for their HMAC"
ok "17 rotating sources replaying the dead MASTER: A took over on time, stayed MASTER, $n replays counted"
exit 0
