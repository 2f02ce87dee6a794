# SPDX-License-Identifier: MIT
# skynet's entry in the table (gxbench/workloads.py loads it): its runs, with
# their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c, go/main.go, tokio.rs,
# fiber.cpp.

from gxbench.model import Metric, Run, Workload

SKYNET_N, SKYNET_N_QUICK = 1_000_000, 10_000           # leaves (powers of 10)
FIBER_SKYNET_N = 100_000                               # 1.1M live 16 KiB fiber stacks: too much

WORKLOAD = Workload(
    "skynet", "the classic cross-runtime test: a 10-ary tree of goroutines, N leaves sending "
    "their ids up through unbuffered channels, every inner node summing its 10 children",
    runs=[Run(f"P{p}", {"maxprocs": p, "n": SKYNET_N}, {"maxprocs": p, "n": SKYNET_N_QUICK},
              vm={"maxprocs": p, "n": 10_000}, vm_quick={"maxprocs": p, "n": 1_000},
              override={"fiber": {"n": FIBER_SKYNET_N}})
          for p in (1, 2)],
    metrics=[
        Metric("wall ms", "maxprocs=1", "ms", run="P1", field="wall_ms"),
        Metric("wall ms", "maxprocs=2", "ms", run="P2", field="wall_ms"),
        Metric("ns/goroutine", "maxprocs=2", "ns", run="P2", field="ns_per_goroutine"),
    ],
    na={
        "pthreads": "1,111,111 threads cannot exist at once (pid_max, vm.max_map_count); "
                    "a smaller tree would not be skynet",
    })
