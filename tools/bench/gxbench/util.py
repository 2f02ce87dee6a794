# SPDX-License-Identifier: MIT
"""Where everything is, the parsed options, and what every part shares:
number formatting and the one progress line per sample (host and VM)."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent    # tools/bench
REPO = BENCH_DIR.parent.parent                        # the gmpx checkout
WORKLOADS_DIR = BENCH_DIR / "workloads"               # NAME/: every program of a workload
BENCH_INCLUDE = BENCH_DIR / "include"                 # the programs' shared C headers
BUILD = REPO / "build"
OUT = BUILD / "bench"                                 # binaries and results

DEFAULT_LIB = BUILD / "libgmpx.a"
DEFAULT_JSON = OUT / "results.json"
DEFAULT_PLOTS = OUT / "plots"

SCHED_BIN = BUILD / "gmpx-sched"                      # the kernel-assist daemon (host and guest)


@dataclass
class Options:
    rounds: int
    quick: bool
    only: list
    impls: list
    json: str
    markdown: bool
    make: bool
    lib: str
    ldlibs: list
    vm_rounds: int = 1
    vm_smp: int = 4
    plots_dir: str = ""


def fmt_num(v):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if 0 < abs(v) < 0.1:
        return f"{v:.2g}"       # e.g. an idle CPU share of 0.0022 %
    return f"{v:.2f}"


def report_sample(tag, s, failures):
    """One line on stderr per sample; a failed one is added to failures."""
    if s["ok"]:
        print(f"{tag}: {json.dumps(s['metrics'])}", file=sys.stderr)
        return
    print(f"{tag}: FAILED: {s['error']}", file=sys.stderr)
    if s.get("stderr"):
        print("  " + s["stderr"].replace("\n", "\n  "), file=sys.stderr)
    failures.append({"stage": "run", "impl": s["impl"], "where": s.get("where", "host"),
                     "workload": s["workload"], "run": s["run"], "round": s["round"],
                     "error": s["error"]})
