#!/bin/bash
# Captures as people have them (issue 11): a pcapng capture written by
# dumpcap of carpd's advertisements decodes like its pcap twin (editcap),
# every byte of the output; `dumpcap -i any` (Linux cooked v2) decodes the
# same advertisements; `redundctl decode carp -i eth0 -c 3` decodes three
# live advertisements and ends, and `redundctl decode pfsync -i eth0 -c 2`
# two live secure envelopes of syncd (counted: no key given, so shown as
# sealed). Wireshark has no pfsync dissector for Linux's captures, so this
# is how people look at them.
. "$(dirname "$0")/synclib.sh"
sync_pair dumpcap editcap

start_carpd A --startup-demote 0 -i eth0 -v 9 -a 10.77.0.100/24 -b 0 -k 50 -p secret
wait_state A MASTER 5
# dumpcap's default format is pcapng.
in_ns B timeout 10 dumpcap -q -i eth0 -f "ip proto 112" -c 5 -w "$T_DIR/carp.pcapng" \
	>/dev/null 2>&1 || fail "dumpcap on B"
[ "$(head -c 4 "$T_DIR/carp.pcapng" | od -An -tx1 | tr -d ' ')" = 0a0d0d0a ] ||
	fail "dumpcap did not write pcapng"
# Its twin keeps the nanoseconds dumpcap wrote (nsecpcap), so the times match too.
editcap -F nsecpcap "$T_DIR/carp.pcapng" "$T_DIR/carp.pcap" || fail "editcap"
"$REDUNDCTL" decode carp "$T_DIR/carp.pcapng" --pass secret --addr 10.77.0.100 \
	>"$T_DIR/ng.json" || fail "decode pcapng"
"$REDUNDCTL" decode carp "$T_DIR/carp.pcap" --pass secret --addr 10.77.0.100 \
	>"$T_DIR/pcap.json" || fail "decode pcap"
[ "$(wc -l <"$T_DIR/ng.json")" = 5 ] || fail "pcapng: $(wc -l <"$T_DIR/ng.json") packets, want 5"
cmp -s "$T_DIR/ng.json" "$T_DIR/pcap.json" || fail "pcapng and pcap decode otherwise:
$(diff "$T_DIR/ng.json" "$T_DIR/pcap.json" | head)"
grep -c '"vhid": 9, "advskew": 50.*"hmac_ok": true' "$T_DIR/ng.json" | grep -qx 5 ||
	fail "not 5 advertisements of vhid 9 with a good HMAC: $(head -2 "$T_DIR/ng.json")"
ok "dumpcap's pcapng decodes like its pcap twin (5 advertisements, HMAC checked)"

in_ns B timeout 10 dumpcap -q -i any -f "ip proto 112" -c 3 -w "$T_DIR/any.pcapng" \
	>/dev/null 2>&1 || fail "dumpcap -i any on B"
"$REDUNDCTL" decode carp "$T_DIR/any.pcapng" >"$T_DIR/any.json" || fail "decode -i any capture"
[ "$(grep -c '"vhid": 9' "$T_DIR/any.json")" = 3 ] || fail "-i any: $(cat "$T_DIR/any.json")"
ok "dumpcap -i any (Linux cooked) decodes"

out=$(in_ns B timeout 10 "$REDUNDCTL" decode carp -i eth0 -c 3) || fail "live decode carp"
[ "$(grep -c '"vhid": 9' <<<"$out")" = 3 ] || fail "live: $out"
ok "decode carp -i eth0 -c 3: three live advertisements, then exit"

"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
start_syncd_in A SA -i eth0 -k "$T_DIR/key"
out=$(in_ns B timeout 10 "$REDUNDCTL" decode pfsync -i eth0 -c 2 --key "$T_DIR/key" 2>&1) ||
	fail "live decode pfsync: $out"
[ "$(grep -c '^{' <<<"$out")" -ge 2 ] || fail "live pfsync: $out"
ok "decode pfsync -i eth0 -c 2: live secure envelopes opened with the key"
