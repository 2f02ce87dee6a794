# SPDX-License-Identifier: MIT
# syscall_handoff's entry in the table (gxbench/workloads.py loads it): its
# runs, with their sizes on the host and in the VM, the rows they yield and
# gmpx's targets. Its programs are beside this file: gmpx.c, go/main.go,
# pthreads.c.

from gxbench.model import Metric, Run, Target, Workload

HANDOFF_ITERS, HANDOFF_ITERS_QUICK = 200, 10           # blocking reads of ~20 ms
HANDOFF_DELAY_US = 20_000                              # the helper process's delay
HANDOFF_YIELD_US = 1_000                               # B yields after this much running
HANDOFF_P99_MAX_US = 1_000                             # hand-off p99 target (absolute)
# trace mode, unwrapped read: hand-off targets (absolute, gmpx-trace only)
HANDOFF_TRACE_UNWRAPPED_P50_MAX_US, HANDOFF_TRACE_UNWRAPPED_P99_MAX_US = 50, 500
SYSMON_CPU_MAX_PCT = 1.0                               # sysmon CPU target (absolute)
# The targets for the sched_ext mode, measured in the VM against the
# VM's own other modes (like with like).
SCX_HANDOFF_UNWRAPPED_P50_TO_TRACE = 0.2    # vm-scx p50 <= 0.2 x vm-trace p50
SCX_HANDOFF_UNWRAPPED_P50_TO_OFF = 0.01     # ... and <= 0.01 x vm-off's (the stall)

WORKLOAD = Workload(
    "syscall_handoff", "A blocks ~20 ms in a read of a pipe fed by a helper process, 200 "
    "times; how soon after A's read-entry does spinning B run (1 P). P1: the read and write "
    "are wrapped (gx_sys_read; Go syscall.Read); P1-unwrapped: plain read(2)/write(2) the "
    "runtime does not know about (Go: syscall.RawSyscall)",
    runs=[Run(key, {"maxprocs": 1, "iters": HANDOFF_ITERS, "delay_us": HANDOFF_DELAY_US,
                    "yield_us": HANDOFF_YIELD_US, "unwrapped": u},
              {"maxprocs": 1, "iters": HANDOFF_ITERS_QUICK, "delay_us": HANDOFF_DELAY_US,
               "yield_us": HANDOFF_YIELD_US, "unwrapped": u},
              vm={"maxprocs": 1, "iters": 30, "delay_us": HANDOFF_DELAY_US,
                  "yield_us": HANDOFF_YIELD_US, "unwrapped": u},
              vm_quick={"maxprocs": 1, "iters": 5, "delay_us": HANDOFF_DELAY_US,
                        "yield_us": HANDOFF_YIELD_US, "unwrapped": u})
          for key, u in (("P1", 0), ("P1-unwrapped", 1))],
    metrics=[
        Metric("hand-off p50 µs", "maxprocs=1", "µs", run="P1", field="handoff_p50_us"),
        Metric("hand-off p99 µs", "maxprocs=1", "µs", run="P1", field="handoff_p99_us",
               target=Target("abs_max", HANDOFF_P99_MAX_US, "µs")),
        Metric("B longest stall µs", "maxprocs=1", "µs", run="P1", field="b_max_stall_us"),
        Metric("sysmon CPU % of wall", "maxprocs=1", "%", run="P1", field="sysmon_cpu_pct",
               target=Target("abs_max", SYSMON_CPU_MAX_PCT, "%")),
        Metric("hand-off p50 µs", "maxprocs=1, unwrapped", "µs", run="P1-unwrapped",
               field="handoff_p50_us",
               target=(Target("abs_max", HANDOFF_TRACE_UNWRAPPED_P50_MAX_US, "µs", impl="gmpx-trace"),
                       Target("ratio_to", SCX_HANDOFF_UNWRAPPED_P50_TO_TRACE, impl="vm-scx",
                              ref="vm-trace"),
                       Target("ratio_to", SCX_HANDOFF_UNWRAPPED_P50_TO_OFF, impl="vm-scx",
                              ref="vm-off"))),
        Metric("hand-off p99 µs", "maxprocs=1, unwrapped", "µs", run="P1-unwrapped",
               field="handoff_p99_us",
               target=Target("abs_max", HANDOFF_TRACE_UNWRAPPED_P99_MAX_US, "µs", impl="gmpx-trace")),
        Metric("B longest stall µs", "maxprocs=1, unwrapped", "µs", run="P1-unwrapped",
               field="b_max_stall_us"),
        Metric("sysmon CPU % of wall", "maxprocs=1, unwrapped", "%", run="P1-unwrapped",
               field="sysmon_cpu_pct", target=Target("abs_max", SYSMON_CPU_MAX_PCT, "%")),
    ],
    na={
        "fiber": "Boost.Fiber cannot hand a thread's fibers off during a blocking "
                 "syscall: there is no sysmon and no P to hand off",
        "tokio": "Tokio does not hand off a worker blocked in read(2); the analogue, "
                 "spawn_blocking, is a thread pool, not a hand-off",
    })
