#!/usr/bin/env bash
# Runs each example with a known expected output (called by run-tests.sh).
# Prints TAP and a closing "N passed, N failed" line.
set -u
cd "$(dirname "$0")/.."
B=build/examples
pass=0 fail=0 n=0
check() { # name, expected-substring, command...
	local name=$1 want=$2
	shift 2
	n=$((n + 1))
	local out
	out=$(timeout 60 "$@" 2>&1)
	local rc=$?
	if [ $rc -eq 0 ] && grep -q -- "$want" <<<"$out"; then
		echo "ok $n $name"
		pass=$((pass + 1))
	else
		echo "not ok $n $name # exit $rc, output: $(head -c 300 <<<"$out")"
		fail=$((fail + 1))
	fi
}
echo "TAP version 13"
check hello "total 5050" "$B/hello"
[ -x "$B/pipeline" ] && check pipeline "primes: 2 3 5 7 11" "$B/pipeline"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
