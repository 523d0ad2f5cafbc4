#!/bin/bash
# The simulated-cluster demo (run by scripts/demo.sh after the live one, or
# alone): builds carp-sim in build/ and runs a 3-node CARP cluster (vhid 1, advbase 1, advskew 0/100/200,
# preempt) that elects a MASTER, fails over when the MASTER crashes, and
# recovers when it comes back; then the same with advbase 0 (sub-second),
# and a graceful leave (the bow-out advertisement: failover at once).
# Every advertisement goes to a pcap that tshark then dissects, showing the
# CARP checksums are correct.
#
#   scripts/demo-sim.sh          BUILD_DIR=dir to build elsewhere than build/
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build}
echo "== build ($BUILD_DIR)"
rd_setup "$BUILD_DIR"
ninja -C "$BUILD_DIR" examples/carp-sim >/dev/null
carp_sim=$BUILD_DIR/examples/carp-sim
pcap=$BUILD_DIR/carp-sim.pcap

echo
echo "== 3 nodes, advbase 1: elect, crash the MASTER at 10 s, restart it at 20 s"
"$carp_sim" --nodes 3 --vhid 1 --pass secret --addr 10.0.0.100 --advbase 1 \
	--advskew-step 100 --preempt --seconds 30 --seed 1 \
	--crash-master-at 10 --restart-at 20 --pcap "$pcap"

echo
echo "== the same with advbase 0 (sub-second) and 10% loss, timeline omitted"
"$carp_sim" --nodes 3 --vhid 1 --pass secret --addr 10.0.0.100 --advbase 0 \
	--advskew-step 50 --preempt --seconds 30 --seed 1 --loss 10 \
	--crash-master-at 10 --restart-at 20 --quiet

echo
echo "== graceful leave: the MASTER bows out at 10 s (advbase 255/advskew 255), rejoins at 15 s"
"$carp_sim" --nodes 3 --vhid 1 --pass secret --addr 10.0.0.100 --advbase 1 \
	--advskew-step 100 --preempt --seconds 20 --seed 1 \
	--leave-master-at 10 --rejoin-at 15 --quiet

echo
echo "== tshark over $pcap (the advertisements where the sender changes, then the verdicts)"
fields=(-T fields -E header=y -e frame.time_epoch -e ip.src -e eth.src -e carp.vhid
	-e carp.advskew -e carp.adver_int -e carp.checksum -e carp.checksum.status)
tshark -r "$pcap" -d ip.proto==112,carp "${fields[@]}" 2>/dev/null |
	awk -F'\t' 'NR == 1 || $2 != last { print } { last = $2 }'
total=$(tshark -r "$pcap" -d ip.proto==112,carp -Y carp 2>/dev/null | wc -l)
good=$(tshark -r "$pcap" -d ip.proto==112,carp -Y 'carp.checksum.status == 1' 2>/dev/null | wc -l)
echo "advertisements: $total, with a correct CARP checksum: $good (status 1 = Good)"
[ "$total" -gt 0 ] && [ "$total" -eq "$good" ]
