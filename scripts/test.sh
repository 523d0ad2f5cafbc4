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
	found=0
	while IFS= read -r f; do
		found=1
		name=$(basename "$f")
		work=$(mktemp -d)
		for c in tests/*/corpus/"${name#fuzz-}"; do
			[ -d "$c" ] && cp -r "$c"/. "$work"/
		done
		echo "-- $name"
		rc=0
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=abort_on_error=1 \
			"$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix=build-fuzz/ \
			"$work" >"$work.log" 2>&1 || rc=$?
		grep -E '^(stat::number_of_executed_units|INFO: seed)' "$work.log" || true
		if [ "$rc" -ne 0 ]; then
			tail -n 60 "$work.log"
		fi
		rm -f "$work.log"
		rm -rf "$work"
		if [ "$rc" -ne 0 ]; then
			echo "fuzz target $name failed (exit $rc); reproducer in build-fuzz/"
			exit 1
		fi
	done < <(find build-fuzz/tests -type f -name 'fuzz-*' -perm -u+x | sort)
	[ "$found" = 1 ] || echo "no fuzz targets built"
fi
echo "== all tests passed"
