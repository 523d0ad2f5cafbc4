#!/bin/bash
# nfq-firewall, pf's max-src-conn-rate with overload and flush global on live
# traffic (issue 17): a client opening 10 connections in 2 s against
# `--max-src-conn-rate 5/10 --overload-set inet fw bad --flush-global`
#  - its first five connect and the sixth completes its handshake (on the
#    client) and breaks the rate: the client's address is then in the
#    nftables set `bad` (added through libnftables, as `nft add element`),
#    the 7th to 10th are refused (the set's reject rule);
#  - flush global killed the first five: the server's own segments on them
#    find no state in the firewall's table and get a reset (so the server
#    sees them reset; without the flush they would pass);
#  - the counters say so: max-src-conn-rate once, one overload, one flush,
#    no state left.
# Users' reports this covers: firewalld/firewalld#70 (per-source connection
# rate limits, N per S seconds, refusing the source's new connections after),
# firehol/firehol#476 (hashlimit for new connections only) and
# jtesta/ssh-audit#322 (no nftables recipe found for "10 connections per 10
# seconds"); none of them can also kill the offender's established flows,
# which pf's `overload <t> flush global` does and this test checks.
. "$(dirname "$0")/nfqlib.sh"

nfq_topology 1
nfq_start A --max-src-conn-rate 5/10 --overload-set inet fw bad --flush-global
nfq_server 60

out=$(in_ns C /usr/bin/python3 "$NFQ_DIR/nfq_conn.py" burst 10.20.0.100 5001 10 0.2 1.5) ||
	fail "client failed"
echo "client: $out"
sleep 0.3

# Check one JSON fact about the client's result.
client() {
	echo "$out" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

[ "$(client '[c["connect"] for c in r[:6]]')" = "['open', 'open', 'open', 'open', 'open', 'open']" ] ||
	fail "the first six should connect: $out"
[ "$(client '[c["connect"] for c in r[6:]]')" = "['refused', 'refused', 'refused', 'refused']" ] ||
	fail "the 7th to 10th should be refused (source in set bad): $out"
ok "six connected, then four refused"

in_ns A nft list set inet fw bad | grep -q '10\.10\.0\.100' ||
	fail "10.10.0.100 is not in set bad: $(in_ns A nft list set inet fw bad)"
ok "the client is in nftables set bad"

# The server's view of the first five (its segments met no state: reset).
ports=$(client '" ".join(str(c["port"]) for c in r[:5])')
fates=$(/usr/bin/python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
print(" ".join(f.get(p, "missing") for p in sys.argv[2].split()))' "$T_DIR/server-5001.json" "$ports")
[ "$fates" = "reset reset reset reset reset" ] ||
	fail "the first five should be killed (reset on the server's side): $fates"
ok "the first five were killed (flush global)"

st=$(nfq_status A)
echo "status: $st"
[ "$(nfq_get A 'd["src_counters"]["max-src-conn-rate"]')" = 1 ] ||
	fail "max-src-conn-rate should count once"
[ "$(nfq_get A 'd["src_counters"]["overload flush states"]')" = 1 ] ||
	fail "one overload flush expected"
[ "$(nfq_get A 'd["overload"]["table"], d["overload"]["set_added"], d["overload"]["addresses"]')" = \
	"(1, 1, ['10.10.0.100'])" ] || fail "overload table/set: $st"
[ "$(nfq_get A 'd["states"]')" = 0 ] || fail "the client's states should all be gone"
[ "$(nfq_get A 'd["drops"].get("no-state", 0) > 0')" = True ] ||
	fail "the killed states' segments should count as no-state"
ok "counters: one rate overload, one flush, no state left"
