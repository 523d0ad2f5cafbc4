#!/bin/sh
# selftest: check-exports.py and check-comments.py must fail on each kind of
# drift they exist to catch (and pass on agreement), so a checker that
# silently accepts everything fails here. Usage: selftest.sh TESTS_ABI_DIR
set -u
dir=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # expect RC DESCRIPTION COMMAND...
	want=$1 what=$2
	shift 2
	"$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $what: exit $rc, want $want"
		sed 's/^/    /' "$tmp/out"
		fail=1
	else
		echo "ok: $what (exit $rc)"
	fi
}

cat >"$tmp/a.h" <<'H'
/* rd_a_get - a header as libredund writes them. */
#ifndef A_H
#define A_H
#ifdef __cplusplus
extern "C" {
#endif
struct rd_x {
	int (*cb)(void *user, int n); /* a callback, not a function */
};
typedef int (*rd_fn)(int);
RD_EXPORT struct rd_x rd_a_get(void);
RD_EXPORT enum rd_e rd_a_kind(const struct rd_x *x,
                              int n);
static inline int rd_a_inline(int n)
{
	return n + 1;
}
#ifdef __cplusplus
}
#endif
#endif
H
printf 'rd_a_get\nrd_a_kind\n' >"$tmp/syms"
expect 0 "headers and exports agree" python3 "$dir/check-exports.py" --symbols "$tmp/syms" "$tmp/a.h"
printf 'rd_a_get\nrd_a_kind\nrd_a_internal\n' >"$tmp/syms2"
expect 1 "an export no header declares" python3 "$dir/check-exports.py" --symbols "$tmp/syms2" "$tmp/a.h"
printf 'rd_a_get\n' >"$tmp/syms3"
expect 1 "a declaration not exported" python3 "$dir/check-exports.py" --symbols "$tmp/syms3" "$tmp/a.h"
sed 's/^RD_EXPORT struct rd_x rd_a_get/struct rd_x rd_a_get/' "$tmp/a.h" >"$tmp/b.h"
expect 1 "a declaration without RD_EXPORT" python3 "$dir/check-exports.py" --symbols "$tmp/syms" "$tmp/b.h"
printf 'RD_EXPORT int rd_a_get(void)\n{\n\treturn 0;\n}\n' >"$tmp/c.h"
expect 2 "a non-inline definition in a header" python3 "$dir/check-exports.py" --symbols "$tmp/syms" "$tmp/c.h"

if [ -f "$dir/check-comments.py" ]; then
	mkdir -p "$tmp/repo/include/redund" "$tmp/repo/src" "$tmp/repo/docs"
	cp "$tmp/a.h" "$tmp/repo/include/redund/a.h"
	echo "# notes" >"$tmp/repo/docs/notes.md"
	printf '/* rd_a_get and rd_a_kind, RD_X_MAX; see docs/notes.md. */\n#define RD_X_MAX 3\nint rd_a_get(void) { return 0; }\n' >"$tmp/repo/src/a.c"
	expect 0 "comments name what exists" python3 "$dir/check-comments.py" --root "$tmp/repo" "$tmp/repo/include/redund/a.h" "$tmp/repo/src/a.c"
	printf '/* see rd_a_flush() */\nint rd_a_get(void) { return 0; }\n' >"$tmp/repo/src/b.c"
	expect 1 "a comment names an rd_ function that does not exist" python3 "$dir/check-comments.py" --root "$tmp/repo" "$tmp/repo/include/redund/a.h" "$tmp/repo/src/b.c"
	printf '/* bounded by RD_X_LIMIT */\nint rd_a_get(void) { return 0; }\n' >"$tmp/repo/src/c.c"
	expect 1 "a comment names an RD_ macro that does not exist" python3 "$dir/check-comments.py" --root "$tmp/repo" "$tmp/repo/include/redund/a.h" "$tmp/repo/src/c.c"
	printf '/* as research/gone.md explains */\nint rd_a_get(void) { return 0; }\n' >"$tmp/repo/src/d.c"
	printf '/* the layout of the research note, section 2 */\nint rd_a_get(void) { return 0; }\n' >"$tmp/repo/src/e.c"
	expect 1 "a comment cites a research note by name only" python3 "$dir/check-comments.py" --root "$tmp/repo" "$tmp/repo/include/redund/a.h" "$tmp/repo/src/e.c"
	printf '/* rd_a_* and RD_X_*, see include/redund/a.h */\nint rd_a_get(void) { return 0; }\n' >"$tmp/repo/src/f.c"
	expect 0 "prefixes and repository paths resolve" python3 "$dir/check-comments.py" --root "$tmp/repo" "$tmp/repo/include/redund/a.h" "$tmp/repo/src/a.c" "$tmp/repo/src/f.c"
	printf '/* rd_b_* */\nint rd_a_get(void) { return 0; }\n' >"$tmp/repo/src/g.c"
	expect 1 "a prefix nothing has" python3 "$dir/check-comments.py" --root "$tmp/repo" "$tmp/repo/include/redund/a.h" "$tmp/repo/src/g.c"
	expect 1 "a comment points at a file not in the repository" python3 "$dir/check-comments.py" --root "$tmp/repo" "$tmp/repo/include/redund/a.h" "$tmp/repo/src/d.c"
fi
exit $fail
