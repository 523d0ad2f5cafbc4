#!/bin/bash
# The live failover demo: two carpd hosts (A: advskew 0 with preempt, B:
# advskew 100) share 10.77.0.100 and fd77::100 on a bridge in network
# namespaces, while a client on the bridge pings the virtual address every
# 10 ms. A is killed (SIGKILL), B takes over; A comes back and preempts; A
# is stopped gracefully (SIGTERM: bow-out), B takes over at once. Every
# advertisement is captured, timings are read from the capture, and tshark
# checks every CARP checksum. Needs root; run by scripts/demo.sh.
#
#   BUILD_DIR=dir scripts/demo-live.sh     (default build/)
set -u
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export CARPD=$PWD/$BUILD_DIR/carpd/carpd REDUNDCTL=$PWD/$BUILD_DIR/redundctl/redundctl
T_NAME=demo
. tests/netns/lib.sh
require_netns
require_cmd tcpdump tshark ping

VIP=10.77.0.100
VIP6=fd77::100
PCAP=$T_DIR/demo.pcap
# No syncd here, so no start-up hold: a restarted A preempts at once.
common=(-i eth0 -v 1 -p demo-pass -a $VIP/24 -a $VIP6/64 -b 1 --startup-demote 0)

# ads_after T SRC: epoch of the first advertisement from SRC after epoch T
# (IPv4 ones, so each interval counts once); last_ad_before likewise.
ads() {
	tshark -r "$PCAP" -d ip.proto==112,carp -Y "carp && ip" -T fields \
		-e frame.time_epoch -e ip.src -e carp.adver_int -e carp.advskew 2>/dev/null
}
first_ad_after() { ads | awk -v t="$1" -v s="$2" '$1 > t && $2 == s { print $1; exit }'; }
last_ad_before() { ads | awk -v t="$1" -v s="$2" '$1 < t && $2 == s { x = $1 } END { print x }'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
now() { date +%s.%N; }

echo "== network: bridge namespace (client 10.77.0.254), hosts A (10.77.0.1) and B (10.77.0.2)"
make_bridge
add_host A 1
add_host B 2
start_capture "$PCAP"

echo "== carpd on A (advskew 0, preempt) and B (advskew 100), vhid 1, $VIP and $VIP6"
start_carpd A "${common[@]}" -k 0 -P
start_carpd B "${common[@]}" -k 100
wait_state A MASTER 10
wait_state B BACKUP 10
ctl A carp status
ctl B carp status
echo "client resolves $VIP to $(neigh_mac $VIP) (A's NIC: $(mac_of A))"

echo
echo "== client pings $VIP every 10 ms; host A crashes (carpd SIGKILLed, A's link cut)"
# Not through the in_ns function: $! must be ping itself (ip netns exec execs it).
ip netns exec "$(ns BR)" ping -n -i 0.01 -W 0.05 -O $VIP >"$T_DIR/ping.log" 2>&1 &
PING=$!
T_PIDS+=("$PING")
sleep 1
t_kill=$(now)
kill -KILL "$PID_A"
in_ns A ip link set eth0 down
wait_state B MASTER 10
sleep 0.5
kill -INT "$PING" 2>/dev/null
wait "$PING" 2>/dev/null
stop_capture
start_capture "$T_DIR/demo2.pcap"
last=$(last_ad_before "$t_kill" 10.77.0.1)
first=$(first_ad_after "$t_kill" 10.77.0.2)
lost=$(grep -c 'no answer yet' "$T_DIR/ping.log")
echo "A's last advertisement -> B's first as MASTER: $(ms "$last" "$first") ms"
echo "  (B's master-down is 3 x (1 + 100/256) s = 4171.9 ms after A's last advertisement)"
echo "pings without answer during the failover: $lost of $(grep -c 'bytes from\|no answer' "$T_DIR/ping.log"), at 10 ms each"
in_ns BR ip neigh show $VIP
ctl B carp status

echo
echo "== A restarts; with preempt and a better skew it takes the addresses back"
in_ns A ip addr del $VIP/24 dev eth0 2>/dev/null
in_ns A ip addr del $VIP6/64 dev eth0 2>/dev/null
in_ns A ip link set eth0 up
start_carpd A "${common[@]}" -k 0 -P
wait_state A MASTER 10
wait_state B BACKUP 10
echo "A: $(state A), B: $(state B); A holds: $(in_ns A ip -o addr show dev eth0 | awk '{print $4}' | tr '\n' ' ')"

echo
echo "== A stops gracefully (SIGTERM): its bow-out advertisement (advbase 255, advskew 255) hands over at once"
sleep 1.5
t_term=$(now)
kill -TERM "$PID_A"
wait "$PID_A" 2>/dev/null
wait_state B MASTER 5
sleep 0.3
stop_capture
PCAP=$T_DIR/demo2.pcap
bow=$(ads | awk -v t="$t_term" '$1 > t && $2 == "10.77.0.1" && $3 == 255 { print $1; exit }')
first=$(first_ad_after "$t_term" 10.77.0.2)
echo "A's bow-out -> B's first advertisement as MASTER: $(ms "$bow" "$first") ms"
grep -E 'BACKUP -> MASTER' "$T_DIR/B.log" | tail -1

echo
echo "== tshark: every captured advertisement, CARP checksum verified"
total=0 good=0
for p in "$T_DIR/demo.pcap" "$T_DIR/demo2.pcap"; do
	total=$((total + $(tshark -r "$p" -d ip.proto==112,carp -Y carp 2>/dev/null | wc -l)))
	good=$((good + $(tshark -r "$p" -d ip.proto==112,carp -Y 'carp.checksum.status == 1' 2>/dev/null | wc -l)))
done
echo "advertisements (IPv4 and IPv6): $total, with a correct checksum: $good"
[ "$total" -gt 0 ] && [ "$total" -eq "$good" ] || fail "checksum verdicts differ"
kill -TERM "$PID_B"
wait "$PID_B" 2>/dev/null
echo "== live demo done"
