#!/usr/bin/python3
"""Control-socket clients for the netns tests (careless or hostile ones).

usage:
  ctl_client.py idle SOCK N SECONDS   open N connections, send nothing, hold
                                      them SECONDS; prints "connected C of N"
                                      once they are open, then at the end
                                      "closed_by_server K"
  ctl_client.py send SOCK TEXT [SECS] send TEXT with Python's backslash escapes
                                      decoded (\n, \x00; no line end added),
                                      print the answer (first line); exit 3 if
                                      none came within SECS (default 5)
  ctl_client.py demotes SOCK N [PFX]  for i < N: "demote PFXi +1" then
                                      "demote PFXi -1", each answered "ok";
                                      prints the number of requests and the time
  ctl_client.py hang SOCK SECONDS     a server that listens on SOCK and never
                                      accepts (its backlog filled), for SECONDS
  ctl_client.py mute SOCK SECONDS     a server that accepts and reads but never
                                      answers, for SECONDS
"""
import codecs
import errno
import os
import resource
import select
import socket
import sys
import time


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(hard, n)))


def idle(path, n, secs):
    raise_nofile(n + 64)
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        for _try in range(50):  # a full backlog: give the server 50 ms
            try:
                s.connect(path)
                socks.append(s)
                break
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise
                time.sleep(0.001)
        else:
            s.close()
    print("connected %d of %d" % (len(socks), n), flush=True)
    time.sleep(secs)
    closed = 0
    said = {}
    for s in socks:
        got = b""
        try:
            while True:
                b = s.recv(4096, socket.MSG_DONTWAIT)
                if b == b"":
                    closed += 1
                    break
                got += b
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        line = got.split(b"\n")[0].decode("utf-8", "replace")
        said[line] = said.get(line, 0) + 1
    for line, k in sorted(said.items()):
        print("%d x '%s'" % (k, line), flush=True)
    print("closed_by_server %d" % closed, flush=True)


def ask(path, data, secs):
    """Send data, read until the server closes; None on timeout."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(secs)
    s.connect(path)
    s.sendall(data)
    out = b""
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return None
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    s.close()
    return out


def send(path, text, secs):
    a = ask(path, codecs.decode(text, "unicode_escape").encode("latin-1"), secs)
    if a is None:
        print("no answer within %g s" % secs)
        sys.exit(3)
    print(a.decode("utf-8", "replace").split("\n")[0])


def demotes(path, n, pfx):
    t0 = time.monotonic()
    for i in range(n):
        for d in ("+1", "-1"):
            a = ask(path, ("demote %s%d %s\n" % (pfx, i, d)).encode(), 5)
            if a is None or not a.startswith(b"ok\n"):
                print("demote %s%d %s: %r" % (pfx, i, d, a))
                sys.exit(1)
    print("%d requests in %.1f s" % (2 * n, time.monotonic() - t0))


def hang(path, secs):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(0)
    # Fill the backlog so that a blocking connect would wait for ever.
    fill = []
    for _ in range(8):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(path)
            fill.append(c)
        except OSError:
            c.close()
            break
    print("listening, %d queued" % len(fill), flush=True)
    time.sleep(secs)


def mute(path, secs):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    print("listening", flush=True)
    conns = []
    end = time.monotonic() + secs
    while time.monotonic() < end:
        r, _, _ = select.select([srv] + conns, [], [], max(0, end - time.monotonic()))
        for s in r:
            if s is srv:
                conns.append(srv.accept()[0])
            elif not s.recv(4096):
                conns.remove(s)
                s.close()


def main():
    cmd = sys.argv[1]
    if cmd == "idle":
        idle(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "send":
        send(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 5)
    elif cmd == "demotes":
        demotes(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "g")
    elif cmd == "hang":
        hang(sys.argv[2], float(sys.argv[3]))
    elif cmd == "mute":
        mute(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
