# SPDX-License-Identifier: MIT
# fib_fanout's entry in the table (gxbench/workloads.py loads it): its runs,
# with their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c, go/main.go, tokio.rs,
# fiber.cpp, pthreads.c.

from gxbench.model import SCX_SAME_AS_OFF, Metric, Run, Target, Workload

FIB_N, FIB_N_QUICK = 32, 20


def fib_speedup(med):
    t1 = med.get("P1", {}).get("wall_ms")
    t2 = med.get("P2", {}).get("wall_ms")
    return t1 / t2 if t1 and t2 else None


WORKLOAD = Workload(
    "fib_fanout", "recursive fib, one goroutine per call above the cutoff",
    runs=[Run(f"P{p}", {"maxprocs": p, "n": FIB_N}, {"maxprocs": p, "n": FIB_N_QUICK},
              vm={"maxprocs": p, "n": 24}, vm_quick={"maxprocs": p, "n": 18})
          for p in (1, 2)],
    metrics=[
        Metric("wall ms", "maxprocs=1", "ms", run="P1", field="wall_ms"),
        Metric("wall ms", "maxprocs=2", "ms", run="P2", field="wall_ms",
               target=(Target("best_max", 1.0),
                       Target("ratio_to", SCX_SAME_AS_OFF, impl="vm-scx", ref="vm-off"))),
        Metric("speedup t1/t2", "maxprocs=1→2", "x", derive=fib_speedup, higher=True,
               target=Target("best_min", 1.0)),
    ])
