#!/bin/bash
# carpd failover benchmark, in network namespaces (needs root). Run by hand:
#
#   bench/carp-failover.sh [RUNS]          (default 5; binaries from build/)
#   BUILD=build-x bench/carp-failover.sh
#
# Every time is measured from a capture on the bridge between the hosts
# (tcpdump timestamps): from the old master's last advertisement to the new
# master's first one. Prints one line per scenario and a JSON summary.
#
#  1. takeover at advbase 1 (A skew 0 dies by SIGKILL; B skew 50 takes over)
#     against the formula 3 x (1 + 50/256) s;
#  2. takeover at advbase 0 (A skew 5 dies; B skew 10, interval 39 ms,
#     master-down 117 ms);
#  3. hand-over on SIGTERM at advbase 1 (A's bow-out to B's first ad);
#  4. both hosts started together: whether two MASTERs ever coexist
#     (from the state changes in their logs), with different and equal skews.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BUILD=${BUILD:-build}
export CARPD=${CARPD:-$PWD/$BUILD/carpd/carpd}
export REDUNDCTL=${REDUNDCTL:-$PWD/$BUILD/redundctl/redundctl}
[ -x "$CARPD" ] || { echo "no carpd at $CARPD (build first, or set BUILD=)" >&2; exit 1; }
T_NAME=carpbench
. tests/netns/lib.sh
require_netns
require_cmd tcpdump /usr/bin/python3
make_bridge
add_host A 1
add_host B 2
VIP=10.77.0.100
RESULTS=$T_DIR/results.txt

now() { date +%s.%N; }

# takeover SCENARIO SIGNAL "A-args" "B-args": RUNS failovers from A to B.
takeover() {
	local name=$1 sig=$2 aargs=$3 bargs=$4 i
	local cap=$T_DIR/$name.pcap marks=$T_DIR/$name.marks
	: >"$marks"
	start_capture "$cap"
	# shellcheck disable=SC2086
	start_carpd A --startup-demote 0 -i eth0 -v 1 -p bench -a $VIP/24 -P $aargs
	wait_state A MASTER 10
	# shellcheck disable=SC2086
	start_carpd B --startup-demote 0 -i eth0 -v 1 -p bench -a $VIP/24 $bargs
	wait_state B BACKUP 5
	sleep 1.5
	for i in $(seq "$RUNS"); do
		now >>"$marks"
		kill -"$sig" "$PID_A"
		wait "$PID_A" 2>/dev/null
		wait_state B MASTER 10
		sleep 0.3
		# shellcheck disable=SC2086
		start_carpd A --startup-demote 0 -i eth0 -v 1 -p bench -a $VIP/24 -P $aargs
		wait_state A MASTER 10
		wait_state B BACKUP 5
		sleep 1.5
	done
	kill -TERM "$PID_A" "$PID_B"
	wait "$PID_A" "$PID_B" 2>/dev/null
	stop_capture
	tcpdump -tt -nr "$cap" 'ip proto 112' 2>/dev/null | awk '{print $1, $3}' >"$T_DIR/$name.ads"
	/usr/bin/python3 - "$name" "$T_DIR/$name.ads" "$marks" "${5:-}" >>"$RESULTS" <<'PY'
import json, statistics, sys
name, ads, marks, formula = sys.argv[1:5]
pk = [(float(t), s) for t, s in (l.split() for l in open(ads))]
res = []
for m in (float(x) for x in open(marks)):
    b = min(t for t, s in pk if s == "10.77.0.2" and t > m)
    a = max(t for t, s in pk if s == "10.77.0.1" and t < b)
    res.append((b - a) * 1000)
out = {"scenario": name, "runs": len(res), "median_ms": round(statistics.median(res), 2),
       "min_ms": round(min(res), 2), "max_ms": round(max(res), 2),
       "all_ms": [round(x, 2) for x in res]}
if formula:
    out["formula_ms"] = float(formula)
    out["median_minus_formula_ms"] = round(out["median_ms"] - float(formula), 2)
print(json.dumps(out))
PY
	tail -1 "$RESULTS"
}

# startup NAME "A-args" "B-args": both started together RUNS times; overlap of MASTERs.
startup() {
	local name=$1 aargs=$2 bargs=$3 i
	for i in $(seq "$RUNS"); do
		# One after the other: start_carpd returns as soon as the control socket
		# listens, milliseconds apart, far below the 3 s master-down; and the
		# pids stay known (to kill here, and to the cleanup trap on failure).
		# shellcheck disable=SC2086
		start_carpd A --startup-demote 0 -i eth0 -v 1 -p bench -a $VIP/24 $aargs
		# shellcheck disable=SC2086
		start_carpd B --startup-demote 0 -i eth0 -v 1 -p bench -a $VIP/24 $bargs
		sleep 6
		kill -TERM "$PID_A" "$PID_B"
		wait "$PID_A" "$PID_B" 2>/dev/null
		cp "$T_DIR/A.log" "$T_DIR/$name-$i-A.log"
		cp "$T_DIR/B.log" "$T_DIR/$name-$i-B.log"
		sleep 0.3
	done
	/usr/bin/python3 - "$name" "$T_DIR" "$RUNS" >>"$RESULTS" <<'PY'
import datetime, json, re, sys
name, d, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ivals(path):
    out, start = [], None
    for l in open(path):
        m = re.match(r"(\d+):(\d+):(\d+)\.(\d+) carpd: eth0 vhid 1: (\w+) -> (\w+)", l)
        if not m:
            continue
        t = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1000
        if m[6] == "MASTER":
            start = t
        elif m[5] == "MASTER" and start is not None:
            out.append((start, t)); start = None
    if start is not None:
        out.append((start, float("inf")))
    return out
worst, both_runs, with_master = 0.0, 0, 0
for i in range(1, runs + 1):
    a = ivals(f"{d}/{name}-{i}-A.log"); b = ivals(f"{d}/{name}-{i}-B.log")
    if a or b:
        with_master += 1
    ov = 0.0
    for x0, x1 in a:
        for y0, y1 in b:
            e = min(x1, y1)
            if e == float("inf"):
                e = max(x0, y0) + 6  # both still MASTER at the end of the run
            ov += max(0.0, e - max(x0, y0))
    worst = max(worst, ov)
    both_runs += ov > 0
print(json.dumps({"scenario": name, "runs": runs, "runs_with_a_master": with_master,
                  "runs_with_two_masters": both_runs,
                  "max_overlap_ms": round(worst * 1000, 1)}))
PY
	tail -1 "$RESULTS"
}

echo "carpd failover benchmark, $RUNS runs each ($(date -u +%FT%TZ))"
takeover advbase1-skew50 KILL "-b 1 -k 0" "-b 1 -k 50" 3585.94
takeover advbase0-skew10 KILL "-b 0 -k 5" "-b 0 -k 10" 117.19
takeover sigterm-handover TERM "-b 1 -k 0" "-b 1 -k 50"
startup startup-skew0-vs-50 "-b 1 -k 0" "-b 1 -k 50"
startup startup-equal-skew "-b 1 -k 0" "-b 1 -k 0"
echo "summary:"
cat "$RESULTS"
