# SPDX-License-Identifier: MIT
# preempt_latency's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# pthreads.c.

from gxbench.model import Metric, Run, Target, Workload

PREEMPT_ITERS, PREEMPT_ITERS_QUICK = 500, 20           # 1 ms sleeps against a spinner
PREEMPT_SLEEP_US = 1_000
PREEMPT_SHORT_QUANTUM = "1ms"                          # the extra gmpx-only run's GX_QUANTUM
# lateness p99 target: quantum + 1 ms (absolute)
PREEMPT_P99_MAX_US = {"default": 10_000 + 1_000, PREEMPT_SHORT_QUANTUM: 1_000 + 1_000}

WORKLOAD = Workload(
    "preempt_latency", "a call-free spinner holds the only P; lateness of 1 ms sleeps",
    runs=[Run("P1", {"maxprocs": 1, "iters": PREEMPT_ITERS, "sleep_us": PREEMPT_SLEEP_US},
              {"maxprocs": 1, "iters": PREEMPT_ITERS_QUICK, "sleep_us": PREEMPT_SLEEP_US},
              vm={"maxprocs": 1, "iters": 50, "sleep_us": PREEMPT_SLEEP_US},
              vm_quick={"maxprocs": 1, "iters": 10, "sleep_us": PREEMPT_SLEEP_US}),
          Run("P1-q1ms", {"maxprocs": 1, "iters": PREEMPT_ITERS, "sleep_us": PREEMPT_SLEEP_US},
              {"maxprocs": 1, "iters": PREEMPT_ITERS_QUICK, "sleep_us": PREEMPT_SLEEP_US},
              env={"GX_QUANTUM": PREEMPT_SHORT_QUANTUM}, programs=("gmpx",),
              vm={"maxprocs": 1, "iters": 100, "sleep_us": PREEMPT_SLEEP_US},
              vm_quick={"maxprocs": 1, "iters": 20, "sleep_us": PREEMPT_SLEEP_US})],
    metrics=[
        Metric("lateness p50 µs", "maxprocs=1", "µs", run="P1", field="late_p50_us"),
        Metric("lateness p99 µs", "maxprocs=1", "µs", run="P1", field="late_p99_us",
               target=Target("abs_max", PREEMPT_P99_MAX_US["default"], "µs")),
        Metric("lateness p50 µs", f"maxprocs=1, GX_QUANTUM={PREEMPT_SHORT_QUANTUM}", "µs",
               run="P1-q1ms", field="late_p50_us"),
        Metric("lateness p99 µs", f"maxprocs=1, GX_QUANTUM={PREEMPT_SHORT_QUANTUM}", "µs",
               run="P1-q1ms", field="late_p99_us",
               target=(Target("abs_max", PREEMPT_P99_MAX_US[PREEMPT_SHORT_QUANTUM], "µs"),
                       Target("abs_max", PREEMPT_P99_MAX_US[PREEMPT_SHORT_QUANTUM], "µs",
                              impl="vm-scx"))),
    ],
    na={
        "fiber": "Boost.Fiber is cooperative: a call-free spinner is never preempted, "
                 "so the sleeper never runs",
        "tokio": "Tokio is cooperative: a call-free spinner holding the only worker is "
                 "never preempted, so the sleeper never runs",
    })
