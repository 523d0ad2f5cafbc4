#!/bin/bash
# syncd applies SIGHUP without a restart (issue 11): a key rotated on both
# members in three steps (add the new key, seal with it, drop the old one),
# each a SIGHUP, keeps states flowing from A to B with no envelope refused
# (unknownkey, badtag 0); a peer list changed on A moves where A sends
# (a wrong peer: B hears nothing; the right one back: states flow again),
# and B, key 1 dropped, no longer opens envelopes sealed with it;
# a broken file (a key file that does not exist, a password-readable key)
# keeps the running configuration: refused, counted, said why (status and
# log), and states still flow. Covers what keepalived and conntrack-tools
# users ask: reload without a restart that drops the sync
# (acassen/keepalived#1850: a reload that does not apply what changed).
. "$(dirname "$0")/synclib.sh"
sync_pair

"$REDUNDCTL" sync genkey "$T_DIR/k1" --keyid 1 >/dev/null || fail "genkey 1"
"$REDUNDCTL" sync genkey "$T_DIR/k2" --keyid 2 >/dev/null || fail "genkey 2"
# conf NAME PEER KEYLINES...: NAME's file, unicast to PEER.
conf() {
	local name=$1 peer=$2
	shift 2
	{
		echo "peer $peer"
		printf '%s\n' "$@"
	} >"$T_DIR/$name.conf"
}
conf A 10.77.0.2 "key $T_DIR/k1"
conf B 10.77.0.1 "key $T_DIR/k1"
start_syncd A --config "$T_DIR/A.conf"
start_syncd B --config "$T_DIR/B.conf"
sleep 0.5

# flows N: a new TCP entry inserted on A (source port 4000N) reaches B's kernel.
flows() {
	in_ns A conntrack -I -p tcp -s 10.1.0.1 -d 10.2.0.1 --sport "4000$1" --dport 80 \
		--state ESTABLISHED -u SEEN_REPLY,ASSURED -t 600 >/dev/null 2>&1 ||
		fail "conntrack -I on A ($1)"
	wait_ct B "sport=4000$1 dport=80" "${2:-3}"
}
# hup NAME...: SIGHUP, then wait until each one's applied or refused count moved.
hup() {
	local n before
	for n in "$@"; do
		before=$(sstat "$n" reloads applied)/$(sstat "$n" reloads refused)
		eval "kill -HUP \$PID_$n"
		for i in $(seq 40); do
			[ "$(sstat "$n" reloads applied)/$(sstat "$n" reloads refused)" != "$before" ] &&
				break
			sleep 0.05
		done
	done
}
flows 1 || fail "no state from A to B before any reload"
ok "key 1: a state flows from A to B"

# 1. Both add key 2, still sealing with key 1.
conf A 10.77.0.2 "key $T_DIR/k1" "key $T_DIR/k2"
conf B 10.77.0.1 "key $T_DIR/k1" "key $T_DIR/k2"
hup A B
flows 2 || fail "no state after both added key 2"
# 2. Both seal with key 2.
conf A 10.77.0.2 "key $T_DIR/k1" "key $T_DIR/k2" "send-keyid 2"
conf B 10.77.0.1 "key $T_DIR/k1" "key $T_DIR/k2" "send-keyid 2"
hup A B
flows 3 || fail "no state after both seal with key 2"
# 3. Both drop key 1.
conf A 10.77.0.2 "key $T_DIR/k2"
conf B 10.77.0.1 "key $T_DIR/k2"
hup A B
flows 4 || fail "no state after both dropped key 1"
for n in A B; do
	[ "$(sstat $n reloads applied)" = 3 ] || fail "$n: $(sstat $n reloads applied) reloads applied, want 3"
	[ "$(sstat $n channel unknownkey)/$(sstat $n channel badtag)" = 0/0 ] ||
		fail "$n refused envelopes: unknownkey/badtag $(sstat $n channel unknownkey)/$(sstat $n channel badtag)"
done
grep -q "configuration reloaded from $T_DIR/A.conf: 1 key(s) (ids 2), sealing with key id 2" \
	"$T_DIR/A.log" || fail "A did not log the rotation: $(grep reload "$T_DIR/A.log")"
ok "key rotated in three SIGHUPs on both: states flow, no envelope refused, no restart"

# Peers: A sends to a wrong address, then to B again.
conf A 10.77.0.9 "key $T_DIR/k2"
hup A
! flows 5 1 || fail "a state reached B while A's only peer was 10.77.0.9"
conf A 10.77.0.2 "key $T_DIR/k2"
hup A
flows 6 || fail "no state after A's peer was B again"
ok "peers reloaded: a wrong peer, then B again (states flow)"

# A broken file keeps the running configuration and says why.
conf A 10.77.0.2 "key $T_DIR/k2" "key $T_DIR/none.key"
hup A
[ "$(sstat A reloads refused)" = 1 ] || fail "a missing key file: not refused"
sstat A reloads last_refusal | grep -qF "key file $T_DIR/none.key: cannot open" ||
	fail "refusal does not say why: $(sstat A reloads last_refusal)"
grep -q "reload refused, running configuration kept: key file $T_DIR/none.key" "$T_DIR/A.log" ||
	fail "refusal not logged"
cp "$T_DIR/k2" "$T_DIR/k2open"
chmod 644 "$T_DIR/k2open"
conf A 10.77.0.2 "key $T_DIR/k2open"
hup A
[ "$(sstat A reloads refused)" = 2 ] || fail "a key file others can read: not refused"
conf A 10.77.0.2 "mode plain"
hup A
[ "$(sstat A reloads refused)" = 3 ] || fail "a mode change: not refused"
flows 7 || fail "no state after the refused reloads"
ok "broken files refused (missing key, readable key, mode change), said why, states still flow"
"$REDUNDCTL" --control "$T_DIR/A.sock" sync status | grep -q "^reloads: applied 5 refused 3, last refused: " ||
	fail "text status: $("$REDUNDCTL" --control "$T_DIR/A.sock" sync status | grep reloads)"

# The rotation is real: B dropped key 1, so A sealing with key 1 again is not heard.
conf A 10.77.0.2 "key $T_DIR/k1"
hup A
! flows 8 1 || fail "B took a state sealed with key 1, which it dropped"
[ "$(sstat B channel unknownkey)" -gt 0 ] || fail "B counted no unknownkey"
ok "B no longer opens key 1: its envelopes are counted unknownkey"
