#!/bin/bash
# syncd --check / -t: the configuration checked as syncd would start it,
# nothing started (no socket, no conntrack, no state directory). A good
# file exits 0 and prints what would run (key ids, never key bytes); a bad
# one exits 1 with "file:line: message" or the key file's own message on
# stderr. Covers keepalived users' reports on -t: a missing file that
# exited 0 (acassen/keepalived#955) and its use as Ansible's `validate`.
# Any user: interface "lo", scratch paths.
# Usage: test_syncd_check.sh SYNCD REDUNDCTL
set -u
syncd=$1
redundctl=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
conf=$dir/syncd.conf

check() {
	rc=0
	out=$(timeout 10 "$syncd" "$@" 2>"$dir/err" </dev/null) || rc=$?
	err=$(cat "$dir/err")
}
bad() {
	local want=$1
	shift
	check "$@"
	[ "$rc" -eq 1 ] || fail "$*: exit $rc, want 1 (stderr: $err)"
	[ "$err" = "$want" ] || fail "$*: stderr '$err', want '$want'"
	[ -z "$out" ] || fail "$*: printed on stdout: $out"
}

"$redundctl" sync genkey "$dir/k1" --keyid 1 >/dev/null || fail "genkey"
"$redundctl" sync genkey "$dir/k2" --keyid 2 >/dev/null || fail "genkey"
cat >"$conf" <<CONF
interface lo
peer 192.0.2.2
key $dir/k1
key $dir/k2
send-keyid 2
state-dir $dir/state
control $dir/sock
CONF

for opt in --check -t; do
	check "$opt" -c "$conf"
	[ "$rc" -eq 0 ] || fail "$opt: good file: exit $rc: $err"
	[ -z "$err" ] || fail "$opt: good file: stderr: $err"
done
grep -qxF "syncd: configuration $conf OK" <<<"$out" || fail "no OK line: $out"
grep -qxF "unicast peers: 192.0.2.2, interface lo" <<<"$out" || fail "peers: $out"
grep -qxF "key $dir/k1: key id 1" <<<"$out" || fail "key 1: $out"
grep -qxF "key $dir/k2: key id 2 (seals)" <<<"$out" || fail "key 2: $out"
grep -qxF "creatorid kept in $dir/state/creatorid" <<<"$out" || fail "creatorid: $out"
secret=$(sed -n 's/^[^#]*[=: ]\([0-9a-fA-F]\{64\}\).*/\1/p' "$dir/k1" | head -1)
[ -z "$secret" ] || ! grep -qiF "$secret" <<<"$out" || fail "key bytes printed"
[ ! -e "$dir/sock" ] && [ ! -e "$dir/state" ] || fail "--check made the socket or state dir"
echo "ok: a good file exits 0, prints what would run (key ids only), makes nothing"

printf 'interface lo\npeer 192.0.2.2\nmode bogus\n' >"$conf"
bad "$conf:3: mode: expected 'secure' or 'plain', got 'bogus'" -t -c "$conf"
bad "$dir/none.conf: cannot open: No such file or directory" -t -c "$dir/none.conf"
printf 'peer 192.0.2.2\n' >"$conf"
bad "secure mode needs a 'key' file (redundctl sync genkey FILE makes one)" -t -c "$conf"
printf 'interface nosuchif0\nmode plain\n' >"$conf"
bad "$conf: interface nosuchif0: No such device" -t -c "$conf"
printf 'interface lo\nkey %s\n' "$dir/k1" >"$conf"
chmod 644 "$dir/k1"
bad "key file $dir/k1: group or others can access it (mode 0644): chmod 600 $dir/k1" -t -c "$conf"
echo "ok: bad keyword, missing file, no key, missing interface, readable key: exit 1"
