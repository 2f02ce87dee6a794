#!/bin/bash
# SPDX-License-Identifier: MIT
#
# harness_selftest.sh BINARY - run harness_selftest (built from
# harness_selftest.c) and check its TAP output: several of its tests must fail,
# skip or time out, so the binary's own exit status is 1 and this script
# decides. Exits 0 if everything came out as expected.
set -u
bin=${1:?usage: $0 path/to/harness_selftest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
errors=0
checks=0

bad() { echo "FAIL: $*"; errors=$((errors + 1)); }
# has FILE ERE: some line matches
has() {
	checks=$((checks + 1))
	grep -qE -- "$2" "$1" || bad "no line matching '$2' in $(basename "$1")"
}
# count FILE ERE N: exactly N lines match
count() {
	local n
	checks=$((checks + 1))
	n=$(grep -cE -- "$2" "$1")
	[ "$n" -eq "$3" ] || bad "'$2' matched $n lines, want $3 in $(basename "$1")"
}

# Full run: stdout and stderr together, as a CI log would show them.
"$bin" >"$tmp/all" 2>&1
rc=$?
[ "$rc" -eq 1 ] || bad "full run exited $rc, want 1"
count "$tmp/all" '^TAP version 13$' 1
has "$tmp/all" '^1\.\.24$'
while read -r line; do
	has "$tmp/all" "$line"
done <<'END'
^ok 1 pass_basic$
^ok 2 pass_mixed_types$
^ok 3 child_status_ok$
^not ok 4 expect_fails # .*harness_selftest\.c:[0-9]+: expected 2 \(1 \+ 1\) == 3 \(3\)$
^not ok 5 expect_from_thread # .*: expected "left" \("left"\) == "right" \("right"\)$
^not ok 6 assert_from_thread # .*: expected 7 \(7\) == 8 \(8\)$
^not ok 7 expect_then_exit0 # .*: expected \(1\) to be false$
^ok 8 skip_me # SKIP not supported here \(42\)$
^ok 9 skip_from_thread # SKIP skipped from a thread$
^not ok 10 timeout_sleep # timeout after [0-9.e+]+ s$
^not ok 11 crash_segv # (killed by signal SIGSEGV|exit code [0-9]+)$
^not ok 12 exit_code # exit code 3$
^ok 13 fx\.uses_setup$
^ok 14 fx\.unused_self$
^ok 15 fx\.with_timeout$
^ok 16 fx_skip\.body # SKIP setup skips$
^ok 17 capture_exit_code$
^ok 18 capture_assert$
^ok 19 capture_signal$
^ok 20 capture_timeout$
^ok 21 capture_truncate$
^ok 22 capture_return$
^ok 23 stdout_once$
^ok 24 last_pass$
^# .*harness_selftest\.c:[0-9]+: a diagnostic line 2$
^# .*harness_selftest\.c:[0-9]+: expected 2 \(1 \+ 1\) == 3 \(3\)$
^reached the end after EXPECT$
^teardown ran for value 7$
END
count "$tmp/all" '^(not )?ok [0-9]+ ' 24
count "$tmp/all" '^MARKER-ONCE$' 1
count "$tmp/all" 'teardown ran' 3
count "$tmp/all" 'UNREACHABLE' 0
count "$tmp/all" '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' 1
has "$tmp/all" '^14 passed, 7 failed, 3 skipped$'
[ "$(tail -n 1 "$tmp/all")" = "14 passed, 7 failed, 3 skipped" ] ||
	bad "summary is not the last line"

# -l lists every test in declaration order, runs nothing.
"$bin" -l >"$tmp/list" 2>&1 || bad "-l exited $?"
[ "$(wc -l <"$tmp/list")" -eq 24 ] || bad "-l listed $(wc -l <"$tmp/list") tests"
[ "$(head -n 1 "$tmp/list")" = pass_basic ] || bad "-l: first is not pass_basic"
[ "$(sed -n 13p "$tmp/list")" = fx.uses_setup ] || bad "-l: 13th is not fx.uses_setup"
count "$tmp/list" '^TAP' 0

# -t (repeatable) runs only the named tests, in declaration order.
"$bin" -t fx.uses_setup -t pass_basic >"$tmp/t" 2>&1 || bad "-t run exited $?"
has "$tmp/t" '^1\.\.2$'
has "$tmp/t" '^ok 1 pass_basic$'
has "$tmp/t" '^ok 2 fx\.uses_setup$'
[ "$(tail -n 1 "$tmp/t")" = "2 passed, 0 failed, 0 skipped" ] || bad "-t summary"

# -f filters by substring; a failing selection exits 1.
"$bin" -f capture_ >"$tmp/f" 2>&1 || bad "-f capture_ exited $?"
has "$tmp/f" '^1\.\.6$'
[ "$(tail -n 1 "$tmp/f")" = "6 passed, 0 failed, 0 skipped" ] || bad "-f summary"
"$bin" -t exit_code >"$tmp/x" 2>&1 && bad "-t exit_code exited 0"
has "$tmp/x" '^not ok 1 exit_code # exit code 3$'
"$bin" -t skip_me >"$tmp/s" 2>&1 || bad "a skip-only run exited $?"
has "$tmp/s" '^0 passed, 0 failed, 1 skipped$'

# Unknown test names and options are errors.
"$bin" -t no_such_test >/dev/null 2>&1 && bad "-t no_such_test exited 0"
"$bin" -q >/dev/null 2>&1 && bad "-q exited 0"

# HARNESS_TIMEOUT_SCALE multiplies timeouts.
HARNESS_TIMEOUT_SCALE=2 "$bin" -t timeout_sleep >"$tmp/scale" 2>&1
has "$tmp/scale" '^not ok 1 timeout_sleep # timeout after 2 s$'

if [ "$errors" -ne 0 ]; then
	echo "--- output of the full run:"
	cat "$tmp/all"
	echo "harness_selftest: $errors check(s) failed"
	echo "$((checks > errors ? checks - errors : 0)) passed, $errors failed"
	exit 1
fi
echo "harness_selftest: all checks passed"
echo "$checks passed, 0 failed"
