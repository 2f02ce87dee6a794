#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Smoke check of the VM harness: boots the sched_ext kernel with the
# project's binaries (if built: `make`) and prints the guest kernel, the
# sched_ext state and a few selftests. Options go to vmtest.sh.
#
# usage: tools/vmtest/smoke.sh [vmtest.sh options]
set -euo pipefail
cd "$(dirname "$0")/../.."
copy=()
for f in build/gmpx-sched build/release/gmpx_test; do
	[ -x "$f" ] && copy+=(--copy "$f")
done
# The guest's cwd is /work, so build/gmpx-sched is where the selftests look.
exec tools/vmtest/vmtest.sh ${copy[@]+"${copy[@]}"} "$@" --script /dev/stdin <<'EOF'
echo "# uname -r: $(uname -r)"
echo "# nproc: $(nproc)"
if [ -r /sys/kernel/sched_ext/state ]; then
	echo "# sched_ext state: $(cat /sys/kernel/sched_ext/state)"
else
	echo "# sched_ext: absent (/sys/kernel/sched_ext/state missing)"
fi
[ -r /sys/kernel/btf/vmlinux ] && echo "# btf: /sys/kernel/btf/vmlinux $(wc -c </sys/kernel/btf/vmlinux) bytes"
rc=0
if [ -x build/release/gmpx_test ]; then
	build/release/gmpx_test -t kassist_api_errors -t off_unwrapped_read_stalls || rc=1
else
	echo "# build/release/gmpx_test not built: skipped"
fi
if [ -x build/gmpx-sched ] && [ -x build/release/gmpx_test ]; then
	build/gmpx-sched --socket /run/s.sock &
	d=$!
	i=0
	while [ ! -S /run/s.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S /run/s.sock ] && echo "# gmpx-sched is up (/run/s.sock)" || echo "# gmpx-sched: no socket after 10 s"
	GXT_SCHED=/work/build/gmpx-sched GX_KASSIST=trace GX_KASSIST_SOCK=/run/s.sock \
		build/release/gmpx_test -t trace_mode_attaches || rc=1
	kill "$d" 2>/dev/null
	wait "$d" 2>/dev/null
else
	echo "# build/gmpx-sched not built: trace mode skipped"
fi
exit $rc
EOF
