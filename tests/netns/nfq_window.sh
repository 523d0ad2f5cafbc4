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
# A range of queues: the firewall binds both, the kernel spreads flows.
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
