#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs each libFuzzer target in build/fuzz/ (make fuzz) for FUZZ_TIME
# seconds (default 60) from its seed corpus, selftests/fuzz/corpus/<target>/.
# New inputs go to a temporary directory, never into the repository. A
# target passes if libFuzzer found nothing (exit 0); a crash's input is kept
# under build/fuzz/crashes/<target>/ (turn it into a regular test). Ends
# with a "N passed, N failed" line for tools/run-tests.sh.
set -u
cd "$(dirname "$0")/.."
T=${FUZZ_TIME:-60}
pass=0 fail=0 skip=0
for bin in build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	seeds=selftests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	crashes=build/fuzz/crashes/$name
	mkdir -p "$crashes"
	log=$(mktemp)
	"$bin" -max_total_time="$T" -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
	secs=$(sed -nE 's/^stat::.*_time.*: *([0-9]+)/\1/p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $name: ${execs:-?} executions in ${T} s, no crash (corpus $(ls "$work" | wc -l) new inputs)"
	else
		fail=$((fail + 1))
		echo "not ok $name: libFuzzer exit $rc after ${execs:-?} executions; inputs in $crashes/"
		grep -E 'ERROR|SUMMARY|deadly signal|Test unit written' "$log" | head -5 | sed 's/^/# /'
	fi
	: "${secs:=}"
	rm -rf "$work" "$log"
done
if [ $((pass + fail)) -eq 0 ]; then
	echo "# SKIP no fuzz targets in build/fuzz (make fuzz: needs clang and libclang-rt)"
	skip=1
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
