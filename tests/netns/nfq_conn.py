#!/usr/bin/python3
"""TCP clients and a server for the nfq-firewall netns tests.

usage:
  nfq_conn.py server PORT SECONDS OUT     accept on PORT for SECONDS; every
                                          connection echoes what it reads and
                                          sends a byte every 100 ms; OUT gets
                                          {client port: fate} as JSON, fate
                                          "alive", "reset" or "closed"
  nfq_conn.py burst HOST PORT N GAP HOLD  open N connections GAP seconds
                                          apart, each sending a byte every
                                          100 ms; HOLD s after the last, print
                                          JSON [{"port", "connect", "fate"}]:
                                          connect "open"/"refused"/"timeout",
                                          fate "alive"/"reset"/"timeout"/"-"
  nfq_conn.py stream HOST PORT SECONDS    one connection sending a numbered
                                          line every 20 ms and reading its
                                          echo; prints JSON {"result":
                                          "survived"|"reset"|"stalled"|
                                          "refused", "lines", "max_gap"}
  nfq_conn.py window HOST PORT IF         connect, inject (scapy, on IF) a
                                          segment far out of the window with
                                          payload BAD, then send "good\\n";
                                          prints JSON {"echo": what came back}
"""
import json
import select
import socket
import sys
import threading
import time


def server(port, seconds, out):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(64)
    ls.settimeout(0.05)
    fates = {}
    lock = threading.Lock()

    def serve(c, peer):
        c.setblocking(False)
        fate = "alive"
        last = 0.0
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                r, _, _ = select.select([c], [], [], 0.02)
                if r:
                    d = c.recv(65536)
                    if not d:
                        fate = "closed"
                        break
                    c.sendall(d)
                if time.monotonic() - last >= 0.1:
                    last = time.monotonic()
                    c.send(b"\0")
        except (ConnectionResetError, BrokenPipeError):
            fate = "reset"
        except OSError as e:
            fate = "error %d" % e.errno
        with lock:
            fates[str(peer[1])] = fate
            with open(out, "w") as f:
                json.dump(fates, f)
        c.close()

    end = time.monotonic() + seconds
    threads = []
    while time.monotonic() < end:
        try:
            c, peer = ls.accept()
        except socket.timeout:
            continue
        t = threading.Thread(target=serve, args=(c, peer), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(1)
    with lock, open(out, "w") as f:
        json.dump(fates, f)


def burst(host, port, n, gap, hold):
    res = []
    socks = []
    start = time.monotonic()
    for i in range(n):
        while time.monotonic() < start + i * gap:
            time.sleep(0.005)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        r = {"connect": "open", "fate": "-", "port": 0}
        try:
            s.connect((host, port))
            r["port"] = s.getsockname()[1]
            r["heard"] = time.monotonic()
            s.setblocking(False)
            socks.append((s, r))
        except ConnectionRefusedError:
            r["connect"] = "refused"
        except (socket.timeout, OSError):
            r["connect"] = "timeout"
        res.append(r)
        for s2, r2 in socks:
            poke(s2, r2)
    end = time.monotonic() + hold
    while time.monotonic() < end:
        for s2, r2 in socks:
            poke(s2, r2)
        time.sleep(0.1)
    for s2, r2 in socks:
        poke(s2, r2)
        if r2["fate"] == "-":
            # The server sends every 100 ms: silence means the path is cut.
            r2["fate"] = "alive" if time.monotonic() - r2["heard"] < 0.5 else "timeout"
        del r2["heard"]
    print(json.dumps(res))


def poke(s, r):
    """Send a byte and read what came; the first error decides the fate."""
    if r["fate"] != "-":
        return
    try:
        s.send(b"p")
        while True:
            rd, _, _ = select.select([s], [], [], 0)
            if not rd:
                break
            d = s.recv(65536)
            if not d:
                r["fate"] = "closed"
                return
            r["heard"] = time.monotonic()
    except (ConnectionResetError, BrokenPipeError):
        r["fate"] = "reset"
    except BlockingIOError:
        pass


def stream(host, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.connect((host, port))
    except OSError:
        print(json.dumps({"result": "refused", "lines": 0, "max_gap": 0}))
        return
    s.setblocking(False)
    n = 0
    got = b""
    last_echo = time.monotonic()
    max_gap = 0.0
    result = "survived"
    end = time.monotonic() + seconds
    next_send = time.monotonic()
    try:
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_send:
                s.send(b"%d\n" % n)
                n += 1
                next_send = now + 0.02
            r, _, _ = select.select([s], [], [], 0.005)
            if r:
                d = s.recv(65536)
                if not d:
                    result = "closed"
                    break
                d = d.replace(b"\0", b"")
                if d:
                    got += d
                    t = time.monotonic()
                    max_gap = max(max_gap, t - last_echo)
                    last_echo = t
            if time.monotonic() - last_echo > 1.5:
                result = "stalled"
                break
    except (ConnectionResetError, BrokenPipeError):
        result = "reset"
    max_gap = max(max_gap, time.monotonic() - last_echo) if result == "survived" else max_gap
    print(json.dumps({"result": result, "lines": n, "echoed": got.count(b"\n"),
                      "max_gap": round(max_gap, 3)}))


def window(host, port, ifname):
    from scapy.all import IP, TCP, AsyncSniffer, Raw, conf, send
    conf.verb = 0
    sn = AsyncSniffer(iface=ifname, filter="tcp port %d" % port)
    sn.start()
    time.sleep(0.5)
    s = socket.create_connection((host, port), timeout=2)
    time.sleep(0.3)
    sn.stop()
    lport = s.getsockname()[1]
    isn = ack = None
    for p in sn.results:
        if TCP not in p:
            continue
        t = p[TCP]
        if t.sport == lport and t.flags & 0x12 == 0x02:
            isn = t.seq
        if t.dport == lport and t.flags & 0x12 == 0x12:
            ack = t.seq + 1
    if isn is None or ack is None:
        print(json.dumps({"error": "handshake not seen"}))
        return
    src = s.getsockname()[0]
    # Half the sequence space away: outside any window the state allows.
    bad = IP(src=src, dst=host) / TCP(sport=lport, dport=port, flags="PA",
                                      seq=(isn + 1 + (1 << 31)) % (1 << 32), ack=ack,
                                      window=502) / Raw(b"BAD\n")
    send(bad, iface=ifname)
    time.sleep(0.3)
    s.sendall(b"good\n")
    got = b""
    end = time.monotonic() + 2
    s.settimeout(0.2)
    while time.monotonic() < end and b"good\n" not in got:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        got += d.replace(b"\0", b"")
    print(json.dumps({"echo": got.decode(errors="replace")}))


def main():
    m = sys.argv[1]
    if m == "server":
        server(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
    elif m == "burst":
        burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
              float(sys.argv[6]))
    elif m == "stream":
        stream(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif m == "window":
        window(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
