# SPDX-License-Identifier: MIT
# timers's entry in the table (gxbench/workloads.py loads it): its runs, with
# their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c, go/main.go, tokio.rs,
# fiber.cpp.

from gxbench.model import Metric, Run, Target, Workload

TIMERS_N, TIMERS_N_QUICK = 100_000, 2_000

WORKLOAD = Workload(
    "timers", "N goroutines each sleeping once for 1-10 ms (same seeded durations)",
    runs=[Run("P2", {"maxprocs": 2, "n": TIMERS_N}, {"maxprocs": 2, "n": TIMERS_N_QUICK},
              vm={"maxprocs": 2, "n": 5_000}, vm_quick={"maxprocs": 2, "n": 500})],
    metrics=[
        Metric("wall ms", "maxprocs=2", "ms", run="P2", field="wall_ms"),
        Metric("oversleep p50 µs", "maxprocs=2", "µs", run="P2", field="oversleep_p50_us"),
        Metric("oversleep p99 µs", "maxprocs=2", "µs", run="P2", field="oversleep_p99_us",
               target=Target("ratio_max", 1.0)),
    ],
    na={
        "pthreads": "100,000 concurrently sleeping threads exceed pid_max and vm.max_map_count; "
                    "a timer wheel on a few threads would be a scheduler of its own",
    })
