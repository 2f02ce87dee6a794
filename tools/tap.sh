# SPDX-License-Identifier: MIT
# tap.sh - TAP output for the shell test scripts (sourced by
# tools/run-examples.sh and tools/check-install.sh): ok NAME, not_ok NAME
# REASON, and tap_end, which prints the closing "N passed, N failed" line
# tools/run-tests.sh adds up and returns non-zero if anything failed.
pass=0 fail=0 n=0
ok() {
	n=$((n + 1))
	echo "ok $n $1"
	pass=$((pass + 1))
}
not_ok() { # name, reason
	n=$((n + 1))
	echo "not ok $n $1 # $2"
	fail=$((fail + 1))
}
tap_end() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
