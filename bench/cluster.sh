#!/bin/bash
# A cluster of N firewalls in network namespaces (tests/netns/clusterlib.sh;
# needs root), for N = 2, 4, 8 by default. Run by hand:
#
#   bench/cluster.sh [N...]                  (binaries from build/)
#   BUILD=build-rel RESTARTS=5 bench/cluster.sh 4 8
#
# Each member runs carpd (one vhost, preempt, advskew 20 x (I-1)) and syncd
# (secure, multicast, carpd-control). Per N:
#  - insert: 10,000 new states inserted on M1 (one conntrack -R batch); the
#    time from the batch's start until every member's kernel holds them all;
#  - resends per envelope during it: the members' channel `resent` over
#    `sent` (and the duplicates refused as `replayed`);
#  - restarts: RESTARTS (default 3) restarts (SIGTERM, both daemons) of
#    M2, M3, ... in turn: the joiner's bulk time, the states the survivors'
#    bulk answers sent (engine bulk_sent summed: one table when one member
#    answers), the kernel writes (mirror written + deleted) per survivor
#    and of the joiner, and MASTER transitions on the survivors (their
#    carpd logs).
# Prints a line per N and one JSON object per N.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export SYNCD=${SYNCD:-$PWD/$BUILD/syncd/syncd}
export CARPD=${CARPD:-$PWD/$BUILD/carpd/carpd}
export REDUNDCTL=${REDUNDCTL:-$PWD/$BUILD/redundctl/redundctl}
[ -x "$SYNCD" ] || { echo "no syncd at $SYNCD (build first, or set BUILD=)" >&2; exit 1; }
STATES=${STATES:-10000}
RESTARTS=${RESTARTS:-3}

