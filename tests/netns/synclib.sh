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

# start_syncd NAME [args...]: syncd in NAME, in the foreground with -d (see
# start_daemon), its creatorid kept in $T_DIR/NAME-state (each member its own,
# kept across its restarts as /var/lib/syncd is on a firewall).
start_syncd() {
	local name=$1
	shift
	start_daemon syncd "$SYNCD" "$name" -d --state-dir "$T_DIR/$name-state" "$@"
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

# inject_pfsync NS DST TTL: a pfsync v6 INS of a UDP state 10.9.9.9:1111 ->
# 10.8.8.8:2222 (creatorid 0x0badbeef) from NS to DST over raw IP protocol 240.
inject_pfsync() {
	in_ns "$1" /usr/bin/python3 - "$2" "$3" <<'EOF' || fail "injection from $1"
import socket, struct, sys
def key(a, b, pa, pb):
    return (socket.inet_aton(a) + b"\0" * 12 + socket.inet_aton(b) + b"\0" * 12 +
            struct.pack("!HHHBB", pa, pb, 0, 2, 0))
def peer(state):
    return b"\0" * 8 + struct.pack("!IIIHHBB", 0, 0, 0, 0, 0, state, 0) + b"\0" * 6
st = (struct.pack("!Q", 0x1234) + b"all".ljust(16, b"\0") +
      key("10.9.9.9", "10.8.8.8", 1111, 2222) * 2 + peer(1) + peer(0) + b"\0" * 16 +
      struct.pack("!iiiII", -1, -1, -1, 0, 60) + b"\0" * 32 + struct.pack("!I", 0x0BADBEEF) +
      b"\0" * 8 + struct.pack("!H", 0) + bytes([2, 17, 1, 0, 0, 6, 0, 0, 0, 0]) +
      struct.pack("!H", 0) + b"\0\0")
assert len(st) == 264, len(st)
body = bytes([13, 66]) + struct.pack("!H", 1) + st
pkt = bytes([6, 0]) + struct.pack("!H", 20 + len(body)) + b"\0" * 16 + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 240)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(sys.argv[2]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, int(sys.argv[2]))
s.sendto(pkt, (sys.argv[1], 0))
EOF
}

# start_syncd_in NS TAG [args...]: syncd in namespace NS with its control
# socket $T_DIR/TAG.sock and log TAG.log (sets PID_TAG): for a namespace that
# also runs a carpd, whose socket and log take NS's name. sstat TAG reads it.
start_syncd_in() {
	local name=$1 tag=$2
	shift 2
	ip netns exec "$(ns "$name")" "$SYNCD" --control "$T_DIR/$tag.sock" -f none -d \
		--state-dir "$T_DIR/$tag-state" "$@" \
		>"$T_DIR/$tag.log" 2>&1 &
	local pid=$!
	T_PIDS+=("$pid")
	eval "PID_$tag=$pid"
	local i
	for i in $(seq 50); do
		[ -S "$T_DIR/$tag.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || fail "syncd $tag in $name exited at start"
		sleep 0.05
	done
	fail "syncd $tag in $name: no control socket"
}

# ct_tcp_flags NAME DPORT: the TCP protoinfo flags (original, reply; decimal)
# of each IPv4 entry in NAME's kernel table whose original destination port is
# DPORT, one "ORIG REPL" line an entry. conntrack(8) does not show them, so
# this dumps the table over ctnetlink itself. Flag 8 is be-liberal.
ct_tcp_flags() {
	in_ns "$1" /usr/bin/python3 - "$2" <<'EOF'
import socket, struct, sys
dport = int(sys.argv[1])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.bind((0, 0))
# IPCTNL_MSG_CT_GET of subsystem CTNETLINK, NLM_F_REQUEST | NLM_F_DUMP; nfgenmsg AF_INET.
s.send(struct.pack("=IHHII", 20, (1 << 8) | 1, 0x1 | 0x300, 1, 0) + struct.pack("=BBH", 2, 0, 0))
def attrs(b):
    out, off = {}, 0
    while off + 4 <= len(b):
        ln, ty = struct.unpack_from("=HH", b, off)
        if ln < 4:
            break
        out[ty & 0x3fff] = b[off + 4:off + ln]
        off += (ln + 3) & ~3
    return out
done = False
while not done:
    data = s.recv(1 << 20)
    off = 0
    while off + 16 <= len(data):
        ln, ty = struct.unpack_from("=IH", data, off)
        msg = data[off + 16:off + ln]
        off += (ln + 3) & ~3
        if ty in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
            done = True
            break
        a = attrs(msg[4:])
        if 1 not in a or 4 not in a:
            continue
        proto = attrs(attrs(a[1]).get(2, b""))
        if proto.get(1, b"\0")[0] != 6 or 3 not in proto:
            continue
        if struct.unpack("!H", proto[3])[0] != dport:
            continue
        tcp = attrs(attrs(a[4]).get(1, b""))
        print(tcp[4][0] if 4 in tcp else -1, tcp[5][0] if 5 in tcp else -1)
EOF
}
