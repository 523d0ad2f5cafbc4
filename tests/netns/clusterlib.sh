# A cluster of N firewalls on one bridge, in network namespaces; sourced by
# tests/netns/cluster_*.sh and bench/cluster.sh (on top of synclib.sh and lib.sh).
#
#   [M1] eth0 10.77.0.1 ---.
#   [M2] eth0 10.77.0.2 ---+-- br0 in BR (10.77.0.254): LAN and sync link at once
#   ...                    |
#   [MN] eth0 10.77.0.N ---'
#
# Each member MI runs one carpd (vhost 9 with $CL_VIP, preempt, its own
# advskew; the default start-up hold, released by its syncd) and one syncd
# (secure mode, the multicast group on eth0, carpd-control pointing at its
# carpd; its own state directory, kept across its restarts). Daemons:
# carpd $T_DIR/MI.{sock,log}, syncd $T_DIR/sMI.{sock,log} (sstat sMI reads it);
# PIDs in PID_MI and PID_sMI. A restarted daemon's earlier logs are kept in
# $T_DIR/MI.log.old and sMI.log.old.
#
# The states are flows numbered 0..63999 (cl_flows): flow I is UDP (TCP
# ESTABLISHED when I is a multiple of 5) from 10.1.(I/250).(I%250+1) port
# 4000 to 10.2.0.1; cl_tuples lists the flows in a member's kernel table
# (those only: the sync traffic's own entries are left out).
. "$(dirname "${BASH_SOURCE[0]}")/synclib.sh"

# One collation for sort and comm.
export LC_ALL=C
CL_VIP=10.77.0.100
CL_PASS=cl-pass-7
CL_ADVBASE=${CL_ADVBASE:-1}

# cl_topology N: root, the tools, the bridge and members M1..MN (no daemons),
# the sync key. UDP entries live 600 s in every member's kernel.
cl_topology() {
	local n=$1 i
	require_netns
	require_cmd conntrack /usr/bin/python3 "$SYNCD"
	make_bridge
	for i in $(seq "$n"); do
		add_host "M$i" "$i"
	done
	"$REDUNDCTL" sync genkey "$T_DIR/sync.key" >/dev/null || fail "redundctl sync genkey"
	CL_N=$n
}

# cl_members: M1 .. MN.
cl_members() {
	local i
	for i in $(seq "$CL_N"); do
		echo "M$i"
	done
}

# cl_start_carpd NAME SKEW [args...]: NAME's carpd (vhost 9, preempt, advskew SKEW).
cl_start_carpd() {
	local name=$1 skew=$2
	shift 2
	rm -f "$T_DIR/$name.sock"
	start_carpd "$name" -i eth0 -v 9 -p "$CL_PASS" -a "$CL_VIP/24" -b "$CL_ADVBASE" \
		-k "$skew" -P "$@"
}

# cl_start_syncd NAME [args...]: NAME's syncd (secure, multicast on eth0,
# holding NAME's carpd; its creatorid kept in $T_DIR/sNAME-state by
# start_syncd_in), and the words of $CL_SYNCD_ARGS (for trying other settings).
cl_start_syncd() {
	local name=$1
	shift
	local extra=()
	read -r -a extra <<<"${CL_SYNCD_ARGS:-}"
	rm -f "$T_DIR/s$name.sock"
	start_syncd_in "$name" "s$name" -i eth0 -k "$T_DIR/sync.key" \
		--carpd-control "$T_DIR/$name.sock" "${extra[@]}" "$@"
}

# cl_start NAME SKEW: both daemons of NAME, carpd first.
cl_start() {
	cl_start_carpd "$1" "$2"
	cl_start_syncd "$1"
	# conntrack's sysctls exist in a namespace once syncd opened ctnetlink there.
	in_ns "$1" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 \
		net.netfilter.nf_conntrack_udp_timeout_stream=600 2>/dev/null
}

