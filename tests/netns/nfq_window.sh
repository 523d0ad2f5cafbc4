#!/bin/bash
# nfq-firewall, pf's TCP window tracking on live traffic (issue 17): a
# segment of an established connection whose sequence number lies half the
# sequence space away from the window (injected with scapy on the client,
# same addresses, ports and a valid ack) is dropped by the firewall and
# counted as state-mismatch; the server never reads it, and the connection
# goes on (the next in-window data is echoed).
# Users' reports this covers: kubernetes/kubernetes#117924 ("Connection reset
# by peer" due to out-of-window segments that conntrack marked INVALID and
# let through to be reset) and openwrt/openwrt#19359 (invalid drops nobody
# could see counted): here the segment is dropped, the connection goes on,
# and the reason is counted.
. "$(dirname "$0")/nfqlib.sh"

require_scapy
# A range of queues: the firewall binds both; the kernel picks a flow's
# queue by a hash of its addresses and protocol, the same both ways
# (nfqueue_hash, include/net/netfilter/nf_queue.h hash_v4), so this one
# connection, the injected segment too, goes through one of the two.
NFQ_QUEUES=0-1
nfq_topology 1
nfq_start A
nfq_server 60 5003

r=$(in_ns C /usr/bin/python3 "$NFQ_DIR/nfq_conn.py" window 10.20.0.100 5003 eth0) ||
	fail "client failed"
echo "client: $r"
st=$(nfq_status A)
echo "status: $st"
echo=$(echo "$r" | /usr/bin/python3 -c 'import json,sys; print(repr(json.load(sys.stdin).get("echo")))')
[ "$echo" = "'good\\n'" ] ||
	fail "the server should have echoed only the in-window data (not BAD): $echo"
ok "the out-of-window segment did not reach the server; the connection goes on"
[ "$(nfq_get A 'd["drops"].get("state-mismatch", 0)')" = 1 ] ||
	fail "one state-mismatch drop expected"
[ "$(nfq_get A 'd["state_counters"]["state-mismatch"]')" = 1 ] ||
	fail "the table should count state-mismatch once"
[ "$(nfq_get A 'd["verdicts"]["drop"]')" = 1 ] || fail "exactly one packet dropped"
ok "dropped and counted as state-mismatch"
[ "$(nfq_get A 'd["queues"]')" = "[0, 1]" ] || fail "queues 0-1 expected"
[ "$(nfq_get A '[(q["num"], q["bound"]) for q in d["queue"]["per_queue"]]')" = \
	"[(0, True), (1, True)]" ] || fail "queues 0 and 1 should both be bound"
# The kernel's own count: /proc/net/netfilter/nfnetlink_queue gives each
# bound queue's last packet id (8th column; ids start at 1 per queue), which
# is the packets it queued; the firewall's per-queue count must equal it.
kq=$(in_ns A cat /proc/net/netfilter/nfnetlink_queue) || fail "no nfnetlink_queue in A"
echo "kernel queues: $kq"
want=$(echo "$kq" | awk '$1 == 0 || $1 == 1 { printf "(%d, %d)", $1, $8 }')
[ "$want" = "(0, $(nfq_get A 'd["queue"]["per_queue"][0]["packets"]'))(1, $(nfq_get A 'd["queue"]["per_queue"][1]["packets"]'))" ] ||
	fail "per-queue packets should match the kernel's ($want)"
[ "$(nfq_get A 'sorted(q["packets"] for q in d["queue"]["per_queue"]) == [0, d["packets"]] and d["packets"] > 0')" = True ] ||
	fail "one queue should have carried all of the connection's packets, the other none"
ok "both queues bound; the connection's $(nfq_get A 'd["packets"]') packets all went through queue $(nfq_get A '[q["num"] for q in d["queue"]["per_queue"] if q["packets"]][0]'), as the kernel counted"
