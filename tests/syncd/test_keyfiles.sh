#!/bin/bash
# Key files, as syncd and redundctl read them (one reader, so they agree):
# read whole (a long comment header is fine), refused when group or others
# can access them (as ssh refuses a private key), key ids validated
# (genkey --keyid "" refused, --send-keyid names a key given, 0 included,
# no id twice). Usage: test_keyfiles.sh SYNCD REDUNDCTL
#
# syncd runs name an interface that does not exist: once the options pass,
# syncd stops at "No such device" without touching the host.
set -u
syncd=$1
ctl=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
umask 022

syncd_run() {
	timeout 20 "$syncd" -i nosuchif0 -f none --state-dir "$dir/state" --control "$dir/sock" \
		"$@" 2>&1 </dev/null
}
# refused WANT ARGS...: syncd exits non-zero naming WANT.
refused() {
	local want=$1 out rc=0
	shift
	out=$(syncd_run "$@") || rc=$?
	[ "$rc" -ne 0 ] || fail "$* accepted"
	printf '%s' "$out" | grep -qF -- "$want" || fail "$*: no '$want' in: $out"
}
# accepted ARGS...: the options pass, syncd stops only at the missing interface.
accepted() {
	local out
	out=$(syncd_run "$@")
	printf '%s' "$out" | grep -qF "interface nosuchif0: No such device" ||
		fail "$*: refused: $out"
}
# An empty pcap (global header only, Ethernet): decode prints nothing, exit 0.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$dir/empty.pcap"
decode_ok() {
	local out
	out=$("$ctl" decode pfsync "$dir/empty.pcap" --key "$1" 2>&1) || fail "redundctl refused $1: $out"
}
decode_refused() {
	local out rc=0
	out=$("$ctl" decode pfsync "$dir/empty.pcap" --key "$1" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "redundctl accepted $1"
	printf '%s' "$out" | grep -qF -- "$2" || fail "redundctl $1: no '$2' in: $out"
}

# genkey: key ids are decimal numbers below 2^32, 0 included; anything else
# is refused with the reason and writes nothing.
for bad in "" "-1" "4294967296" "0x10" " 1" "1 "; do
	out=$("$ctl" sync genkey "$dir/bad.key" --keyid "$bad" 2>&1) && fail "genkey --keyid '$bad' accepted"
	printf '%s' "$out" | grep -qF -- "--keyid: expected a decimal key id from 0 to 4294967295, got '$bad'" ||
		fail "genkey --keyid '$bad': $out"
	[ ! -e "$dir/bad.key" ] || fail "genkey --keyid '$bad' wrote a file"
done
"$ctl" sync genkey "$dir/k0" --keyid 0 || fail "genkey --keyid 0"
"$ctl" sync genkey "$dir/k1" || fail "genkey"
"$ctl" sync genkey "$dir/k4294967295" --keyid 4294967295 || fail "genkey --keyid 2^32-1"
grep -qx "keyid 0" "$dir/k0" || fail "k0: $(head -1 "$dir/k0")"
echo "ok: genkey key ids checked (\"\" and junk refused, 0 and 2^32-1 taken)"

# A key file with a long comment header (8 KB, beyond any fixed buffer):
# accepted by both.
{
	for i in $(seq 64); do printf '# %s\n' "$(printf 'h%.0s' $(seq 120))"; done
	cat "$dir/k1"
} >"$dir/long.key"
chmod 600 "$dir/long.key"
decode_ok "$dir/long.key"
accepted -m secure -k "$dir/long.key"
refused "send-keyid: no key file has key id 7 (key ids: 1)" -m secure -k "$dir/long.key" --send-keyid 7
echo "ok: a key file with a long header is read by syncd and redundctl"

# Group or others can access it: refused by both, naming the file and the fix.
cp "$dir/k1" "$dir/open.key"
for mode in 640 604 660 620; do
	chmod "$mode" "$dir/open.key"
	want="key file $dir/open.key: group or others can access it (mode 0$mode): chmod 600 $dir/open.key"
	refused "$want" -m secure -k "$dir/open.key"
	decode_refused "$dir/open.key" "$want"
done
chmod 400 "$dir/open.key"
accepted -m secure -k "$dir/open.key"
decode_ok "$dir/open.key"
echo "ok: key files group or others can access are refused (chmod 600)"

# Not a key file, not a file, no file: refused by both alike.
printf 'keyid 1\nkey 1234\n' >"$dir/short.key"
chmod 600 "$dir/short.key"
refused "key file $dir/short.key: not a key file" -m secure -k "$dir/short.key"
decode_refused "$dir/short.key" "key file $dir/short.key: not a key file"
refused "key file $dir: not a regular file" -m secure -k "$dir"
decode_refused "$dir" "key file $dir: not a regular file"
refused "key file $dir/none: cannot open: No such file or directory" -m secure -k "$dir/none"
decode_refused "$dir/none" "key file $dir/none: cannot open: No such file or directory"
echo "ok: bad key files refused alike"

# --send-keyid: the id of one of the keys given, 0 included; the first
# file's by default; one id twice is refused.
accepted -m secure -k "$dir/k1" -k "$dir/k0" --send-keyid 0
accepted -m secure -k "$dir/k1" -k "$dir/k0" --send-keyid 1
accepted -m secure -k "$dir/k0"
refused "send-keyid: no key file has key id 0 (key ids: 1)" -m secure -k "$dir/k1" --send-keyid 0
refused "--send-keyid: expected a decimal key id from 0 to 4294967295, got ''" -m secure -k "$dir/k1" --send-keyid ""
cp "$dir/k1" "$dir/k1copy"
refused "key files $dir/k1 and $dir/k1copy both have key id 1" -m secure -k "$dir/k1" -k "$dir/k1copy"
echo "ok: --send-keyid selects any key given (0 too), ids are unique"

# aead: genkey --aead writes the line (XChaCha keys without it, as before,
# so older peers read them); a bad value is refused by genkey and, in a
# file, by both readers; an aes256gcm key is taken where the CPU has AES-NI
# and refused naming the fix where it has not.
"$ctl" sync genkey "$dir/gcm.key" --keyid 5 --aead aes256gcm 2>"$dir/gcm.err" || fail "genkey --aead aes256gcm"
grep -qx "aead aes256gcm" "$dir/gcm.key" || fail "gcm.key: $(cat "$dir/gcm.key")"
"$ctl" sync genkey "$dir/xc.key" --keyid 6 --aead xchacha20poly1305 || fail "genkey --aead xchacha20poly1305"
! grep -q "^aead" "$dir/xc.key" || fail "xc.key has an aead line"
! grep -q "^aead" "$dir/k1" || fail "k1 (default) has an aead line"
out=$("$ctl" sync genkey "$dir/bad.key" --aead aes-256-gcm 2>&1) && fail "genkey --aead aes-256-gcm accepted"
printf '%s' "$out" | grep -qF -- "--aead: expected aes256gcm or xchacha20poly1305, got 'aes-256-gcm'" ||
	fail "genkey --aead aes-256-gcm: $out"
[ ! -e "$dir/bad.key" ] || fail "genkey --aead aes-256-gcm wrote a file"
accepted -m secure -k "$dir/xc.key"
decode_ok "$dir/xc.key"
if grep -q "lacks AES-NI" "$dir/gcm.err"; then
	want="key file $dir/gcm.key: aead aes256gcm needs a CPU with AES-NI and PCLMULQDQ"
	refused "$want" -m secure -k "$dir/gcm.key"
	decode_refused "$dir/gcm.key" "$want"
	echo "ok: no AES-NI here: aes256gcm keys refused naming the fix"
else
	accepted -m secure -k "$dir/gcm.key"
	accepted -m secure -k "$dir/gcm.key" -k "$dir/k1" --send-keyid 1
	decode_ok "$dir/gcm.key"
	echo "ok: aes256gcm keys taken (AES-NI here)"
fi
sed 's/^aead aes256gcm$/aead aes-256-gcm/' "$dir/gcm.key" >"$dir/badaead.key"
chmod 600 "$dir/badaead.key"
refused "key file $dir/badaead.key: not a key file" -m secure -k "$dir/badaead.key"
decode_refused "$dir/badaead.key" "key file $dir/badaead.key: not a key file"
echo "ok: key files name their AEAD; a bad one is refused alike"
