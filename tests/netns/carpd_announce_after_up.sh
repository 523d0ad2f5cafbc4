#!/bin/bash
# With addresses managed by scripts, a new MASTER announces its addresses
# (gratuitous ARP) only once its up script ended: the script is what makes
# the host ready for the traffic (carpd-up-commit.sh writes the peer's
# states into conntrack, then adds the address). Announcing at the
# transition sent the hosts' traffic to a firewall without its states: in
# netns-fw_commit under ASan+UBSan, where redundctl starts slowly, 42 of 50
# streams were reset in those milliseconds. Here the up script takes 0.8 s;
# the first gratuitous ARP for the address must come after it ended, and
# one must come. An up script that hangs does not keep the address
# unannounced: it goes 5 s (CD_ANNOUNCE_WAIT_MAX) after it was due. Report: keepalived #2254 (VIPs installed before
# conntrackd -c put the entries into the kernel: the new master resets the
# connections in between).
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd tcpdump
make_bridge
add_host A 1

cat >"$T_DIR/up.sh" <<EOC
#!/bin/bash
[ -e "$T_DIR/hang" ] && sleep 30
sleep 0.8
ip addr add "\$2/\$3" dev "\$1"
date +%s.%N >"$T_DIR/up.end"
EOC
cat >"$T_DIR/down.sh" <<EOC
#!/bin/bash
ip addr del "\$2/\$3" dev "\$1" 2>/dev/null
exit 0
EOC
chmod 0755 "$T_DIR/up.sh" "$T_DIR/down.sh"
cat >"$T_DIR/A.conf" <<EOC
startup-demote 0
vhost eth0 1
  pass announce
  addr 10.77.0.100/24
  advbase 0
  advskew 50
  upscript $T_DIR/up.sh
  downscript $T_DIR/down.sh
  xparam 24
EOC

# start_arp_capture_and_carpd FILE: ARP on the bridge into FILE (sets cap), then A's
# carpd, waited for as MASTER.
start_arp_capture_and_carpd() {
	ip netns exec "$(ns BR)" tcpdump -i br0 --immediate-mode -U -s 0 -w "$1" arp \
		>/dev/null 2>&1 &
	cap=$!
	T_PIDS+=("$cap")
	sleep 0.5
	start_carpd A --config "$T_DIR/A.conf"
	wait_state A MASTER 5
}
# first_announce FILE: the time of the first ARP naming 10.77.0.100 as its
# sender in FILE (the announcement), once the capture has stopped.
first_announce() {
	kill -INT "$cap" 2>/dev/null
	wait "$cap" 2>/dev/null
	tcpdump -tt -n -r "$1" 2>/dev/null |
		awk '/tell 10\.77\.0\.100|10\.77\.0\.100 is-at/ { print $1; exit }'
}

start_arp_capture_and_carpd "$T_DIR/arp.pcap"
for _ in $(seq 50); do
	[ -e "$T_DIR/up.end" ] && break
	sleep 0.1
done
[ -e "$T_DIR/up.end" ] || fail "the up script did not end within 5 s of MASTER"
sleep 1
first=$(first_announce "$T_DIR/arp.pcap")
[ -n "$first" ] || fail "no gratuitous ARP for 10.77.0.100 after the up script ended"
end=$(cat "$T_DIR/up.end")
after=$(/usr/bin/python3 -c "print(f'{($first - $end) * 1000:.1f}')")
echo "up script ended at $end, first gratuitous ARP at $first ($after ms after)"
/usr/bin/python3 -c "import sys; sys.exit(0 if $first >= $end else 1)" ||
	fail "the address was announced ${after#-} ms before the up script ended"
ok "the address was announced once the up script ended ($after ms after)"

# 2. The up script hangs: the announcement goes 5 s after it was due.
kill "$PID_A" 2>/dev/null
wait "$PID_A" 2>/dev/null
touch "$T_DIR/hang"
rm -f "$T_DIR/up.end"
in_ns A ip addr del 10.77.0.100/24 dev eth0 2>/dev/null
start_arp_capture_and_carpd "$T_DIR/arp2.pcap"
t_master=$(date +%s.%N)
sleep 6.5
first=$(first_announce "$T_DIR/arp2.pcap")
[ -n "$first" ] || fail "a hanging up script kept the address unannounced for 6.5 s"
after=$(/usr/bin/python3 -c "print(f'{$first - $t_master:.2f}')")
/usr/bin/python3 -c "import sys; sys.exit(0 if 4.5 <= $first - $t_master <= 6.0 else 1)" ||
	fail "with a hanging up script the address was announced $after s after MASTER, not about 5 s"
grep -q "up script still running after 5 s: announcing anyway" "$T_DIR/A.log" ||
	fail "carpd did not log the overdue announcement"
ok "a hanging up script: the address announced $after s after MASTER, and logged"
