# SPDX-License-Identifier: MIT
# parked_memory's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# tokio.rs, fiber.cpp.

from gxbench.model import Metric, Run, Target, Workload

PARKED_N, PARKED_N_QUICK = 1_000_000, 10_000
PARKED_BYTES_MAX = 4608                                # 4.5 KiB per parked goroutine
# Boost.Fiber creates a fiber in ~10 µs: a tenth of the goroutines gives the
# same per-fiber figures in a tenth of the time.
FIBER_PARKED_N = 100_000

WORKLOAD = Workload(
    "parked_memory", "N goroutines blocked forever: RSS and creation cost",
    runs=[Run("P2", {"maxprocs": 2, "n": PARKED_N}, {"maxprocs": 2, "n": PARKED_N_QUICK},
              vm={"maxprocs": 2, "n": 20_000}, vm_quick={"maxprocs": 2, "n": 2_000},
              override={"fiber": {"n": FIBER_PARKED_N}})],
    metrics=[
        Metric("RSS bytes/goroutine", "maxprocs=2", "B", run="P2",
               field="bytes_per_goroutine",
               target=Target("abs_max", PARKED_BYTES_MAX, "B")),
        Metric("create ns/goroutine", "maxprocs=2", "ns", run="P2",
               field="ns_per_goroutine"),
    ],
    notes={
        "tokio": "Tokio's tasks are stackless: a parked task is its future's state (here a few "
                 "words) in one heap block, where a goroutine or a fiber has a stack of its own and "
                 "can block at any call depth. A different model: the row shows what each costs",
        "fiber": f"n = {FIBER_PARKED_N:,} (creation is ~10 µs a fiber); 16 KiB stacks, of which "
                 "the touched pages are resident",
    },
    na={
        "pthreads": "1,000,000 threads cannot exist at once (pid_max, vm.max_map_count), "
                    "and a thread's kernel stack is not in RSS",
    })