# cl_cut_sync NAME on|off: drop (or stop dropping) NAME's secure sync
# traffic, both ways, leaving CARP alone: a sync link lost, not the LAN.
cl_cut_sync() {
	if [ "$2" = on ]; then
		in_ns "$1" nft -f - <<'EOF' || fail "nft on $1"
table inet cl_cut {
	chain in { type filter hook input priority -10; udp dport 8240 drop; }
	chain out { type filter hook output priority -10; udp dport 8240 drop; }
}
EOF
	else
		in_ns "$1" nft delete table inet cl_cut || fail "nft on $1"
	fi
}

# cl_kill TAG SIGNAL: stop the daemon whose PID is PID_TAG (and whose log is
# TAG.log) with SIGNAL, wait for it, keep its log in TAG.log.old.
cl_kill() {
	local tag=$1 sig=$2 pid p keep=()
	eval "pid=\$PID_$tag"
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for p in "${T_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	T_PIDS=("${keep[@]}")
	cat "$T_DIR/$tag.log" >>"$T_DIR/$tag.log.old"
	rm -f "$T_DIR/$tag.log"
}

# cl_stop NAME [SIGNAL]: stop both daemons of NAME (default SIGTERM), syncd first.
cl_stop() {
	cl_kill "s$1" "${2:-TERM}"
	cl_kill "$1" "${2:-TERM}"
}

# cl_flows OP FLOW...: conntrack -R lines for those flows: OP -I (insert, 600 s;
# TCP ESTABLISHED) or -D (delete). One awk for all (no process a flow).
cl_flows() {
	local op=$1
	shift
	printf '%s\n' "$@" | awk -v op="$op" '
	{
		i = $1
		tcp = i % 5 == 0
		printf "%s -p %s -s 10.1.%d.%d -d 10.2.0.1 --sport 4000 --dport %d", op,
			tcp ? "tcp" : "udp", int(i / 250), i % 250 + 1, tcp ? 80 : 53
		if (op == "-I")
			printf "%s -t 600", tcp ? " --state ESTABLISHED -u SEEN_REPLY,ASSURED" : ""
		printf "\n"
	}'
}

# cl_insert NAME FIRST COUNT: flows FIRST .. FIRST+COUNT-1 inserted into
# NAME's kernel table (one conntrack -R batch).
cl_insert() {
	local name=$1 first=$2 count=$3 f
	f=$T_DIR/ins.$name.$BASHPID
	cl_flows -I $(seq "$first" $((first + count - 1))) >"$f"
	in_ns "$name" conntrack -R "$f" >/dev/null 2>&1 || fail "conntrack -R (insert) on $name"
	rm -f "$f"
}

# cl_delete NAME FLOW...: those flows deleted from NAME's kernel table.
cl_delete() {
	local name=$1 f
	shift
	f=$T_DIR/del.$name.$BASHPID
	cl_flows -D "$@" >"$f"
	in_ns "$name" conntrack -R "$f" >/dev/null 2>&1
	rm -f "$f"
}

# cl_tuples NAME: the flows in NAME's kernel table, "proto src dst sport dport"
# a line, sorted, each once (a dump may repeat an entry).
cl_tuples() {
	in_ns "$1" conntrack -L -d 10.2.0.0/16 2>/dev/null | awk '
	{
		k = $1
		n = 0
		for (i = 2; i <= NF && n < 4; i++)
			if ($i ~ /^(src|dst|sport|dport)=/) {
				k = k " " substr($i, index($i, "=") + 1)
				n++
			}
		print k
	}' | sort -u
}

# cl_flow_tuples FLOW...: those flows as cl_tuples prints them, sorted.
cl_flow_tuples() {
	printf '%s\n' "$@" | awk '
	{
		i = $1
		tcp = i % 5 == 0
		printf "%s 10.1.%d.%d 10.2.0.1 4000 %d\n", tcp ? "tcp" : "udp", int(i / 250),
			i % 250 + 1, tcp ? 80 : 53
	}' | sort
}

