# SPDX-License-Identifier: MIT
# pool_alloc's entry in the table (gxbench/workloads.py loads it): its runs,
# with their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c (gx_pool), go/main.go
# (sync.Pool), pthreads.c (malloc/free: what a C program does without a
# pool).

from gxbench.model import Metric, Run, Target, Workload

POOL_ITERS, POOL_ITERS_QUICK = 10_000_000, 100_000     # get+put pairs per worker
POOL_SIZE = 256                                        # bytes per object

WORKLOAD = Workload(
    "pool_alloc", "GOMAXPROCS goroutines each taking a 256-byte buffer from a pool, "
    "writing it and putting it back (pthreads: malloc, write, free)",
    runs=[Run("P2", {"maxprocs": 2, "workers": 2, "iters": POOL_ITERS, "size": POOL_SIZE},
              {"maxprocs": 2, "workers": 2, "iters": POOL_ITERS_QUICK, "size": POOL_SIZE},
              vm={"maxprocs": 2, "workers": 2, "iters": 200_000, "size": POOL_SIZE},
              vm_quick={"maxprocs": 2, "workers": 2, "iters": 20_000, "size": POOL_SIZE})],
    metrics=[
        Metric("ns/get+put", "maxprocs=2", "ns", run="P2", field="ns_per_pair",
               target=Target("ratio_max", 1.0)),
    ],
    na={
        "tokio": "Tokio has no object pool (sync.Pool's peers are crates outside Debian's registry)",
        "fiber": "Boost.Fiber has no object pool (Boost.Pool is a single-threaded allocator)",
    })
