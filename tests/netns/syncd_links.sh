#!/bin/bash
# Redundant sync links (-i repeated), secure mode: A and B share two links,
# eth0 through the bridge (preferred) and sl2, a direct cable. A opens 1,000
# new UDP connections a second for 6 s; after 2 s A's bridge port goes down
# (A loses carrier on eth0; B's eth0 keeps its carrier and only goes
# silent). Both move to sl2 within a second (A by carrier, B by silence),
# and B's kernel ends with every one of A's 6,000 connections, once each:
# nothing the dead link swallowed is lost (the channel resends it) and
# nothing comes twice (the HELLO copies each link carries are dropped
# before the channel: dups, never replayed). Then the port comes back and
# both return to eth0. Reports covered: conntrackd's redundant dedicated
# links (vyos conntrack-sync "interface eth0, eth1"; users asking for the
# failover of the sync link itself).
. "$(dirname "$0")/synclib.sh"
sync_pair
"$REDUNDCTL" sync genkey "$T_DIR/key" >/dev/null || fail "genkey"
ip link add sl2 netns "$(ns A)" type veth peer name sl2 netns "$(ns B)" || fail "veth sl2"
for h in A:1 B:2; do
	in_ns "${h%:*}" ip addr add "10.78.0.${h#*:}/24" dev sl2
	in_ns "${h%:*}" ip link set sl2 up
done
# A's own connections: UDP to 10.99.0.0/16 out of a veth (via a gateway with a
# static neighbour entry: no ARP for 6,000 addresses), tracked on output.
in_ns A ip link add out0 type veth peer name out1
in_ns A ip addr add 10.98.0.1/24 dev out0
in_ns A ip link set out0 up
in_ns A ip link set out1 up
in_ns A ip neigh add 10.98.0.2 lladdr 02:00:00:00:00:02 dev out0 nud permanent
in_ns A ip route add 10.99.0.0/16 via 10.98.0.2 dev out0
in_ns A nft -f - <<'EOF' || fail "nft on A"
table inet f {
	chain out {
		type filter hook output priority 0;
		ct state new counter
	}
}
EOF

start_syncd A -i eth0 -i sl2 -k "$T_DIR/key" --no-bulk
start_syncd B -i eth0 -i sl2 -k "$T_DIR/key" --no-bulk
# links NAME: "IF:carries|standby:up|down ..." from NAME's JSON status.
links() {
	"$REDUNDCTL" --control "$T_DIR/$1.sock" sync status --json | /usr/bin/python3 -c '
import json, sys
print(" ".join("%s:%s:%s" % (l["interface"], "carries" if l["carries"] else "standby",
      "up" if l["running"] else "down") for l in json.load(sys.stdin)["links"]))'
}
carries() { links "$1" | grep -q "$2:carries"; }
sleep 1
[ "$(links A)" = "eth0:carries:up sl2:standby:up" ] || fail "A's links at start: $(links A)"
[ "$(links B)" = "eth0:carries:up sl2:standby:up" ] || fail "B's links at start: $(links B)"
# dups NAME: HELLO copies NAME dropped (each link brings one).
dups() {
	"$REDUNDCTL" --control "$T_DIR/$1.sock" sync status --json |
		/usr/bin/python3 -c 'import json, sys; print(sum(l["dups"] for l in json.load(sys.stdin)["links"]))'
}
for h in A B; do
	[ "$(dups $h)" -ge 1 ] || fail "$h dropped no HELLO copy (are HELLOs sent over both links?)"
	[ "$(sstat $h channel replayed)" = 0 ] ||
		fail "$h: HELLO copies reached the channel (replayed $(sstat $h channel replayed))"
done
ok "two links each: eth0 carries, sl2 stands by; the HELLO copies sl2 brings are dropped before the channel"

in_ns A /usr/bin/python3 - <<'EOF' &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = time.monotonic()
for i in range(6000):
    s.sendto(b"x", ("10.99.%d.%d" % (i // 250, 1 + i % 250), 20000))
    d = t + (i + 1) / 1000 - time.monotonic()
    if d > 0:
        time.sleep(d)
EOF
load=$!
T_PIDS+=($load)
sleep 2
t0=$(date +%s%N)
in_ns BR ip link set "v1-$$" down
# switched NAME: ms from t0 to NAME's log line saying sl2 carries (empty: none yet).
switched() {
	local t
	t=$(grep -m1 "sync link sl2 now carries" "$T_DIR/$1.log" | cut -d' ' -f1)
	[ -n "$t" ] && echo $((($(date -d "$t" +%s%N) - t0) / 1000000))
}
for i in $(seq 40); do
	[ -n "$(switched A)" ] && [ -n "$(switched B)" ] && break
	sleep 0.05
done
ta=$(switched A)
tb=$(switched B)
echo "sl2 carries after: A ${ta:-never} ms (carrier lost), B ${tb:-never} ms (silence)"
[ -n "$ta" ] && [ "$ta" -lt 1000 ] || fail "A did not move to sl2 within a second: $(links A)"
[ -n "$tb" ] && [ "$tb" -lt 1000 ] || fail "B did not move to sl2 within a second: $(links B)"
carries A sl2 && carries B sl2 || fail "sl2 does not carry: A $(links A), B $(links B)"
ok "the first link dies under load: A and B move to sl2 within a second"
wait $load || fail "the load generator failed"

flows() { in_ns "$1" conntrack -L -p udp -d 10.99.0.0/16 2>/dev/null | grep -c "dport=20000"; }
na=$(flows A)
for i in $(seq 100); do
	[ "$(flows B)" -ge "$na" ] && break
	sleep 0.1
done
nb=$(flows B)
echo "connections: A $na, B $nb"
[ "$na" = 6000 ] || fail "A tracked $na of the 6000 connections (the load did not run as planned)"
[ "$nb" = "$na" ] || fail "B's kernel has $nb of A's $na connections"
[ "$(in_ns B conntrack -L -p udp -d 10.99.0.0/16 2>/dev/null | awk '{print $4, $5, $6}' | sort | uniq -d | wc -l)" = 0 ] ||
	fail "B's kernel has a connection twice"
for h in A B; do
	[ "$(sstat $h channel lost)" = 0 ] && [ "$(sstat $h channel gaveup)" = 0 ] ||
		fail "$h's channel lost messages: lost $(sstat $h channel lost), gaveup $(sstat $h channel gaveup)"
done
# Resent DATA whose ACKs the dead link swallowed arrives twice: the channel refuses the copy.
echo "replayed (resends of what arrived, refused by the channel): A $(sstat A channel replayed), B $(sstat B channel replayed)"
ok "B's kernel has all $nb of A's connections, once each; nothing lost"

in_ns BR ip link set "v1-$$" up
for i in $(seq 60); do
	carries A eth0 && carries B eth0 && break
	sleep 0.05
done
carries A eth0 && carries B eth0 || fail "eth0 back: not preferred again: A $(links A), B $(links B)"
"$REDUNDCTL" --control "$T_DIR/B.sock" sync status | grep "^link " || fail "no link lines in the text status"
ok "eth0 back: both return to it"
exit 0
