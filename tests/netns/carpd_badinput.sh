#!/bin/bash
# Bad advertisements injected from another namespace (scapy): wrong TTL,
# bad checksum, wrong version, wrong HMAC, truncated. Each claims a better
# master than the running one, so accepting it would change the state. Each
# is refused, counted under its own reason (read through
# `redundctl carp status --json`), and changes nothing. A valid one built
# the same way is accepted (the control that the injection path works).
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd tshark
require_scapy
make_bridge
add_host A 1
add_host E 9
VIP=10.77.0.100
INJ="$(dirname "$0")/inject_carp.py"

start_capture "$T_DIR/bad.pcap"
start_carpd A --startup-demote 0 -i eth0 -v 5 -p s3cret -a $VIP/24 -b 1 -k 100
wait_state A MASTER 6
transitions() { grep -c -- ' -> ' "$T_DIR/A.log"; }
before=$(transitions)

inject() { in_ns E /usr/bin/python3 "$INJ" eth0 10.77.0.9 5 "$1" $VIP "$2" "$3" || fail "scapy"; }

check_refused() { # KIND COUNTER [PASS]
	local kind=$1 stat=$2 pass=${3:-s3cret} was now
	was=$(counter A "$stat")
	inject "$pass" "$kind" 3
	sleep 0.3
	now=$(counter A "$stat")
	[ "$now" = $((was + 3)) ] || fail "$kind: $stat went from $was to $now, expected +3"
	[ "$(state A)" = MASTER ] || fail "$kind: state changed to $(state A)"
	[ "$(transitions)" = "$before" ] || fail "$kind: a state transition happened"
	has_addr A $VIP || fail "$kind: address removed"
	ok "$kind: refused, counted as $stat, nothing changed"
}

check_refused badttl badttl
check_refused badsum badsum
check_refused badver badver
check_refused badauth badauth
check_refused short badlen
for s in badttl badsum badver badauth badlen; do
	[ "$(counter A $s)" = 3 ] || fail "$s is $(counter A $s), expected 3 (a refusal counted twice?)"
done

# Control: the same advertisement with the right TTL, checksum, version and key is accepted.
inject s3cret valid 1
wait_state A BACKUP 2
has_addr A $VIP && fail "valid better advertisement: A stepped down but kept $VIP"
ok "a valid better advertisement from the same injector makes A step down"

# The checksum checks used elsewhere can fail: tshark and redundctl both flag
# exactly the three injected bad-checksum packets.
stop_capture
bad=$(tshark -r "$T_DIR/bad.pcap" -o ip.try_heuristic_first:TRUE -Y "ip.src == 10.77.0.9" \
	-T fields -e carp.checksum.status 2>/dev/null | grep -c '^0$')
[ "$bad" = 3 ] || fail "tshark flags $bad injected packets with a bad checksum, expected 3"
"$REDUNDCTL" decode carp "$T_DIR/bad.pcap" >"$T_DIR/bad.json" || fail "decode carp failed"
n=$(grep '"src": "10.77.0.9"' "$T_DIR/bad.json" | grep -c '"checksum_ok": false')
[ "$n" = 3 ] || fail "redundctl flags $n packets with a bad checksum, expected 3"
n=$(grep -c '"error": "CARP header shorter than 36 bytes"' "$T_DIR/bad.json")
[ "$n" = 3 ] || fail "redundctl reports $n truncated packets, expected 3"
ok "tshark and redundctl decode carp flag the bad checksums and truncations"

# A file that is not a capture: refused, naming the file (not the first argument).
out=$("$REDUNDCTL" decode carp --pass s3cret "$T_DIR/A.log" 2>&1) && fail "decode carp read a log file"
echo "$out" | grep -qF "$T_DIR/A.log: not a pcap file" || fail "unexpected: $out"
ok "decode carp refuses a file that is not a pcap, naming it"
exit 0
