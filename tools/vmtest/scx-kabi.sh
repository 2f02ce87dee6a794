#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scx mode's ABI test in the sched_ext guest: build/scx_kabi_test (a fake
# runtime, selftests/scx_kabi_test.c) against build/gmpx-sched --mode scx,
# partial mode, then whole-machine mode, one boot each (a failing test may
# leave a scheduler loaded). Options go to vmtest.sh. Exit: 0 both passed,
# 1 a failure, 4 skipped.
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
	[ -x "$f" ] || { echo "vmtest: SKIP: $f not built (make; make scx-kabi-test)" >&2; exit 4; }
done
rc=0
for mode in "" --whole-machine; do
	echo "# scx_kabi_test ${mode:-(partial)}"
	r=0
	tools/vmtest/vmtest.sh --copy build/gmpx-sched --copy build/scx_kabi_test "$@" \
		-- "build/scx_kabi_test $mode; r=\$?; dmesg | grep sched_ext | sed 's/^/# dmesg: /'; exit \$r" || r=$?
	case $r in
	0) ;;
	4) exit 4 ;;
	*) rc=1 ;;
	esac
done
exit $rc
