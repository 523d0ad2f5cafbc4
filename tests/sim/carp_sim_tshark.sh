#!/bin/bash
# carp-sim's pcap, checked by tshark: every CARP advertisement (IPv4 and
# IPv6) dissects as CARP with a correct CARP checksum (carp.checksum.status
# 1 = Good; tshark 4.0 checks it without any preference), every IPv4 header
# checksum is correct (ip.check_checksum on), and the count matches what
# carp-sim says it sent. Exit 77 (skipped) without tshark.
#   carp_sim_tshark.sh <carp-sim binary>
set -euo pipefail
carp_sim=$1
if ! command -v tshark >/dev/null 2>&1; then
	echo "tshark not installed: skipping"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() { # name, carp-sim args...
	local name=$1
	shift
	"$carp_sim" --quiet --pcap "$work/$name.pcap" "$@" >"$work/$name.out"
	local sent
	sent=$(sed -n 's/^packets: \([0-9]*\) sent.*/\1/p' "$work/$name.out")
	tshark -r "$work/$name.pcap" -d ip.proto==112,carp -o ip.check_checksum:TRUE \
		-T fields -e carp.checksum.status -e ip.checksum.status -e carp.vhid \
		2>/dev/null >"$work/$name.fields"
	local frames good
	frames=$(wc -l <"$work/$name.fields")
	# Columns: CARP status, IP status (empty for IPv6), vhid (the LAN's, or
	# with --segments 2 the WAN's, vhid + 1).
	good=$(awk -F'\t' '$1 == "1" && ($2 == "1" || $2 == "") && ($3 == "'"$vhid"'" || $3 == "'"$((vhid + 1))"'")' \
		"$work/$name.fields" | wc -l)
	echo "$name: carp-sim sent $sent, tshark read $frames frames, $good CARP with good checksums"
	if [ "$frames" -eq 0 ] || [ "$frames" -ne "$sent" ] || [ "$good" -ne "$frames" ]; then
		echo "FAIL: $name"
		head -5 "$work/$name.fields"
		exit 1
	fi
}

vhid=7
check ipv4 --vhid 7 --nodes 3 --seconds 30 --crash-master-at 10 --restart-at 20 --preempt \
	--loss 5 --seed 3
check ipv6 --vhid 7 --nodes 2 --seconds 20 --addr fd00::100 --advbase 0 --advskew-step 40 \
	--crash-master-at 5
check two-segments --vhid 7 --nodes 2 --seconds 30 --segments 2 --preempt \
	--fail-link master:wan@10.5 --restore-link failed:wan@20.5
echo "all advertisements have correct checksums"
