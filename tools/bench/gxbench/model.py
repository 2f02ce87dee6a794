# SPDX-License-Identifier: MIT
"""What a workload's table entry (tools/bench/workloads/NAME/workload.py)
is made of: its Runs (the program invocations and their sizes, host and
VM), its Metrics (the rows of the table) and their Targets (what gmpx
should achieve on a row)."""

import os
from dataclasses import dataclass, field
from typing import Callable, Optional

# The targets for the sched_ext mode that several workloads share,
# measured in the VM against the VM's own other modes (like with like).
SCX_SAME_AS_OFF = 1.05                      # within 5% of vm-off or better (times)
SCX_SAME_AS_OFF_MIN = 0.95                  # ... (rates: requests/s)

# The execution trace's runs (gmpx/trace.h): GX_TRACE to a file (one per
# runner, overwritten by each sample), or into a 64 MB flight recorder
# (written only on a fatal error: recording alone).
TRACE_FILE = f"/tmp/gmpx-bench-trace-{os.getpid()}.pftrace"
TRACE_FILE_ENV = {"GX_TRACE": TRACE_FILE}
TRACE_FLIGHT_ENV = {"GX_TRACE": f"flight:{TRACE_FILE}:64"}


def traced_ratio(traced, plain, fld):
    """A derive: run traced's median of fld over run plain's (same impl)."""
    def derive(med):
        t = med.get(traced, {}).get(fld)
        u = med.get(plain, {}).get(fld)
        return t / u if t and u else None
    return derive


@dataclass
class Target:
    """kind: "ratio_max", "ratio_min" (impl / BASELINE), "best_max",
    "best_min" (impl / the best peer on the row, impls.PEERS: the issue's
    "win the row"), "abs_max" (the value itself), "ratio_to" (impl / the
    implementation `ref` <= bound: a comparison between two gmpx modes,
    e.g. vm-scx / vm-off) or "ratio_to_min" (the same, >= bound). impl: the one implementation the
    target is about (None: every gmpx implementation on the host,
    is_subject)."""
    kind: str
    bound: float
    unit: str = ""
    impl: Optional[str] = None
    ref: Optional[str] = None

    def text(self):
        if self.kind == "ratio_max":
            t = f"ratio ≤ {self.bound:.2g}" if self.bound != 1 else "ratio ≤ 1.0"
        elif self.kind == "ratio_min":
            t = f"ratio ≥ {self.bound:.2g}" if self.bound != 1 else "ratio ≥ 1.0"
        elif self.kind == "best_max":
            t = f"≤ {self.bound:g} × best peer"
        elif self.kind == "best_min":
            t = f"≥ {self.bound:g} × best peer"
        elif self.kind == "ratio_to":
            t = f"≤ {self.bound:g} × {self.ref}"
        elif self.kind == "ratio_to_min":
            t = f"≥ {self.bound:g} × {self.ref}"
        else:
            t = f"≤ {self.bound:g}{(' ' + self.unit) if self.unit else ''}"
        return f"{t} ({self.impl})" if self.impl else t

    def applies(self, impl_name):
        return impl_name == self.impl if self.impl else is_subject(impl_name)

    def met(self, value, ratio, values=None, best=None):
        """Is the target met by value (ratio: value / BASELINE's; values:
        every column's; best: the best peer's value)? None: cannot tell."""
        if self.kind in ("best_max", "best_min"):
            if value is None or not best:
                return None
            return value / best <= self.bound if self.kind == "best_max" else value / best >= self.bound
        if self.kind == "ratio_max":
            return None if ratio is None else ratio <= self.bound
        if self.kind == "ratio_min":
            return None if ratio is None else ratio >= self.bound
        if self.kind in ("ratio_to", "ratio_to_min"):
            ref = (values or {}).get(self.ref)
            if value is None or not ref:
                return None
            return value / ref <= self.bound if self.kind == "ratio_to" else value / ref >= self.bound
        return None if value is None else value <= self.bound


def is_subject(impl_name):
    """Implementations the targets without impl= are about: gmpx in every
    mode on the host (the VM's targets name their implementation)."""
    return impl_name.startswith("gmpx")


def targets_of(metric):
    """A Metric's targets as a tuple (its target is one Target, a tuple of
    them, or None)."""
    t = metric.target
    return () if t is None else t if isinstance(t, tuple) else (t,)


# Workloads: what to run, and which rows of the table come out of it.

@dataclass
class Run:
    """One invocation of a workload program per implementation and round."""
    key: str        # names the run within its workload, e.g. "P2"
    args: dict      # --name=value options at full size
    quick: dict     # the same at --quick size
    env: dict = field(default_factory=dict)   # extra environment for this run
    programs: Optional[tuple] = None          # only impls of these program sets
                                              # (None: every implementation)
    vm: Optional[dict] = None                 # the options in the VM (TCG: slow);
    vm_quick: Optional[dict] = None           # None: the quick sizes
    # Per program set, options replacing some of the host's full-size ones
    # where that implementation would take far longer for the same per-item
    # figure (e.g. pthreads' kernel wake-ups): {"pthreads": {"trips": ...}}.
    override: dict = field(default_factory=dict)
    quick_override: dict = field(default_factory=dict)   # the same at --quick size
    vm_override: dict = field(default_factory=dict)   # the same for the VM's full sizes

    # Runs in the VM too (a sweep's extra points may be host-only: the
    # guest is 10-100x slower).
    in_vm: bool = True

    def applies(self, impl):
        if impl.where == "vm" and not self.in_vm:
            return False
        return self.programs is None or impl.programs in self.programs

    def args_for(self, impl, quick):
        if impl.where == "vm":
            a = dict((self.vm_quick if quick else self.vm) or self.quick)
        else:
            a = dict(self.quick if quick else self.args)
        if impl.where == "host":
            a.update((self.quick_override if quick else self.override).get(impl.programs, {}))
        elif not quick:
            a.update(self.vm_override.get(impl.programs, {}))
        return a


@dataclass
class Metric:
    """One row of the table. Either a field of one run's JSON, or derived
    from the medians of the workload's runs (med[run_key][field])."""
    name: str
    param: str
    unit: str
    run: Optional[str] = None
    field: Optional[str] = None
    derive: Optional[Callable[[dict], Optional[float]]] = None
    target: Optional[Target] = None
    higher: bool = False     # more is better (requests/s, speed-ups): for "best peer"


@dataclass
class Workload:
    name: str
    about: str
    runs: list
    metrics: list
    # Server workloads: driver(binary, args, env, timeout) runs the server
    # program `binary` with a client against it and returns (exit status,
    # stdout, stderr) as if it were one workload program; helpers are the
    # HELPERS it needs built.
    driver: Optional[Callable] = None
    helpers: tuple = ()
    # Runs in the VM too (http_hello: no; it needs wrk, which the guest has not).
    vm: bool = True
    # Why a program set has no program for this workload ("n/a" in the
    # table, the reason under it): {"pthreads": "..."}. A peer that has not
    # been written for it yet, and is not listed here, shows "—" and "not
    # written yet" (build.na_reason).
    na: dict = field(default_factory=dict)
    # What a reader must know to read a program set's figures on this
    # workload (a different model, a mechanism the figure shows), printed
    # under the table: {"tokio": "..."}.
    notes: dict = field(default_factory=dict)
