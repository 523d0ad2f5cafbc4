#!/bin/bash
# The pair demo: two Linux firewalls that act as one. In network namespaces:
#
#   client --- LAN bridge --- F1, F2 --- WAN bridge --- server   (+ a sync link F1 - F2)
#
# Each firewall forwards with a stateful nftables policy (a TCP segment
# without a state is answered with a reset: nf_conntrack_tcp_loose 0) and
# runs carpd (one --config: the LAN vhost with 10.10.0.1, the client's
# gateway, and the WAN vhost with 10.20.0.1, the server's route back) and
# syncd (secure mode on the sync link). 50 TCP streams run from the client
# to the server through the virtual addresses while:
#   1. F1, the master, crashes (power lost: daemons SIGKILLed, links dark);
#   2. F2 gains 100,000 more states; F1 boots, carpd and syncd start together,
#      and F1 takes the addresses back once it holds the states;
#   3. F1's WAN cable is pulled, then put back;
#   4. the same crash on a pair without syncd: the streams die;
#   5. the crash again with syncd at advbase 0 (sub-second intervals).
# It prints a timeline (who holds which address, longest stall per stream,
# states held) and draws every run into one SVG (and a PNG when rsvg-convert
# is installed). Needs root; run by scripts/demo.sh.
#
#   BUILD_DIR=dir scripts/demo-fw.sh      (default build/; output in build/demo/)
#   DEMO_STATES=N                         states loaded in act 2 (default 100000)
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD_DIR=${BUILD_DIR:-build}
export CARPD=$PWD/$BUILD_DIR/carpd/carpd SYNCD=$PWD/$BUILD_DIR/syncd/syncd
export REDUNDCTL=$PWD/$BUILD_DIR/redundctl/redundctl
T_NAME=demo-fw
. tests/netns/fwlib.sh
OUT=$PWD/$BUILD_DIR/demo
mkdir -p "$OUT"
STATES=${DEMO_STATES:-100000}
STREAMS=50
REPORT=(/usr/bin/python3 "$FW_DIR/fw_report.py")
T_START=$(date +%s)

