#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The scx-mode tests, in the sched_ext guest (make test runs this; so can
# you). The host kernel has no sched_ext, so the scx tests of
# build/release/gmpx_test skip there; here they must pass (GXT_SCX_REQUIRED):
#   1. partial mode: each scx test with its own gmpx-sched --mode scx;
#   2. whole-machine mode: one gmpx-sched --mode scx --whole-machine, the
#      whole selftest suite in scx mode against it (GX_KASSIST=scx), then
#      GXT_SCX_STRESS_SECS (default 60) of scx_stress; the scheduler must
#      still be loaded at the end (no watchdog ejection).
# Prints TAP from each run and ends with one "N passed, N failed, N skipped"
# line for all of them. Exits 0, 1 (a failure), or 4 with one line saying
# why when the guest cannot be had (no QEMU, no kernel, nothing built).
#
# usage: tools/vmtest/scx-tests.sh [vmtest.sh options]
set -uo pipefail
cd "$(dirname "$0")/../.."
for f in build/release/gmpx_test build/gmpx-sched; do
	if [ ! -x "$f" ]; then
		echo "# SKIP scx tests: $f not built"
		echo "0 passed, 0 failed, 1 skipped"
		exit 4
	fi
done
if ! build/gmpx-sched --help 2>&1 | grep -q -- '--whole-machine'; then
	echo "# SKIP scx tests: build/gmpx-sched was built without the sched_ext scheduler (no sched_ext BTF at build time: make vmtest-prepare, then make)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 4
fi
# The libraries goroutine dumps dlopen (user/traceback.c; not in ldd's
# list): the suite's dump tests read symbolised stacks in the guest too.
libs=()
for l in /usr/lib/x86_64-linux-gnu/libunwind.so.8 /usr/lib/x86_64-linux-gnu/libdw.so.1; do
	[ -e "$l" ] && libs+=(--copy "$l")
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
tools/vmtest/vmtest.sh --timeout "${SCX_VM_TIMEOUT:-2400}" --mem 3072 --copy build/release/gmpx_test --copy build/gmpx-sched \
	${libs[@]+"${libs[@]}"} --env "GXT_SCX_STRESS_SECS=${GXT_SCX_STRESS_SECS:-60}" "$@" --script /dev/stdin <<'GUEST' | tee "$out"
export GXT_SCHED=/work/build/gmpx-sched GXT_SCX_REQUIRED=1
T=build/release/gmpx_test
tests=$($T -l | grep '^scx_')
echo "# ===== scx, partial mode: $(echo $tests)"
args=""
for t in $tests; do
	[ "$t" = scx_stress ] && continue
	args="$args -t $t"
done
GXT_SCX_STRESS_SECS=3 $T $args -t scx_stress
echo "# ===== scx, whole-machine mode: the suite"
build/gmpx-sched --mode scx --whole-machine --socket /run/gx-wm.sock 2>/tmp/wm.log &
d=$!
i=0
while [ ! -S /run/gx-wm.sock ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
echo "# sched_ext: $(cat /sys/kernel/sched_ext/state 2>/dev/null) ($(cat /sys/kernel/sched_ext/root/ops 2>/dev/null))"
GX_KASSIST=scx GX_KASSIST_SOCK=/run/gx-wm.sock GXT_SCX_SOCK=/run/gx-wm.sock GXT_SLACK=4 HARNESS_TIMEOUT_SCALE=2 $T
echo "# ===== scx, whole-machine mode: ${GXT_SCX_STRESS_SECS}s of scx_stress"
GX_KASSIST_SOCK=/run/gx-wm.sock GXT_SCX_SOCK=/run/gx-wm.sock $T -t scx_stress
st=$(cat /sys/kernel/sched_ext/state 2>/dev/null)
echo "# sched_ext after the whole-machine run: $st"
if kill -0 $d 2>/dev/null && [ "$st" = enabled ]; then
	echo "ok 1 whole_machine_no_ejection"
	echo "1 passed, 0 failed"
else
	echo "not ok 1 whole_machine_no_ejection # the scheduler was ejected or the daemon died:"
	sed 's/^/# /' /tmp/wm.log
	echo "0 passed, 1 failed"
fi
kill $d 2>/dev/null
wait $d 2>/dev/null
exit 0
GUEST
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 4 ]; then
	echo "# SKIP scx tests: no sched_ext guest here (see the vmtest line above)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 4
fi
# add up the runs' summary lines
p=0 f=0 s=0
while read -r line; do
	set -- $(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')
	p=$((p + $1)) f=$((f + $2)) s=$((s + ${3:-0}))
done < <(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out")
if [ "$rc" -ne 0 ]; then
	echo "# the guest exited with status $rc"
	f=$((f + 1))
fi
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
