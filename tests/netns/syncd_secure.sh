#!/bin/bash
# Two syncd hosts (A, B) in secure mode over the multicast group on their
# bridge, and a third namespace E on the same bridge as an attacker:
#  - an entry inserted with `conntrack -I` on A appears in B's kernel table
#    with the same tuple, TCP state and NAT; deleting it on A deletes it on B;
#  - real traffic tracked by nftables on A (UDP from the bridge) appears on B;
#  - datagrams injected from E (a forged envelope under the right key id, a
#    raw pfsync packet without an envelope, and a replay of a captured valid
#    envelope) are refused, counted under their reasons (badtag, badmagic,
#    replayed), and change nothing on B;
#  - B restarted while A gained a state: B's bulk update brings it, and the
#    entries B's kernel kept from its previous run are recognised as A's
#    (B claims none of them as its own);
#  - a TCP connection to A (tracked by A's nftables) gets the be-liberal flag
#    in both directions of A's kernel entry (its windows are A's own, so the
#    kernel made it strict); with --strict-own it stays strict, and a
#    strict entry read from the table at start-up gets the flag.
# SYNC_AEAD=aes256gcm (syncd_secure_gcm.sh) runs it all with an AES-256-GCM
# key, and E also sends an envelope of the other AEAD under the key's id
# (a member whose key file names another AEAD), refused as badaead: mixed
# cipher settings between peers, the interoperation question ntop/n2n#60's
# reviewers raised when AES joined Twofish there.
. "$(dirname "$0")/synclib.sh"
sync_pair nft tcpdump
add_host E 9

aead=${SYNC_AEAD:-xchacha20poly1305}
env_version=1
[ "$aead" = aes256gcm ] && env_version=2
"$REDUNDCTL" sync genkey "$T_DIR/key" --aead "$aead" >/dev/null || fail "genkey --aead $aead"

start_syncd A -i eth0 -k "$T_DIR/key"
start_syncd B -i eth0 -k "$T_DIR/key"
sleep 0.5

# 1. An entry inserted on A (TCP established, with source NAT) reaches B's kernel.
in_ns A conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 40000 --dport 80 \
	--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 600 \
	-r 10.2.0.1 -q 198.51.100.1 --reply-port-src 80 --reply-port-dst 40001 >/dev/null 2>&1 ||
	fail "conntrack -I on A"
wait_ct B "ESTABLISHED src=10.1.0.1 dst=10.2.0.1 sport=40000 dport=80 src=10.2.0.1 dst=198.51.100.1 sport=80 dport=40001" 3 ||
	fail "the TCP entry inserted on A did not reach B's kernel: $(in_ns B conntrack -L 2>&1)"
ok "conntrack -I on A (TCP ESTABLISHED, SNAT): the same entry in B's kernel"

# 2. Deleting it on A deletes it on B.
in_ns A conntrack -D -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport 40000 --dport 80 >/dev/null 2>&1 ||
	fail "conntrack -D on A"
for i in $(seq 60); do
	in_ns B conntrack -L 2>/dev/null | grep -q "sport=40000" || break
	sleep 0.05
done
in_ns B conntrack -L 2>/dev/null | grep -q "sport=40000" && fail "deleted on A, still on B"
ok "conntrack -D on A: gone from B's kernel"

# 3. Real traffic through nftables with conntrack on A.
track_input A
in_ns BR bash -c 'echo hello > /dev/udp/10.77.0.1/9999' 2>/dev/null
wait_ct A "dst=10.77.0.1 sport=[0-9]* dport=9999" 2 || fail "no conntrack entry on A for real traffic"
wait_ct B "udp .*src=10.77.0.254 dst=10.77.0.1 sport=[0-9]* dport=9999" 3 ||
	fail "real traffic tracked on A did not reach B: $(in_ns B conntrack -L 2>&1)"
ok "UDP traffic tracked by nftables on A: its entry in B's kernel"
# B's sync datagrams to A are tracked too: counted own_sync, never sent.
for i in $(seq 40); do
	[ "$(sstat A daemon own_sync)" -ge 1 ] && break
	sleep 0.1
