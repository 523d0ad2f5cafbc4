#!/bin/bash
# syncd refuses, at start and with a clear message, the options whose
# mistakes would otherwise only show later: a carpd control path too long
# for a socket, a demotion group name carpd cannot hold, a bulk rate out
# of range. The configuration file is read whatever getopt form names it
# (-c FILE, -cFILE, --config FILE, --config=FILE), lines of any length,
# and its errors name the right line. Usage: test_syncd_args.sh SYNCD
#
# Every run names an interface that does not exist and scratch paths, so a
# command line wrongly accepted ends at once (no such device) and touches
# nothing of the host's.
set -u
syncd=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

run() {
	timeout 20 "$syncd" -i nosuchif0 -f none --state-dir "$dir/state" --control "$dir/sock" \
		"$@" 2>&1 </dev/null
}
# refused WANT ARGS...: syncd exits non-zero naming WANT.
refused() {
	local want=$1 out rc=0
	shift
	out=$(run -m plain "$@") || rc=$?
	[ "$rc" -ne 0 ] || fail "$* accepted"
	printf '%s' "$out" | grep -qF -- "$want" || fail "$*: no '$want' in: $out"
}
long=/tmp/$(printf 'x%.0s' $(seq 120))
refused "carpd-control: expected a socket path of at most 107 bytes" --carpd-control "$long"
refused "demote-group: expected a name of 1 to 31 characters" --demote-group "a b"
refused "demote-group: expected a name of 1 to 31 characters" --demote-group ""
refused "not starting with '-'" --demote-group "-carp"
refused "demote-group: expected a name of 1 to 31 characters" --demote-group "$(printf 'a\tb')"
refused "demote-group: expected a name of 1 to 31 characters" --demote-group "$(printf 'g%.0s' $(seq 32))"
refused "--bulk-rate: expected 1000 to 100000000 states a second, got '10'" --bulk-rate 10
refused "--bulk-rate: expected 1000 to 100000000 states a second, got '10'" --bulk-rate=10
refused "unknown option '--frobnicate'" --frobnicate
refused "unknown option '-Q'" -Q
refused "option '--no-bulk' takes no argument" --no-bulk=yes
refused "option '--peer' expects an argument" --peer
echo "ok: bad carpd-control, demote-group and bulk-rate refused at start"

# strict-own: a flag of the command line and the configuration file, named in --help.
"$syncd" --help | grep -qF -- "--strict-own" || fail "--help does not name --strict-own"
conf=$dir/syncd.conf
echo "strict-own yes" >"$conf"
refused "$conf:1: expected no argument after 'strict-own'" -c "$conf"
echo "ok: strict-own is a flag (an argument refused) and --help names it"

# The configuration file whatever form names it: its third line is refused.
printf '# syncd\nmode plain\nbulk-rate 10\n' >"$conf"
want="$conf:3: bulk-rate: expected 1000 to 100000000 states a second, got '10'"
refused "$want" -c "$conf"
refused "$want" "-c$conf"
refused "$want" --config "$conf"
refused "$want" "--config=$conf"
refused "$want" --conf "$conf"
echo "ok: -c FILE, -cFILE, --config FILE and --config=FILE all read the file"

# Lines of any length: a comment's text past byte 1,023 stays a comment, a
# long argument stays one word, and errors still name the right line.
{
	printf '# %s creatorid 0a0b0c0d bulk-rate 10\n' "$(printf 'c%.0s' $(seq 3000))"
	printf 'mode plain # %s bulk-rate 10\n' "$(printf 'd%.0s' $(seq 5000))"
	printf 'state-dir /%s\n' "$(printf 's%.0s' $(seq 2000))"
	printf 'mode bogus\n'
} >"$conf"
refused "$conf:4: mode: expected 'secure' or 'plain', got 'bogus'" -c "$conf"
echo "ok: long comment lines stay comments, line numbers stay right"

# Errors of the file: an unknown keyword, a command-line-only option, two
# arguments, a NUL byte; the command line's own syntax is checked first.
printf 'mode plain\n\nfrobnicate 1\n' >"$conf"
refused "$conf:3: unknown keyword 'frobnicate'" -c "$conf"
printf 'config /etc/x\n' >"$conf"
refused "$conf:1: 'config' is an option of the command line only" -c "$conf"
printf 'peer 10.0.0.1 10.0.0.2\n' >"$conf"
refused "$conf:1: expected 'peer ADDRESS'" -c "$conf"
printf 'mode plain\nmode\0plain\n' >"$conf"
refused "$conf:2: a NUL byte: not a text file" -c "$conf"
refused "--config: given twice" -c "$conf" -c "$conf"
refused "$dir/none.conf: cannot open: No such file or directory" -c "$dir/none.conf"
refused "$dir: not a regular file" -c "$dir"
echo "ok: file errors name file:line and what was expected"

# --help and --version answer without reading the file.
"$syncd" -c "$dir/none.conf" --help | grep -qF -- "--config" || fail "--help with a missing file"
"$syncd" --version | grep -q "^syncd (libredund) " || fail "--version"
echo "ok: --help and --version before the file"
