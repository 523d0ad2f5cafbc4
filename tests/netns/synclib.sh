# Shared helpers of the syncd netns tests, on top of lib.sh; sourced by each
# syncd_*.sh instead of lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SYNCD=${SYNCD:?SYNCD must point at the syncd binary}

# sync_pair [CMDS...]: root, conntrack, python3 (and CMDS), the bridge and
# the two syncd hosts A (10.77.0.1, fd77::1) and B (10.77.0.2, fd77::2).
sync_pair() {
	require_netns
	require_cmd conntrack "$@" /usr/bin/python3
	make_bridge
	add_host A 1
	add_host B 2
}

# start_syncd NAME [args...]: syncd in NAME, in the foreground with -d (see start_daemon).
start_syncd() {
	local name=$1
	shift
	start_daemon syncd "$SYNCD" "$name" -d "$@"
}

# sstat NAME SECTION COUNTER|-: a value of `redundctl sync status --json`
# (SECTION itself with -; a counter absent from the section is 0).
sstat() {
	"$REDUNDCTL" --control "$T_DIR/$1.sock" sync status --json |
		/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d[sys.argv[1]] if sys.argv[2] == "-" else d[sys.argv[1]].get(sys.argv[2], 0))' "$2" "$3"
}

# wait_ct NAME PATTERN SECONDS [FAMILY]: until NAME's conntrack table (of
# FAMILY, ipv4 or ipv6; conntrack's default: ipv4) has a line matching PATTERN.
wait_ct() {
	local i
	for i in $(seq $(($3 * 20))); do
		in_ns "$1" conntrack -L ${4:+-f "$4"} 2>/dev/null | grep -q -- "$2" && return 0
		sleep 0.05
	done
	return 1
}

# track_input NAME: an nftables input chain in NAME with a conntrack match,
# so the kernel tracks (and syncd sees) connections to NAME.
track_input() {
	in_ns "$1" nft -f - <<'EOF' || fail "nft on $1"
table inet f {
	chain in {
		type filter hook input priority 0;
		ct state new counter
	}
}
EOF
}
