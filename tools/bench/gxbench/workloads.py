# SPDX-License-Identifier: MIT
"""The table of workloads: each workload's entry (its runs, rows and
targets: a Workload of gxbench/model.py) lives beside its programs in
tools/bench/workloads/NAME/workload.py, as WORKLOAD. This registry loads
them in ORDER, the order of the table's rows."""

from .util import WORKLOADS_DIR

ORDER = ("spawn_join", "skynet", "yield_switch", "fib_fanout", "parked_memory", "chan_pingpong",
         "chan_throughput", "timers", "mutex_contention", "pool_alloc", "syscall_handoff",
         "preempt_latency", "netpoll_echo", "http_hello", "idle_cost", "wakeup_latency")


def _load(name):
    """workloads/NAME/workload.py's WORKLOAD. Run as a script, not
    imported: no __pycache__ in the workload folders."""
    path = WORKLOADS_DIR / name / "workload.py"
    ns = {"__name__": f"gxbench.workloads.{name}", "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    wl = ns.get("WORKLOAD")
    if wl is None or wl.name != name:
        raise RuntimeError(f"{path}: WORKLOAD must be the Workload named {name!r}")
    return wl


def _check_order():
    unlisted = sorted(p.parent.name for p in WORKLOADS_DIR.glob("*/workload.py")
                      if p.parent.name not in ORDER)
    if unlisted:
        raise RuntimeError(f"workloads not in gxbench/workloads.py ORDER: {', '.join(unlisted)}")


_check_order()
WORKLOADS = [_load(name) for name in ORDER]