# cl_count NAME: how many flows NAME's kernel table holds.
cl_count() {
	in_ns "$1" conntrack -L -d 10.2.0.0/16 2>/dev/null | wc -l
}

# cl_wait_equal SECONDS NAMES...: poll until every NAME's flows are the same
# list; returns 1 if they still differ after SECONDS (CL_DIFF then says how:
# each member's count, and how many of the first's flows each other lacks and
# has beyond them, with up to two of each).
cl_wait_equal() {
	local secs=$1 end h first
	shift
	end=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		for h in "$@"; do
			cl_tuples "$h" >"$T_DIR/tuples.$h"
		done
		first=$1
		CL_DIFF=
		for h in "$@"; do
			cmp -s "$T_DIR/tuples.$first" "$T_DIR/tuples.$h" ||
				CL_DIFF+="$h: $(wc -l <"$T_DIR/tuples.$h") flows, lacks $(comm -23 "$T_DIR/tuples.$first" "$T_DIR/tuples.$h" | wc -l) of $first's [$(comm -23 "$T_DIR/tuples.$first" "$T_DIR/tuples.$h" | head -n 2 | paste -sd,)], has $(comm -13 "$T_DIR/tuples.$first" "$T_DIR/tuples.$h" | wc -l) more [$(comm -13 "$T_DIR/tuples.$first" "$T_DIR/tuples.$h" | head -n 2 | paste -sd,)]; "
		done
		[ -z "$CL_DIFF" ] && return 0
		CL_DIFF="$first: $(wc -l <"$T_DIR/tuples.$first") flows; $CL_DIFF"
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# cl_wait_bulk NAME SECONDS: until NAME's syncd has no bulk update pending
# and has read its kernel table; returns 1 on timeout.
cl_wait_bulk() {
	local i
	for i in $(seq $(($2 * 10))); do
		[ "$(sstat "s$1" bulk_pending - 2>/dev/null)" = False ] &&
			grep -q "kernel table read" "$T_DIR/s$1.log" && return 0
		sleep 0.1
	done
	return 1
}

# cl_lines NAME: the number of lines in NAME's carpd log (a mark for cl_transitions).
cl_lines() { wc -l <"$T_DIR/$1.log"; }

# cl_transitions NAME FROM: MASTER transitions (to or from MASTER) in NAME's
# carpd log after line FROM.
cl_transitions() {
	tail -n +"$(($2 + 1))" "$T_DIR/$1.log" | grep -cE "vhid [0-9]+: ([A-Z]+ -> MASTER|MASTER -> )"
}

# cl_nums NAME KEY...: values of NAME's syncd status (`redundctl sync status
# --json`), one line, in the order asked: KEY is SECTION.COUNTER (0 when the
# section lacks it) or a top-level FIELD.
cl_nums() {
	local name=$1
	shift
	"$REDUNDCTL" --control "$T_DIR/s$name.sock" sync status --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
out = []
for k in sys.argv[1:]:
    s, _, c = k.partition(".")
    out.append(str(d.get(s, {}).get(c, 0) if c else d[s]))
print(" ".join(out))' "$@"
}

# cl_states NAMES...: "NAME STATE" a line, the state of each one's vhost
# (DOWN when its carpd does not answer).
cl_states() {
	local h
	for h in "$@"; do
		echo "$h $(ctl "$h" carp status --json 2>/dev/null | tr -d '\n')"
	done | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    name, _, js = line.strip().partition(" ")
    try:
        print(name, json.loads(js)["interfaces"][0]["vhosts"][0]["state"])
    except Exception:
        print(name, "DOWN")'
}

# cl_master NAMES...: the one of them that is MASTER, "none", or "A B ..." when several.
cl_master() {
	local m
	m=$(cl_states "$@" | awk '$2 == "MASTER" { printf "%s%s", sep, $1; sep = " " }')
	echo "${m:-none}"
}
