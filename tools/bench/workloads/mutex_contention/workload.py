# SPDX-License-Identifier: MIT
# mutex_contention's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# tokio.rs, fiber.cpp, pthreads.c.

from gxbench.model import Metric, Run, Target, Workload

MUTEX_WORKERS = 4
MUTEX_ITERS, MUTEX_ITERS_QUICK = 1_000_000, 25_000     # per worker; x4 pairs

WORKLOAD = Workload(
    "mutex_contention", "4 goroutines locking one mutex around a counter increment",
    runs=[Run("P2", {"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": MUTEX_ITERS},
              {"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": MUTEX_ITERS_QUICK},
              vm={"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": 20_000},
              vm_quick={"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": 2_000})],
    metrics=[
        Metric("ns/lock+unlock", "maxprocs=2", "ns", run="P2", field="ns_per_pair",
               target=Target("best_max", 1.0)),
    ])
