# SPDX-License-Identifier: MIT
# idle_cost's entry in the table (gxbench/workloads.py loads it): its runs,
# with their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c, go/main.go, pthreads.c,
# tokio.rs, fiber.cpp.

from gxbench.model import Metric, Run, Target, Workload

IDLE_N = 1000                                          # parked goroutines
IDLE_MS, IDLE_MS_QUICK = 10_000, 2_000                 # the idle window
IDLE_TRACE_MAX_RATIO = 0.1                             # gmpx-trace idle CPU / gmpx's

WORKLOAD = Workload(
    "idle_cost", f"{IDLE_N} goroutines parked on a waitgroup while main sleeps {IDLE_MS // 1000} s "
    f"(--quick: {IDLE_MS_QUICK // 1000} s): the process's CPU time and context switches in that window",
    runs=[Run("P2", {"maxprocs": 2, "n": IDLE_N, "idle_ms": IDLE_MS},
              {"maxprocs": 2, "n": IDLE_N, "idle_ms": IDLE_MS_QUICK},
              vm={"maxprocs": 2, "n": IDLE_N, "idle_ms": 2_000},
              vm_quick={"maxprocs": 2, "n": 100, "idle_ms": 300})],
    metrics=[
        Metric("idle CPU µs", "maxprocs=2", "µs", run="P2", field="idle_cpu_us",
               target=Target("ratio_to", IDLE_TRACE_MAX_RATIO, impl="gmpx-trace", ref="gmpx")),
        Metric("idle CPU % of one CPU", "maxprocs=2", "%", run="P2", field="idle_cpu_pct"),
        Metric("context switches", "maxprocs=2", "", run="P2", field="wakeups"),
    ])
