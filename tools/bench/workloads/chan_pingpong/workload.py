# SPDX-License-Identifier: MIT
# chan_pingpong's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# tokio.rs, fiber.cpp, pthreads.c.

from gxbench.model import SCX_SAME_AS_OFF, Metric, Run, Target, Workload

# At P=1 no P machinery is needed: gmpx's target is within 1.3x of a
# single-threaded C coroutine library (no scheduler, no P) measured on this
# kind of machine (issue 14): round trip 74 ns.
ROUNDTRIP_P1_MAX_NS = 97

PINGPONG_TRIPS, PINGPONG_TRIPS_QUICK = 1_000_000, 10_000
# pthreads, where a kernel wake-up per hand-off makes the full size take
# minutes (same per-item figures)
PT_PINGPONG_TRIPS = 100_000

WORKLOAD = Workload(
    "chan_pingpong", "round trips between two goroutines over two unbuffered channels",
    runs=[Run(f"P{p}", {"maxprocs": p, "trips": PINGPONG_TRIPS},
              {"maxprocs": p, "trips": PINGPONG_TRIPS_QUICK},
              vm={"maxprocs": p, "trips": 10_000}, vm_quick={"maxprocs": p, "trips": 1_000},
              override={"pthreads": {"trips": PT_PINGPONG_TRIPS}}) for p in (1, 2)],
    metrics=[
        Metric("ns/round trip", "maxprocs=1", "ns", run="P1", field="ns_per_roundtrip",
               target=(Target("ratio_max", 0.5),
                       Target("abs_max", ROUNDTRIP_P1_MAX_NS, "ns"))),
        Metric("ns/round trip", "maxprocs=2", "ns", run="P2", field="ns_per_roundtrip",
               target=(Target("best_max", 1.0),
                       Target("ratio_to", SCX_SAME_AS_OFF, impl="vm-scx", ref="vm-off"))),
    ])
