#!/bin/bash
# The kernel refreshes a conntrack entry's timeout on every packet without
# an event. syncd's expiry sweep must notice (the kernel has more time left
# than syncd's copy) and send an update, or the peer's copy expires while
# the flow lives. A UDP flow with replies runs through A for longer than
# A's UDP timeouts (shortened to 10/15 s); at the end B still holds it,
# and A counted refreshes.
. "$(dirname "$0")/synclib.sh"
sync_pair nft
"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"

in_ns A sysctl -qw net.netfilter.nf_conntrack_udp_timeout=10 \
	net.netfilter.nf_conntrack_udp_timeout_stream=15 || skip_or_fail "conntrack sysctls"
track_input A
start_syncd A -i eth0 -k "$T_DIR/key"
start_syncd B -i eth0 -k "$T_DIR/key"
# The flow starts once both start-up bulk updates ended: an answer given
# later (members started together answer each other again once their own
# request ended: bulk_again) would carry A's state with B's longer UDP
# timeouts back to A, and A's copy would then outlive the test unrefreshed.
for i in $(seq 100); do
	[ "$(sstat A bulk_pending -)" = False ] && [ "$(sstat B bulk_pending -)" = False ] && break
	sleep 0.1
done

# A UDP echo server on A; the client on BR sends from one port once a second.
# Not through in_ns: $! must be the server itself (ip netns exec execs it).
ip netns exec "$(ns A)" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.1", 9999))
while True:
    d, a = s.recvfrom(100)
    s.sendto(d, a)
' >/dev/null 2>&1 &
T_PIDS+=($!)
sleep 0.3
ip netns exec "$(ns BR)" /usr/bin/python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.254", 45678))
s.settimeout(0.5)
for i in range(28):
    s.sendto(b"ping", ("10.77.0.1", 9999))
    try:
        s.recv(100)
    except socket.timeout:
        pass
    time.sleep(1)
' || fail "client"

in_ns B conntrack -L 2>/dev/null | grep -q "src=10.77.0.254 dst=10.77.0.1 sport=45678 dport=9999" ||
	fail "after 28 s of traffic through A (timeouts 10/15 s), B lost the flow"
refreshed=$(sstat A daemon refreshed)
[ "$refreshed" -ge 1 ] || { "$REDUNDCTL" --control "$T_DIR/A.sock" sync status >&2; fail "A never refreshed a state (refreshed $refreshed)"; }
ok "a UDP flow alive on A past its timeouts: refreshed $refreshed times, still on B"
exit 0
