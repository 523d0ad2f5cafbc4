#!/bin/bash
# syncd's hold on carpd (syncd.8, HOLDING CARPD BACK) against a fake carpd: a
# python3 unix-socket server that records each request line with its time and
# answers as carpd does ("ok\nheld HOLDER GROUP APPLIED ttl TTL instance I
# masters M", APPLIED 0 under unless-master while it has MASTER vhosts).
# Two plain-mode syncd hosts; A holds 6000 states and answers bulk requests at
# 1000 states a second, so a bulk from A lasts about 6 s.
#  - B started before carpd's socket exists: the failure is logged once and
#    counted; once the fake carpd appears, B states its hold within ~1 s;
#  - during B's join bulk B states 32 (and carpd confirms 32), after it 0;
#  - a carpd restart (new instance) gets the hold re-stated within ~1 s, and
#    B logs it and counts carpd_restarts;
#  - a repair (redundctl sync bulk) never states anything but 0;
#  - answers with masters >= 1 and applied 0 (unless-master) are confirmed;
#  - SIGTERM while carpd holds 32 for B: B states 0 before it exits.
. "$(dirname "$0")/synclib.sh"
sync_pair

N=6000
SOCK=$T_DIR/carpd.sock
REQS=$T_DIR/fake-carpd.reqs
echo 0 >"$T_DIR/masters"

cat >"$T_DIR/fake_carpd.py" <<'PY'
import os, socket, sys, time
path, instance, logf, mastersf = sys.argv[1:5]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
log = open(logf, "a", buffering=1)
log.write("READY %.3f %s\n" % (time.monotonic(), instance))
while True:
    c, _ = s.accept()
    c.settimeout(2)
    data = b""
    try:
        while b"\n" not in data:
            d = c.recv(256)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    line = data.split(b"\n")[0].decode(errors="replace").rstrip("\r")
    w = line.split()
    masters = int(open(mastersf).read().strip() or 0)
    log.write("REQ %.3f %s %s\n" % (time.monotonic(), instance, line))
    if len(w) in (5, 6) and w[0] == "hold" and (len(w) == 5 or w[5] == "unless-master"):
        applied = 0 if len(w) == 6 and masters > 0 else int(w[3])
        ans = "ok\nheld %s %s %d ttl %s instance %s masters %d\n" % (
            w[1], w[2], applied, w[4], instance, masters)
    else:
        ans = "error expected 'hold HOLDER GROUP VALUE TTL [unless-master]'\n"
    try:
        c.sendall(ans.encode())
    except OSError:
        pass
    c.close()
PY

# fake_carpd INSTANCE: (re)start the fake carpd on $SOCK; FAKE_PID is its pid.
fake_carpd() {
	/usr/bin/python3 "$T_DIR/fake_carpd.py" "$SOCK" "$1" "$REQS" "$T_DIR/masters" &
	FAKE_PID=$!
	T_PIDS+=("$FAKE_PID")
	local i
	for i in $(seq 40); do
		grep -q "^READY .* $1\$" "$REQS" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the fake carpd did not start"
}

now() { /usr/bin/python3 -c 'import time; print("%.3f" % time.monotonic())'; }

# reqs_since T [INSTANCE]: "time value" of each hold request recorded after T.
reqs_since() {
	awk -v t="$1" -v inst="${2:-}" '$1 == "REQ" && $2 > t && (inst == "" || $3 == inst) {
		if ($5 != "syncd" || $6 != "carp" || $8 != "10" || $9 != "unless-master")
			print "BAD " $0; else print $2, $7 }' "$REQS"
}

# wait_until SECONDS 'CONDITION': evaluate CONDITION (a shell string) every 0.05 s.
wait_until() {
	local i
	for i in $(seq $(($1 * 20))); do
		eval "$2" && return 0
		sleep 0.05
	done
	return 1
}

bulk_done() { [ "$(sstat B bulk_pending -)" = False ] && [ "$(sstat B states -)" -ge $N ]; }

