#!/bin/bash
# Failover on a loaded machine (issue 14): false takeovers in a soak and the
# crash failover, for carpd at advbase 0 and for keepalived's VRRPv3, in
# network namespaces (root; all traffic stays inside them). Run by hand:
#
#   bench/carp-loaded.sh [options]
#     --duration S      soak length in seconds (default 60; 600 to confirm)
#     --carp "A:B ..."  carpd pairs, side by side (one vhost each, vhid 1, 2, ...):
#                       master advskew A, backup advskew B, advbase 0 (default
#                       0:2); master-down 3 x B/256 s
#     --vrrp "INT ..."  keepalived VRRPv3 instances, side by side (VRID 51, ...):
#                       advert_int in seconds (default 0.01), master priority
#                       200, backup 100; master-down 3 x INT + 156/256 x INT
#     --only carpd|keepalived   run one daemon (default both, side by side)
#     --rt              carpd --realtime 50 (SCHED_FIFO 50, memory locked) and
#                       keepalived vrrp_rt_priority 50 + vrrp_no_swap (the same
#                       for it; default: neither)
#     --carpd-args "..."  extra carpd options for both hosts
#     --crashes N       crash failovers per daemon after the soak (default 5)
#     --hogs N          busy-loop processes (default: one per core)
#     --sync-rate N     pfsync state updates a second (default 100000; 0: none)
#     BUILD=dir         binaries from dir (default build)
#
# Topology: bridge namespace BR (the client), hosts A (master) and B (backup)
# on br0 (10.77.0.0/24: carpd, vhid 1, VIP 10.77.0.100) and on br1
# (10.78.0.0/24: keepalived, VRID 51, VIP 10.78.0.100). The load, all of it
# during the soak and the crashes:
#   - N shell busy loops (`while :; do :; done`), one per core by default;
#   - bench/pfsync-flood in A sending 100,000 pfsync state updates a second
#     (full UPD messages, 5 a 1500-byte packet, over a pool of 20,000 UDP
#     states) to the pfsync group on br0, the carpd link, and syncd in plain
#     mode in B importing them and writing them into B's conntrack table.
#
# Soak: both pairs run for --duration seconds; a false takeover is a move of
# B to MASTER (from the daemons' logs). A capture on each of B's links gives
# the master's advertisement gaps as B receives them (quantiles, largest,
# how many exceed the master-down interval, and when the largest began). Crash: A's daemon is SIGKILLed and A's port on the bridge
# set down at once (a power loss), then measured from that moment (capture
# timestamps against the wall clock): B's first advertisement, and the
# first echo reply from the VIP with B's MAC to the client's ping (every
# 1 ms; the client's ARP entry follows B's gratuitous ARP). A's last
# advertisement before the kill is reported too (B's timer counts from it).
set -u
cd "$(dirname "$0")/.." || exit 1
DURATION=60
CARP=0:2
VRRP=0.01
ONLY=both
RT=0
CARPD_ARGS=""
CRASHES=5
HOGS=$(nproc)
SYNC_RATE=100000
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift ;;
	--carp) CARP=$2; shift ;;
	--vrrp) VRRP=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--rt) RT=1 ;;
	--carpd-args) CARPD_ARGS=$2; shift ;;
	--crashes) CRASHES=$2; shift ;;
	--hogs) HOGS=$2; shift ;;
	--sync-rate) SYNC_RATE=$2; shift ;;
	*) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
	esac
	shift
done
BUILD=${BUILD:-build}
export CARPD=${CARPD:-$PWD/$BUILD/carpd/carpd}
export REDUNDCTL=${REDUNDCTL:-$PWD/$BUILD/redundctl/redundctl}
SYNCD=${SYNCD:-$PWD/$BUILD/syncd/syncd}
FLOOD=${FLOOD:-$PWD/$BUILD/bench/pfsync-flood}
for b in "$CARPD" "$REDUNDCTL" "$SYNCD" "$FLOOD"; do
	[ -x "$b" ] || { echo "no $b (build first, or set BUILD=)" >&2; exit 1; }
done
# The settings, "A:B A:B ..." and "I I ...": pair (or instance) i gets vhid i
# (VRID 50+i) and the virtual address .100+i on its link.
read -r -a CARP_SET <<<"${CARP//,/ }"
read -r -a VRRP_SET <<<"${VRRP//,/ }"
T_NAME=carpload
. tests/netns/lib.sh
require_netns
require_cmd tcpdump /usr/bin/python3 ping
RUN_CARPD=0
RUN_KA=0
[ "$ONLY" != keepalived ] && RUN_CARPD=1
[ "$ONLY" != carpd ] && RUN_KA=1
[ "$RUN_KA" = 1 ] && require_cmd keepalived