done
[ "$(sstat A daemon own_sync)" -ge 1 ] || fail "A's entries of the sync traffic: own_sync not counted"
# syncd keeps conntrack on in B too (its labels rule), so B's kernel tracks the
# datagrams it sees: untracked here, an entry of the sync traffic on B can only
# have come from A.
in_ns B nft -f - <<'NFT' || fail "notrack rules on B"
table inet notrack_sync {
	chain pre { type filter hook prerouting priority -300; udp dport 8240 notrack; }
	chain out { type filter hook output priority -300; udp dport 8240 notrack; }
}
NFT
in_ns B conntrack -D -p udp --dport 8240 >/dev/null 2>&1
sleep 0.5
in_ns B conntrack -L 2>/dev/null | grep -q "dport=8240" && fail "the sync traffic's entry reached B"
ok "the sync traffic's own conntrack entries on A: counted own_sync, not sent"

# The control socket splits a request at spaces and tabs, as carpd's does.
/usr/bin/python3 - "$T_DIR/B.sock" <<'PY' || fail "control requests with odd spacing"
import json, socket, sys
def ask(line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(line)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            return out.decode()
        out += d
r = ask(b"  status \t json\r\n")
assert r.startswith("ok\n"), r
json.loads(r[3:])
r = ask(b"status  junk\n")
assert r.startswith("error"), r
PY
ok "control: '  status <tab> json' answered in JSON, 'status junk' refused"

# 4. Attacks from E. Capture a valid envelope first (A's or B's, any).
ip netns exec "$(ns BR)" tcpdump -i br0 -U -s 0 -w "$T_DIR/sync.pcap" udp port 8240 \
	>/dev/null 2>&1 &
CAPTURE_PID=$!
T_PIDS+=($CAPTURE_PID)
for i in $(seq 40); do # until tcpdump has opened its file (and so its socket)
	[ -s "$T_DIR/sync.pcap" ] && break
	sleep 0.05
done
sleep 0.5
in_ns A conntrack -I -p udp -s 10.1.0.7 -d 10.2.0.7 --sport 5000 --dport 53 -t 120 >/dev/null 2>&1
wait_ct B "sport=5000 dport=53" 3 || fail "udp entry from A did not reach B"
sleep 1
kill -INT $CAPTURE_PID 2>/dev/null
wait $CAPTURE_PID 2>/dev/null

states_before=$(sstat B states -)
pkts_before=$(sstat B engine pkts_in)
ct_before=$(in_ns B conntrack -L 2>/dev/null | grep -vc "dport=8240")
tag0=$(sstat B channel badtag)
magic0=$(sstat B channel badmagic)
replay0=$(sstat B channel replayed)
aead0=$(sstat B channel badaead)

in_ns E /usr/bin/python3 - "$T_DIR/sync.pcap" "$env_version" <<'EOF' || fail "injection from E"
import os, socket, struct, sys
B = ("10.77.0.2", 8240)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ver = int(sys.argv[2])  # the key's AEAD: 1 XChaCha20-Poly1305, 2 AES-256-GCM
# A forged DATA envelope under key id 1 (the right id and AEAD, the wrong
# key): a plausible header, random ciphertext and tag.
hdr = b"RD" + bytes([ver, 1]) + struct.pack("!IIQ", 1, 0x0BADF00D, 1 << 62)
nonce = struct.pack("!IBQ", 0x0BADF00D, 1, 1 << 62) + os.urandom(11)
s.sendto(hdr + nonce + os.urandom(200) + os.urandom(16), B)
# The same under the other AEAD (a member whose file for key 1 names it).
hdr = b"RD" + bytes([3 - ver, 1]) + struct.pack("!IIQ", 1, 0x0BADF00D, 1 << 62)
s.sendto(hdr + nonce + os.urandom(200) + os.urandom(16), B)
# A pfsync packet in the clear (CLRs of creator 1) on the secure port, longer than
# an envelope's header and tag.
clr = bytes([0, 5]) + struct.pack("!H", 3) + (b"\0" * 16 + struct.pack("!I", 1)) * 3
s.sendto(bytes([6, 0]) + struct.pack("!H", 20 + len(clr)) + b"\0" * 16 + clr, B)
# A replay of every captured envelope (classic pcap, Ethernet, IPv4, UDP).
data = open(sys.argv[1], "rb").read()
off, n = 24, 0
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        continue
    ihl = (frame[14] & 15) * 4
    payload = frame[14 + ihl + 8:]
    if payload[:2] == b"RD" and payload[3] == 1:  # DATA envelopes
        s.sendto(payload, B)
        n += 1
if n == 0:
    sys.exit("no DATA envelope captured")

EOF
sleep 0.5
[ "$(sstat B channel badtag)" -ge $((tag0 + 1)) ] || fail "forged envelope: badtag did not count"
[ "$(sstat B channel badmagic)" -ge $((magic0 + 1)) ] || fail "clear pfsync: badmagic did not count"
[ "$(sstat B channel replayed)" -ge $((replay0 + 1)) ] || fail "replay: replayed did not count"
[ "$(sstat B channel badaead)" -ge $((aead0 + 1)) ] || fail "other AEAD: badaead did not count"
[ "$(sstat B states -)" = "$states_before" ] || fail "B's state count changed"
[ "$(sstat B engine pkts_in)" = "$pkts_before" ] || fail "B's engine got a packet from E"
ct_after=$(in_ns B conntrack -L 2>/dev/null | grep -vc "dport=8240")
[ "$ct_after" = "$ct_before" ] || fail "B's kernel table changed ($ct_before -> $ct_after)"
in_ns B conntrack -L 2>/dev/null | grep -q "sport=5000 dport=53" || fail "a CLR from E removed states"
ok "forged ($aead), clear, other-AEAD and replayed datagrams from E: refused (badtag, badmagic, badaead, replayed), nothing changed"

# 5. Restart B while A gains a state.
kill -TERM "$PID_B"
wait "$PID_B" 2>/dev/null
in_ns A conntrack -I -p tcp -s 10.1.0.3 -d 10.2.0.3 --sport 42000 --dport 22 \
	--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 900 >/dev/null 2>&1 || fail "conntrack -I on A"
start_syncd B -i eth0 -k "$T_DIR/key"
wait_ct B "sport=42000 dport=22" 5 || fail "after B's restart: A's new state did not arrive"
for i in $(seq 100); do # until B has read its kernel table (after the bulk)
	grep -q "kernel table read" "$T_DIR/B.log" && break
	sleep 0.05
done
grep "kernel table read" "$T_DIR/B.log" | tail -1 | grep -q ": 0 states of ours" ||
	fail "B claimed A's states as its own: $(grep 'kernel table read' "$T_DIR/B.log" | tail -1)"
[ "$(sstat B engine bulk_ok)" -ge 1 ] || fail "B: no bulk update completed"
ok "B restarted: bulk update brought A's new state, B's kept entries recognised as A's"

# 6. Our own TCP entries: be-liberal unless --strict-own. A TCP server on A
# holding every connection; clients on BR (tracked by A's input chain).
ip netns exec "$(ns A)" /usr/bin/python3 -c '
import socket, threading, time
held = []
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.1", port))
    s.listen(8)
    while True:
        held.append(s.accept()[0])
for p in (7001, 7002):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
time.sleep(300)
' >/dev/null 2>&1 &
T_PIDS+=($!)
sleep 0.3
# connect_from_br PORT: a connection to A:PORT from BR, held open.
connect_from_br() {
	ip netns exec "$(ns BR)" /usr/bin/python3 -c '
import socket, sys, time
c = socket.create_connection(("10.77.0.1", int(sys.argv[1])))
c.sendall(b"x")
time.sleep(300)
' "$1" >/dev/null 2>&1 &
	T_PIDS+=($!)
}
# wait_flags PORT liberal|strict SECONDS: until A's entry of PORT is so (both directions).
wait_flags() {
	local i f o r
	for i in $(seq $(($3 * 20))); do
		f=$(ct_tcp_flags A "$1")
		if [ -n "$f" ]; then
			read -r o r <<<"$f"
			case $2 in
			liberal) [ $((o & r & 8)) = 8 ] && return 0 ;;
			strict) [ $(((o | r) & 8)) = 0 ] && return 0 ;;
			esac
		fi
		sleep 0.05
	done
	echo "A's entry of port $1: flags '${f:-none}' (orig repl)"
	return 1
}
lib0=$(sstat A daemon own_liberal)
connect_from_br 7001
wait_ct A "ESTABLISHED .*dport=7001" 3 || fail "no ESTABLISHED entry on A for a TCP connection"
wait_ct B "ESTABLISHED .*dport=7001" 3 || fail "A's TCP entry did not reach B"
wait_flags 7001 liberal 2 || fail "A's own TCP entry did not get the be-liberal flag"
[ "$(sstat A daemon own_liberal)" -gt "$lib0" ] || fail "own_liberal did not count"
[ "$(sstat A daemon own_liberal_failed)" = 0 ] || fail "own_liberal_failed counted"
ok "a TCP connection to A: A's own entry be-liberal in both directions (own_liberal $(sstat A daemon own_liberal))"

