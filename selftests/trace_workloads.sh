#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# trace_workloads.sh - the execution trace of two of the bench's own
# programs, as a user would take it: chan_pingpong (P=2) and
# syscall_handoff with unwrapped reads (P=1), in trace mode
# (GX_KASSIST=trace through a private gmpx-sched, GX_KASSIST_LOAD) and
# GX_TRACE=FILE. Each file must pass selftests/trace_check.py (protobuf's
# own parser: tracks, nesting, thread ids; the hand-off case also the
# kernel's view of the Ms and a P revoked from a blocked M) and
# tools/gmpx-trace must summarise it.
#
# usage: selftests/trace_workloads.sh   (after make: build/release/libgmpx.a)
# Prints TAP lines and "N passed, N failed, N skipped" last. Without root,
# BTF or build/gmpx-sched the trace-mode runs fall back to off mode and
# their kernel-view check is skipped; without protobuf-c or python3-protobuf
# everything is skipped.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build/trace_workloads.d
mkdir -p "$out"
passed=0 failed=0 skipped=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"; [ -n "${2:-}" ] && echo "# $2"; }
skip() { n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n $1 # SKIP $2"; }
finish() { echo "$passed passed, $failed failed, $skipped skipped"; [ "$failed" = 0 ]; exit $?; }

if [ ! -f build/proto/trace_pb2.py ] || ! /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null; then
	skip "trace workloads" "no protobuf parser (protobuf-compiler, python3-protobuf)"
	finish
fi
kernel=1
why=""
if [ "$(id -u)" != 0 ]; then why="needs root"; fi
[ -z "$why" ] && [ ! -r /sys/kernel/btf/vmlinux ] && why="no kernel BTF"
[ -z "$why" ] && [ ! -x build/gmpx-sched ] && why="build/gmpx-sched not built"
[ -n "$why" ] && kernel=0

for w in chan_pingpong syscall_handoff; do
	if ! gcc -O2 -std=gnu11 -Iinclude -Itools/bench/include "tools/bench/workloads/$w/gmpx.c" \
		build/release/libgmpx.a -pthread -lm -o "$out/$w" 2>"$out/$w.cc.log"; then
		not_ok "$w builds" "$(tail -3 "$out/$w.cc.log")"
		continue
	fi
	case $w in
	chan_pingpong) args=(--maxprocs=2 --trips=20000) check=(--min G:20000 --why 'chan send|chan receive') ;;
	syscall_handoff)
		args=(--maxprocs=1 --unwrapped=1 --iters=10 --delay_us=20000 --yield_us=100)
		check=(--min G:10)
		[ $kernel = 1 ] && check+=(--kernel --why 'revoked from a blocked M')
		;;
	esac
	f=$out/$w.pftrace
	rm -f "$f"
	if ! env GX_KASSIST=trace GX_KASSIST_LOAD="$root/build/gmpx-sched" GX_TRACE="$f" "$out/$w" "${args[@]}" \
		>"$out/$w.out" 2>&1; then
		not_ok "$w runs traced" "$(tail -3 "$out/$w.out")"
		continue
	fi
	if grep -q 'cannot trace' "$out/$w.out"; then
		skip "$w traced" "$(grep 'cannot trace' "$out/$w.out" | head -1)"
		continue
	fi
	mode=$(grep -o '"kassist":"[a-z]*"' "$out/$w.out" | tail -1)
	if [ $kernel = 1 ] && [ "$mode" != '"kassist":"trace"' ]; then
		not_ok "$w ran in trace mode" "$mode; $(grep gmpx: "$out/$w.out" | head -2)"
		continue
	fi
	if /usr/bin/python3 selftests/trace_check.py "$f" "${check[@]}" 2>"$out/$w.check"; then
		ok "$w: the trace parses, tracks and slices hold ($(tail -1 "$out/$w.check" | sed 's/^# //'))"
	else
		not_ok "$w: trace_check.py ${check[*]}" "$(head -5 "$out/$w.check" | tr '\n' ' ')"
	fi
	if GMPX_TRACE_PB2=build/proto tools/gmpx-trace "$f" >"$out/$w.summary" 2>&1 &&
		grep -q '^scheduling latency (runnable -> running): [1-9][0-9]* events' "$out/$w.summary"; then
		ok "$w: gmpx-trace summarises it ($(grep '^scheduling latency' "$out/$w.summary"))"
	else
		not_ok "$w: gmpx-trace" "$(head -3 "$out/$w.summary" | tr '\n' ' ')"
	fi
	[ $kernel = 0 ] && [ $w = syscall_handoff ] && skip "$w: the kernel's view" "$why"
done
finish
