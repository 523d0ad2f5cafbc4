#!/bin/bash
# syncd end to end, in network namespaces (needs root). Run by hand:
#
#   bench/syncd-bulk.sh [FLOWS] [MODE]   (default 50000 secure; binaries from build/)
#   BUILD=build-rel bench/syncd-bulk.sh 100000 plain
#
# (nf_conntrack_max is global: the flows must fit under it, 262144 here.)
#
# Host A's kernel holds FLOWS UDP conntrack entries (one datagram for each
# of FLOWS source/destination port pairs to A, with an nftables conntrack
# rule). syncd starts on A, then on B; the time is from B's start
# until B's kernel holds every flow: B's bulk request, A's answer through
# the sockets, B's engine, and B's writes into its conntrack table. Prints
# one line and a JSON object.
set -u
cd "$(dirname "$0")/.."
FLOWS=${1:-50000}
MODE=${2:-secure}
BUILD=${BUILD:-build}
export SYNCD=${SYNCD:-$PWD/$BUILD/syncd/syncd}
export CARPD=${CARPD:-$PWD/$BUILD/carpd/carpd}
export REDUNDCTL=${REDUNDCTL:-$PWD/$BUILD/redundctl/redundctl}
[ -x "$SYNCD" ] || { echo "no syncd at $SYNCD (build first, or set BUILD=)" >&2; exit 1; }
case $MODE in
secure | plain) ;;
*) echo "MODE: secure or plain" >&2; exit 2 ;;
esac
T_NAME=syncdbench
. tests/netns/synclib.sh
sync_pair nft
max=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo 0)
[ "$max" -ge "$FLOWS" ] || fail "nf_conntrack_max is $max (global): raise it above $FLOWS"
for h in A B; do
	in_ns $h sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 ||
		fail "conntrack sysctl on $h"
done
track_input A
ip netns exec "$(ns BR)" /usr/bin/python3 -c '
import socket, sys
socks = {}
for i in range(int(sys.argv[1])):
    sport = 20000 + i // 60000
    if sport not in socks:
        socks[sport] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        socks[sport].bind(("10.77.0.254", sport))
    socks[sport].sendto(b"x", ("10.77.0.1", 1 + i % 60000))
' "$FLOWS" || fail "making flows"
count() { in_ns "$1" conntrack -C 2>/dev/null; }
have=$(count A)
[ "$have" -ge "$FLOWS" ] || fail "A's kernel holds $have entries, not $FLOWS"

args=(-i eth0)
if [ "$MODE" = secure ]; then
	"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
	args+=(-k "$T_DIR/key")
else
	# syncd to syncd: the rate syncd's kernel writes take (the default,
	# 5,000, is the pace OpenBSD peers take).
	args+=(-m plain --bulk-rate "${BULK_RATE:-80000}")
fi
start_syncd A "${args[@]}"
# A reads its kernel table once its own start-up bulk request found no peer.
for i in $(seq 600); do
	grep -q "kernel table read" "$T_DIR/A.log" && break
	sleep 0.05
done
grep -q "kernel table read" "$T_DIR/A.log" || fail "A's syncd did not read its kernel table in 30 s"
# What B must get: A's table, less the entries of the sync traffic itself
# (plain mode: A's table holds the pfsync flow, which is never sent).
want=$(($(sstat A states -) - 2))
[ "$want" -ge $((FLOWS - 10)) ] || fail "A's syncd holds $want states of $FLOWS flows"
base=$(count B)
t0=$(date +%s.%N)
start_syncd B "${args[@]}"
deadline=$(($(date +%s) + 300))
while :; do
	n=$(($(count B) - base))
	[ "$n" -ge "$want" ] && break
	[ "$(date +%s)" -lt "$deadline" ] || fail "after 300 s B's kernel holds $n of $want"
	sleep 0.05
done
t1=$(date +%s.%N)
secs=$(/usr/bin/python3 -c "print(f'{$t1 - $t0:.3f}')")
echo "syncd bulk, $MODE: $want states in B's kernel ${secs} s after B started"
echo "{\"measure\": \"syncd_bulk_${MODE}_s\", \"states\": $want, \"value\": $secs, \"unit\": \"s\"}"
ok "done"
exit 0