# A: N states of its own, answers bulks at 1000 states a second.
for i in $(seq 1 $N); do
	echo "-I -p udp -s 10.1.$((i / 250)).$((i % 250 + 1)) -d 10.2.0.1 --sport 4000 --dport 53 -t 600"
done >"$T_DIR/ct.load"
in_ns A conntrack -R "$T_DIR/ct.load" >/dev/null 2>&1 || fail "conntrack -R on A"
start_syncd A -i eth0 -m plain --bulk-rate 1000
wait_until 10 '[ "$(sstat A states -)" -ge $N ]' || fail "A did not read its $N states"

# 1. B before carpd: logged once and counted; the hold goes within ~1 s of carpd appearing.
start_syncd B -i eth0 -m plain --carpd-control "$SOCK"
sleep 0.5
[ "$(sstat B carpd hold_unreachable)" -ge 1 ] || fail "no carpd yet: hold_unreachable not counted"
[ "$(sstat B bulk_pending -)" = True ] || fail "B's join bulk is not running"
[ "$(sstat B demotion -)" = 32 ] || fail "B's join bulk: demotion $(sstat B demotion -), not 32"
fake_carpd 1111111111111111
ready=$(awk '$1 == "READY" { print $2; exit }' "$REQS")
wait_until 2 '[ -n "$(reqs_since 0)" ]' || fail "no hold request reached carpd"
read -r first v < <(reqs_since 0)
[ "$v" = 32 ] || fail "first hold during the join bulk: $v, not 32 ($(reqs_since 0))"
awk -v a="$first" -v b="$ready" 'BEGIN { exit !(a - b <= 1.2) }' ||
	fail "carpd up at $ready, first hold at $first: more than 1.2 s"
wait_until 2 '[ "$(sstat B carpd applied)" = 32 ]' || fail "carpd's 32 not shown applied"
[ "$(sstat B carpd confirmed)" = True ] || fail "carpd's 32 not confirmed"
[ "$(sstat B carpd instance)" = 1111111111111111 ] || fail "carpd's instance not shown"
[ "$(grep -c "not confirmed: connect" "$T_DIR/B.log")" = 1 ] ||
	fail "the failure streak before carpd appeared is not logged exactly once"
ok "syncd before carpd: failure logged once; hold 32 stated $(awk -v a="$first" -v b="$ready" 'BEGIN { printf "%.2f", a - b }') s after carpd appeared"

# 2. After the join bulk: 0, at once; no 32 after the first 0.
wait_until 15 'bulk_done' || fail "B's join bulk did not end ($(sstat B states -) states)"
t_end=$(now)
wait_until 2 '[ "$(sstat B carpd applied)" = 0 ]' || fail "after the bulk: applied $(sstat B carpd applied)"
[ "$(sstat B carpd wanted)" = 0 ] || fail "after the bulk: wanted not 0"
seq=$(reqs_since 0 | awk '{ print $2 }' | uniq | tr '\n' ' ')
[ "$seq" = "32 0 " ] || fail "hold values during and after the join bulk: $seq (expected 32 then 0)"
n32=$(reqs_since 0 | awk '$2 == 32' | wc -l)
[ "$n32" -ge 3 ] || fail "32 re-stated only $n32 times during a bulk of ~6 s"
ok "join bulk of $N states: hold 32 stated $n32 times (every second), then 0"

# 3. carpd restarted (new instance): re-stated within ~1 s, logged, counted.
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
fake_carpd 2222222222222222
ready=$(awk '$1 == "READY" && $3 == "2222222222222222" { print $2 }' "$REQS")
wait_until 2 '[ -n "$(reqs_since 0 2222222222222222)" ]' || fail "no hold re-stated to the new carpd"
read -r first v < <(reqs_since 0 2222222222222222)
[ "$v" = 0 ] || fail "re-stated to the new carpd: $v, not 0"
awk -v a="$first" -v b="$ready" 'BEGIN { exit !(a - b <= 1.2) }' ||
	fail "new carpd up at $ready, hold re-stated at $first: more than 1.2 s"
