#!/bin/bash
# A flood with a slow log reader (issue 15): the MASTER's captured
# advertisement, re-sent 100,000 times from another address, then 100,000
# copies it must refuse for their TTL, while carpd's stderr goes into a
# 4 KB pipe read at 1 KB/s; then 100,000 more with the reader stopped and
# the pipe full. carpd runs with -D, so every refusal makes a log line.
# Promises: the MASTER's advertisements stay on time (no gap above its
# interval + 0.3 s), the BACKUP never takes over, the refusals' log lines
# are limited per reason with the number suppressed, and a line the pipe
# cannot take is dropped and counted ("N log lines dropped" once it
# drains), never waited for.
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd tcpdump /usr/bin/python3
make_bridge
add_host A 1
add_host B 2
add_host E 9
VIP=10.77.0.100
FLOOD="$(dirname "$0")/flood_carp.py"
IV=1.039 # B's interval: advbase 1, advskew 10

# The slow reader: a 4 KB pipe, 256 bytes every 250 ms into B.log.
cat >"$T_DIR/slowread.py" <<'EOF'
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
out = open(sys.argv[2], "ab", buffering=0)
while True:
    b = os.read(fd, 256)
    if not b:
        break
    out.write(b)
    time.sleep(0.25)
EOF
mkfifo "$T_DIR/B.fifo"
/usr/bin/python3 "$T_DIR/slowread.py" "$T_DIR/B.fifo" "$T_DIR/B.log" &
READER=$!
T_PIDS+=("$READER")
ip netns exec "$(ns B)" "$CARPD" --control "$T_DIR/B.sock" -f none -D --startup-demote 0 \
	-i eth0 -v 11 -p s3cret -a $VIP/24 -b 1 -k 10 2>"$T_DIR/B.fifo" >/dev/null &
PID_B=$!
T_PIDS+=("$PID_B")
for i in $(seq 50); do
	[ -S "$T_DIR/B.sock" ] && break
	sleep 0.1
done
wait_state B MASTER 6
start_carpd A --startup-demote 0 -i eth0 -v 11 -p s3cret -a $VIP/24 -b 1 -k 50
wait_state A BACKUP 5
start_capture "$T_DIR/rec.pcap"
sleep 1.2
stop_capture

# B's own advertisements, on the bridge, for the whole flood.
ip netns exec "$(ns BR)" tcpdump -i br0 --immediate-mode -U -n -w "$T_DIR/b.pcap" \
	ip proto 112 and src host 10.77.0.2 >/dev/null 2>&1 &
CAP=$!
T_PIDS+=("$CAP")
sleep 0.5

flood() { # COUNT [TTL]
	in_ns E /usr/bin/python3 "$FLOOD" "$T_DIR/rec.pcap" 10.77.0.2 eth0 "$1" 10.77.0.9 0 ${2:-} ||
		fail "flood_carp.py"
}
took_over() { grep -c "BACKUP -> MASTER" "$T_DIR/A.log"; }
masters_now() {
	[ "$(took_over)" = 0 ] || fail "$1: A took over (two MASTERs)"
	[ "$(state B)" = MASTER ] || fail "$1: B is $(state B)"
}

echo "replays: $(flood 100000)"
echo "bad TTL: $(flood 100000 64)"
sleep 2
masters_now "slow reader"
ok "slow reader: 200,000 forged advertisements, B still MASTER, A still BACKUP"

# The reader stops and the pipe fills up: every line from now on is dropped.
kill -STOP "$READER"
/usr/bin/python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
try:
    while True:
        os.write(fd, b"#" * 255 + b"\n")
except BlockingIOError:
    pass' "$T_DIR/B.fifo"
echo "bad TTL, stalled reader: $(flood 100000 64)"
sleep 2
masters_now "stalled reader"
kill -CONT "$READER"
sleep 4 # the pipe drains; the next line brings the drop count
flood 1 64 >/dev/null
sleep 1.5
kill -INT "$CAP"
wait "$CAP" 2>/dev/null
masters_now "after the floods"
ok "stalled reader, full pipe: B still MASTER, A still BACKUP"

gap=$(tcpdump -r "$T_DIR/b.pcap" -tt -n 2>/dev/null | awk '
	{ t = $1; if (p != "" && t - p > m) m = t - p; p = t; n++ }
	END { printf "%d %.3f\n", n, m }')
echo "B's advertisements during the floods: ${gap% *}, largest gap ${gap#* } s"
awk -v g="${gap#* }" -v iv=$IV 'BEGIN { exit !(g <= iv + 0.3) }' ||
	fail "an advertisement of B was late: gap ${gap#* } s (interval $IV s)"
[ "${gap% *}" -ge 10 ] || fail "only ${gap% *} advertisements of B captured"
ok "B's advertisements stayed on time (largest gap ${gap#* } s, interval $IV s)"

st=$(ctl B carp status --json)
read -r loop badttl sup drop < <(echo "$st" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["interfaces"][0]["counters"]
print(c["loop"], c["badttl"], d["log"]["suppressed"], d["log"]["dropped"])')
lines=$(grep -c "refused" "$T_DIR/B.log")
echo "B counted loop $loop, badttl $badttl; log: $lines refusal lines, $sup suppressed, $drop dropped"
[ "$loop" -ge 1000 ] && [ "$badttl" -ge 1000 ] || fail "the floods did not reach B"
[ "$lines" -le 60 ] || fail "$lines log lines of refusals: not limited"
grep -q "advertisements refused (badttl): [0-9]* more suppressed" "$T_DIR/B.log" ||
	fail "no line with the number of suppressed refusals"
[ "$sup" -ge 1000 ] || fail "status counts $sup suppressed lines"
[ "$drop" -ge 1 ] || fail "status counts no dropped line, though the pipe was full"
grep -q "[0-9]* log lines dropped: stderr did not take them" "$T_DIR/B.log" ||
	fail "no line with the number of dropped lines after the reader came back"
ok "refusal lines limited per reason with the count ($lines lines, $sup suppressed); $drop dropped and reported"
exit 0
