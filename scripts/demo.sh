#!/bin/bash
# The README's demo command: installs what is missing, builds everything in
# build/, then shows two Linux firewalls acting as one (scripts/demo-fw.sh:
# network namespaces, nftables, carpd and syncd, 50 TCP streams through a
# crash, a return with 100,000 states, a pulled WAN cable, the same crash
# without syncd, and a sub-second crash; a timeline and a drawing in
# build/demo/). That part needs root; without root the simulated CARP
# cluster runs instead (scripts/demo-sim.sh) and this says so.
# The carpd-only demo of before is scripts/demo-carp.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
# The drawing is also converted to PNG when rsvg-convert is there.
RD_PACKAGES="$RD_PACKAGES librsvg2-bin"
rd_install_deps

BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
echo "== build ($BUILD_DIR)"
rd_setup "$BUILD_DIR"
ninja -C "$BUILD_DIR" >/dev/null

if [ "$(id -u)" -eq 0 ]; then
	echo
	echo "######## two firewalls acting as one (network namespaces)"
	scripts/demo-fw.sh
else
	echo
	echo "(not root: the two-firewall demo needs network namespaces and is skipped;"
	echo " run 'sudo scripts/demo.sh' to see it. Showing the simulated CARP cluster instead.)"
	echo
	echo "######## simulated cluster: carp-sim"
	scripts/demo-sim.sh
fi
