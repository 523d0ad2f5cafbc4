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

# A message with a bad value among good packets: named with its reason and
# offset, nothing of it printed, exit 1.
if "$ctl" decode pfsync "$dir/bad.pcap" >"$dir/bad.json" 2>"$dir/err"; then
	fail "bad message accepted"
fi
grep -q "packet 2: INS id 0102030405060708 creatorid deadbeef refused: badtimeout, timeout 20 (pfsync byte 24)" "$dir/err" ||
	fail "badtimeout message: $(cat "$dir/err")"
python3 - "$dir/bad.json" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(set(m["packet"] for m in msgs)) == [1, 3], msgs
PY

# One bad value costs its message, not the packet (OpenBSD's pfsyncs_badval;
# continue); a header len under 20 reads to the end; a key af 0 takes the
# state's; a framing error still refuses the packet whole.
if "$ctl" decode pfsync "$dir/mixed.pcap" >"$dir/mixed.json" 2>"$dir/err"; then
	fail "mixed capture accepted"
fi
grep -q "packet 1: UPD_C id 0000000065432102 creatorid 0a0b0c0d refused: badtimeout, timeout 21 (pfsync byte 108)" "$dir/err" ||
	fail "UPD_C refusal: $(cat "$dir/err")"
grep -q "packet 2: header len 0 is under 20: read to the end of the packet (36 bytes)" "$dir/err" ||
	fail "header len note: $(cat "$dir/err")"
grep -q "packet 4 refused: badlen (pfsync byte 20)" "$dir/err" || fail "framing refusal: $(cat "$dir/err")"
grep -q "4 message(s), 1 message(s) refused, 1 packet(s) refused" "$dir/err" || fail "summary: $(cat "$dir/err")"
python3 - "$dir/mixed.json" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
got = [(m["packet"], m["action"], m["id"]) for m in msgs]
assert got == [(1, "UPD_C", "0000000065432101"), (1, "UPD_C", "0000000065432103"),
               (2, "DEL_C", "000000000000002a"), (3, "INS", "0102030405060708")], got
ins = msgs[3]
assert ins["key"][0]["af"] == "inet" and ins["key"][1]["af"] == "inet", ins["key"]
assert ins["key"][1]["addr"] == ["10.0.0.1", "203.0.113.5"], ins["key"]
PY

# TTL other than 255 is refused as receivers refuse it.
if "$ctl" decode pfsync "$dir/ttl.pcap" >/dev/null 2>"$dir/err"; then
	fail "TTL 1 accepted"
fi
grep -q "packet 1 refused: badttl" "$dir/err" || fail "ttl message: $(cat "$dir/err")"

# Control envelopes (ACK/NACK/HELLO) whose payload a channel refuses are
# refused here too, with the decoder's reason; the good ones around them
# print. Sealed under DIR/key with libsodium (through ctypes), so the
# payload rules, not the envelope, are what is tested.
python3 - "$dir/key" "$dir/badctl.pcap" <<'PY'
import ctypes, ctypes.util, struct, sys
keyid, key = None, None
for line in open(sys.argv[1]):
    w = line.split()
    if w and w[0] == "keyid": keyid = int(w[1])
    if w and w[0] == "key": key = bytes.fromhex(w[1])
so = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert so.sodium_init() >= 0
enc = so.crypto_aead_xchacha20poly1305_ietf_encrypt
enc.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_ulonglong), ctypes.c_char_p,
                ctypes.c_ulonglong, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_void_p,
                ctypes.c_char_p, ctypes.c_char_p]
ACK, NACK, HELLO = 2, 3, 4
def seal(typ, seq, pl, sender=0xcafe0002):
    nonce = struct.pack(">IBQ", sender, typ, seq) + bytes(range(11))
    hdr = b"RD" + bytes([1, typ]) + struct.pack(">IIQ", keyid, sender, seq) + nonce
    out = ctypes.create_string_buffer(len(pl) + 16)
    n = ctypes.c_ulonglong()
    assert enc(out, ctypes.byref(n), pl, len(pl), hdr, len(hdr), None, nonce, key) == 0
    return hdr + out.raw[:n.value]
def hello(nxt, oldest, first=None):
    return struct.pack(">QQ", nxt, oldest) + (b"" if first is None else struct.pack(">Q", first))
def acks(count, *recs):
    return struct.pack(">HH", count, 0) + b"".join(struct.pack(">IIQQQ", s, 0, c, t, b) for s, c, t, b in recs)
