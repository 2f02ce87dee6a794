# SPDX-License-Identifier: MIT
# wakeup_latency's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# pthreads.c, tokio.rs, fiber.cpp.

from gxbench.model import Metric, Run, Target, Workload

WAKE_ITERS, WAKE_ITERS_QUICK = 1000, 50                # spawns onto an idle P
# The idle gaps before each spawn the host sweeps (µs): the range,
# 100 µs to 10 ms, and the bench's old single gap (2 ms) between.
WAKE_GAPS_US = (100, 2000, 10_000)
WAKE_ITERS_LONG_GAP = 300                              # at 10 ms: 3 s of gaps a sample
VM_WAKE_GAP_US = 5000                                  # the VM's one gap (TCG)
# gmpx's targets at every gap (issue 14).
WAKE_P50_MAX_US = 50
WAKE_P99_MAX_US = 500
# The target for the sched_ext mode, measured in the VM against the
# VM's own other modes (like with like).
SCX_WAKE_P50_TO_OFF = 0.5                   # vm-scx p50 <= 0.5 x vm-off
# Tokio and Boost.Fiber never wake an idle worker for the spawned task (their
# notes, below): every sample is the 1 s spin limit; a few show it.
PEER_WAKE_ITERS, PEER_WAKE_ITERS_QUICK = 5, 2
PEER_OVERRIDE = {"tokio": {"iters": PEER_WAKE_ITERS}, "fiber": {"iters": PEER_WAKE_ITERS}}
PEER_QUICK_OVERRIDE = {"tokio": {"iters": PEER_WAKE_ITERS_QUICK}, "fiber": {"iters": PEER_WAKE_ITERS_QUICK}}


def gap_run(gap):
    """The run at one idle gap; only the 2 ms one runs in the VM too (at
    the VM's gap)."""
    iters = WAKE_ITERS_LONG_GAP if gap >= 10_000 else WAKE_ITERS
    return Run(f"gap{gap}", {"maxprocs": 2, "iters": iters, "gap_us": gap},
               {"maxprocs": 2, "iters": WAKE_ITERS_QUICK, "gap_us": gap},
               vm={"maxprocs": 2, "iters": 200, "gap_us": VM_WAKE_GAP_US},
               vm_quick={"maxprocs": 2, "iters": 30, "gap_us": VM_WAKE_GAP_US},
               override=PEER_OVERRIDE, quick_override=PEER_QUICK_OVERRIDE,
               in_vm=gap == 2000)


def gap_metrics(gap):
    where = f"maxprocs=2, gap {gap:,} µs" + (f" (VM: {VM_WAKE_GAP_US:,})" if gap == 2000 else "")
    p50 = Target("abs_max", WAKE_P50_MAX_US, "µs")
    return [
        Metric("wake p50 µs", where, "µs", run=f"gap{gap}", field="wake_p50_us",
               target=(p50, Target("ratio_to", SCX_WAKE_P50_TO_OFF, impl="vm-scx", ref="vm-off"))
               if gap == 2000 else p50),
        Metric("wake p99 µs", where, "µs", run=f"gap{gap}", field="wake_p99_us",
               target=Target("abs_max", WAKE_P99_MAX_US, "µs")),
    ]


WORKLOAD = Workload(
    "wakeup_latency", "main sleeps (every P idle), spawns a goroutine and keeps its own P busy: "
    "spawn to the goroutine's first instruction on the other, idle P (woken by wakep)",
    runs=[gap_run(g) for g in WAKE_GAPS_US],
    metrics=[m for g in WAKE_GAPS_US for m in gap_metrics(g)],
    notes={
        "tokio": "a task spawned from a worker goes to that worker's LIFO slot, which no other "
                 "worker steals, and one queued task wakes no parked worker: the child runs only "
                 f"when main yields after its 1 s spin limit, on main's thread (so it runs "
                 f"{PEER_WAKE_ITERS} iterations, --quick {PEER_WAKE_ITERS_QUICK})",
        "fiber": "work_stealing queues a new fiber on the starting thread and wakes no suspended "
                 "thread: the child runs only when main yields after its 1 s spin limit, on main's "
                 f"thread (so it runs {PEER_WAKE_ITERS} iterations, --quick {PEER_WAKE_ITERS_QUICK})",
    })
