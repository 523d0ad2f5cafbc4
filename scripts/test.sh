#!/bin/bash
# Installs what is missing, builds libredund with -Werror, runs every test,
# then runs the tests again under ASan+UBSan, then runs every libFuzzer
# target for FUZZ_SECONDS (default 15) each.
#
#   scripts/test.sh            everything
#   SKIP_ASAN=1 SKIP_FUZZ=1    the plain build's tests only
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
rd_install_deps

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
JOBS=$(nproc)

echo "== clang-format (the repo's .clang-format)"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

echo "== build (gcc, -Werror)"
rd_setup build -Dwerror=true
ninja -C build
echo "== tests"
meson test -C build --print-errorlogs --num-processes "$JOBS"

if [ "${SKIP_ASAN:-0}" != 1 ]; then
	echo "== build (ASan+UBSan)"
	rd_setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug
	ninja -C build-asan
	echo "== tests under ASan+UBSan"
	# The 4-firewall cluster runs its 20 restarts in the plain pass; under
	# the sanitizers (8 daemons several times slower on this machine's
	# cores) it restarts 5 members, checked the same way.
	CL_RESTARTS=${CL_RESTARTS_ASAN:-5} \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --print-errorlogs --num-processes "$JOBS"
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	echo "== fuzz targets (clang, libFuzzer), ${FUZZ_SECONDS}s each"
	CC=clang rd_setup build-fuzz -Dfuzz=true -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Ddaemons=false
	ninja -C build-fuzz
	# Two targets at a time (one a core); each one's output is printed in
	# order once both of its pair have ended.
	fuzz_one() { # TARGET LOG: runs TARGET on a copy of its corpus, output in LOG
		local f=$1 log=$2 name work c
		name=$(basename "$f")
		work=$(mktemp -d)
		for c in tests/*/corpus/"${name#fuzz-}"; do
			[ -d "$c" ] && cp -r "$c"/. "$work"/
		done
		local rc=0
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=abort_on_error=1 \
			"$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
			-artifact_prefix=build-fuzz/"$name"- "$work" >"$log" 2>&1 || rc=$?
		rm -rf "$work"
		return $rc
	}
	fuzz_report() { # TARGET LOG RC
		local name
		name=$(basename "$1")
		echo "-- $name"
		grep -E '^(stat::number_of_executed_units|INFO: seed)' "$2" || true
		if [ "$3" -ne 0 ]; then
			tail -n 60 "$2"
			echo "fuzz target $name failed (exit $3); reproducer in build-fuzz/$name-*"
			return 1
		fi
	}
	mapfile -t targets < <(find build-fuzz/tests -type f -name 'fuzz-*' -perm -u+x | sort)
	found=${#targets[@]}
	logs=$(mktemp -d)
	failed=0
	for ((i = 0; i < found; i += 2)); do
		pids=()
		for j in $i $((i + 1)); do
			[ "$j" -lt "$found" ] || continue
			fuzz_one "${targets[$j]}" "$logs/$j.log" &
			pids+=($!)
		done
		for k in "${!pids[@]}"; do
			j=$((i + k))
			rc=0
			wait "${pids[$k]}" || rc=$?
			fuzz_report "${targets[$j]}" "$logs/$j.log" "$rc" || failed=1
		done
		[ "$failed" = 0 ] || break
	done
	rm -rf "$logs"
	[ "$failed" = 0 ] || exit 1
	[ "$found" -gt 0 ] || echo "no fuzz targets built"
fi
echo "== all tests passed"
