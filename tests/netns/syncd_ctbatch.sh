#!/bin/bash
# syncd writes the peers' states into conntrack in batches (many requests a
# netlink datagram, an acknowledgement each); every state's outcome is still
# its own. B alone in plain mode; pfsync INS packets injected from E (TTL 255):
#  - one packet of 5 states: 2 new UDP entries, 1 UDP entry B's kernel holds
#    already, and 2 ICMP entries of type 3 (destination unreachable), which
#    the kernel refuses (EINVAL: ctnetlink takes only ICMP types it can
#    invert). The 5 creates go in one datagram, the update of the existing
#    entry in a second: B counts created 2, updated 1, errors 2 (and the
#    mirror written 3, write_failed 2), and the 3 UDP entries are in its
#    kernel, the existing one with B's timeout;
#  - with the answers' receive buffer made tiny (SYNCD_TEST_CT_RCVBUF), the
#    kernel drops most acknowledgements of a batch (ENOBUFS): B counts them
#    (batch_overruns, ack_lost), sends those requests again in smaller
#    datagrams, and all 300 states are in its kernel, none counted an error;
#    every answer read matched its request (ack_unmatched 0, ack_recv_errors 0);
#  - an INS and an UPD of one state in one packet: B writes the UPD's values
#    in one request (created 1, superseded 1: a write queued for a state is
#    replaced by the state's later one, so a first write sent again after
#    its answer was lost cannot land over the second), and the kernel entry
#    has the UPD's timeout.
#
# Reports this covers: a netlink socket overrun loses conntrack messages for
# good unless the program notices (weaveworks/scope#1137, harmonycloud/
# kindling#87, keepalived PR #776: ENOBUFS from a flood of answers): here
# every lost answer is counted and its request repeated.
. "$(dirname "$0")/synclib.sh"
sync_pair
add_host E 9

# inject [--ins-upd] STATES...: pfsync INS packets from E to B (TTL 255),
# the states given as proto:sport:dport (ICMP: proto 1, id, type) from
# 10.9.9.9 to 10.8.8.8, ids from 1, at most 5 a packet (MTU 1500).
# --ins-upd: one packet, the one state's INS (udp.multiple, 300 s left) then
# its UPD (same id, class udp.single: a fresh expiry, which B's mirror
# stretches to 600 s, syncd's timeout of every class but TCP established).
inject() {
	in_ns E /usr/bin/python3 - "$@" <<'EOF' || fail "injection from E"
import socket, struct, sys, time
def key(a, b, pa, pb, proto):
    return (socket.inet_aton(a) + b"\0" * 12 + socket.inet_aton(b) + b"\0" * 12 +
            struct.pack("!HHHBB", pa, pb, 0, 2, proto))
def peer(state):
    return b"\0" * 8 + struct.pack("!IIIHHBB", 0, 0, 0, 0, 0, state, 0) + b"\0" * 6
def state(sid, proto, sp, dp, tmo=None, expire=300):
    k = key("10.9.9.9", "10.8.8.8", sp, dp, proto)
    if tmo is None:
        tmo = 9 if proto == 1 else 8  # PFTM_ICMP_FIRST_PACKET, PFTM_UDP_MULTIPLE
    st = (struct.pack("!Q", sid) + b"all".ljust(16, b"\0") + k * 2 + peer(2) + peer(2) +
          b"\0" * 16 + struct.pack("!iiiII", -1, -1, -1, 0, expire) + b"\0" * 32 +
          struct.pack("!I", 0x0BADBEEF) + b"\0" * 8 + struct.pack("!H", 0) +
          bytes([2, proto, 1, 0, 0, tmo, 0, 0, 0, 0]) + struct.pack("!H", 0) + b"\0\0")
    assert len(st) == 264, len(st)
    return st
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 240)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
def send(sub):
    s.sendto(bytes([6, 0]) + struct.pack("!H", 20 + len(sub)) + b"\0" * 16 + sub, ("10.77.0.2", 0))
insupd = sys.argv[1] == "--ins-upd"
specs = [tuple(int(v) for v in a.split(":")) for a in sys.argv[1 + insupd:]]
sid = int(time.time() * 1000) << 16  # new ids each run
if insupd:  # PFSYNC_ACT_INS then PFSYNC_ACT_UPD (PFTM_UDP_SINGLE), one packet
    send(bytes([13, 66]) + struct.pack("!H", 1) + state(sid, *specs[0]) +
         bytes([14, 66]) + struct.pack("!H", 1) + state(sid, *specs[0], tmo=7, expire=0))
    sys.exit(0)
for i in range(0, len(specs), 5):
    body = b"".join(state(sid + i + j + 1, *sp) for j, sp in enumerate(specs[i:i + 5]))
    send(bytes([13, 66]) + struct.pack("!H", len(specs[i:i + 5])) + body)
EOF
}
# ct NAME: B's conntrack counter NAME; mir NAME: its mirror counter.
ct() { sstat B conntrack "$1"; }
mir() { sstat B mirror "$1"; }

# 1. A batch where two requests fail and one becomes an update. B ignores its
# own entries from 10.9.9.0/24 (a filter: local entries only), so the one
# inserted here stays out of its table and the peer's state of that key is
# written over it (create: EEXIST, then update).
start_syncd B -i eth0 -m plain --no-bulk --ignore-address 10.9.9.0/24
in_ns B conntrack -I -p udp -s 10.9.9.9 -d 10.8.8.8 --sport 7003 --dport 53 -t 30 \
	>/dev/null 2>&1 || fail "conntrack -I on B"
