#!/bin/bash
# syncd end to end, in network namespaces (needs root). Run by hand:
#
#   bench/syncd-bulk.sh [FLOWS] [MODE]   (default 50000 secure; binaries from build/)
#   BUILD=build-rel bench/syncd-bulk.sh 100000 plain
#   BUILD=build-rel bench/syncd-bulk.sh 1M            # a million (1M, 1m or 1000000)
#   CT_BATCH=1 BUILD=build-rel bench/syncd-bulk.sh     # syncd --ct-batch 1: a write a sendmsg
#   PERF=/tmp/b.perf BUILD=build-rel bench/syncd-bulk.sh  # + B's profile (perf report -i)
#   RESERVE=1 BUILD=build-rel bench/syncd-bulk.sh 1M    # both syncds with --reserve
#
# The same FLOWS UDP entries (10.77.0.254 -> 10.77.0.1, one a port pair, 3600 s)
# go into two kernel tables in one run:
#
#  1. `conntrack -R FILE` loads them into host A's (empty) table: timed, with
#     the CPU time of the conntrack process (user: the tool's own, system: the
#     kernel's, inside its netlink calls);
#  2. syncd starts on A (reads them: its states), then on B; the time is from
#     B's start until B's (empty) table holds every one: B's bulk request, A's
#     answer through the sockets, B's engine, and B's writes into its
#     conntrack table (batched netlink, --ct-batch). B's CPU time over that
#     time is read from /proc/PID/stat (system: the kernel's, mostly the
#     conntrack inserts inside sendmsg; user: syncd's own).
#
# Prints a line for each, the ratio (conntrack -R's time over syncd's) and a
# JSON object. nf_conntrack_max is global (each namespace counts its own
# entries against it): raised to FLOWS + 10% for the run when below; so is
# the hash table's size (nf_conntrack_buckets, global, shared by every
# namespace's entries) to 2 x FLOWS; both are put back at the end.
set -u
cd "$(dirname "$0")/.."
FLOWS=${1:-50000}
MODE=${2:-secure}
case $FLOWS in
1M | 1m) FLOWS=1000000 ;;
esac
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
MAXF=/proc/sys/net/netfilter/nf_conntrack_max
HASHF=/proc/sys/net/netfilter/nf_conntrack_buckets
max0=$(cat $MAXF 2>/dev/null || echo 0)
hash0=$(cat $HASHF 2>/dev/null || echo 0)
restore_max() {
	[ "$(cat $MAXF)" = "$max0" ] || echo "$max0" >$MAXF
	[ "$(cat $HASHF)" = "$hash0" ] || echo "$hash0" >$HASHF
	cleanup
}
trap restore_max EXIT
if [ "$max0" -lt $((FLOWS + FLOWS / 10)) ]; then
	echo $((FLOWS + FLOWS / 10)) >$MAXF || fail "cannot raise nf_conntrack_max above $FLOWS"
fi
# The hash table (global too) as the kernel sizes it for such a max: a bucket
# an entry. It is one table for every namespace: by the end A's FLOWS entries
# and B's are in it, so 2 x FLOWS (with FLOWS, conntrack -R filled a hash
# with a bucket an entry, and syncd wrote into one already at that load:
# with --reserve, 1M states took 8.1 s at FLOWS buckets and 7.4 s at 2 x
# FLOWS; without it, 8.9 s at both; one run each).
if [ "$hash0" -lt $((2 * FLOWS)) ]; then
	echo $((2 * FLOWS)) >$HASHF || fail "cannot raise nf_conntrack_buckets to $((2 * FLOWS))"
fi
echo "nf_conntrack_max $(cat $MAXF), nf_conntrack_buckets $(cat $HASHF) (global, for the run)"
for h in A B; do
	# An hour: a million entries take minutes to load and read on a loaded
	# machine, and B gets each with the time A's entry has left.
	in_ns $h sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600 ||
		fail "conntrack sysctl on $h"
done
count() { in_ns "$1" conntrack -C 2>/dev/null; }
ticks=$(getconf CLK_TCK)
# cpu PID: "user system" CPU seconds of PID so far (/proc/PID/stat fields 14, 15).
cpu() {
	awk -v t="$ticks" '{ sub(/.*\) /, ""); printf "%.2f %.2f\n", $12 / t, $13 / t }' "/proc/$1/stat"
}

