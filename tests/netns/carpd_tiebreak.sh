#!/bin/bash
# Equal backups elect one MASTER (the tie-break, carpd(8) "Ties"): A at advskew
# 0, B and C both at advskew 100 with preempt. A crashes (SIGKILL): B's and C's
# master-down timers run out together, and exactly one of them must be MASTER
# within two master-down intervals (2 x 3 x (1 + 100/256) s = 8.3 s) and stay
# the only one. Under OpenBSD's rule alone both step down on each other's
# equal advertisement, every master-down interval: no MASTER at all.
. "$(dirname "$0")/lib.sh"
require_netns
make_bridge
add_host A 1
add_host B 2
add_host C 3
VIP=10.77.0.100
MD=4.172 # 3 x (1 + 100/256) s

start_carpd A --startup-demote 0 -i eth0 -v 9 -p t1e -a $VIP/24 -b 1 -k 0 -P
wait_state A MASTER 6
start_carpd B --startup-demote 0 -i eth0 -v 9 -p t1e -a $VIP/24 -b 1 -k 100 -P
start_carpd C --startup-demote 0 -i eth0 -v 9 -p t1e -a $VIP/24 -b 1 -k 100 -P
wait_state B BACKUP 3
wait_state C BACKUP 3
sleep 1.5
[ "$(masters A B C)" = 1 ] && [ "$(state A)" = MASTER ] || fail "A is not the one MASTER"
ok "A MASTER, B and C (equal advskew 100) BACKUP"

# Transitions to MASTER in NAME's log since line FROM.
to_master() { tail -n +"$(($2 + 1))" "$T_DIR/$1.log" | grep -c -- "-> MASTER"; }
nb=$(wc -l <"$T_DIR/B.log")
nc=$(wc -l <"$T_DIR/C.log")

kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null
t0=$(date +%s.%N)
deadline=$(echo "$t0 + 2 * $MD" | bc)
# The election may pass through a moment with both MASTER (each announces
# once; the higher address yields on hearing the lower), so the holder is the
# one MASTER unchanged for an advertisement interval (1 s), found in time.
holder= last= since=$t0
while [ "$(echo "$(date +%s.%N) < $deadline" | bc)" = 1 ]; do
	now=$(date +%s.%N)
	m=none
	[ "$(masters B C)" = 1 ] && { [ "$(state B)" = MASTER ] && m=B || m=C; }
	if [ "$m" != "$last" ]; then
		last=$m
		since=$now
	fi
	[ $m != none ] && [ "$(echo "$now - $since >= 1" | bc)" = 1 ] && holder=$m && break
	sleep 0.05
done
[ -n "$holder" ] || fail "no single MASTER within 2 master-down intervals ($(state B)/$(state C))"
took=$(echo "$since - $t0" | bc)
ok "one MASTER ($holder) $(printf %.2f "$took") s after A crashed (limit $(echo "2 * $MD" | bc) s)"
grep -h "MASTER" "$T_DIR/B.log" "$T_DIR/C.log" | tail -n 4 | sed 's/^/    /'

# It stays the one MASTER for more than a master-down interval.
for i in $(seq 25); do
	[ "$(masters B C)" = 1 ] && [ "$(state $holder)" = MASTER ] ||
		fail "sample $i: not one MASTER any more ($(state B)/$(state C))"
	sleep 0.2
done
mb=$(to_master B "$nb")
mc=$(to_master C "$nc")
# At most one transient MASTER on the loser (both timed out together).
[ $((mb + mc)) -le 2 ] || fail "$mb + $mc transitions to MASTER after the crash (flapping)"
[ "$(to_master $holder "$([ $holder = B ] && echo "$nb" || echo "$nc")")" = 1 ] ||
	fail "$holder became MASTER more than once"
has_addr $holder $VIP || fail "MASTER $holder lacks $VIP"
other=$([ $holder = B ] && echo C || echo B)
has_addr $other $VIP && fail "BACKUP $other holds $VIP"
[ "$(neigh_mac $VIP)" = "$(mac_of $holder)" ] || fail "client does not resolve $VIP to $holder"
ok "$holder stays the one MASTER (transitions to MASTER: B $mb, C $mc), client follows it"
exit 0
