#!/bin/bash
# redundctl decode carp: CARP packets are printed, a malformed IP header only
# when its protocol / next header byte says CARP (112), and every other
# record (another protocol, even with a bad IPv4 header checksum or options
# cut by the snap length; an IPv6 header cut short) is skipped and counted.
#   test_redundctl_decode.sh REDUNDCTL
set -euo pipefail
ctl=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 - "$dir/mixed.pcap" <<'PY'
import struct, sys

def cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def carp(vhid):
    # version 2, type 1 (advertisement), vhid, advskew 0, authlen 7,
    # demote 0, advbase 1, checksum, counter, HMAC
    h = bytearray(struct.pack("!BBBBBBH", 0x21, vhid, 0, 7, 0, 1, 0) + bytes(8) + bytes(20))
    struct.pack_into("!H", h, 6, cksum(bytes(h)))
    return bytes(h)

def ip4(proto, payload, ihl=5, good=True):
    opts = bytes(4 * (ihl - 5))
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0x10, 4 * ihl + len(payload), 1,
                              0x4000, 255, proto, 0, bytes([10, 0, 0, 1]), bytes([224, 0, 0, 18])))
    h += opts
    c = cksum(bytes(h))
    struct.pack_into("!H", h, 10, c if good else c ^ 0x5555)
    return bytes(h) + payload

def ip6(nxt, payload):
    src = bytes([0xfe, 0x80] + [0] * 13 + [1])
    dst = bytes([0xff, 0x02] + [0] * 13 + [0x12])
    return struct.pack("!IHBB", 6 << 28, len(payload), nxt, 255) + src + dst + payload

udp = struct.pack("!HHHH", 5353, 5353, 12, 0) + b"abcd"
# (captured bytes, original length)
recs = []
def rec(pkt, cut=None):
    recs.append((pkt[:cut] if cut else pkt, len(pkt)))

rec(ip4(112, carp(1)))                  # 1 CARP
rec(ip4(17, udp, good=False))           # 2 UDP, bad IPv4 header checksum: other
rec(ip4(112, carp(2), good=False))      # 3 CARP, bad IPv4 header checksum: malformed
rec(ip4(17, udp, ihl=15), cut=30)       # 4 UDP, options cut by the snap length: other
rec(ip4(112, carp(3), ihl=15), cut=30)  # 5 CARP, options cut: malformed
rec(ip6(17, udp), cut=30)               # 6 IPv6 shorter than 40 bytes: other
rec(ip6(112, carp(4)))                  # 7 IPv6 CARP
rec(ip4(17, udp))                       # 8 UDP: other

with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    for i, (data, orig) in enumerate(recs):
        f.write(struct.pack("<IIII", 1000 + i, 0, len(data), orig) + data)
PY

"$ctl" decode carp "$dir/mixed.pcap" >"$dir/out.json" 2>"$dir/err" || fail "decode carp failed: $(cat "$dir/err")"
grep -qx "redundctl: 4 CARP packet(s), 4 other record(s) skipped" "$dir/err" ||
	fail "totals: $(cat "$dir/err")"
python3 - "$dir/out.json" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
frames = [o["frame"] for o in objs]
assert frames == [1, 3, 5, 7], frames
bad = [o["frame"] for o in objs if o.get("error") == "malformed IP header"]
assert bad == [3, 5], objs
ok = [o for o in objs if "error" not in o]
assert [o["vhid"] for o in ok] == [1, 4], ok
assert all(o["checksum_ok"] for o in ok), ok
# One schema with decode pfsync: the address family is a string.
assert [o["af"] for o in ok] == ["inet", "inet6"], ok
PY
echo "ok: decode carp skips other protocols whatever their IP header, shows malformed CARP, af as a string"
