# SPDX-License-Identifier: MIT
"""The columns of the table: every implementation (a program set run with
some environment, on the host or in the VM), the ratio columns between
them and the peers "best peer" picks from."""

from dataclasses import dataclass, field
from typing import Optional

# Ratios are implementation / BASELINE.
BASELINE = "go"


@dataclass
class Impl:
    """One column of results: a program set run with some environment."""
    name: str
    programs: str                  # key in PROGRAM_SETS
    env: dict = field(default_factory=dict)
    about: str = ""
    # The kernel-assist mode its programs must report ("kassist" in their
    # JSON) for a sample to count; None: not checked.
    kassist: Optional[str] = None
    # Needs the run's gmpx-sched daemon (GX_KASSIST_SOCK is set to it).
    daemon: bool = False
    # "host": run here; "vm": in the sched_ext guest (tools/vmtest), all VM
    # implementations in one boot (run_vm).
    where: str = "host"
    # VM only: the gmpx-sched --mode the guest starts for it ("trace", "scx").
    guest_daemon: Optional[str] = None
    # Column heading (default: the name).
    label: Optional[str] = None
    # Its failed samples are reported (table, JSON, stderr) but do not make
    # the run fail: for a mode still being written. Set it back to False once
    # the mode is complete.
    advisory: bool = False

    @property
    def head(self):
        return self.label or self.name


IMPLS = [
    Impl("gmpx", "gmpx", {"GX_KASSIST": "off"},
         "gmpx runtime (build/libgmpx.a), kernel assist off", kassist="off"),
    Impl("gmpx-trace", "gmpx", {"GX_KASSIST": "trace"},
         "the gmpx programs with GX_KASSIST=trace, attached to the run's private gmpx-sched "
         "daemon (needs root and kernel BTF)", kassist="trace", daemon=True),
    Impl("go", "go", {}, "Go peer program (tools/bench/workloads/NAME/go)"),
    Impl("pthreads", "pthreads", {}, "plain pthreads analogue (tools/bench/workloads/NAME/pthreads.c), no runtime"),
    Impl("tokio", "tokio", {}, "Tokio peer (tools/bench/workloads/NAME/tokio.rs; Debian's "
         "librust-tokio-dev, built offline)"),
    Impl("boost.fiber", "fiber", {}, "Boost.Fiber peer (tools/bench/workloads/NAME/fiber.cpp; "
         "work_stealing with suspend=true for P > 1)"),
    # In the VM: a QEMU (TCG) guest on Debian's sched_ext kernel, partial
    # mode (only gmpx's Ms are SCHED_EXT) on an otherwise idle guest.
    Impl("vm-off", "gmpx", {"GX_KASSIST": "off"}, "the gmpx programs in the VM, kernel assist off",
         kassist="off", where="vm", label="vm off"),
    Impl("vm-trace", "gmpx", {"GX_KASSIST": "trace", "GX_KASSIST_SOCK": "/run/gx-trace.sock"},
         "the gmpx programs in the VM, GX_KASSIST=trace, attached to the guest's gmpx-sched",
         kassist="trace", where="vm", guest_daemon="trace", label="vm trace"),
    Impl("vm-scx", "gmpx", {"GX_KASSIST": "scx", "GX_KASSIST_SOCK": "/run/gx-scx.sock"},
         "the gmpx programs in the VM, GX_KASSIST=scx, attached to the guest's gmpx-sched --mode scx "
         "(the sched_ext scheduler, partial mode)", kassist="scx", where="vm", guest_daemon="scx",
         label="vm scx", advisory=False),
    Impl("vm-go", "go", {}, "the Go peers in the VM", where="vm", label="vm go"),
    Impl("vm-pthreads", "pthreads", {}, "the pthreads analogues in the VM", where="vm",
         label="vm pthreads"),
]
IMPL_BY_NAME = {i.name: i for i in IMPLS}

# The ratio columns: (numerator, denominator) implementations, each shown
# when both ran. Host implementations to Go; the kernel-assist modes to
# each other, on the host and in the VM (like with like: VM to VM only).
RATIOS = [("gmpx", "go"), ("gmpx-trace", "go"), ("pthreads", "go"),
          ("gmpx", "tokio"), ("gmpx", "boost.fiber"),
          ("gmpx-trace", "gmpx"),
          ("vm-trace", "vm-off"), ("vm-scx", "vm-off"), ("vm-scx", "vm-trace")]
RATIO_HEADS = {("gmpx", "go"): "gmpx/go", ("gmpx-trace", "go"): "trace/go",
               ("pthreads", "go"): "pthreads/go", ("gmpx-trace", "gmpx"): "trace/off",
               ("gmpx", "tokio"): "gmpx/tokio", ("gmpx", "boost.fiber"): "gmpx/fiber",
               ("vm-trace", "vm-off"): "vm trace/off", ("vm-scx", "vm-off"): "vm scx/off",
               ("vm-scx", "vm-trace"): "vm scx/trace"}
# The peers: the other runtimes doing the same work on the host. "best
# peer" is the best of their medians on a row (the lowest; the highest
# where more is better, Metric.higher) and "gmpx/best" gmpx's ratio to it.
PEERS = ("go", "tokio", "boost.fiber")
