"""A tiny active-mode FTP server and client for fw_ftp.sh.

server ADDR: answers USER, PASS, TYPE, PORT, RETR and QUIT on ADDR:21; a
RETR opens the data connection from the server to the client's PORT (what
the firewalls must accept as RELATED: only the FTP helper's expectation lets
it through a policy that refuses new connections from the WAN).
client ADDR READY GO: logs in, fetches once (active mode), announces the
next data connection (PORT: the helper's expectation), creates READY, waits
for GO, then fetches over the announced port (the expectation made before
GO) and once more with a new PORT (one the helper sees after GO), all on the
same control connection; prints each result and exits 1 if one failed.
"""
import ftplib
import os
import socket
import sys
import threading
import time

DATA = b"hello over a related connection\n"


def serve_one(c):
    port = None

    def send(s):
        c.sendall((s + "\r\n").encode())

    send("220 tiny ftp")
    for line in c.makefile("rb"):
        cmd = line.decode(errors="replace").strip()
        verb, _, arg = cmd.partition(" ")
        verb = verb.upper()
        if verb == "USER":
            send("331 password please")
        elif verb == "PASS":
            send("230 logged in")
        elif verb == "TYPE":
            send("200 type set")
        elif verb == "PORT":
            p = arg.split(",")
            port = (".".join(p[:4]), int(p[4]) * 256 + int(p[5]))
            send("200 PORT ok")
        elif verb == "RETR":
            if port is None:
                send("425 no PORT")
                continue
            send("150 opening data connection")
            try:
                d = socket.create_connection(port, timeout=5)
                d.sendall(DATA)
                d.close()
                send("226 done")
            except OSError as e:
                send("425 cannot open data connection: %s" % e)
            port = None
        elif verb == "QUIT":
            send("221 bye")
            break
        else:
            send("502 not implemented")
    c.close()


def server(addr):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 21))
    s.listen(8)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_one, args=(c,), daemon=True).start()


def client(addr, ready, go):
    ftp = ftplib.FTP(timeout=6)
    ftp.connect(addr, 21)
    ftp.login("user", "pass")
    ftp.set_pasv(False)

    def fetch(what):
        out = []
        try:
            ftp.retrbinary("RETR file", out.append)
        except (OSError, ftplib.Error) as e:
            print("%s: FAILED (%s)" % (what, e), flush=True)
            return False
        ok = b"".join(out) == DATA
        print("%s: %s" % (what, "data connection ok" if ok else "wrong data"), flush=True)
        return ok

    def fetch_announced(what, sock):
        try:
            ftp.sendcmd("RETR file")
            conn, _ = sock.accept()
            data = conn.recv(1000)
            conn.close()
            ftp.voidresp()
        except (OSError, ftplib.Error) as e:
            print("%s: FAILED (%s)" % (what, e), flush=True)
            return False
        finally:
            sock.close()
        ok = data == DATA
        print("%s: %s" % (what, "data connection ok" if ok else "wrong data"), flush=True)
        return ok

    good = fetch("before the failover")
    announced = ftp.makeport()  # PORT now: the expectation is made before GO
    announced.settimeout(6)
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.05)
    good = fetch_announced("announced before, opened after the failover", announced) and good
    good = fetch("announced and opened after the failover") and good
    try:
        ftp.quit()
    except (OSError, ftplib.Error):
        pass
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3], sys.argv[4])