say() { printf '\n== %s\n' "$*"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
vhosts() {
	local f
	for f in F1 F2; do
		printf '%s: LAN vhost %s, WAN vhost %s, %s conntrack entries\n' "$f" \
			"$(fw_vhost $f 10)" "$(fw_vhost $f 20)" "$(fw_count $f)"
	done
}
# wait_take FN SECONDS: until FN holds both addresses (the timeline has the exact times).
wait_take() {
	if fw_wait_holds "$1" "$2" $LAN_VIP $WAN_VIP; then
		echo "$1 holds both addresses"
	else
		echo "$1 does not hold both addresses after $2 s: LAN on $(holder $LAN_VIP), WAN on $(holder $WAN_VIP)"
	fi
}
holder() {
	local f h=""
	for f in F1 F2; do
		fw_holds $f "$1" && h="$h $f"
	done
	echo "${h:- nobody}"
}
# restart_pair: every daemon stopped, both tables emptied, the links up; then
# the pair starts again (without syncd when FW_NO_SYNCD=1).
restart_pair() {
	local f
	fw_signal F1 TERM carpd syncd
	fw_signal F2 TERM carpd syncd
	for f in F1 F2; do
		fw_links $f up
		fw_link $f lan up
		fw_link $f wan up
		in_ns $f conntrack -F >/dev/null 2>&1
	done
	fw_pair_up
}
finish_run() {
	fw_streams_stop
	echo
	"${REPORT[@]}" timeline --per-stream "$T_DIR/$FW_RUN.json"
}

say "network: client 10.10.0.100 - LAN - F1, F2 - WAN - server 10.20.0.100; sync link 10.30.0.0/24"
fw_topology
echo "policy on each firewall (nf_conntrack_tcp_loose = 0):"
in_ns F1 nft list chain inet fw forward | sed -n '/policy/,/new accept/p'

say "F1 (advskew 0) and F2 (advskew 100), advbase 1, preempt: one carpd and one syncd each"
fw_pair_up
vhosts

say "$STREAMS TCP streams client -> server through the virtual addresses, 500 bytes every 10 ms each"
FW_RUN=pair fw_run_streams $STREAMS --title "With syncd (advbase 1): F1 crashes, returns after $STATES more states, loses its WAN link"

say "act 1: F1 crashes (power lost: its daemons SIGKILLed, its links dark)"
t=$(date +%s.%N)
fw_event "F1 crashes"
fw_power_off F1
wait_take F2 15
fw_wait_flowing 20 && echo "every stream carries data again through F2 $(since "$t") s after the crash"

say "act 2: F2 gains $STATES more states; F1 boots (carpd and syncd started together)"
fw_load_states "$STATES"
echo "F2 holds $(fw_count F2) conntrack entries"
t=$(date +%s.%N)
fw_event "F1 boots"
fw_power_on F1 carpd syncd
wait_take F1 45
fw_wait_flowing 10
sleep 2
vhosts

say "act 3: F1's WAN cable is pulled (carrier lost on its WAN interface only)"
t=$(date +%s.%N)
fw_event "F1 WAN cut"
fw_link F1 wan down
wait_take F2 "$(awk -v m="$(fw_master_down)" 'BEGIN { print int(m) + 2 }')"
fw_wait_flowing 15
sleep 1
t=$(date +%s.%N)
fw_event "F1 WAN back"
fw_link F1 wan up
wait_take F1 10
fw_wait_flowing 10
sleep 2
FW_RUN=pair finish_run

say "act 4: the same crash on a pair without syncd"
FW_NO_SYNCD=1 restart_pair
vhosts
FW_RUN=nosync fw_run_streams $STREAMS --title "Without syncd (advbase 1): F1 crashes"
t=$(date +%s.%N)
fw_event "F1 crashes (no syncd)"
fw_power_off F1
wait_take F2 15
for i in $(seq 100); do # each stream's next retransmission meets F2's policy
	read -r _ _ dead <"$T_DIR/status"
	[ "$dead" = $STREAMS ] && break
	sleep 0.1
done
echo "resets sent by F2's policy: $(fw_resets F2)"
FW_RUN=nosync finish_run

say "act 5: the crash with syncd at advbase 0 (F1 advskew 5: every 20 ms; F2 advskew 10: master-down 117 ms)"
FW_ADVBASE=0 FW_SKEW_F1=5 FW_SKEW_F2=10
restart_pair
vhosts
FW_RUN=fast fw_run_streams $STREAMS --title "With syncd (advbase 0): F1 crashes"
t=$(date +%s.%N)
fw_event "F1 crashes (advbase 0)"
fw_power_off F1
wait_take F2 5
fw_wait_flowing 10
sleep 1
FW_RUN=fast finish_run

say "states synced (syncd's view at the end of act 5: F2's)"
"$REDUNDCTL" --control "$T_DIR/F2-syncd.sock" sync status 2>/dev/null | head -4

say "drawing"
"${REPORT[@]}" svg -o "$OUT/demo-fw.svg" "$T_DIR/pair.json" "$T_DIR/nosync.json" "$T_DIR/fast.json"
cp "$T_DIR"/pair.json "$T_DIR"/nosync.json "$T_DIR"/fast.json "$OUT"/
for f in "$T_DIR"/F?-*.log; do
	cp "$f" "$OUT/"
done
echo "SVG: $OUT/demo-fw.svg"
if command -v rsvg-convert >/dev/null; then
	rsvg-convert -o "$OUT/demo-fw.png" "$OUT/demo-fw.svg" && echo "PNG: $OUT/demo-fw.png"
fi
echo "runs (JSON, for tests/netns/fw_report.py) and daemon logs: $OUT/"
echo "the pair demo took $(($(date +%s) - T_START)) s"
