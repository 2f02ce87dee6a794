# SPDX-License-Identifier: MIT
# yield_switch's entry in the table (gxbench/workloads.py loads it): its runs,
# with their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c, go/main.go, tokio.rs,
# fiber.cpp, pthreads.c.

from gxbench.model import Metric, Run, Target, Workload

# At P=1 no P machinery is needed: gmpx's target is within 1.3x of a
# single-threaded C coroutine library (no scheduler, no P) measured on this
# kind of machine (issue 14): yield 12.5 ns.
YIELD_P1_MAX_NS = 16

YIELD_ITERS, YIELD_ITERS_QUICK = 5_000_000, 50_000     # per goroutine; 2x switches

WORKLOAD = Workload(
    "yield_switch", "two goroutines yielding in turn on one P",
    runs=[Run("P1", {"maxprocs": 1, "iters": YIELD_ITERS},
              {"maxprocs": 1, "iters": YIELD_ITERS_QUICK},
              vm={"maxprocs": 1, "iters": 50_000}, vm_quick={"maxprocs": 1, "iters": 5_000})],
    metrics=[
        Metric("ns/switch", "maxprocs=1", "ns", run="P1", field="ns_per_switch",
               target=(Target("ratio_max", 0.5),
                       Target("abs_max", YIELD_P1_MAX_NS, "ns"))),
    ])