# With --strict-own, A's new entry stays as the kernel made it.
kill -TERM "$PID_A"
wait "$PID_A" 2>/dev/null
start_syncd A -i eth0 -k "$T_DIR/key" --strict-own
# Its join bulk first: the bulk's updates of A's own states are written into
# A's kernel as a peer's (liberal) copies, so a connection opened during the
# bulk could get the flag from B's copy (a retried bulk request runs 1 s late).
for _ in $(seq 100); do
	[ "$(sstat A bulk_pending - 2>/dev/null)" = False ] && break
	sleep 0.05
done
[ "$(sstat A bulk_pending -)" = False ] || fail "A's join bulk (strict-own) still running after 5 s"
connect_from_br 7002
wait_ct B "ESTABLISHED .*dport=7002" 6 || fail "A's TCP entry (strict-own) did not reach B"
sleep 0.5
wait_flags 7002 strict 1 || fail "--strict-own: A's own TCP entry got the be-liberal flag"
[ "$(sstat A daemon own_liberal)" = 0 ] || fail "--strict-own: own_liberal $(sstat A daemon own_liberal)"
ok "--strict-own: A's own TCP entry stays strict, own_liberal 0"

# Restarted without it (and without a bulk, whose updates would write B's
# liberal copy back): the strict entry read from the table becomes liberal.
kill -TERM "$PID_A"
wait "$PID_A" 2>/dev/null
start_syncd A -i eth0 -k "$T_DIR/key" --no-bulk
for _ in $(seq 100); do # until A has read its kernel table (at once: no bulk)
	grep -q "kernel table read" "$T_DIR/A.log" && break
	sleep 0.05
