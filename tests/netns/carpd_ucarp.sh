#!/bin/bash
# carpd and ucarp on the same vhid and password elect one MASTER between
# them whichever starts first and whichever is faster; each takes over when
# the other is frozen, and one MASTER remains when it wakes. tshark decodes
# every carpd advertisement as CARP with a correct checksum. ucarp's HMAC
# covers exactly one IPv4 address, so carpd runs with one --addr.
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd ucarp tshark tcpdump
make_bridge
add_host A 1
add_host U 2
VIP=10.77.0.100

# ucarp's scripts move the address and record its state.
cat >"$T_DIR/up.sh" <<EOS
#!/bin/sh
ip addr add \$2/24 dev \$1
echo MASTER > "$T_DIR/ucarp.state"
EOS
cat >"$T_DIR/down.sh" <<EOS
#!/bin/sh
ip addr del \$2/24 dev \$1 2>/dev/null
echo BACKUP > "$T_DIR/ucarp.state"
EOS
chmod +x "$T_DIR/up.sh" "$T_DIR/down.sh"

start_ucarp() {
	echo INIT >"$T_DIR/ucarp.state"
	ip netns exec "$(ns U)" ucarp -i eth0 -s 10.77.0.2 -v 42 -p s3cret -a $VIP -b 1 -k "$1" \
		-u "$T_DIR/up.sh" -d "$T_DIR/down.sh" -f none >>"$T_DIR/ucarp.log" 2>&1 &
	PID_U=$!
	T_PIDS+=("$PID_U")
}
ustate() { cat "$T_DIR/ucarp.state"; }
wait_ustate() {
	local i
	for i in $(seq $(($2 * 20))); do
		[ "$(ustate)" = "$1" ] && return 0
		sleep 0.05
	done
	fail "ucarp: expected $1 within $2 s, is $(ustate)"
}
one_master() {
	local n=0
	[ "$(state A)" = MASTER ] && n=$((n + 1))
	[ "$(ustate)" = MASTER ] && n=$((n + 1))
	[ $n = 1 ] || fail "$n MASTERs: carpd $(state A), ucarp $(ustate) ($*)"
}

start_capture "$T_DIR/carp.pcap"

# 1. carpd first and faster.
start_carpd A --startup-demote 0 -i eth0 -s 10.77.0.1 -v 42 -p s3cret -a $VIP -b 1 -k 0
wait_state A MASTER 5
start_ucarp 50
wait_ustate BACKUP 3
sleep 4.5
one_master "carpd first"
[ "$(state A)" = MASTER ] || fail "carpd (faster) lost the election"
[ "$(counter A badauth)" = 0 ] || fail "carpd refused ucarp's HMAC"
ok "carpd first: carpd MASTER, ucarp BACKUP"

# ucarp takes over from a frozen carpd; carpd wakes as MASTER, ucarp yields.
kill -STOP "$PID_A"
wait_ustate MASTER 8
kill -CONT "$PID_A"
sleep 3
one_master "carpd woke"
[ "$(state A)" = MASTER ] || fail "carpd should be MASTER after waking"
[ "$(counter A ipackets)" -gt 0 ] || fail "carpd received nothing from ucarp"
[ "$(counter A badauth)" = 0 ] || fail "carpd refused ucarp's HMAC"
ok "ucarp took over from frozen carpd; one MASTER after it woke"

kill -TERM "$PID_A" "$PID_U"
wait "$PID_A" "$PID_U" 2>/dev/null
in_ns U ip addr del $VIP/24 dev eth0 2>/dev/null

# 2. ucarp first and faster.
start_ucarp 0
wait_ustate MASTER 8
start_carpd A --startup-demote 0 -i eth0 -s 10.77.0.1 -v 42 -p s3cret -a $VIP -b 1 -k 50
wait_state A BACKUP 2
sleep 4.5
one_master "ucarp first"
[ "$(ustate)" = MASTER ] || fail "ucarp (faster) lost the election"
[ "$(counter A badauth)" = 0 ] || fail "carpd refused ucarp's HMAC"
ok "ucarp first: ucarp MASTER, carpd BACKUP"

kill -STOP "$PID_U"
wait_state A MASTER 8
has_addr A $VIP || fail "carpd MASTER lacks $VIP"
kill -CONT "$PID_U"
sleep 3
one_master "ucarp woke"
[ "$(ustate)" = MASTER ] || fail "ucarp should be MASTER after waking"
has_addr A $VIP && fail "carpd kept $VIP after stepping down"
ok "carpd took over from frozen ucarp; one MASTER after it woke"

kill -TERM "$PID_A"
wait "$PID_A"
stop_capture

# Every carpd advertisement: decoded as CARP, checksum good.
fields=$(tshark -r "$T_DIR/carp.pcap" -o ip.try_heuristic_first:TRUE -Y "ip.src == 10.77.0.1" \
	-T fields -e carp.vhid -e carp.checksum.status 2>/dev/null)
total=$(echo "$fields" | grep -c .)
good=$(echo "$fields" | grep -c $'^42\t1$')
[ "$total" -gt 5 ] || fail "only $total carpd advertisements captured"
[ "$good" = "$total" ] || fail "$((total - good)) of $total carpd advertisements not CARP with a good checksum"
ok "tshark: all $total carpd advertisements are CARP vhid 42 with a correct checksum"

# redundctl decodes the same capture: one JSON object a packet, agreeing with tshark.
"$REDUNDCTL" decode carp "$T_DIR/carp.pcap" >"$T_DIR/decoded.json" || fail "decode carp failed"
/usr/bin/python3 - "$T_DIR/decoded.json" "$total" <<'PY' || fail "decode carp disagrees"
import json, sys
pk = [json.loads(l) for l in open(sys.argv[1])]
mine = [p for p in pk if p["src"] == "10.77.0.1"]
theirs = [p for p in pk if p["src"] == "10.77.0.2"]
assert len(mine) == int(sys.argv[2]), (len(mine), sys.argv[2])
assert theirs, "no ucarp packets decoded"
for p in pk:
    assert p["checksum_ok"] and p["ttl_ok"] and p["vhid"] == 42 and p["version"] == 2, p
    assert p["authlen"] == 7 and p["dst"] == "224.0.0.18", p
assert any(p["advskew"] == 50 for p in theirs + mine)
PY
ok "redundctl decode carp: $(wc -l <"$T_DIR/decoded.json") packets, all valid, same count as tshark"

# With the key and the address, every HMAC (carpd's and ucarp's) verifies; with another key none.
"$REDUNDCTL" decode carp "$T_DIR/carp.pcap" --pass s3cret --addr $VIP >"$T_DIR/hmac.json" ||
	fail "decode carp --pass failed"
n=$(grep -c '"hmac_ok": true' "$T_DIR/hmac.json")
[ "$n" = "$(wc -l <"$T_DIR/hmac.json")" ] || fail "only $n HMACs verify with the right key"
"$REDUNDCTL" decode carp "$T_DIR/carp.pcap" --pass wrong --addr $VIP >"$T_DIR/hmac.json"
n=$(grep -c '"hmac_ok": true' "$T_DIR/hmac.json")
[ "$n" = 0 ] || fail "$n HMACs verify with a wrong key"
ok "decode carp --pass: every carpd and ucarp HMAC verifies with the key, none without"
exit 0
