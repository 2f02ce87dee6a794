#!/usr/bin/env bash
# Runs the whole suite after `make` has built it (make test calls this):
#   1. the harness self-test
#   2. the run-queue model check (exhaustive interleavings + mutants) and stress
#   3. the selftests in the release, ASan+UBSan and TSan builds; execution
#      traces of chan_pingpong and syscall_handoff (selftests/trace_workloads.sh)
#   4. the examples, then the installed library (tools/check-install.sh)
#   4b. the fuzz targets of gmpx-sched's parser and admission, 60 s each
#      (tools/run-fuzz.sh; FUZZ_TIME to change)
#   5. in the sched_ext guest: the BPF scheduler against a fake runtime
#      (tools/vmtest/scx-kabi.sh), then the runtime's scx-mode tests
#      (tools/vmtest/scx-tests.sh)
# Each step prints TAP and/or a "N passed, N failed" line; this script adds
# them up and ends with one such line for the whole suite.
set -u
cd "$(dirname "$0")/.."
B=build
pass=0 fail=0 skip=0
tally() { # $1 = log file; adds its last "N passed, N failed[, N skipped]" line
	local line p f s
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		echo "# $2: no summary line (crashed?)"
		fail=$((fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + ${s:-0}))
	echo "# $2: $line"
}
step() { # name, command...
	local name=$1
	shift
	echo "# ===== $name"
	local log
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	tally "$log" "$name"
	rm -f "$log"
}

step harness-selftest bash selftests/harness_selftest.sh "$B/harness_selftest"
if [ -x "$B/runq_model" ]; then
	step runq-model bash selftests/runq_model.sh
fi
[ -x "$B/runq_stress" ] && step runq-stress "$B/runq_stress"
[ -x "$B/tsan/runq_stress" ] && step runq-stress-tsan "$B/tsan/runq_stress"
step selftests-release "$B/release/gmpx_test"
step selftests-asan env HARNESS_TIMEOUT_SCALE=4 ASAN_OPTIONS=detect_leaks=0 "$B/asan/gmpx_test"
step selftests-tsan env HARNESS_TIMEOUT_SCALE=6 TSAN_OPTIONS=halt_on_error=1 "$B/tsan/gmpx_test"
# execution traces of two bench programs in trace mode, read by protobuf's parser and gmpx-trace
step trace-workloads bash selftests/trace_workloads.sh
if [ -x "$B/examples/hello" ]; then
	step examples bash tools/run-examples.sh
	# the library as installed: make install into a temporary DESTDIR, the
	# headers in every C and C++ dialect, the examples by pkg-config alone
	step install bash tools/check-install.sh
fi
step fuzz bash tools/run-fuzz.sh
# scx mode needs a sched_ext kernel: its tests run in a QEMU guest (skipped
# with the reason where QEMU or the kernel cannot be had)
step selftests-scx-kabi-vm bash tools/vmtest/scx-kabi.sh
step selftests-scx-vm bash tools/vmtest/scx-tests.sh
echo "suite: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
