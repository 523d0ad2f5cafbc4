#!/usr/bin/python3
"""A stand-in for systemd's notify socket: bind the unix datagram socket
NAME (a path, or '@name' for an abstract one, as $NOTIFY_SOCKET names it),
then append each datagram received to OUT as one line, its newlines shown
as '|'. Runs until killed. Usage: notify_listen.py NAME OUT"""
import os
import socket
import sys

name, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if not name.startswith("@") and os.path.exists(name):
    os.unlink(name)  # a listener before this one (systemd re-creates it too)
s.bind("\0" + name[1:] if name.startswith("@") else name)
with open(out, "a", buffering=1) as f:
    f.write("listening\n")
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        f.write(msg.replace("\n", "|") + "\n")