if [ "${1:-}" != --one ]; then
	# One process per N: each builds and removes its own namespaces.
	rc=0 sizes=("$@")
	[ $# = 0 ] && sizes=(2 4 8)
	for n in "${sizes[@]}"; do
		bash "$0" --one "$n" || rc=1
	done
	exit $rc
fi
N=$2
export T_NAME=clusterbench$N
. tests/netns/clusterlib.sh
cl_topology "$N"
mapfile -t ALL < <(cl_members)

# ms NANOSECONDS-BEFORE: milliseconds since then.
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
# sum KEY: KEY (cl_nums) summed over all members.
sum() {
	local h t=0
	for h in "${ALL[@]}"; do
		t=$((t + $(cl_nums "$h" "$1")))
	done
	echo $t
}

for i in $(seq "$N"); do
	cl_start "M$i" $((20 * (i - 1)))
done
wait_state M1 MASTER 15
for h in "${ALL[@]}"; do
	[ "$h" = M1 ] || wait_state "$h" BACKUP 5
	cl_wait_bulk "$h" 10 || fail "$h: join bulk not ended in 10 s"
done
sleep 1

# 1. 10,000 new states on M1 reach every member.
declare -A base=()
for h in "${ALL[@]}"; do
	base[$h]=$(in_ns "$h" conntrack -C)
done
sent0=$(sum channel.sent) resent0=$(sum channel.resent) replayed0=$(sum channel.replayed)
t0=$(date +%s%N)
cl_insert M1 0 "$STATES"
insert_ms=$(ms "$t0")
left=("${ALL[@]}")
deadline=$(($(date +%s) + 120))
while [ ${#left[@]} -gt 0 ]; do
	still=()
	for h in "${left[@]}"; do
		[ $(($(in_ns "$h" conntrack -C) - base[$h])) -ge "$STATES" ] || still+=("$h")
	done
	left=("${still[@]}")
	[ ${#left[@]} = 0 ] && break
	[ "$(date +%s)" -lt $deadline ] || fail "after 120 s, ${left[*]} lack states"
	sleep 0.02
done
reach_ms=$(ms "$t0")
sleep 1
sent=$(($(sum channel.sent) - sent0))
resent=$(($(sum channel.resent) - resent0))
replayed=$(($(sum channel.replayed) - replayed0))
per_env=$(/usr/bin/python3 -c "print(f'{$resent / max($sent, 1):.2f}')")
cl_wait_equal 10 "${ALL[@]}" || fail "tables differ after the insert: $CL_DIFF"
echo "N=$N: $STATES states on every member ${reach_ms} ms after the insert began (the batch took ${insert_ms} ms on M1);" \
	"envelopes sent $sent, resent $resent ($per_env per envelope), refused as replayed $replayed"

# 2. Restarts of M2, M3, ... in turn.
# What made the survivors write, summed over them and printed when not 0.
WHY="engine.inserts engine.updates engine.deletes engine.reconciled engine.buried engine.stale mirror.refreshed"
tr_total=0 surv_writes=0 join_writes=0 bulk_total=0 answered_total=0
for r in $(seq "$RESTARTS"); do
	victim=M$((2 + (r - 1) % (N - 1)))
	declare -A mark=() w0=() why0=()
	why=()
	survivors=()
	answered0=0
	for h in "${ALL[@]}"; do
		[ "$h" = "$victim" ] && continue
		survivors+=("$h")
		answered0=$((answered0 + $(cl_nums "$h" engine.bulk_sent)))
		mark[$h]=$(cl_lines "$h")
		read -r a b <<<"$(cl_nums "$h" mirror.written mirror.deleted)"
		w0[$h]=$((a + b))
		why0[$h]=$(cl_nums "$h" $WHY)
	done
	cl_stop "$victim" TERM
	sleep 0.5
	cl_start_carpd "$victim" $((20 * (${victim#M} - 1)))
	tb=$(date +%s%N)
	cl_start_syncd "$victim"
	cl_wait_bulk "$victim" 60 || fail "restart $r: $victim's join bulk not ended in 60 s"
	bulk_ms=$(ms "$tb")
	sleep 2
	cl_wait_equal 10 "${ALL[@]}" || echo "restart $r: tables differ after 10 s: $CL_DIFF"
	tr=0 writes=0 answered=$((-answered0))
	for h in "${survivors[@]}"; do
		answered=$((answered + $(cl_nums "$h" engine.bulk_sent)))
		tr=$((tr + $(cl_transitions "$h" "${mark[$h]}")))
		read -r a b <<<"$(cl_nums "$h" mirror.written mirror.deleted)"
		writes=$((writes + a + b - w0[$h]))
		read -r -a x0 <<<"${why0[$h]}"
		read -r -a x1 <<<"$(cl_nums "$h" $WHY)"
		for k in "${!x1[@]}"; do
			why[k]=$((${why[k]:-0} + x1[k] - x0[k]))
		done
	done
	whys=
	k=0
	for w in $WHY; do
		[ "${why[k]}" = 0 ] || whys+=" $w ${why[k]}"
		k=$((k + 1))
	done
	read -r a b <<<"$(cl_nums "$victim" mirror.written mirror.deleted)"
	echo "  restart $r ($victim): join bulk ${bulk_ms} ms, states the survivors' answers sent $answered," \
		"kernel writes per survivor" \
		"$((writes / ${#survivors[@]})), joiner $((a + b)) ($a written, $b deleted)," \
		"MASTER transitions on survivors $tr${whys:+ (survivor counters:$whys)}"
	tr_total=$((tr_total + tr))
	surv_writes=$((surv_writes + writes / ${#survivors[@]}))
	join_writes=$((join_writes + a + b))
	bulk_total=$((bulk_total + bulk_ms))
	answered_total=$((answered_total + answered))
done
echo "N=$N: per restart (mean of $RESTARTS): join bulk $((bulk_total / RESTARTS)) ms," \
	"states sent by the survivors' answers $((answered_total / RESTARTS))," \
	"kernel writes per survivor $((surv_writes / RESTARTS)), joiner $((join_writes / RESTARTS))," \
	"MASTER transitions on survivors $(/usr/bin/python3 -c "print(f'{$tr_total / $RESTARTS:.1f}')")"
echo "{\"members\": $N, \"states\": $STATES, \"reach_ms\": $reach_ms, \"sent\": $sent," \
	"\"resent\": $resent, \"resent_per_envelope\": $per_env, \"replayed\": $replayed," \
	"\"restarts\": $RESTARTS, \"join_bulk_ms\": $((bulk_total / RESTARTS))," \
	"\"answered_per_restart\": $((answered_total / RESTARTS))," \
	"\"writes_per_survivor\": $((surv_writes / RESTARTS)), \"writes_joiner\": $((join_writes / RESTARTS))," \
	"\"transitions_per_restart\": $(/usr/bin/python3 -c "print($tr_total / $RESTARTS)")}"
exit 0