wait_until 2 'grep -q "restarted (instance 2222222222222222, was 1111111111111111)" "$T_DIR/B.log"' ||
	fail "carpd's restart not logged"
[ "$(sstat B carpd carpd_restarts)" = 1 ] || fail "carpd_restarts $(sstat B carpd carpd_restarts), not 1"
ok "carpd restarted: hold re-stated $(awk -v a="$first" -v b="$ready" 'BEGIN { printf "%.2f", a - b }') s after, logged, carpd_restarts 1"

# 4. A repair (redundctl sync bulk) runs a bulk but never states anything but 0.
t0=$(now)
"$REDUNDCTL" --control "$T_DIR/B.sock" sync bulk | grep -q "a repair: no demotion" ||
	fail "sync bulk: unexpected answer"
sleep 1.5
[ "$(sstat B bulk_pending -)" = True ] || fail "the repair bulk is not running"
[ "$(sstat B demotion -)" = 0 ] || fail "the repair bulk demotes B"
wait_until 15 'bulk_done' || fail "the repair bulk did not end"
sleep 1.2
[ -z "$(reqs_since "$t0" | awk '$2 != 0')" ] ||
	fail "hold values stated during a repair: $(reqs_since "$t0" | awk '{ print $2 }' | uniq | tr '\n' ' ')"
[ "$(reqs_since "$t0" | wc -l)" -ge 3 ] || fail "no hold re-stated during the repair"
ok "repair bulk: $(reqs_since "$t0" | wc -l) hold statements, all 0"

# 5. unless-master: carpd has a MASTER vhost and applies 0 to B's 32 -- confirmed, not a failure.
kill -TERM "$PID_B"
wait "$PID_B" 2>/dev/null
mv "$T_DIR/B.log" "$T_DIR/B-first.log" # kept for a failure's report
echo 1 >"$T_DIR/masters"
start_syncd B -i eth0 -m plain --carpd-control "$SOCK"
wait_until 2 '[ "$(sstat B carpd masters)" = 1 ]' || fail "carpd's masters not shown"
[ "$(sstat B carpd wanted)" = 32 ] || fail "B restarted: its join does not want 32"
[ "$(sstat B carpd applied)" = 0 ] || fail "unless-master: applied $(sstat B carpd applied)"
[ "$(sstat B carpd confirmed)" = True ] || fail "unless-master's applied 0 is not confirmed"
[ "$(sstat B carpd hold_failed)" = 0 ] || fail "unless-master's answer counted as a failure"
grep -q "unless-master applies 0" "$T_DIR/B.log" || fail "unless-master's 0 not logged"
ok "carpd with a MASTER vhost applies 0 to B's 32: confirmed, no failure"

# 6. SIGTERM while carpd holds 32 for B: B states 0 before it exits.
echo 0 >"$T_DIR/masters"
wait_until 2 '[ "$(sstat B carpd applied)" = 32 ]' || fail "masters 0: carpd's 32 not shown"
[ "$(sstat B bulk_pending -)" = True ] || fail "B's join bulk ended too early for the SIGTERM check"
t0=$(now)
kill -TERM "$PID_B"
wait "$PID_B" 2>/dev/null
[ "$(reqs_since "$t0" | tail -n 1 | awk '{ print $2 }')" = 0 ] ||
	fail "SIGTERM while held: no release (after it: $(reqs_since "$t0" | tr '\n' ' '))"
grep -q "hold syncd carp released" "$T_DIR/B.log" || fail "the release is not logged"
ok "SIGTERM during the join bulk, carpd holding 32: B stated 0 before exiting"
[ -z "$(reqs_since 0 | grep BAD)" ] || fail "malformed hold requests: $(reqs_since 0 | grep BAD)"
exit 0
