#!/bin/bash
# carpd --check / -t: the configuration checked as carpd would start it,
# nothing started. A good file exits 0 and prints what would run; every
# bad one exits 1 with "file:line: message" on stderr. Covers what
# keepalived users reported of its -t: a missing file that exited 0 and an
# empty or unknown-keyword file that hung (acassen/keepalived#955), a vhid
# used twice found only at start (#389), and its use as Ansible's
# `validate` (Oefenweb/ansible-keepalived#51). Any user: the interface is
# "lo", paths are scratch ones. Usage: test_carpd_check.sh CARPD
set -u
carpd=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
umask 022
conf=$dir/carpd.conf

# check ARGS...: run carpd --check; sets rc, out (stdout) and err (stderr).
check() {
	rc=0
	out=$(timeout 10 "$carpd" "$@" 2>"$dir/err" </dev/null) || rc=$?
	err=$(cat "$dir/err")
}
# bad WANT ARGS...: exit 1, stderr is exactly WANT, nothing on stdout.
bad() {
	local want=$1
	shift
	check "$@"
	[ "$rc" -eq 1 ] || fail "$*: exit $rc, want 1 (stderr: $err)"
	[ "$err" = "$want" ] || fail "$*: stderr '$err', want '$want'"
	[ -z "$out" ] || fail "$*: printed on stdout: $out"
}

printf '#!/bin/sh\nexit 0\n' >"$dir/up.sh"
chmod 755 "$dir/up.sh"
printf 'secret\n' >"$dir/pass"
chmod 600 "$dir/pass"
cat >"$conf" <<CONF
control $dir/sock
startup-demote 50
vhost lo 7
  addr 10.77.0.100/24
  advskew 20
  preempt
  passfile $dir/pass
  group uplink
vhost lo 8
  addr 2001:db8::1/64
  upscript $dir/up.sh
  downscript $dir/up.sh
CONF

# A good file: exit 0, what would run on stdout, nothing on stderr, nothing made.
for opt in --check -t; do
	check "$opt" -c "$conf"
	[ "$rc" -eq 0 ] || fail "$opt: good file: exit $rc: $err"
	[ -z "$err" ] || fail "$opt: good file: stderr: $err"
done
grep -qxF "carpd: configuration $conf OK" <<<"$out" || fail "no OK line: $out"
grep -qF "vhost lo 7 ($conf:3): advbase 1 advskew 20 deadratio 3, preempt" <<<"$out" ||
	fail "vhost 7 not described: $out"
grep -qF "  addresses: 10.77.0.100/24" <<<"$out" || fail "vhost 7's address: $out"
grep -qF "authenticated (password)" <<<"$out" || fail "passfile not named: $out"
grep -qxF "  groups: carp uplink" <<<"$out" || fail "groups: $out"
grep -qF "startup-demote 50 on carp" <<<"$out" || fail "startup-demote: $out"
grep -qF "  scripts: up $dir/up.sh, down $dir/up.sh" <<<"$out" || fail "scripts: $out"
[ ! -e "$dir/sock" ] || fail "--check made the control socket"
echo "ok: a good file exits 0, prints what would run, starts nothing"

# Parser errors: file:line and what was expected, exit 1 (not 2: --check).
cp "$conf" "$dir/good.conf"
sed -i 's/advskew 20/advskew 300/' "$conf"
bad "$conf:5: advskew: expected an advskew from 0 to 254, got '300'" --check -c "$conf"
printf 'vhost lo 7\n  addr 10.0.0.1\n  frobnicate\n' >"$conf"
bad "$conf:3: unknown keyword 'frobnicate' (see carpd(8))" -t -c "$conf"
printf 'vhost lo 7\n  addr 10.0.0.1\nvhost lo 7\n  addr 10.0.0.2\n' >"$conf"
bad "$conf:3: expected a vhid not yet used on lo (vhid 7 is already at $conf:1)" -t -c "$conf"
: >"$conf"
bad "$conf: expected at least one 'vhost INTERFACE VHID' section" -t -c "$conf"
bad "$dir/none.conf: cannot open: No such file or directory" -t -c "$dir/none.conf"
echo "ok: parser errors exit 1 with file:line (missing and empty files too)"

# What only the host can tell: the interface, the password file's mode, the scripts.
sed 's/^vhost lo 8/vhost nosuchif0 8/' "$dir/good.conf" >"$conf"
bad "$conf:9: vhost nosuchif0 8: interface nosuchif0: No such device" -t -c "$conf"
chmod 640 "$dir/pass"
bad "$dir/good.conf:7: passfile: $dir/pass: group or others can access it (mode 0640): chmod 600 $dir/pass" \
	-t -c "$dir/good.conf"
chmod 600 "$dir/pass"
chmod 644 "$dir/up.sh"
bad "$dir/good.conf:9: vhost lo 8: upscript $dir/up.sh: not an executable file" -t -c "$dir/good.conf"
sed "s|upscript $dir/up.sh|upscript $dir/nothere.sh|" "$dir/good.conf" >"$conf"
bad "$conf:9: vhost lo 8: upscript $dir/nothere.sh: No such file or directory" -t -c "$conf"
echo "ok: a missing interface, a readable password file, a script that cannot run: exit 1"

# The command line alone, as ucarp's.
check -t -i lo -v 9 -a 10.0.0.9/24 --control "$dir/sock"
[ "$rc" -eq 0 ] || fail "command line: exit $rc: $err"
grep -qF "vhost lo 9 (command line)" <<<"$out" || fail "command line: $out"
echo "ok: --check of a command line"
