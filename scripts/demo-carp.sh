#!/bin/bash
# The carpd-only demo (what scripts/demo.sh showed before the pair demo):
# installs what is missing, builds everything in build/, then runs the live
# failover demo (two carpd hosts and a client in network namespaces; needs
# root: scripts/demo-live.sh) and the simulated 3-node cluster
# (scripts/demo-sim.sh). Without root the live part is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
rd_install_deps

BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
echo "== build ($BUILD_DIR)"
rd_setup "$BUILD_DIR"
ninja -C "$BUILD_DIR" >/dev/null

if [ "$(id -u)" -eq 0 ]; then
	echo
	echo "######## live: carpd in network namespaces"
	scripts/demo-live.sh
else
	echo "(not root: the live network-namespace demo is skipped; run as root to see it)"
fi
echo
echo "######## simulated cluster: carp-sim"
scripts/demo-sim.sh
