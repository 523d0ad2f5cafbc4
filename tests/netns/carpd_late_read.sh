#!/bin/bash
# A backup woken late reads its master's queued advertisement before serving
# its master-down timer (carpd(8), "Fast failover"). A is MASTER, B BACKUP
# (advbase 1, advskew 100: master-down 4.17 s). B's input drops CARP and B is
# stopped (SIGSTOP) at once; 4.7 s later, with B's timer run out, the drop
# goes, one of A's advertisements (every 1 s) reaches B's socket, and B is
# continued. B finds the timer and the advertisement ready together: it must
# read the advertisement first and stay BACKUP, counting takeovers_averted.
# Serving the timer first (epoll's order: the timer became ready first) made
# B MASTER until the next read took it back: two transitions on a live master.
. "$(dirname "$0")/lib.sh"
require_netns
require_cmd nft
make_bridge
add_host A 1
add_host B 2
VIP=10.77.0.100

start_carpd A --startup-demote 0 -i eth0 -v 5 -p late -a $VIP/24 -b 1 -k 0
wait_state A MASTER 6
start_carpd B --startup-demote 0 -i eth0 -v 5 -p late -a $VIP/24 -b 1 -k 100
wait_state B BACKUP 3
sleep 1.5
[ "$(state B)" = BACKUP ] || fail "B is $(state B) before the test"
[ "$(vhost_field B takeovers_averted)" = 0 ] || fail "B counts takeovers_averted before the test"
before=$(grep -c -- "-> MASTER" "$T_DIR/B.log")
ok "A MASTER, B BACKUP (master-down 4.17 s)"

in_ns B nft -f - <<'NFT' || fail "nft"
table inet late { chain in { type filter hook input priority 0; ip protocol 112 drop; }; }
NFT
kill -STOP "$PID_B"
sleep 4.7
in_ns B nft delete table inet late || fail "nft delete"
sleep 1.3 # at least one advertisement from A queues on B's socket
kill -CONT "$PID_B"
sleep 1

after=$(grep -c -- "-> MASTER" "$T_DIR/B.log")
[ "$after" = "$before" ] || {
	grep -- "MASTER" "$T_DIR/B.log" | tail -n 4 | sed 's/^/    /' >&2
	fail "B went MASTER on its late timer although A's advertisement was queued"
}
[ "$(state B)" = BACKUP ] || fail "B is $(state B)"
[ "$(state A)" = MASTER ] || fail "A is $(state A)"
n=$(vhost_field B takeovers_averted)
[ "$n" = 1 ] || fail "B's takeovers_averted is $n, not 1"
ok "B woke with its timer run out and A's advertisement queued: read it first, stayed BACKUP (takeovers_averted $n)"

# A master that has really stopped leaves nothing queued: B takes over.
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null
wait_state B MASTER 6
ok "A crashed: B MASTER"
exit 0
