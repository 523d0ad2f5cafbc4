#!/bin/bash
# syncd refuses, at start and with a clear message, the options whose
# mistakes would otherwise only show later: a carpd control path too long
# for a socket, a demotion group name carpd cannot hold, a bulk rate out
# of range. Usage: test_syncd_args.sh SYNCD
set -u
syncd=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

# refused WANT ARGS...: syncd exits non-zero naming WANT.
refused() {
	local want=$1 out rc=0
	shift
	out=$("$syncd" -i lo -m plain -f none "$@" 2>&1 </dev/null) || rc=$?
	[ "$rc" -ne 0 ] || fail "$* accepted"
	printf '%s' "$out" | grep -qF -- "$want" || fail "$*: no '$want' in: $out"
}
long=/tmp/$(printf 'x%.0s' $(seq 120))
refused "carpd-control: a socket path of at most 107 bytes" --carpd-control "$long"
refused "demote-group: a name of 1 to 31 characters" --demote-group "a b"
refused "demote-group: a name of 1 to 31 characters" --demote-group ""
refused "not starting with '-'" --demote-group "-carp"
refused "demote-group: a name of 1 to 31 characters" --demote-group "$(printf 'a\tb')"
refused "demote-group: a name of 1 to 31 characters" --demote-group "$(printf 'g%.0s' $(seq 32))"
refused "bulk-rate: 1000 to 100000000 states a second" --bulk-rate 10
echo "ok: bad carpd-control, demote-group and bulk-rate refused at start"

# strict-own: a flag of the command line and the configuration file, named in --help.
"$syncd" --help | grep -qF -- "--strict-own" || fail "--help does not name --strict-own"
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
echo "strict-own yes" >"$conf"
refused "'strict-own' takes no argument" -c "$conf"
echo "ok: strict-own is a flag (an argument refused) and --help names it"
