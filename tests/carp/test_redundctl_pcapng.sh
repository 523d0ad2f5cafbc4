#!/bin/bash
# redundctl decode reads captures as people have them (libpcap): each pcap
# of tests/carp/data decodes the same (every byte of the output) as its
# pcapng twin written by editcap, and as its frames re-written with the
# link headers of `tcpdump -i any` (Linux cooked SLL, 16 bytes), `dumpcap
# -i any` (SLL2, 20 bytes) and BSD loopback (NULL, host-order family).
# Usage: test_redundctl_pcapng.sh REDUNDCTL DATADIR (skips without editcap;
# fails under CI=true).
set -u
ctl=$1
data=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
if ! command -v editcap >/dev/null; then
	[ "${CI:-}" = true ] && fail "needs editcap (wireshark-common)"
	echo "SKIP: needs editcap"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# relink IN OUT LINKTYPE: IN's Ethernet frames with another link header.
relink() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
src, dst, lt = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = open(src, "rb").read()
magic = b[:4]
e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
out = bytearray(b[:20] + struct.pack(e + "I", lt))
off = 24
while off + 16 <= len(b):
    ts1, ts2, incl, orig = struct.unpack_from(e + "IIII", b, off)
    frame = b[off + 16: off + 16 + incl]
    off += 16 + incl
    etype, ip = frame[12:14], frame[14:]
    if lt == 113:    # SLL: packet type, ARPHRD, address length, address[8], protocol
        hdr = struct.pack("!HHH8s", 0, 1, 6, frame[6:12]) + etype
    elif lt == 276:  # SLL2: protocol, reserved, ifindex, ARPHRD, type, length, address[8]
        hdr = etype + struct.pack("!HIHBB8s", 0, 2, 1, 0, 6, frame[6:12])
    else:            # NULL: the family in the writer's (here little-endian) order
        hdr = struct.pack("<I", 2 if etype == b"\x08\x00" else 10)
    p = hdr + ip
    out += struct.pack(e + "IIII", ts1, ts2, len(p), orig - 14 + len(hdr)) + p
open(dst, "wb").write(out)
PY
}

n=0
for pcap in "$data"/*.pcap; do
	base=$(basename "$pcap" .pcap)
	"$ctl" decode carp "$pcap" >"$dir/$base.want" 2>"$dir/$base.err" || fail "$pcap: $(cat "$dir/$base.err")"
	[ -s "$dir/$base.want" ] || fail "$pcap: nothing decoded"
	editcap -F pcapng "$pcap" "$dir/$base.pcapng" || fail "editcap $pcap"
	[ "$(head -c 4 "$dir/$base.pcapng" | od -An -tx1 | tr -d ' ')" = 0a0d0d0a ] ||
		fail "editcap did not write pcapng"
	"$ctl" decode carp "$dir/$base.pcapng" >"$dir/$base.ng" || fail "$base.pcapng refused"
	cmp -s "$dir/$base.want" "$dir/$base.ng" || fail "$base: pcapng decodes otherwise:
$(diff "$dir/$base.want" "$dir/$base.ng" | head -5)"
	for lt in 113 276 0; do
		relink "$pcap" "$dir/$base.$lt.pcap" "$lt" || fail "relink $lt"
		"$ctl" decode carp "$dir/$base.$lt.pcap" >"$dir/$base.$lt" ||
			fail "$base with link type $lt refused"
		cmp -s "$dir/$base.want" "$dir/$base.$lt" || fail "$base: link type $lt decodes otherwise:
$(diff "$dir/$base.want" "$dir/$base.$lt" | head -5)"
	done
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no pcap in $data"
echo "ok: $n captures decode the same as pcapng and with SLL, SLL2 and NULL link headers"
