#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scx mode's ABI test in the sched_ext guest: build/scx_kabi_test (a fake
# runtime, selftests/scx_kabi_test.c) against build/gmpx-sched --mode scx,
# partial mode, then whole-machine mode, one boot each (a failing test may
# leave a scheduler loaded). Options go to vmtest.sh. Ends with one "N
# passed, N failed" line for both runs. Exit: 0 both passed, 1 a failure,
# 4 skipped.
#
# Needs vmtest.sh's default single-threaded TCG (--tcg-thread single): with
# multi-threaded TCG the guest kernel oopsed on an int3 in 2 boots of 3 while
# sched_ext was enabled or disabled (static-key patching, in __schedule and
# update_rq_clock, never in BPF code), an emulator race.
#
# usage: tools/vmtest/scx-kabi.sh [vmtest.sh options]
set -euo pipefail
cd "$(dirname "$0")/../.."
for f in build/gmpx-sched build/scx_kabi_test; do
	if [ ! -x "$f" ]; then
		echo "# SKIP scx_kabi_test: $f not built (make; make scx-kabi-test)"
		echo "0 passed, 0 failed, 1 skipped"
		exit 4
	fi
done
if ! build/gmpx-sched --help 2>&1 | grep -q -- '--whole-machine'; then
	echo "# SKIP scx_kabi_test: build/gmpx-sched was built without the sched_ext scheduler (make vmtest-prepare, then make)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 4
fi
rc=0 p=0 f=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for mode in "" --whole-machine; do
	echo "# scx_kabi_test ${mode:-(partial)}"
	r=0
	tools/vmtest/vmtest.sh --copy build/gmpx-sched --copy build/scx_kabi_test "$@" \
		-- "build/scx_kabi_test $mode; r=\$?; dmesg | grep sched_ext | sed 's/^/# dmesg: /'; exit \$r" >"$out" || r=$?
	cat "$out"
	case $r in
	0) ;;
	4)
		echo "# SKIP scx_kabi_test: no sched_ext guest here (see the vmtest line above)"
		echo "0 passed, 0 failed, 1 skipped"
		exit 4
		;;
	*) rc=1 ;;
	esac
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ -n "$line" ]; then
		p=$((p + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')))
		f=$((f + $(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')))
	else
		f=$((f + 1))
	fi
done
echo "$p passed, $f failed"
exit $rc
