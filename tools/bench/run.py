#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gmpx benchmark runner: the same workloads in gmpx (each kernel-assist
mode), in Go and with plain pthreads, on the host and in a sched_ext VM.

Builds every workload program of every implementation (each workload's
folder tools/bench/workloads/NAME holds them: gmpx.c, the Go peer go/main.go,
the pthreads analogue pthreads.c), runs each workload x implementation for R rounds on the host
(implementations interleaved within a round, their order rotated from round
to round, so drift of a noisy machine affects all alike), then boots ONE
QEMU guest on Debian's sched_ext kernel (tools/vmtest/vmtest.sh) and runs
the VM implementations there the same way (an sh script: tools/bench/guest.sh
and the run's steps; the guest starts its own gmpx-sched daemons for trace
and scx mode). Takes medians and prints, per metric, every implementation's
median, the ratios (host implementations to Go; the kernel-assist modes to
each other, the VM's to the VM's) and whether gmpx meets its targets; writes
JSON with every sample and one SVG plot per metric (gnuplot). Absolute numbers on shared
machines are noise; the ratios are the result (DESIGN.md section 5).

Usage:
    tools/bench/run.py                 # full sizes: host 5 rounds, VM 5 rounds
    tools/bench/run.py --quick         # tiny sizes, 1 round (CI: checks it runs)
    tools/bench/run.py --only fib_fanout,yield_switch --rounds 9 --no-vm
    tools/bench/run.py --markdown      # the table as Markdown, for README

Each workload program prints ONE line of JSON on stdout with its metrics and
exits 0; exit 1 means its own verification failed. Sizes are passed as
--name=value options, the same for every implementation of one place (the
VM has its own, smaller sizes).

