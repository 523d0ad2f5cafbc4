#!/bin/bash
# Two carpd hosts on a bridge: one MASTER holding the address; failover when
# the master crashes (SIGKILL) or freezes (SIGSTOP); failback with preempt;
# a frozen master that wakes up yields to nobody and the cluster settles on
# one MASTER; SIGTERM hands over at once through the bow-out advertisement.
. "$(dirname "$0")/lib.sh"
require_netns
make_bridge
add_host A 1
add_host B 2
VIP=10.77.0.100

# advbase 0: A advertises every 98 ms (skew 25), B every 156 ms (skew 40); A's
# master-down (293 ms) outlasts B's interval, so a restarted A hears B and preempts.
start_carpd A --startup-demote 0 -i eth0 -v 7 -p s3cret -a $VIP/24 -b 0 -k 25 -P
start_carpd B --startup-demote 0 -i eth0 -v 7 -p s3cret -a $VIP/24 -b 0 -k 40
wait_state A MASTER 5
wait_state B BACKUP 5
sleep 0.5
[ "$(state A)" = MASTER ] && [ "$(state B)" = BACKUP ] || fail "election did not hold"
has_addr A $VIP || fail "MASTER A lacks $VIP"
has_addr B $VIP && fail "BACKUP B holds $VIP"
[ "$(neigh_mac $VIP)" = "$(mac_of A)" ] || fail "client does not resolve $VIP to A"
ok "one MASTER (A) holds $VIP, B is BACKUP"

# Crash: SIGKILL leaves A's address behind, as a dead host would; B takes over.
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null # reaped quietly
wait_state B MASTER 5
has_addr B $VIP || fail "new MASTER B lacks $VIP"
grep -q "master down timer expired" "$T_DIR/B.log" || fail "B took over for another reason"
# The client's existing entry follows B's gratuitous ARP, without asking again.
sleep 0.2
in_ns BR ip neigh show $VIP | grep -qi "$(mac_of B)" || fail "client's ARP entry for $VIP is not B's"
ok "failover on crash: B MASTER, client's ARP follows"

# Failback: A restarts (start-up removes its stale address), preempts the slower B.
in_ns A ip addr del $VIP/24 dev eth0
start_carpd A --startup-demote 0 -i eth0 -v 7 -p s3cret -a $VIP/24 -b 0 -k 25 -P
wait_state A MASTER 5
wait_state B BACKUP 5
grep -q "preempting a slower master" "$T_DIR/A.log" || fail "A did not preempt"
has_addr B $VIP && fail "B kept $VIP after stepping down"
has_addr A $VIP || fail "A lacks $VIP after failback"
ok "failback with preempt: A MASTER again, B released $VIP"

# Freeze: a stopped master is taken over; when it wakes, one MASTER remains.
kill -STOP "$PID_A"
wait_state B MASTER 5
ok "failover on freeze: B MASTER"
kill -CONT "$PID_A"
sleep 1
[ "$(masters A B)" = 1 ] || fail "two or no MASTERs after the frozen host woke ($(state A)/$(state B))"
[ "$(state A)" = MASTER ] || fail "A (faster, preempt) should be MASTER, is $(state A)"
has_addr B $VIP && fail "B kept $VIP"
ok "frozen master woke up: one MASTER (A)"

# SIGTERM: bow-out (advbase 255/advskew 255) lets the BACKUP take over at once.
# OpenBSD's rule needs advbase >= 1 on the backup, so this part runs at advbase 1.
kill -TERM "$PID_A" "$PID_B"
wait "$PID_A" "$PID_B" 2>/dev/null
has_addr A $VIP && fail "A left $VIP behind on SIGTERM"
start_carpd A --startup-demote 0 -i eth0 -v 8 -p s3cret -a 10.77.0.101/24 -b 1 -k 0
wait_state A MASTER 6
start_carpd B --startup-demote 0 -i eth0 -v 8 -p s3cret -a 10.77.0.101/24 -b 1 -k 100
wait_state B BACKUP 2
sleep 1.2
kill -TERM "$PID_A"
wait "$PID_A"
rc=$?
[ $rc = 0 ] || fail "carpd exited with $rc on SIGTERM"
# B's own master-down is 3 x 1.39 s: taking over well before it means the bow-out worked.
wait_state B MASTER 1
grep -q "bow-out" "$T_DIR/B.log" || fail "B did not take over on the bow-out advertisement"
has_addr A 10.77.0.101 && fail "A did not remove its address on SIGTERM"
has_addr B 10.77.0.101 || fail "B lacks the address after hand-over"
ok "SIGTERM: bow-out, A removed its address, B MASTER at once"
exit 0