envs = [
    seal(HELLO, 1, hello(9000, 8990)),                    # 1 good
    seal(HELLO, 2, hello(9000, 8990)[:8]),                # 2 hello_len
    seal(HELLO, 3, hello(0, 0)),                          # 3 hello_next_zero
    seal(HELLO, 4, hello(9000, 9001)),                    # 4 hello_oldest_above_next
    seal(ACK, 5, acks(2, (0xdeadbeef, 1, 2, 0))),         # 5 ack_count
    seal(NACK, 6, acks(1, (0xdeadbeef, 7, 6, 0))),        # 6 ack_cum_above_top
    seal(ACK, 7, b"\0\0"),                                # 7 ack_short
    seal(ACK, 8, acks(1, (0xdeadbeef, 6, 7, 1))),         # 8 good
    seal(HELLO, 9, hello(9000, 0)),                       # 9 hello_oldest_zero
    seal(HELLO, 10, hello(9000, 8990, 100)),              # 10 good, with first
    seal(HELLO, 11, hello(9000, 8990, 8991)),             # 11 hello_first_above_oldest
    seal(HELLO, 12, hello(9000, 8990, 0)),                # 12 hello_first_zero
]
def csum(b):
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, e in enumerate(envs):
        udp = struct.pack(">HHHH", 8240, 8240, 8 + len(e), 0) + e
        ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                                   bytes([10, 0, 0, 2]), bytes([224, 0, 0, 240])))
        ip[10:12] = struct.pack(">H", csum(bytes(ip)))
        frame = bytes.fromhex("01005e0000f0" "020000000002" "0800") + bytes(ip) + udp
        f.write(struct.pack("<IIII", 1, i, len(frame), len(frame)) + frame)
PY
rc=0
"$ctl" decode pfsync "$dir/badctl.pcap" --key "$dir/key" >"$dir/badctl.json" 2>"$dir/err" || rc=$?
[ "$rc" = 1 ] || fail "bad control payloads: exit $rc, want 1: $(cat "$dir/err")"
for want in \
	"packet 2 refused: badpayload (hello_len, hello payload byte 0)" \
	"packet 3 refused: badpayload (hello_next_zero, hello payload byte 0)" \
	"packet 4 refused: badpayload (hello_oldest_above_next, hello payload byte 8)" \
	"packet 5 refused: badpayload (ack_count, ack payload byte 0)" \
	"packet 6 refused: badpayload (ack_cum_above_top, nack payload byte 12)" \
	"packet 7 refused: badpayload (ack_short, ack payload byte 0)" \
	"packet 9 refused: badpayload (hello_oldest_zero, hello payload byte 8)" \
	"packet 11 refused: badpayload (hello_first_above_oldest, hello payload byte 16)" \
	"packet 12 refused: badpayload (hello_first_zero, hello payload byte 16)"; do
	grep -qF "$want" "$dir/err" || fail "missing \"$want\" in: $(cat "$dir/err")"
done
grep -qF "9 packet(s) refused" "$dir/err" || fail "refusal count: $(cat "$dir/err")"
python3 - "$dir/badctl.json" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
assert [m["packet"] for m in msgs] == [1, 8, 10], msgs
assert "first_seq" not in msgs[0] and msgs[2]["first_seq"] == 100, msgs
assert msgs[0]["envelope"] == "hello" and msgs[0]["next_seq"] == 9000 and msgs[0]["oldest_seq"] == 8990
assert msgs[1]["envelope"] == "ack" and msgs[1]["acks"] == [
    {"sender": "deadbeef", "cumulative": 6, "top": 7, "bitmap": "0000000000000001"}], msgs[1]
PY

# genkey writes a mode 0600 key file that decode accepts, and never overwrites.
"$ctl" sync genkey "$dir/new.key" --keyid 9
[ "$(stat -c %a "$dir/new.key")" = 600 ] || fail "key file mode"
grep -q '^keyid 9$' "$dir/new.key" || fail "key id"
grep -Eq '^key [0-9a-f]{64}$' "$dir/new.key" || fail "key text"
if "$ctl" sync genkey "$dir/new.key" 2>/dev/null; then fail "genkey overwrote a key"; fi
"$ctl" decode pfsync "$dir/raw.pcap" --key "$dir/new.key" >/dev/null || fail "generated key refused"
echo ok