sleep 0.3
b0=$(ct batches)
inject 17:7001:53 1:100:3 17:7002:53 1:101:3 17:7003:53
for i in $(seq 60); do
	[ $(($(ct created) + $(ct updated) + $(ct errors))) -ge 5 ] && break
	sleep 0.05
done
got="created $(ct created) updated $(ct updated) errors $(ct errors) batches $(($(ct batches) - b0))"
[ "$got" = "created 2 updated 1 errors 2 batches 2" ] ||
	fail "a batch of 2 new, 1 existing, 2 refused: $got (want created 2 updated 1 errors 2 batches 2)"
[ "$(mir written) $(mir write_failed)" = "3 2" ] ||
	fail "mirror: written $(mir written) write_failed $(mir write_failed) (want 3 2)"
for p in 7001 7002 7003; do
	in_ns B conntrack -L -p udp --sport $p 2>/dev/null | grep -q "dport=53" ||
		fail "the state of port $p is not in B's kernel: $(in_ns B conntrack -L 2>&1)"
done
# The update gave the existing entry the peer's 300 s (conntrack -I made it 30 s).
t=$(in_ns B conntrack -L -p udp --sport 7003 2>/dev/null | awk '{print $3}')
[ "${t:-0}" -gt 200 ] || fail "the existing entry was not updated (timeout $t)"
in_ns B conntrack -L -p icmp 2>/dev/null | grep -q "10.9.9.9" && fail "a refused ICMP entry is in B's kernel"
ok "one batch of 5 (2 new, 1 existing, 2 refused): created 2, updated 1, errors 2 in 2 datagrams; the 3 UDP entries in B's kernel"

# 2. Lost acknowledgements: every state still reaches the kernel.
kill -TERM "$PID_B"
wait "$PID_B" 2>/dev/null
in_ns B conntrack -F >/dev/null 2>&1
export SYNCD_TEST_CT_RCVBUF=1 # the kernel's minimum: room for a few answers
start_syncd B -i eth0 -m plain --no-bulk
unset SYNCD_TEST_CT_RCVBUF
sleep 0.3
specs=()
for p in $(seq 10001 10300); do specs+=("17:$p:53"); done
inject "${specs[@]}"
for i in $(seq 100); do
	[ $(($(ct created) + $(ct updated) + $(ct errors))) -ge 300 ] && break
	sleep 0.05
done
n=$(in_ns B conntrack -L -p udp 2>/dev/null | grep -c "src=10.9.9.9 dst=10.8.8.8 sport=10[0-3][0-9][0-9] dport=53")
got="created+updated $(($(ct created) + $(ct updated))) errors $(ct errors) in kernel $n"
[ "$got" = "created+updated 300 errors 0 in kernel 300" ] ||
	fail "300 states with answers lost: $got (batch_overruns $(ct batch_overruns), ack_lost $(ct ack_lost))"
[ "$(ct batch_overruns)" -ge 1 ] && [ "$(ct ack_lost)" -ge 1 ] ||
	fail "no answer was lost (batch_overruns $(ct batch_overruns), ack_lost $(ct ack_lost)): the test tests nothing"
[ "$(mir written) $(mir write_failed)" = "300 0" ] ||
	fail "mirror: written $(mir written) write_failed $(mir write_failed) (want 300 0)"
ok "answers dropped by the kernel (batch_overruns $(ct batch_overruns), ack_lost $(ct ack_lost)): sent again, all 300 states in B's kernel, no error"
# Every answer read was one of a request in flight: none skipped as unmatched,
# and no read failed (both counters listed in the status).
cts=$(sstat B conntrack -)
case "$cts" in *"'ack_unmatched': 0"*"'ack_recv_errors': 0"*) ;;
*) fail "conntrack counters: want ack_unmatched 0 and ack_recv_errors 0 listed, got $cts" ;;
esac
ok "no answer unmatched, no read failed (ack_unmatched 0, ack_recv_errors 0)"

# 3. An insert and an update of one state in one packet: one write queued,
# holding the update's values (superseded counts the insert's), so a resend
# of the insert can never land over the update. The kernel entry has the
# UPD's fresh 600 s, not the INS's 300 s left; the request counted once
# (created 1, updated 0); the mirror counts both writes (written 2).
c0=$(ct created) u0=$(ct updated) e0=$(ct errors) s0=$(ct superseded) w0=$(mir written)
inject --ins-upd 17:7100:53
for i in $(seq 60); do
	[ $(($(mir written) + $(mir write_failed) - w0)) -ge 2 ] && break
	sleep 0.05
done
got="created $(($(ct created) - c0)) updated $(($(ct updated) - u0)) errors $(($(ct errors) - e0))"
got="$got superseded $(($(ct superseded) - s0)) written $(($(mir written) - w0))"
[ "$got" = "created 1 updated 0 errors 0 superseded 1 written 2" ] ||
	fail "INS then UPD of one state in one packet: $got (want created 1 updated 0 errors 0 superseded 1 written 2)"
t=$(in_ns B conntrack -L -p udp --sport 7100 2>/dev/null | awk '{print $3}')
[ -n "$t" ] && [ "$t" -gt 400 ] ||
	fail "the entry of the INS+UPD state has timeout '${t}' (want the UPD's 600 s, not the INS's 300)"
ok "INS then UPD of one state in one packet: one request (created 1, superseded 1, written 2), the kernel entry has the UPD's timeout ($t s)"
exit 0