Exit status: 0 when everything built, ran and verified (whether or not the
targets are met: they are reported, not enforced; an implementation marked
advisory reports its failures without failing the run); 1 when something
failed to build or run, or a workload's verification failed, or the guest
crashed or timed out; 2 for bad usage. A column that cannot be had (no root
or BTF for the host's daemon; no QEMU or kernel for the VM, vmtest.sh exit
4; a kernel-assist mode the guest's probe shows not working) is skipped
with the reason.

Host implementations: gmpx (kernel assist off), gmpx-trace (GX_KASSIST=trace
with ONE private daemon for the whole run: build/gmpx-sched --socket
/tmp/gmpx-bench-PID/sched.sock --pin-dir /sys/fs/bpf/gmpx-bench-PID; root and
kernel BTF), go and pthreads. VM implementations: vm-off, vm-trace, vm-scx,
vm-go, vm-pthreads (gxbench/vm.py). Every C program reports the mode it ended in
("kassist" in its JSON); a sample that did not end in its column's mode fails.

This file is the command line; the work is in gxbench/: build.py (the
program sets), host.py (the host part and its daemon), vm.py (the VM part),
servers.py (server workloads' drivers), report.py (rows, table, JSON),
plots.py, impls.py (the columns), model.py and workloads.py (the table's
entries, one per tools/bench/workloads/NAME/workload.py).

Adding an implementation: a ProgramSet (how to build its programs, where they
land) in gxbench/build.py and an Impl (a name, the program set, extra
environment, where) in IMPLS, gxbench/impls.py. Adding a workload: the
programs, then its Workload in workloads/NAME/workload.py and its name in
ORDER, gxbench/workloads.py. A Run has host and VM sizes, may set extra
environment (env) and be limited to some program sets (programs): e.g.
preempt_latency's gmpx-only GX_QUANTUM=1ms run.

Server workloads (netpoll_echo, http_hello): the program of each
implementation is a server; the Workload's driver starts it, waits for its
"listening on :PORT" line, runs a client against it (a helper program built
here, the same for every implementation, or wrk), stops the server with
SIGTERM and turns the client's output into the one line of JSON. In the VM
the guest script does the same for netpoll_echo (http_hello is host-only).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # gxbench, beside this file

from gxbench import build, host, report, vm  # noqa: E402
from gxbench.impls import IMPL_BY_NAME, IMPLS  # noqa: E402
from gxbench.util import DEFAULT_JSON, DEFAULT_LIB, DEFAULT_PLOTS, REPO, Options  # noqa: E402
from gxbench.workloads import WORKLOADS  # noqa: E402

DEFAULT_ROUNDS = 5


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Run the gmpx benchmarks side by side with Go and pthreads, on the host and "
                    "in a sched_ext VM.")
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes and 1 round (checks that everything runs; "
                         "the numbers mean nothing)")
    ap.add_argument("--rounds", type=int, help=f"rounds (default {DEFAULT_ROUNDS}; 1 with --quick)")
    ap.add_argument("--vm-rounds", type=int,
                    help=f"rounds in the VM (default {vm.VM_ROUNDS}; 1 with --quick)")
    ap.add_argument("--vm-smp", type=int, default=vm.VM_SMP, help=f"the guest's CPUs (default {vm.VM_SMP})")
    ap.add_argument("--no-vm", action="store_true", help="host only: leave out the VM columns")
    ap.add_argument("--vm-only", action="store_true", help="the VM columns only")
    ap.add_argument("--only", help="comma-separated workloads (default: all): "
                    + ",".join(w.name for w in WORKLOADS))
    ap.add_argument("--impl", help="comma-separated implementations (default: all): "
                    + ",".join(i.name for i in IMPLS))
    ap.add_argument("--json", default=str(DEFAULT_JSON),
                    help=f"where to write the results (default {DEFAULT_JSON.relative_to(REPO)})")
    ap.add_argument("--plots-dir", default=str(DEFAULT_PLOTS),
                    help=f"where the SVG plots go (default {DEFAULT_PLOTS.relative_to(REPO)})")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--no-make", dest="make", action="store_false",
                    help="do not run 'make lib' (and 'make gmpx-sched') first")
    ap.add_argument("--lib", help=f"gmpx static library (default {DEFAULT_LIB.relative_to(REPO)}; "
                    "implies --no-make)")
    ap.add_argument("--ldlibs", default="-pthread",
                    help="what to link after the library (default: -pthread)")
    a = ap.parse_args(argv)

    def pick(spec, known, what):
        if not spec:
            return list(known)
        want = [s.strip() for s in spec.split(",") if s.strip()]
        bad = [s for s in want if s not in known]
        if bad:
            ap.error(f"unknown {what}: {', '.join(bad)} (known: {', '.join(known)})")
        return [k for k in known if k in want]

    rounds = a.rounds if a.rounds is not None else (1 if a.quick else DEFAULT_ROUNDS)
    vm_rounds = a.vm_rounds if a.vm_rounds is not None else (1 if a.quick else vm.VM_ROUNDS)
    if rounds < 1 or vm_rounds < 1:
        ap.error("--rounds and --vm-rounds must be >= 1")
    if a.no_vm and a.vm_only:
        ap.error("--no-vm and --vm-only exclude each other")
    impls = pick(a.impl, [i.name for i in IMPLS], "implementation")
    if a.no_vm:
        impls = [n for n in impls if IMPL_BY_NAME[n].where != "vm"]
    if a.vm_only:
        impls = [n for n in impls if IMPL_BY_NAME[n].where == "vm"]
    return Options(
        rounds=rounds, quick=a.quick,
        only=pick(a.only, [w.name for w in WORKLOADS], "workload"),
        impls=impls,
        json=a.json, markdown=a.markdown,
        make=a.make and a.lib is None,
        lib=a.lib or str(DEFAULT_LIB),
        ldlibs=a.ldlibs.split(),
        vm_rounds=vm_rounds, vm_smp=a.vm_smp, plots_dir=a.plots_dir)


def main(argv):
    opts = parse_args(argv)
    workloads = [w for w in WORKLOADS if w.name in opts.only]
    impls = [i for i in IMPLS if i.name in opts.impls]
    host_impls = [i for i in impls if i.where == "host"]
    vm_impls = [i for i in impls if i.where == "vm"]
    failures = []

    built, toolchain_missing = build.build_all(
        opts, workloads, impls, failures,
        also={"gmpx": [vm.VM_PROBE[0]]} if vm_impls else None)   # the guest's kernel-assist probe
    info = report.machine_info()
    skipped = {i.name: toolchain_missing[i.programs] for i in impls
               if i.programs in toolchain_missing}    # implementation -> why it did not run

    ran = host.run_host(opts, workloads, host_impls, built, skipped, failures)
    if ran is None:
        return 130
    samples, host_s = ran

    # The VM: one boot, every VM implementation (its own rounds, rotated).
    vm_info = {}
    if vm_impls:
        vsamples, vm_info = vm.run_vm_part(opts, workloads, vm_impls, built, skipped, failures)
        samples += vsamples

    return report.finish(opts, workloads, impls, samples, skipped, failures, info, vm_info, host_s)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