done
wait_flags 7002 liberal 2 || fail "the strict entry in A's table at start-up did not get the flag"
[ "$(sstat A daemon own_liberal)" -ge 1 ] || fail "start-up: own_liberal did not count"
ok "A restarted without --strict-own: the strict entry read at start-up is be-liberal now"

# With an AES-GCM key and a creatorid that repeats (given here), a start
# whose incarnation cannot be kept would risk repeating nonces after a clock
# step: syncd refuses to start and says why. Under XChaCha (random nonces)
# it runs, warning.
if [ "$aead" = aes256gcm ]; then
	kill -TERM "$PID_A"
	wait "$PID_A" 2>/dev/null
	mkdir -p "$T_DIR/ro-state/incarnation.tmp" # the write of the incarnation fails
	ip netns exec "$(ns A)" "$SYNCD" -f none -d -i eth0 -k "$T_DIR/key" --creatorid 0x1234 \
		--state-dir "$T_DIR/ro-state" --control "$T_DIR/ro.sock" >"$T_DIR/ro.log" 2>&1 &
	pid=$!
	T_PIDS+=("$pid")
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "syncd ran with an aes256gcm key and no incarnation kept"
	grep -q "would reuse AES-GCM nonces" "$T_DIR/ro.log" ||
		fail "syncd did not say why it refused: $(tail -3 "$T_DIR/ro.log")"
	ok "aes256gcm with a given creatorid and no incarnation kept: refused at start, said why"
fi
exit 0
