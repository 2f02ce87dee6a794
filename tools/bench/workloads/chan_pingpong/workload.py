# SPDX-License-Identifier: MIT
# chan_pingpong's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# tokio.rs, fiber.cpp, pthreads.c.

from gxbench.model import TRACE_FILE_ENV, TRACE_FLIGHT_ENV, traced_ratio, SCX_SAME_AS_OFF, Metric, Run, Target, Workload

# At P=1 no P machinery is needed: gmpx's target is within 1.3x of a
# single-threaded C coroutine library (no scheduler, no P) measured on this
# kind of machine (issue 14): round trip 74 ns.
ROUNDTRIP_P1_MAX_NS = 97

PINGPONG_TRIPS, PINGPONG_TRIPS_QUICK = 1_000_000, 10_000
# pthreads, where a kernel wake-up per hand-off makes the full size take
# minutes (same per-item figures)
PT_PINGPONG_TRIPS = 100_000

# The execution trace's cost (gmpx/trace.h): the same run traced to a
# file (its writer thread shares the 2 CPUs) and into the flight
# recorder, a fifth of the size (the file is ~40 bytes per event).
runs_traced = [Run(f"P1-{m}", {"maxprocs": 1, "trips": PINGPONG_TRIPS // 5}, {"maxprocs": 1, "trips": PINGPONG_TRIPS_QUICK},
                   env=env, programs=("gmpx",), in_vm=False)
               for m, env in (("traced", TRACE_FILE_ENV), ("flight", TRACE_FLIGHT_ENV))]

WORKLOAD = Workload(
    "chan_pingpong", "round trips between two goroutines over two unbuffered channels",
    runs=[Run(f"P{p}", {"maxprocs": p, "trips": PINGPONG_TRIPS},
              {"maxprocs": p, "trips": PINGPONG_TRIPS_QUICK},
              vm={"maxprocs": p, "trips": 10_000}, vm_quick={"maxprocs": p, "trips": 1_000},
              override={"pthreads": {"trips": PT_PINGPONG_TRIPS}}) for p in (1, 2)] + runs_traced,
    metrics=[
        Metric("ns/round trip", "maxprocs=1", "ns", run="P1", field="ns_per_roundtrip",
               target=(Target("ratio_max", 0.5),
                       Target("abs_max", ROUNDTRIP_P1_MAX_NS, "ns"))),
        Metric("ns/round trip", "maxprocs=2", "ns", run="P2", field="ns_per_roundtrip",
               target=(Target("best_max", 1.0),
                       Target("ratio_to", SCX_SAME_AS_OFF, impl="vm-scx", ref="vm-off"))),
    
        Metric("ns/round trip, traced to a file", "maxprocs=1", "ns", run="P1-traced", field="ns_per_roundtrip"),
        Metric("tracing cost: traced / untraced", "maxprocs=1, to a file", "x",
               derive=traced_ratio("P1-traced", "P1", "ns_per_roundtrip"), target=Target("abs_max", 1.10, "x")),
        Metric("tracing cost: traced / untraced", "maxprocs=1, flight recorder", "x",
               derive=traced_ratio("P1-flight", "P1", "ns_per_roundtrip"), target=Target("abs_max", 1.10, "x")),
    ])
