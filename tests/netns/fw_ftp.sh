#!/bin/bash
# An FTP session keeps its helper and its expectations across a failover
# (issue 16). Active-mode
# FTP through the pair: the data connection comes from the server, from the
# WAN, which the policy accepts only as RELATED, i.e. when the firewall's FTP
# helper saw the client's PORT command on the control connection and expects
# it. Each firewall attaches the helper to new connections to port 21 (an
# nftables ct helper object); an entry syncd writes for a peer is not new,
# so F2 has the helper on F1's control connection only because syncd carried
# its name (secure mode) and created the entry with it. F1 crashes after the
# client announced a data connection (PORT: an expectation F1's helper made,
# which syncd carries to F2) and before the server opens it: that connection
# and a later one of the same session (announced to F2's helper) pass F2. (conntrackd users report the same need, and its
# ExpectationSync/helper-name sync; vyos-1x's expect-sync ftp, and the FTP
# helper's sequence pick-up for injected entries, Linux 7be54ca4764b.)
. "$(dirname "$0")/fwlib.sh"
fw_topology
for f in F1 F2; do
	in_ns $f nft -f - <<'EOF2' || fail "helper rules on $f"
table inet helpers {
	ct helper ftp-std {
		type "ftp" protocol tcp;
	}
	chain pre {
		type filter hook prerouting priority filter;
		iifname "lan" tcp dport 21 ct helper set "ftp-std"
	}
}
EOF2
done
fw_pair_up
ip netns exec "$(ns S)" /usr/bin/python3 "$FW_DIR/fw_ftp.py" server 10.20.0.100 \
	>"$T_DIR/ftp-server.log" 2>&1 &
T_PIDS+=($!)
sleep 0.3
ip netns exec "$(ns C)" /usr/bin/python3 "$FW_DIR/fw_ftp.py" client 10.20.0.100 \
	"$T_DIR/ftp-ready" "$T_DIR/ftp-go" >"$T_DIR/ftp-client.log" 2>&1 &
client=$!
T_PIDS+=($client)

# helped FN: FN's entry of the control connection, with its helper.
helped() { in_ns "$1" conntrack -L -p tcp --dport 21 2>/dev/null | grep -q 'helper=ftp'; }
fw_until 10 test -f "$T_DIR/ftp-ready" || fail "no first transfer: $(cat "$T_DIR/ftp-client.log")"
fw_until 5 helped F2 || {
	in_ns F2 conntrack -L -p tcp --dport 21
	fail "F2's entry of the control connection has no helper"
}
in_ns F2 conntrack -L -p tcp --dport 21 2>/dev/null | sed 's/^/F2: /'
# expected FN: whether FN holds an expectation of a connection to the client.
expected() { in_ns "$1" conntrack -L expect 2>/dev/null | grep -q 'dst=10.10.0.100'; }
fw_until 5 expected F2 || {
	in_ns F1 conntrack -L expect
	fail "F2 holds no expectation for the announced data connection"
}
in_ns F2 conntrack -L expect 2>/dev/null | sed 's/^/F2 expects: /'
fw_event "crash"
fw_power_off F1
fw_wait_holds F2 15 $LAN_VIP $WAN_VIP || fail "F2 did not take both addresses"
touch "$T_DIR/ftp-go"
wait $client
rc=$?
cat "$T_DIR/ftp-client.log"
echo "F2: nohelper $(fw_sync_stat F2 conntrack nohelper), exp_created $(fw_sync_stat F2 conntrack exp_created), exp_nohelper $(fw_sync_stat F2 conntrack exp_nohelper)"
[ $rc = 0 ] || fail "the FTP session did not open its data connection through F2"
exit 0
