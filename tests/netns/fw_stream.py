#!/usr/bin/python3
"""TCP streams through a firewall pair, and a monitor of both firewalls.

One process (python3, standard library only) does everything, so every
time in the result comes from one clock (time.time(), the epoch, as the
events file that the driving script appends "EPOCH LABEL" lines to):

- N TCP streams from the client namespace to the server namespace. Each
  stream sends CHUNK bytes every PERIOD seconds (phases spread over the
  period); the server side records for each stream the bytes per BIN, every
  gap between two receptions longer than 3 periods, the longest gap, and
  whether and how the stream died (a reset, an error, an end of file, on the
  client or on the server side).
- For each firewall, an rtnetlink socket opened inside its namespace reports
  every address and link change as it happens: a firewall holds a virtual
  address when the address is on one of its interfaces and that interface
  is up with carrier (an address left on a dead link serves nobody).
- Each firewall's conntrack entry count, read every 20 ms.
- A thread asks each carpd (and syncd) control socket for its status every
  20 ms (50 ms) and records the state changes of each vhost (and syncd's
  state count and bulk flag).

A socket stays in the namespace it was created in, so the main thread
enters each namespace (setns) only to create its sockets, and one event
loop serves them all. SIGINT or SIGTERM ends the run: the result is written
as JSON (--out) for fw_report.py.
"""
import argparse
import ctypes
import errno
import heapq
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_IFNAME = 3
IFA_LOCAL = 2
IFF_UP, IFF_LOWER_UP = 0x1, 0x10000

_libc = ctypes.CDLL(None, use_errno=True)


def enter(nsname):
    """Move the calling thread into a network namespace: a netns name under
    /run/netns, or a path (the thread's own, to come back)."""
    path = nsname if nsname.startswith("/") else "/run/netns/" + nsname
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {nsname}: {os.strerror(e)}")
    finally:
        os.close(fd)


def nl_messages(buf):
    off = 0
    while off + 16 <= len(buf):
        ln, typ = struct.unpack_from("=IH", buf, off)
        if ln < 16 or off + ln > len(buf):
            break
        yield typ, buf[off + 16:off + ln]
        off += (ln + 3) & ~3


def nl_attrs(buf, off):
    while off + 4 <= len(buf):
        ln, typ = struct.unpack_from("=HH", buf, off)
        if ln < 4:
            break
        yield typ, buf[off + 4:off + ln]
        off += (ln + 3) & ~3


