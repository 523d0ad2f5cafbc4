#!/bin/bash
# nfq-bench.sh BUILD_DIR [SECONDS] (ROUNDS=3 in the environment) — packets a second forwarded through
# examples/nfq-firewall (queue, state table, batch verdicts) against
# nftables' own stateful forwarding (conntrack) of the same UDP traffic, in
# network namespaces (root): C -- A -- S as tests/netns/nfqlib.sh builds it.
# One run gives every number, so their ratio is of one machine at one time:
#   nft-conntrack       ct state established accept, new from lan accept
#   nfq batch           nfq-firewall, verdicts batched (the default)
#   nfq single          nfq-firewall --no-batch-verdicts
#   nfq batch, timed    nfq-firewall --time-lookups: the cost of
#                       rd_state_packet (lookup + tracking) per packet
# Traffic: bench/nfq-flood, 64 UDP flows of 18-byte datagrams from C to S,
# as fast as one sender core goes; S counts what arrives.
# On veth the sender's CPU also forwards (softirq in its own context) unless
# a queue hands the packet to another process: unpinned, nfq-firewall gets
# a second CPU that conntrack's forwarding does not. PIN=N runs the sender,
# the receiver and the firewall on CPU N alone (taskset), so every mode pays
# its whole cost on one core: received/s is then 1 / (cost of a packet).
set -u
B=$(cd "${1:?usage: nfq-bench.sh BUILD_DIR [SECONDS]}" && pwd)
SECS=${2:-4}
ROUNDS=${ROUNDS:-3}
export NFQFW=$B/examples/nfq-firewall/nfq-firewall
export CARPD=${CARPD:-/bin/true} REDUNDCTL=${REDUNDCTL:-$B/redundctl/redundctl}
FLOOD=$B/bench/nfq-flood
TS=()
[ -n "${PIN:-}" ] && TS=(taskset -c "$PIN") && NFQ_WRAP=("${TS[@]}")
T_NAME=nfq_bench
. "$(dirname "$0")/../tests/netns/nfqlib.sh"
require_cmd "$FLOOD"

nfq_topology 1

# The firewall's ruleset for a mode: conntrack's own, or the queue's.
rules() {
	in_ns A nft delete table inet fw 2>/dev/null
	if [ "$NFQ_MODE" = xt ]; then
		in_ns A iptables-nft -F FORWARD
		in_ns A iptables-nft -P FORWARD ACCEPT
	fi
	if [ "$1" = conntrack ]; then
		in_ns A nft -f - <<'EON' || fail "nft"
table inet fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" ct state new accept
	}
}
EON
	else
		nfq_nft A
	fi
}

# cpu_ticks PID: user + system clock ticks of a process so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# run LABEL [PID]: one measurement, prints "LABEL pps"; with the firewall's
# PID also its own CPU time (user + system, its thread only: the kernel's
# forwarding runs in softirq and is not in it) per packet it decided.
run() {
	local c0=0 p0=0 cpu=
	if [ -n "${2:-}" ]; then
		c0=$(cpu_ticks "$2")
		p0=$(nfq_get A 'd["packets"]')
	fi
	in_ns S ${TS[@]+"${TS[@]}"} "$FLOOD" recv 9000 "$SECS" >"$T_DIR/recv.txt" &
	local r=$!
	sleep 0.3
	in_ns C ${TS[@]+"${TS[@]}"} "$FLOOD" send 10.20.0.100 9000 $((SECS + 1)) 64 >"$T_DIR/send.txt"
	wait $r
	if [ -n "${2:-}" ]; then
		local c1 p1
		c1=$(cpu_ticks "$2")
		p1=$(nfq_get A 'd["packets"]')
		cpu=$(awk -v c=$((c1 - c0)) -v p=$((p1 - p0)) -v hz="$(getconf CLK_TCK)" \
			'BEGIN { if (p > 0) printf "   firewall CPU %.2f us/packet", c / hz * 1e6 / p }')
	fi
	printf '%-18s %8s received/s  (%s sent/s)%s\n' "$1" \
		"$(awk '{print $4}' "$T_DIR/recv.txt")" "$(awk '{print $4}' "$T_DIR/send.txt")" "$cpu"
}

[ -n "${PIN:-}" ] && echo "pinned to CPU $PIN"
echo "queue rule: $([ "$NFQ_MODE" = nft ] && echo "nftables queue" || echo "iptables-nft NFQUEUE (no nft_queue in this kernel)")"
# Interleaved rounds (the sender's speed on a shared machine moves), then
# the median of each mode and their ratio.
: >"$T_DIR/results"
for round in $(seq "$ROUNDS"); do
	rules conntrack
	run nft-conntrack | tee -a "$T_DIR/results"
	rules queue
	nfq_start A
	run "nfq batch" "${NFQ_PID[A]}" | tee -a "$T_DIR/results"
	nfq_stop A
	nfq_start A --no-batch-verdicts
	run "nfq single" "${NFQ_PID[A]}" | tee -a "$T_DIR/results"
	nfq_stop A
done
nfq_start A --time-lookups
run "nfq batch, timed" "${NFQ_PID[A]}"
echo "kernel queue drops (queue_dropped, user_dropped): $(in_ns A cat /proc/net/netfilter/nfnetlink_queue | awk '{print $6, $7}')"
nfq_get A '"verdict rounds %d for %d packets (%.1f a round); rd_state_packet %.0f ns a packet over %d calls; states %d" % (d["queue"]["rounds"], d["packets"], d["packets"] / max(1, d["queue"]["rounds"]), d["lookup"]["ns_avg"], d["lookup"]["calls"], d["states"])'
nfq_stop A
/usr/bin/python3 - "$T_DIR/results" <<'EOP'
import re, statistics, sys
r = {}
for line in open(sys.argv[1]):
    m = re.match(r"(nft-conntrack|nfq batch|nfq single)\s+(\d+)", line)
    if m:
        r.setdefault(m.group(1), []).append(int(m.group(2)))
med = {k: statistics.median(v) for k, v in r.items()}
for k, v in med.items():
    print("median %-14s %8.0f received/s over %d runs" % (k, v, len(r[k])))
if med.get("nft-conntrack"):
    print("ratio nfq batch / nft-conntrack: %.2f; nfq single / nft-conntrack: %.2f" % (
        med["nfq batch"] / med["nft-conntrack"], med["nfq single"] / med["nft-conntrack"]))
EOP
