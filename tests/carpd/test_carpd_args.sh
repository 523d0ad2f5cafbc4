#!/bin/bash
# carpd's command line and configuration file as the shared parser reads
# them: the file whatever getopt form names it (-c FILE, -cFILE, --config
# FILE, --config=FILE), lines of any length with the right line numbers in
# errors, --opt=V and -oV for every option, and a password file that group
# or others can access refused (as ssh refuses a private key).
# Usage: test_carpd_args.sh CARPD
#
# Every run names an interface that does not exist and scratch paths, so a
# command line wrongly accepted ends at once (no such device) and touches
# nothing of the host's.
set -u
carpd=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
umask 022

run() {
	timeout 20 "$carpd" -f none --control "$dir/sock" --startup-demote 0 "$@" 2>&1 </dev/null
}
# refused WANT ARGS...: carpd exits non-zero naming WANT.
refused() {
	local want=$1 out rc=0
	shift
	out=$(run "$@") || rc=$?
	[ "$rc" -ne 0 ] || fail "$* accepted"
	printf '%s' "$out" | grep -qF -- "$want" || fail "$*: no '$want' in: $out"
}
# accepted ARGS...: the options pass, carpd stops only at the missing interface.
accepted() {
	local out
	out=$(run "$@")
	printf '%s' "$out" | grep -qF "interface nosuchif0: No such device" ||
		fail "$*: refused: $out"
}

# The configuration file whatever form names it: its fourth line is refused.
conf=$dir/carpd.conf
printf '# carpd\nvhost nosuchif0 1\n  addr 10.77.0.100/24\n  advskew 300\n' >"$conf"
want="$conf:4: advskew: expected an advskew from 0 to 254, got '300'"
refused "$want" -c "$conf"
refused "$want" "-c$conf"
refused "$want" --config "$conf"
refused "$want" "--config=$conf"
echo "ok: -c FILE, -cFILE, --config FILE and --config=FILE all read the file"

# Lines of any length: a comment's text past byte 1,023 stays a comment, and
# errors still name the right line.
{
	printf '# %s advskew 300\n' "$(printf 'c%.0s' $(seq 3000))"
	printf 'vhost nosuchif0 1 # %s advskew 300\n' "$(printf 'd%.0s' $(seq 5000))"
	printf '  addr 10.77.0.100/24\n'
	printf '  xparam %s\n' "$(printf 'x%.0s' $(seq 4000))"
	printf '  advbase 256\n'
} >"$conf"
refused "$conf:5: advbase: expected an advbase from 0 to 255 seconds, got '256'" -c "$conf"
sed -i '$d' "$conf"
accepted -c "$conf"
echo "ok: long lines stay one line, line numbers stay right"

# Errors of the file: unknown keyword, a command-line-only option, a NUL byte.
printf 'vhost nosuchif0 1\n  addr 10.0.0.1\n\n  frobnicate 1\n' >"$conf"
refused "$conf:4: unknown keyword 'frobnicate'" -c "$conf"
printf 'daemonize\n' >"$conf"
refused "$conf:1: 'daemonize' is an option of the command line only" -c "$conf"
printf 'vhost nosuchif0 1\n  addr\0 10.0.0.1\n' >"$conf"
refused "$conf:2: a NUL byte: not a text file" -c "$conf"
refused "--config: given twice" -c "$conf" --config "$conf"
refused "$dir/none.conf: cannot open: No such file or directory" -c "$dir/none.conf"
echo "ok: file errors name file:line and what was expected"

# --opt=V and -oV for the vhost options too.
accepted -inosuchif0 -v1 -a10.0.0.1/24 -k10 -b2
accepted --interface=nosuchif0 --vhid=1 --addr=10.0.0.1/24 --advskew=10 --advbase=2
refused "--vhid: expected a vhid from 1 to 255, got '300'" --interface=nosuchif0 --vhid=300 -a 10.0.0.1
refused "--vhid: expected a vhid from 1 to 255, got '0'" -inosuchif0 -v0 -a10.0.0.1
refused "option '--preempt' takes no argument" -i nosuchif0 -v 1 -a 10.0.0.1 --preempt=yes
refused "option '--vhid' expects an argument" -i nosuchif0 -a 10.0.0.1 --vhid
refused "unknown option '-Q'" -Q
refused "unknown option '--frobnicate'" --frobnicate
echo "ok: --opt=V and -oV"

# A password file: private (0600, 0400) is read; group or others refused.
printf 'secret\n' >"$dir/pw"
for mode in 644 640 604 660; do
	chmod "$mode" "$dir/pw"
	refused "--passfile: $dir/pw: group or others can access it (mode 0$mode): chmod 600 $dir/pw" \
		-i nosuchif0 -v 1 -a 10.0.0.1 -o "$dir/pw"
	printf 'vhost nosuchif0 1\n  addr 10.0.0.1\n  passfile %s\n' "$dir/pw" >"$conf"
	refused "$conf:3: passfile: $dir/pw: group or others can access it (mode 0$mode): chmod 600 $dir/pw" \
		-c "$conf"
done
chmod 600 "$dir/pw"
accepted -i nosuchif0 -v 1 -a 10.0.0.1 -o "$dir/pw"
accepted -c "$conf"
chmod 400 "$dir/pw"
accepted -i nosuchif0 -v 1 -a 10.0.0.1 --passfile="$dir/pw"
echo "ok: a password file group or others can access is refused (chmod 600)"

# --help and --version answer without reading the file.
"$carpd" -c "$dir/none.conf" --help | grep -qF -- "--config" || fail "--help with a missing file"
"$carpd" --version | grep -q "^carpd (libredund) " || fail "--version"
echo "ok: --help and --version before the file"