class Firewall:
    """What one firewall looks like from outside: links, virtual addresses held,
    conntrack entry count."""

    def __init__(self, name, nsname, vips):
        self.name = name
        self.vips = vips
        self.links = {}  # ifindex -> [name, usable]
        self.addrs = set()  # (ifindex, address) of the virtual addresses
        enter(nsname)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK,
                                  socket.NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR))
        try:
            self.ctfd = os.open("/proc/sys/net/netfilter/nf_conntrack_count", os.O_RDONLY)
        except OSError:
            self.ctfd = None
        # The current links and addresses, after subscribing: nothing is missed.
        dump = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        for typ, body in ((RTM_GETLINK, struct.pack("=BxHiII", 0, 0, 0, 0, 0)),
                          (RTM_GETADDR, struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0))):
            dump.send(struct.pack("=IHHII", 16 + len(body), typ, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
                      + body)
            done = False
            while not done:
                for mtyp, mbody in nl_messages(dump.recv(1 << 16)):
                    if mtyp in (NLMSG_DONE, NLMSG_ERROR):
                        done = True
                    else:
                        self.handle(mtyp, mbody)
        dump.close()

    def count(self):
        if self.ctfd is None:
            return -1
        try:
            return int(os.pread(self.ctfd, 32, 0))
        except (OSError, ValueError):
            return -1

    def handle(self, typ, body):
        """One rtnetlink message; returns a description of a change, or None."""
        if typ in (RTM_NEWLINK, RTM_DELLINK) and len(body) >= 16:
            _, _, index, flags, _ = struct.unpack_from("=BxHiII", body)
            name = next((v.rstrip(b"\0").decode() for t, v in nl_attrs(body, 16)
                         if t == IFLA_IFNAME), str(index))
            usable = typ == RTM_NEWLINK and (flags & (IFF_UP | IFF_LOWER_UP)) == IFF_UP | IFF_LOWER_UP
            old = self.links.get(index)
            if typ == RTM_DELLINK:
                self.links.pop(index, None)
            else:
                self.links[index] = [name, usable]
            if old is None or old[1] != usable:
                return f"link {name} {'up' if usable else 'down'}"
        elif typ in (RTM_NEWADDR, RTM_DELADDR) and len(body) >= 8:
            family, _, _, _, index = struct.unpack_from("=BBBBI", body)
            if family != socket.AF_INET:
                return None
            for t, v in nl_attrs(body, 8):
                if t == IFA_LOCAL and len(v) == 4:
                    a = socket.inet_ntoa(v)
                    if a not in self.vips.values():
                        return None
                    key = (index, a)
                    ifname = self.links.get(index, [str(index)])[0]
                    if typ == RTM_NEWADDR and key not in self.addrs:
                        self.addrs.add(key)
                        return f"addr {a} added on {ifname}"
                    if typ == RTM_DELADDR and key in self.addrs:
                        self.addrs.discard(key)
                        return f"addr {a} removed from {ifname}"
        return None

    def holds(self, addr):
        return any(a == addr and self.links.get(i, [None, False])[1] for i, a in self.addrs)


class Stream:
    def __init__(self, i, csock, ssock):
        self.id = i
        self.csock = csock
        self.ssock = ssock
        self.sent = 0
        self.blocked = 0
        self.received = 0
        self.last_rx = None
        self.max_gap = 0.0
        self.max_gap_at = None
        self.gaps = []
        self.bins = []
        self.dead_at = None
        self.dead_reason = None


class Poller(threading.Thread):
    """Asks carpd's and syncd's control sockets for their status; records changes."""

    def __init__(self, carpds, syncds, out):
        super().__init__(daemon=True)
        self.carpds = carpds
        self.syncds = syncds
        self.out = out  # {"carp": [...], "syncd": [...]}
        self.stop = threading.Event()
        self.last = {}

    @staticmethod
    def ask(path, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(path)
            s.sendall(line)
            out = b""
            while True:
                d = s.recv(1 << 16)
                if not d:
                    break
                out += d
        finally:
            s.close()
        if not out.startswith(b"ok\n"):
            raise OSError("refused")
        return json.loads(out[3:])

    def carp(self, fw, path):
        try:
            d = self.ask(path, b"status json\n")
            seen = {}
            for itf in d.get("interfaces", []):
                for h in itf.get("vhosts", []):
                    seen[h["vhid"]] = (h.get("state"), h.get("demotion"))
        except (OSError, ValueError, KeyError, TypeError):
            seen = None
        t = time.time()
        key = ("carp", fw)
        if seen is None:
            if self.last.get(key) != "DOWN":
                self.out["carp"].append([t, fw, None, "DOWN", None])
                self.last[key] = "DOWN"
            return
        if self.last.get(key) == "DOWN":
            self.last[key] = None
        for vhid, (st, dem) in sorted(seen.items()):
            if self.last.get((fw, vhid)) != (st, dem) or self.last.get(key) is None:
                self.out["carp"].append([t, fw, vhid, st, dem])
                self.last[(fw, vhid)] = (st, dem)
        self.last[key] = "UP"

    def syncd(self, fw, path):
        try:
            d = self.ask(path, b"status json\n")
            cur = (d.get("states"), d.get("bulk_pending"), d.get("demotion"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            cur = None
        key = ("syncd", fw)
        old = self.last.get(key)
        # Record every change of the bulk flag or liveness; the state count at most every 200 ms.
        t = time.time()
        if cur is None:
            if old != "DOWN":
                self.out["syncd"].append([t, fw, None, None, None])
                self.last[key] = "DOWN"
            return
        if (old in (None, "DOWN") or old[0][1:] != cur[1:] or
                (old[0][0] != cur[0] and t - old[1] >= 0.2)):
            self.out["syncd"].append([t, fw] + list(cur))
            self.last[key] = (cur, t)

    def run(self):
        n = 0
        while not self.stop.is_set():
            for fw, path in self.carpds:
                self.carp(fw, path)
            if n % 2 == 0:
                for fw, path in self.syncds:
                    self.syncd(fw, path)
            n += 1
            self.stop.wait(0.02)


def parse_pairs(items):
    out = []
    for it in items:
        k, _, v = it.partition("=")
        if not v:
            sys.exit(f"expected NAME=VALUE, got {it!r}")
        out.append((k, v))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=50)
    ap.add_argument("--prefix", default="", help="namespace name prefix")
    ap.add_argument("--client", default="C")
    ap.add_argument("--server", default="S")
    ap.add_argument("--server-addr", default="10.20.0.100")
    ap.add_argument("--client-addr", default="10.10.0.100")
    ap.add_argument("--port", type=int, default=5001)
    ap.add_argument("--firewalls", default="F1,F2")
    ap.add_argument("--vip", action="append", default=[],
                    help="NAME=ADDR (default lan=10.10.0.1 wan=10.20.0.1)")
    ap.add_argument("--carpd", action="append", default=[], help="FW=control socket path")
    ap.add_argument("--syncd", action="append", default=[], help="FW=control socket path")
    ap.add_argument("--period", type=float, default=0.01, help="seconds between chunks")
    ap.add_argument("--chunk", type=int, default=500, help="bytes a chunk")
    ap.add_argument("--bin", type=float, default=0.05, help="throughput bin, seconds")
    ap.add_argument("--ready", help="file created once every stream carries data")
    ap.add_argument("--status", help="file rewritten every 100 ms: 'TIME FLOWING DEAD' (streams "
                    "that received data in the last 200 ms, streams dead)")
    ap.add_argument("--events", help="file of 'EPOCH LABEL' lines, read at the end")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    vips = dict(parse_pairs(a.vip)) if a.vip else {"lan": "10.10.0.1", "wan": "10.20.0.1"}
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    home_path = f"/proc/self/fd/{home}"

    # Firewalls and their monitors.
    fws = [Firewall(n, a.prefix + n, vips) for n in a.firewalls.split(",")]
    enter(home_path)

    # The streams: connected one by one (blocking), then non-blocking.
    enter(a.prefix + a.server)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((a.server_addr, a.port))
    lsock.listen(a.streams + 8)
    enter(a.prefix + a.client)
    streams = []
    for i in range(a.streams):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(5)
        c.connect((a.server_addr, a.port))
        lsock.settimeout(5)
        s, peer = lsock.accept()
        if peer[1] != c.getsockname()[1]:
            sys.exit(f"stream {i}: accepted {peer}, expected port {c.getsockname()[1]}")
        c.setblocking(False)
        s.setblocking(False)
        streams.append(Stream(i, c, s))
    enter(home_path)
    lsock.close()

    sel = selectors.DefaultSelector()
    for st in streams:
        sel.register(st.ssock, selectors.EVENT_READ, ("s", st))
        sel.register(st.csock, selectors.EVENT_READ, ("c", st))
    for fw in fws:
        sel.register(fw.sock, selectors.EVENT_READ, ("nl", fw))

    result = {"title": a.title, "streams_n": a.streams, "period": a.period, "chunk": a.chunk,
              "bin": a.bin, "vips": vips, "firewalls": [f.name for f in fws],
              "holders": {v: [] for v in vips}, "netlink": [], "ct": [], "carp": [],
              "syncd": [], "self_stalls": []}
    poller = Poller(parse_pairs(a.carpd), parse_pairs(a.syncd), result)
    holders = {v: None for v in vips}

    def note_holders(t):
        for v, addr in vips.items():
            h = [f.name for f in fws if f.holds(addr)]
            if h != holders[v]:
                holders[v] = h
                result["holders"][v].append([t, h])

    running = [True]

    def stop(signum, frame):
        running[0] = False

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    t0 = time.time()
    result["t0"] = t0
    note_holders(t0)
    poller.start()
    payload = b"x" * a.chunk
    due = [(t0 + a.period * i / a.streams, i) for i in range(a.streams)]
    heapq.heapify(due)
    next_ct = t0
    next_status = t0
    last_ct = None
    t_ready = None

    def died(st, t, why):
        if st.dead_at is not None:
            return
        st.dead_at = t
        st.dead_reason = why
        for so in (st.csock, st.ssock):
            try:
                sel.unregister(so)
            except (KeyError, ValueError):
                pass
            so.close()

    # The loop's own lateness: a gap between two turns of the loop longer than
    # 50 ms means this process was not running (a busy machine), and every
    # stream shows that gap too; the report names such moments.
    last_turn = time.time()
    while running[0]:
        now = time.time()
        if now - last_turn > 0.05 and t_ready is not None:
            result["self_stalls"].append([last_turn, now - last_turn])
        last_turn = now
        while due and due[0][0] <= now:
            when, i = heapq.heappop(due)
            st = streams[i]
            if st.dead_at is not None:
                continue
            try:
                st.sent += st.csock.send(payload)
            except BlockingIOError:
                st.blocked += 1
            except OSError as e:
                died(st, now, "client: " + (errno.errorcode.get(e.errno, str(e.errno))))
                continue
            when += a.period
            if when <= now:  # fell behind (the process was not scheduled): skip, do not burst
                when = now + a.period
            heapq.heappush(due, (when, i))
        if a.status and now >= next_status:
            flowing = sum(1 for s in streams if s.dead_at is None and s.last_rx is not None
                          and now - s.last_rx < 0.2)
            dead = sum(1 for s in streams if s.dead_at is not None)
            with open(a.status + ".tmp", "w") as f:
                f.write(f"{now:.3f} {flowing} {dead}\n")
            os.replace(a.status + ".tmp", a.status)
            next_status = now + 0.1
        if now >= next_ct:
            counts = [f.count() for f in fws]
            if counts != last_ct or now - result["ct"][-1][0] >= 1.0:
                result["ct"].append([now] + counts)
                last_ct = counts
            next_ct = now + 0.02
        timeout = max(0.0, min(due[0][0] if due else now + 0.05, next_ct) - time.time())
        for key, _ in sel.select(timeout):
            kind, obj = key.data
            t = time.time()
            if kind == "nl":
                try:
                    buf = obj.sock.recv(1 << 16)
                except BlockingIOError:
                    continue
                except OSError as e:  # ENOBUFS: events lost; should not happen at this rate
                    result["netlink"].append([t, obj.name, f"error {e}"])
                    continue
                for typ, body in nl_messages(buf):
                    what = obj.handle(typ, body)
                    if what:
                        result["netlink"].append([t, obj.name, what])
                note_holders(t)
            elif kind == "s":
                st = obj
                try:
                    d = st.ssock.recv(1 << 16)
                except BlockingIOError:
                    continue
                except OSError as e:
                    died(st, t, "server: " + errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                if not d:
                    died(st, t, "server: end of stream")
                    continue
                st.received += len(d)
                b = int((t - t0) / a.bin)
                if b >= len(st.bins):
                    st.bins.extend([0] * (b + 1 - len(st.bins)))
                st.bins[b] += len(d)
                if st.last_rx is not None and t_ready is not None:
                    gap = t - st.last_rx
                    if gap > st.max_gap:
                        st.max_gap, st.max_gap_at = gap, st.last_rx
                    if gap > 3 * a.period:
                        st.gaps.append([st.last_rx, gap])
                st.last_rx = t
            else:  # the client side reads only a reset or an end
                st = obj
                try:
                    d = st.csock.recv(1 << 16)
                except BlockingIOError:
                    continue
                except OSError as e:
                    died(st, t, "client: " + errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                if not d:
                    died(st, t, "client: end of stream")
        if t_ready is None and all(s.last_rx is not None for s in streams):
            t_ready = time.time()
            result["t_ready"] = t_ready
            if a.ready:
                with open(a.ready, "w") as f:
                    f.write(f"{t_ready}\n")

    t_end = time.time()
    poller.stop.set()
    poller.join(2)
    result["t_end"] = t_end
    result["t_ready"] = t_ready or t_end
    events = []
    if a.events and os.path.exists(a.events):
        with open(a.events) as f:
            for line in f:
                ts, _, label = line.strip().partition(" ")
                if ts and t0 <= float(ts) <= t_end:  # the events of this run only
                    events.append([float(ts), label])
    result["events"] = events
    out = []
    for st in streams:
        if st.dead_at is None and st.last_rx is not None:
            tail = t_end - st.last_rx  # a stream silent at the end is stalled until the end
            if tail > st.max_gap:
                st.max_gap, st.max_gap_at = tail, st.last_rx
            if tail > 3 * a.period:
                st.gaps.append([st.last_rx, tail])
        out.append({"id": st.id, "sent": st.sent, "received": st.received, "blocked": st.blocked,
                    "last_rx": st.last_rx, "max_stall": round(st.max_gap, 4),
                    "max_stall_at": st.max_gap_at, "stalls": st.gaps, "bins": st.bins,
                    "dead_at": st.dead_at, "dead_reason": st.dead_reason})
    result["streams"] = out
    with open(a.out + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(a.out + ".tmp", a.out)
    dead = sum(1 for s in out if s["dead_at"] is not None)
    print(f"{len(out)} streams, {dead} died, longest stall "
          f"{max((s['max_stall'] for s in out), default=0) * 1000:.0f} ms; result in {a.out}")


if __name__ == "__main__":
    main()
