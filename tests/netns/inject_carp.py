#!/usr/bin/python3
"""Inject CARP advertisements (valid or with one defect) with scapy.

usage: inject_carp.py IFACE SRC VHID PASS VIP KIND COUNT
KIND: valid, badttl, badsum, badver, badauth, short
The advertisement claims advbase 0, advskew 0 (better than anyone), so a
receiver that accepted it would change state.
"""
import hashlib
import hmac
import socket
import struct
import sys

from scapy.all import IP, Ether, Raw, conf, get_if_hwaddr, sendp

conf.verb = 0


def cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def carp(vhid, key, vip, version=2, advbase=0, advskew=0, counter=b"\x11" * 8):
    mac = hmac.new(key.ljust(20, b"\0"), bytes([2, 1, vhid]) + socket.inet_aton(vip) + counter,
                   hashlib.sha1).digest()
    hdr = bytes([(version << 4) | 1, vhid, advskew, 7, 0, advbase]) + b"\0\0" + counter + mac
    c = cksum(hdr)
    return hdr[:6] + struct.pack("!H", c) + hdr[8:]


def main():
    iface, src, vhid, pw, vip, kind, count = sys.argv[1:8]
    vhid, count = int(vhid), int(count)
    key = pw.encode()
    # The namespace has no default route; tell scapy where multicast goes.
    conf.route.add(net="224.0.0.0/4", dev=iface)
    ttl = 255
    if kind == "valid":
        p = carp(vhid, key, vip)
    elif kind == "badttl":
        p = carp(vhid, key, vip)
        ttl = 64
    elif kind == "badsum":
        p = bytearray(carp(vhid, key, vip))
        p[6] ^= 0x55
        p = bytes(p)
    elif kind == "badver":
        p = carp(vhid, key, vip, version=3)
    elif kind == "badauth":
        p = carp(vhid, b"wrong", vip)
    elif kind == "short":
        p = carp(vhid, key, vip)[:20]
    else:
        sys.exit("unknown kind " + kind)
    # An explicit source MAC: scapy finds none without a route, and a bridge drops 00:00:00:00:00:00.
    frame = (Ether(src=get_if_hwaddr(iface), dst="01:00:5e:00:00:12") /
             IP(src=src, dst="224.0.0.18", ttl=ttl, proto=112, tos=0x10, flags="DF") / Raw(p))
    sendp(frame, iface=iface, count=count)


if __name__ == "__main__":
    main()