make_bridge
make_bridge2
add_host A 1
add_host B 2
add_link A 1
add_link B 2
now() { date +%s.%N; }

[ "$RT" = 1 ] && CARPD_ARGS="--realtime 50 $CARPD_ARGS"

# carpd_conf NAME SIDE(0: master, 1: backup): one vhost per pair.
carpd_conf() {
	local i=0 p skew
	: >"$T_DIR/$1-carpd.conf"
	for p in "${CARP_SET[@]}"; do
		i=$((i + 1))
		skew=${p%%:*}
		[ "$2" = 1 ] && skew=${p##*:}
		printf 'vhost eth0 %d\n pass bench\n addr 10.77.0.%d/24\n advbase 0\n advskew %d\n preempt\n' \
			"$i" $((100 + i)) "$skew" >>"$T_DIR/$1-carpd.conf"
	done
}
carpd_start() { # NAME
	# shellcheck disable=SC2086
	start_daemon carpd "$CARPD" "$1" --startup-demote 0 -c "$T_DIR/$1-carpd.conf" $CARPD_ARGS
}
# carp_wait NAME STATE: every vhost of NAME in STATE (5 s each).
carp_wait() {
	local i
	for i in $(seq ${#CARP_SET[@]}); do
		wait_state "$1" "$2" 5 "$i"
	done
}

ka_conf() { # NAME PRIORITY
	local i=0 v
	{
		printf 'global_defs {\n\trouter_id %s\n\tvrrp_version 3\n' "$1"
		[ "$RT" = 1 ] && printf '\tvrrp_rt_priority 50\n\tvrrp_no_swap\n'
		printf '}\n'
		for v in "${VRRP_SET[@]}"; do
			i=$((i + 1))
			printf 'vrrp_instance VI_%d {\n\tstate BACKUP\n\tinterface eth1\n' "$i"
			printf '\tvirtual_router_id %d\n\tpriority %d\n\tadvert_int %s\n' $((50 + i)) "$2" "$v"
			printf '\tvirtual_ipaddress {\n\t\t10.78.0.%d/24\n\t}\n}\n' $((100 + i))
		done
	} >"$T_DIR/$1-ka.conf"
}

# ka_start NAME: keepalived (VRRP only, foreground) in NAME. Its parent respawns
# the VRRP child as in production (with vrrp_rt_priority the kernel kills a
# child that runs over RLIMIT_RTTIME: counted as child_deaths).
ka_start() {
	local name=$1
	rm -f "$T_DIR/$name-ka.pid" "$T_DIR/$name-ka-vrrp.pid"
	ip netns exec "$(ns "$name")" keepalived -n -l -D -G -P -f "$T_DIR/$name-ka.conf" \
		-p "$T_DIR/$name-ka.pid" -r "$T_DIR/$name-ka-vrrp.pid" \
		>>"$T_DIR/$name-ka.log" 2>&1 &
	T_PIDS+=($!)
	eval "KPID_$name=$!"
	local i
	for i in $(seq 100); do
		[ -s "$T_DIR/$name-ka-vrrp.pid" ] && break
		sleep 0.05
	done
	eval "KCHILD_$name=$(cat "$T_DIR/$name-ka-vrrp.pid" 2>/dev/null)"
	eval "T_PIDS+=(\$KCHILD_$name)"
}

# ka_masters NAME: how often NAME's keepalived entered MASTER so far.
ka_masters() { grep -c "Entering MASTER STATE" "$T_DIR/$1-ka.log" 2>/dev/null; }
# carp_masters NAME: how often NAME's carpd became MASTER so far.
carp_masters() { grep -c -- "-> MASTER" "$T_DIR/$1.log" 2>/dev/null; }

wait_ka_master() { # NAME COUNT SECONDS: until NAME entered MASTER COUNT times
	local i
	for i in $(seq $(($3 * 20))); do
		[ "$(ka_masters "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "keepalived $1: not MASTER within $3 s"
}

# --- the load (started once both pairs are settled) ----------------------
# syncd runs in B (named S for its own log and socket; the namespace is B's).
start_syncd_b() {
	ip netns exec "$(ns B)" "$SYNCD" --control "$T_DIR/S.sock" -f none \
		--state-dir "$T_DIR/S-state" -i eth0 -m plain >"$T_DIR/S.log" 2>&1 &
	T_PIDS+=($!)
	PID_S=$!
	# The flood stands for the peer firewall, another machine: niced so that it keeps
	# its rate against the busy loops (the rate it reached is printed at the end).
	ip netns exec "$(ns A)" nice -n -10 "$FLOOD" -i eth0 -r "$SYNC_RATE" >"$T_DIR/flood.out" 2>&1 &
	T_PIDS+=($!)
	PID_FLOOD=$!
}

# --- soak -----------------------------------------------------------------
echo "carp-loaded: $(date -u +%FT%TZ) duration ${DURATION}s; carpd advbase 0, master:backup" \
	"advskew ${CARP_SET[*]}; keepalived VRRPv3 advert_int ${VRRP_SET[*]}; rt=$RT hogs=$HOGS" \
	"sync=$SYNC_RATE/s only=$ONLY carpd-args='$CARPD_ARGS'; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The soak's captures are on B's links: the advertisements as B receives them.
CAPS=()
[ "$RUN_CARPD" = 1 ] && { start_capture "$T_DIR/soak-c.pcap" B eth0; CAPS+=("$CAPTURE_PID"); }
[ "$RUN_KA" = 1 ] && { start_capture "$T_DIR/soak-k.pcap" B eth1; CAPS+=("$CAPTURE_PID"); }
if [ "$RUN_CARPD" = 1 ]; then
	carpd_conf A 0
	carpd_conf B 1
	carpd_start A
	carp_wait A MASTER
	carpd_start B
	carp_wait B BACKUP
fi
if [ "$RUN_KA" = 1 ]; then
	ka_conf A 200
	ka_conf B 100
	ka_start A
	wait_ka_master A ${#VRRP_SET[@]} 10
	ka_start B
fi
sleep 1
[ "$RUN_CARPD" = 1 ] && carp_wait B BACKUP
[ "$SYNC_RATE" -gt 0 ] && start_syncd_b
for i in $(seq "$HOGS"); do
	bash -c 'while :; do :; done' &
	T_PIDS+=($!)
done
# Log lines before the soak (the masters' start-up) are not counted.
LC0=0 LK0=0
[ "$RUN_CARPD" = 1 ] && LC0=$(wc -l <"$T_DIR/B.log")
[ "$RUN_KA" = 1 ] && LK0=$(wc -l <"$T_DIR/B-ka.log")
# Packets the kernel dropped for a full per-CPU backlog, and the times its
# receive softirq ran out of budget (the machine's, all namespaces).
softnet() {
	local d=0 s=0 b c
	while read -r _ b c _; do
		d=$((d + 0x$b))
		s=$((s + 0x$c))
	done </proc/net/softnet_stat
	echo "$d $s"
}
SN0=$(softnet)
SOAK_T0=$(now)
CPU0=$(head -1 /proc/stat)
sleep "$DURATION"
CPU1=$(head -1 /proc/stat)
SOAK_T1=$(now)
SN1=$(softnet)
LC1=0 LK1=0
[ "$RUN_CARPD" = 1 ] && LC1=$(wc -l <"$T_DIR/B.log")
# B's carpd counts, per vhost, the master-down timers it found due with the
# master's advertisement already queued (read first: no takeover).
[ "$RUN_CARPD" = 1 ] && "$REDUNDCTL" --control "$T_DIR/B.sock" carp status --json \
	>"$T_DIR/B-status.json" 2>/dev/null
[ "$RUN_KA" = 1 ] && LK1=$(wc -l <"$T_DIR/B-ka.log")
echo "soak: kernel backlog drops $((${SN1% *} - ${SN0% *})), softirq budget exhausted" \
	"$((${SN1#* } - ${SN0#* })) times; load $(cut -d' ' -f1-3 /proc/loadavg)"
# The machine's busy share during the soak (all processes, not only ours).
BUSY=$(/usr/bin/python3 -c '
import sys
a = [int(x) for x in sys.argv[1].split()[1:]]; b = [int(x) for x in sys.argv[2].split()[1:]]
d = [y - x for x, y in zip(a, b)]; idle = d[3] + d[4]
print(round(100 * (sum(d) - idle) / sum(d), 1))' "$CPU0" "$CPU1")
sleep 0.2
kill -INT "${CAPS[@]}" 2>/dev/null
wait "${CAPS[@]}" 2>/dev/null
RESULTS=$T_DIR/results.txt
: >"$RESULTS"

# soak_report DAEMON PCAP LOG FROM TO SRC SETTINGS...: per setting i (vhid i,
# or VRID 50+i), false takeovers (B's log lines FROM..TO) and the master's
# advertisement gaps as B received them during the soak.
soak_report() {
	local daemon=$1 pcap=$2 log=$3 from=$4 to=$5 src=$6
	shift 6
	tcpdump -tt -nr "$pcap" "ip proto 112 and src $src" 2>/dev/null >"$pcap.txt"
	sed -n "$((from + 1)),${to}p" "$log" >"$log.soak"
	B_STATUS=$T_DIR/B-status.json /usr/bin/python3 - "$daemon" "$pcap.txt" "$log.soak" "$SOAK_T0" "$SOAK_T1" "$DURATION" "$BUSY" \
		"$@" <<'PY'
import json, os, re, sys
daemon, txt, log, t0, t1, dur, busy = sys.argv[1:8]
t0, t1 = float(t0), float(t1)
settings = sys.argv[8:]
ads = {}
for l in open(txt):
    m = re.search(r"vrid (\d+)", l)
    if m:
        ads.setdefault(int(m[1]), []).append(float(l.split()[0]))
lines = open(log).read().splitlines()
for i, s in enumerate(settings, 1):
    if daemon == "carpd":
        a, b = (int(x) for x in s.split(":"))
        md = 3 * (b if b else 1) * 1000 / 256
        vrid = i
        false = sum(bool(re.search(rf"vhid {i}: \w+ -> MASTER", l)) for l in lines)
        name = {"advskew": s}
        try:
            st = json.load(open(os.environ["B_STATUS"]))
            averted = [h.get("takeovers_averted") for f in st["interfaces"]
                       for h in f["vhosts"] if h["vhid"] == i][0]
        except Exception:
            averted = None
        name["takeovers_averted"] = averted
    else:
        md = (3 * float(s) + (256 - 100) * float(s) / 256) * 1000
        vrid = 50 + i
        false = sum(f"(VI_{i}) Entering MASTER STATE" in l for l in lines)
        name = {"advert_int": float(s)}
    ts = [t for t in ads.get(vrid, []) if t0 <= t <= t1]
    gt = sorted(((y - x) * 1000, x) for x, y in zip(ts, ts[1:]))
    g = [x for x, _ in gt]
    q = lambda p: round(g[min(len(g) - 1, int(p * len(g)))], 2) if g else None
    out = {"daemon": daemon, **name, "soak_s": int(dur), "masterdown_ms": round(md, 1),
           "false_takeovers": false, "cpu_busy_pct": busy, "adverts": len(ts),
           "gap_p50_ms": q(0.5), "gap_p999_ms": q(0.999), "gap_p99999_ms": q(0.99999),
           "gap_max_ms": round(g[-1], 1) if g else None,
           "gaps_over_masterdown": sum(x > md for x in g)}
    print(json.dumps(out))
PY
}
if [ "$RUN_CARPD" = 1 ]; then
	soak_report carpd "$T_DIR/soak-c.pcap" "$T_DIR/B.log" "$LC0" "$LC1" 10.77.0.1 "${CARP_SET[@]}" |
		tee -a "$RESULTS"
fi
if [ "$RUN_KA" = 1 ]; then
	soak_report keepalived "$T_DIR/soak-k.pcap" "$T_DIR/B-ka.log" "$LK0" "$LK1" 10.78.0.1 \
		"${VRRP_SET[@]}" | tee -a "$RESULTS"
	echo "keepalived VRRP children killed (RLIMIT_RTTIME or other): A" \
		"$(grep -c 'exited due to signal' "$T_DIR/A-ka.log"), B $(grep -c 'exited due to signal' "$T_DIR/B-ka.log")" |
		tee -a "$RESULTS"
fi

# --- crashes (the load keeps running) --------------------------------------
# crash DAEMON PORT BRIF NET SETTINGS...: CRASHES power losses of A (its daemon
# SIGKILLed, its bridge port PORT down), each followed by A's return; per
# setting i the times from the kill to B's first advertisement for it and to
# the first echo reply from its address (NET.100+i) with B's MAC.
crash() {
	local who=$1 port=$2 brif=$3 net=$4 i n
	shift 4
	local cap=$T_DIR/crash-$who.pcap marks=$T_DIR/crash-$who.marks pings=()
	: >"$marks"
	ip netns exec "$(ns BR)" tcpdump -i "$brif" --immediate-mode -U -s 128 -w "$cap" \
		"ip proto 112 or (icmp and net $net.0/24)" >/dev/null 2>&1 &
	T_PIDS+=($!)
	local capid=$!
	for i in $(seq $#); do
		ip netns exec "$(ns BR)" ping -q -i 0.001 "$net.$((100 + i))" >/dev/null 2>&1 &
		T_PIDS+=($!)
		pings+=($!)
	done
	sleep 1
	for i in $(seq "$CRASHES"); do
		if [ "$who" = carpd ]; then
			now >>"$marks"
			# shellcheck disable=SC2153 # PID_A: set by start_daemon (eval)
			kill -KILL "$PID_A"
			in_ns BR ip link set "$port" down
			wait "$PID_A" 2>/dev/null
			carp_wait B MASTER
			sleep 0.5
			in_ns BR ip link set "$port" up
			carpd_start A
			carp_wait A MASTER
			carp_wait B BACKUP
		else
			n=$(ka_masters A)
			now >>"$marks"
			kill -KILL "$(cat "$T_DIR/A-ka-vrrp.pid")" "$KPID_A"
			in_ns BR ip link set "$port" down
			wait "$KPID_A" 2>/dev/null
			sleep 0.5
			in_ns BR ip link set "$port" up
			ka_start A
			wait_ka_master A $((n + $#)) 10
		fi
		sleep 1.5
	done
	kill -INT "${pings[@]}" "$capid"
	wait "$capid" 2>/dev/null
	tcpdump -e -tt -nr "$cap" 2>/dev/null >"$cap.txt"
	/usr/bin/python3 - "$who" "$cap.txt" "$marks" "$(mac_of_if B "$port")" "$net" "$@" <<'PY'
import json, re, statistics, sys
who, txt, marks, bmac, net = sys.argv[1:6]
settings = sys.argv[6:]
ads, replies = {}, {}
for l in open(txt):
    f = l.split()
    t, smac = float(f[0]), f[1]
    m = re.search(r" (\d+\.\d+\.\d+)\.(\d+) > 224\.0\.0\.18: .*vrid (\d+)", l)
    if m:
        ads.setdefault((int(m[3]), m[2]), []).append(t)
        continue
    m = re.search(r" (\d+\.\d+\.\d+)\.(\d+) > \S+ ICMP echo reply", l)
    if m and smac == bmac:
        replies.setdefault(int(m[2]), []).append(t)
ms = [float(x) for x in open(marks)]
for i, s in enumerate(settings, 1):
    vrid = i if who == "carpd" else 50 + i
    res = []
    for m in ms:
        b = min((t for t in ads.get((vrid, "2"), []) if t > m), default=None)
        a = max((t for t in ads.get((vrid, "1"), []) if t < m), default=None)
        r = min((t for t in replies.get(100 + i, []) if t > m), default=None)
        res.append([round((x - m) * 1000, 1) if x else None for x in (b, r)] +
                   [round((b - a) * 1000, 1) if a and b else None])
    def rng(k):
        v = [x[k] for x in res if x[k] is not None]
        return [min(v), round(statistics.median(v), 1), max(v)] if v else None
    if who == "carpd":
        md = 3 * (int(s.split(":")[1]) or 1) * 1000 / 256
        name = {"advskew": s}
    else:
        md = (3 * float(s) + (256 - 100) * float(s) / 256) * 1000
        name = {"advert_int": float(s)}
    print(json.dumps({"daemon": who, **name, "crashes": len(res), "masterdown_ms": round(md, 1),
                      "advert_ms_min_med_max": rng(0), "answer_ms_min_med_max": rng(1),
                      "from_last_advert_ms_min_med_max": rng(2),
                      "runs_advert_answer_fromlast_ms": res}))
PY
}
# mac_of_if NAME PORT: NAME's MAC on the link whose bridge port is PORT.
mac_of_if() {
	case $2 in
	v*) in_ns "$1" cat /sys/class/net/eth0/address ;;
	*) in_ns "$1" cat /sys/class/net/eth1/address ;;
	esac
}
# Not in a pipeline: the daemons crash() restarts must stay in this shell's T_PIDS
# (the cleanup trap's list).
if [ "$CRASHES" -gt 0 ]; then
	if [ "$RUN_CARPD" = 1 ]; then
		crash carpd "v1-$$" br0 10.77.0 "${CARP_SET[@]}" >"$T_DIR/crash-carpd.json"
		tee -a "$RESULTS" <"$T_DIR/crash-carpd.json"
	fi
	if [ "$RUN_KA" = 1 ]; then
		crash keepalived "w1-$$" br1 10.78.0 "${VRRP_SET[@]}" >"$T_DIR/crash-keepalived.json"
		tee -a "$RESULTS" <"$T_DIR/crash-keepalived.json"
	fi
fi
cpu_s() { awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$1/stat"; }
if [ "$SYNC_RATE" -gt 0 ]; then
	echo "CPU time used: syncd in B $(cpu_s "$PID_S") s, pfsync-flood $(cpu_s "$PID_FLOOD") s"
	kill -TERM "$PID_FLOOD"
	wait "$PID_FLOOD" 2>/dev/null
	echo "sync load: $(cat "$T_DIR/flood.out")"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results in $RESULTS"
