#!/bin/bash
# nfq-firewall, the state table synced to a peer (issue 17): a TCP stream
# through firewall A survives moving its traffic to firewall B (the client's
# and the server's routes switch from A to B) because B holds the state A
# created, received through the sync engine over the secure channel; the
# same move with sync off kills the stream (B has no state: the client's
# next segment is a TCP segment without a state in B's own table, answered
# with a reset). The kernel's conntrack is not involved (no ct rule).
# Users' reports this covers: acassen/keepalived#2414 (TCP disconnection upon
# master switchover with conntrackd) and acassen/keepalived#2254 (the new
# master answers with RSTs while it lacks the entries): here the table that
# decides is the synced one, and without it the reset is what we see.
. "$(dirname "$0")/nfqlib.sh"

nfq_topology 2
nfq_server 90 5002

# stream_move SECONDS: a stream; its traffic moves from A to B after 2 s.
stream_move() {
	in_ns C /usr/bin/python3 "$NFQ_DIR/nfq_conn.py" stream 10.20.0.100 5002 "$1" >"$T_DIR/stream.json" &
	local pid=$!
	sleep 2
	in_ns C ip route replace default via 10.10.0.3
	in_ns S ip route replace 10.10.0.0/24 via 10.20.0.3
	wait $pid
	cat "$T_DIR/stream.json"
}

move_back() {
	in_ns C ip route replace default via 10.10.0.2
	in_ns S ip route replace 10.10.0.0/24 via 10.20.0.2
}

# 1. Sync on: A and B peers over the sync link.
nfq_start A --sync-peer 10.30.0.2 --sync-key "$T_DIR/sync.key" --sync-if sync
nfq_start B --sync-peer 10.30.0.1 --sync-key "$T_DIR/sync.key" --sync-if sync
sleep 0.5
r=$(stream_move 4)
echo "sync on: $r"
echo "A: $(nfq_status A)"
echo "B: $(nfq_status B)"
[ "$(echo "$r" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')" = survived ] ||
	fail "with sync the stream should survive the move to B: $r"
[ "$(nfq_get B 'd["sync"]["engine"].get("inserts", 0) >= 1')" = True ] ||
	fail "B imported no state from A"
[ "$(nfq_get B 'd["verdicts"]["accept"] > 50')" = True ] ||
	fail "B should have passed the stream's packets after the move"
[ "$(nfq_get B 'd["drops"].get("no-state", 0)')" = 0 ] ||
	fail "B reset segments of the stream"
ok "with sync the stream survived the move from A to B"

# 2. Sync off: the same, B without the peer's states.
nfq_stop A
nfq_stop B
move_back
nfq_start A
nfq_start B
r=$(stream_move 3)
echo "sync off: $r"
echo "A: $(nfq_status A)"
echo "B: $(nfq_status B)"
[ "$(echo "$r" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')" = reset ] ||
	fail "without sync the stream should die (reset) on the move: $r"
[ "$(nfq_get B 'd["drops"].get("no-state", 0) >= 1 and d["verdicts"]["reset"] >= 1')" = True ] ||
	fail "B should have answered the stream's segment with a reset (no-state)"
ok "without sync the stream died on the move (reset by B: no state)"