# 1. conntrack -R into A.
/usr/bin/python3 -c '
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    d = 1 + i % 60000
    if d == 8240:  # the secure mode port: syncd never sends such entries (its own traffic)
        d = 60001
    out.write("-I -t 3600 -s 10.77.0.254 -d 10.77.0.1 -p udp --sport %d --dport %d\n"
              % (20000 + i // 60000, d))
' "$FLOWS" >"$T_DIR/entries" || fail "writing the entries"
TIMEFORMAT='%R %U %S'
{ time in_ns A conntrack -R "$T_DIR/entries" >/dev/null 2>"$T_DIR/load.err"; } 2>"$T_DIR/load.time" ||
	fail "conntrack -R: $(cat "$T_DIR/load.err")"
read -r ld_s ld_user ld_sys <"$T_DIR/load.time"
have=$(count A)
[ "$have" -ge "$FLOWS" ] || fail "A's kernel holds $have entries after conntrack -R, not $FLOWS"
echo "conntrack -R: $FLOWS entries into A's kernel in $ld_s s (user $ld_user s, system $ld_sys s)"

# bench_syncd NAME [args...]: start_syncd with up to 60 s for its control
# socket (a loaded machine, a table of a million entries).
bench_syncd() {
	local name=$1 i
	shift
	ip netns exec "$(ns "$name")" "$SYNCD" --control "$T_DIR/$name.sock" -f none -d \
		--state-dir "$T_DIR/$name-state" "$@" >"$T_DIR/$name.log" 2>&1 &
	eval "PID_$name=$!"
	T_PIDS+=("$!")
	for i in $(seq 1200); do
		[ -S "$T_DIR/$name.sock" ] && return 0
		sleep 0.05
	done
	fail "syncd in $name: no control socket after 60 s"
}

# 2. syncd, A then B.
args=(-i eth0 --limit $((FLOWS + FLOWS / 10 + 1000)))
[ -n "${CT_BATCH:-}" ] && args+=(--ct-batch "$CT_BATCH")
[ -n "${RESERVE:-}" ] && args+=(--reserve)
if [ "$MODE" = secure ]; then
	"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
	args+=(-k "$T_DIR/key")
else
	# syncd to syncd: the rate syncd's kernel writes take (the default,
	# 5,000, is the pace OpenBSD peers take).
	args+=(-m plain --bulk-rate "${BULK_RATE:-80000}")
fi
bench_syncd A "${args[@]}"
# A reads its kernel table once its own start-up bulk request found no peer.
for i in $(seq 1200); do
	grep -q "kernel table read" "$T_DIR/A.log" && break
	sleep 0.05
done
grep -q "kernel table read" "$T_DIR/A.log" || fail "A's syncd did not read its kernel table in 60 s"
# What B must get: the FLOWS entries (A's table also holds the sync traffic's
# own, which are never sent; B's gets its own too, so B's count may reach
# the mark a state or two early). A is busy for a while after reading a
# large table: asked again until it answers.
for i in $(seq 120); do
	a=$(sstat A states - 2>/dev/null) && break
	sleep 1
done
want=$FLOWS
[ "${a:-0}" -ge "$want" ] || fail "A's syncd holds ${a:-0} states of $FLOWS flows"
base=$(count B)
read -r a_user0 a_sys0 < <(cpu "$PID_A")
t0=$(date +%s.%N)
bench_syncd B "${args[@]}"
if [ -n "${PERF:-}" ]; then # PERF=FILE: B's profile during the bulk (perf record -g)
	perf record -q -F 1999 -g -p "$PID_B" -o "$PERF" >/dev/null 2>&1 &
	PERF_PID=$!
fi
deadline=$(($(date +%s) + 300))
while :; do
	n=$(($(count B) - base))
	[ "$n" -ge "$want" ] && break
	[ "$(date +%s)" -lt "$deadline" ] || fail "after 300 s B's kernel holds $n of $want"
	sleep 0.05
done
t1=$(date +%s.%N)
if [ -n "${PERF:-}" ]; then
	kill -INT "$PERF_PID"
	wait "$PERF_PID"
fi
read -r b_user b_sys < <(cpu "$PID_B")
read -r a_user a_sys < <(cpu "$PID_A")
read -r a_user a_sys < <(/usr/bin/python3 -c "print(f'{$a_user - $a_user0:.2f} {$a_sys - $a_sys0:.2f}')")
# B's counters (B may be busy reading its table after the bulk: asked until it answers).
bstat() {
	local v i
	for i in $(seq 120); do
		v=$(sstat B conntrack "$1" 2>/dev/null) && break
		sleep 1
	done
	echo "${v:-null}"
}
created=$(bstat created)
errors=$(bstat errors)
batches=$(bstat batches)
lost=$(bstat ack_lost)
read -r secs ratio < <(/usr/bin/python3 -c "print(f'{$t1 - $t0:.3f} {$ld_s / ($t1 - $t0):.2f}')")
echo "syncd bulk, $MODE: $want states in B's kernel ${secs} s after B started" \
	"(B's CPU: user $b_user s, system $b_sys s; created $created, errors $errors," \
	"$batches datagrams, $lost answers lost)"
echo "A's CPU over the same time (its answer): user $a_user s, system $a_sys s"
echo "conntrack -R / syncd: ${ratio}x"
echo "{\"measure\": \"syncd_bulk_${MODE}_s\", \"states\": $want, \"value\": $secs, \"unit\": \"s\"," \
	"\"syncd_user_s\": $b_user, \"syncd_sys_s\": $b_sys, \"answer_user_s\": $a_user," \
	"\"answer_sys_s\": $a_sys, \"ct_batch\": \"${CT_BATCH:-default}\"," \
	"\"reserve\": $([ -n "${RESERVE:-}" ] && echo true || echo false)," \
	"\"conntrack_R_s\": $ld_s, \"conntrack_R_user_s\": $ld_user, \"conntrack_R_sys_s\": $ld_sys," \
	"\"ratio\": $ratio, \"created\": $created, \"errors\": $errors, \"batches\": $batches," \
	"\"ack_lost\": $lost}"
ok "done"
exit 0
