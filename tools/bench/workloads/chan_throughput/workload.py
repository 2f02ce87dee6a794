# SPDX-License-Identifier: MIT
# chan_throughput's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# tokio.rs, fiber.cpp, pthreads.c.

from gxbench.model import Metric, Run, Target, Workload

CHAN_ITEMS, CHAN_ITEMS_QUICK = 10_000_000, 100_000     # in all, whatever the fan-in/out
CHAN_CAP = 1024

WORKLOAD = Workload(
    "chan_throughput", "int64s through one buffered channel (cap 1024), K producers → C consumers",
    runs=[Run(f"{k}x{k}",
              {"maxprocs": 2, "items": CHAN_ITEMS, "producers": k, "consumers": k,
               "cap": CHAN_CAP},
              {"maxprocs": 2, "items": CHAN_ITEMS_QUICK, "producers": k, "consumers": k,
               "cap": CHAN_CAP},
              vm={"maxprocs": 2, "items": 200_000, "producers": k, "consumers": k, "cap": CHAN_CAP},
              vm_quick={"maxprocs": 2, "items": 20_000, "producers": k, "consumers": k,
                        "cap": CHAN_CAP}) for k in (1, 4)],
    metrics=[
        Metric("ns/item", "1→1, maxprocs=2", "ns", run="1x1", field="ns_per_item",
               target=Target("best_max", 1.0)),
        Metric("ns/item", "4→4, maxprocs=2", "ns", run="4x4", field="ns_per_item",
               target=Target("best_max", 1.0)),
    ])
