#!/bin/bash
# redundctl decode pfsync: raw and secure captures decode to one JSON object
# a message with the research note's field names; refused packets are named
# with their reason and make the command fail.
#   test_redundctl_decode.sh REDUNDCTL GEN_PFSYNC_PCAP
set -euo pipefail
ctl=$1
gen=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$gen" "$dir"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Raw pfsync: every line is JSON; the golden state's fields are there.
"$ctl" decode pfsync "$dir/raw.pcap" >"$dir/raw.json" || fail "raw capture refused"
python3 - "$dir/raw.json" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
acts = [m["action"] for m in msgs]
assert acts == ["INS", "UPD_C", "UPD_C", "DEL_C", "BUS", "CLR", "TDB", "UPD_REQ"], acts
ins = msgs[0]
assert ins["packet"] == 1
assert ins["id"] == "0102030405060708" and ins["creatorid"] == "deadbeef", ins
assert ins["key"][0]["addr"] == ["10.0.0.1", "192.168.1.2"], ins["key"]
assert ins["key"][0]["port"] == [8080, 54321] and ins["key"][1]["rdomain"] == 3
assert ins["af"] == "inet" and ins["proto"] == 6 and ins["direction"] == 2
assert ins["src"]["seqlo"] == 0x11223344 and ins["src"]["state"] == 4
assert ins["src"]["scrub"]["ts_mod"] == 42 and ins["dst"]["wscale"] == 2
assert ins["packets"] == [0x100000002, 16] and ins["bytes"] == [65536, 0x200000000]
assert ins["expire"] == 86400 and ins["timeout"] == 2 and ins["state_flags"] == 16
assert ins["ifname"] == "em0" and ins["rule"] == 5 and ins["anchor"] == -1
assert msgs[1]["id"] == "0000000065432100" and msgs[1]["creatorid"] == "0a0b0c0d"
assert msgs[4]["status"] == "end"
assert msgs[5]["ifname"] == 'em"0'
assert msgs[6]["dst"] == "198.51.100.7" and msgs[6]["rpl"] == 16384
assert msgs[7]["id"] == "0000000000000000"
PY

# Secure envelopes need the key; with it they decode like the raw ones.
if "$ctl" decode pfsync "$dir/secure.pcap" >/dev/null 2>"$dir/err"; then
	fail "secure capture decoded without a key"
fi
grep -q "packet 1 refused: secure envelope: no key" "$dir/err" || fail "no-key message: $(cat "$dir/err")"
"$ctl" decode pfsync "$dir/secure.pcap" --key "$dir/key" >"$dir/sec.json" || fail "secure capture refused"
python3 - "$dir/sec.json" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
assert [m["action"] for m in msgs[:8]] == ["INS", "UPD_C", "UPD_C", "DEL_C", "BUS", "CLR", "TDB", "UPD_REQ"]
assert all(m["envelope"] == "data" and m["sender"] == "deadbeef" for m in msgs[:8])
assert msgs[0]["seq"] == 5000 and msgs[0]["key_id"] == 3
assert msgs[8]["envelope"] == "ack" and msgs[8]["acks"][0]["sender"] == "cafe0001"
assert msgs[8]["acks"][0]["cumulative"] == 5001 and msgs[8]["acks"][0]["top"] == 5002
assert msgs[9]["envelope"] == "hello" and msgs[9]["next_seq"] == 9000 and msgs[9]["oldest_seq"] == 8990
PY

# A tampered envelope is refused as badtag, and nothing of it is printed.
if "$ctl" decode pfsync "$dir/tampered.pcap" --key "$dir/key" >"$dir/t.json" 2>"$dir/err"; then
	fail "tampered envelope accepted"
fi
grep -q "packet 1 refused: badtag" "$dir/err" || fail "tamper message: $(cat "$dir/err")"
[ ! -s "$dir/t.json" ] || fail "tampered envelope printed output"

# A bad packet among good ones: named, nothing of it printed, exit 1.
if "$ctl" decode pfsync "$dir/bad.pcap" >"$dir/bad.json" 2>"$dir/err"; then
	fail "bad packet accepted"
fi
grep -q "packet 2 refused: badval" "$dir/err" || fail "badval message: $(cat "$dir/err")"
python3 - "$dir/bad.json" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(set(m["packet"] for m in msgs)) == [1, 3], msgs
PY

# TTL other than 255 is refused as receivers refuse it.
if "$ctl" decode pfsync "$dir/ttl.pcap" >/dev/null 2>"$dir/err"; then
	fail "TTL 1 accepted"
fi
grep -q "packet 1 refused: badttl" "$dir/err" || fail "ttl message: $(cat "$dir/err")"

# genkey writes a mode 0600 key file that decode accepts, and never overwrites.
"$ctl" sync genkey "$dir/new.key" --keyid 9
[ "$(stat -c %a "$dir/new.key")" = 600 ] || fail "key file mode"
grep -q '^keyid 9$' "$dir/new.key" || fail "key id"
grep -Eq '^key [0-9a-f]{64}$' "$dir/new.key" || fail "key text"
if "$ctl" sync genkey "$dir/new.key" 2>/dev/null; then fail "genkey overwrote a key"; fi
"$ctl" decode pfsync "$dir/raw.pcap" --key "$dir/new.key" >/dev/null || fail "generated key refused"
echo ok
