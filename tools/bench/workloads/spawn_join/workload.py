# SPDX-License-Identifier: MIT
# spawn_join's entry in the table (gxbench/workloads.py loads it): its runs,
# with their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c, go/main.go, tokio.rs,
# fiber.cpp, pthreads.c.

from gxbench.model import TRACE_FILE_ENV, TRACE_FLIGHT_ENV, traced_ratio, Metric, Run, Target, Workload

# Full and quick sizes. Quick sizes only keep the code from rotting.
# At P=1 no P machinery is needed: gmpx's target is within 1.3x of a
# single-threaded C coroutine library (no scheduler, no P) measured on this
# kind of machine (issue 14): spawn 29 ns.
SPAWN_P1_MAX_NS = 38

SPAWN_N, SPAWN_N_QUICK = 1_000_000, 10_000
# pthreads where one OS thread per goroutine makes the full size take
# minutes (same per-item figures)
PT_SPAWN_N = 200_000
# Boost.Fiber: a million live 16 KiB fiber stacks would be 16 GiB (its
# fibers start post-launch, like goroutines: all exist before most have run)
FIBER_SPAWN_N = 200_000

# The execution trace's cost (gmpx/trace.h): the same run traced to a
# file (its writer thread shares the 2 CPUs) and into the flight
# recorder, a fifth of the size (the file is ~40 bytes per event).
runs_traced = [Run(f"P1-{m}", {"maxprocs": 1, "n": SPAWN_N // 5}, {"maxprocs": 1, "n": SPAWN_N_QUICK},
                   env=env, programs=("gmpx",), in_vm=False)
               for m, env in (("traced", TRACE_FILE_ENV), ("flight", TRACE_FLIGHT_ENV))]

WORKLOAD = Workload(
    "spawn_join", "N goroutines each doing one atomic add, joined by a WaitGroup",
    runs=[Run(f"P{p}", {"maxprocs": p, "n": SPAWN_N}, {"maxprocs": p, "n": SPAWN_N_QUICK},
              vm={"maxprocs": p, "n": 20_000}, vm_quick={"maxprocs": p, "n": 2_000},
              override={"pthreads": {"n": PT_SPAWN_N}, "fiber": {"n": FIBER_SPAWN_N}}, vm_override={"pthreads": {"n": 2_000}})
          for p in (1, 2)] + runs_traced,
    metrics=[
        Metric("ns/goroutine", "maxprocs=1", "ns", run="P1", field="ns_per_goroutine",
               target=(Target("best_max", 1.0),
                       Target("abs_max", SPAWN_P1_MAX_NS, "ns"))),
        Metric("ns/goroutine", "maxprocs=2", "ns", run="P2", field="ns_per_goroutine",
               target=Target("best_max", 1.0)),
    
        Metric("ns/goroutine, traced to a file", "maxprocs=1", "ns", run="P1-traced", field="ns_per_goroutine"),
        Metric("tracing cost: traced / untraced", "maxprocs=1, to a file", "x",
               derive=traced_ratio("P1-traced", "P1", "ns_per_goroutine"), target=Target("abs_max", 1.10, "x")),
        Metric("tracing cost: traced / untraced", "maxprocs=1, flight recorder", "x",
               derive=traced_ratio("P1-flight", "P1", "ns_per_goroutine"), target=Target("abs_max", 1.10, "x")),
    ])
