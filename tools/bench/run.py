#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gmpx benchmark runner: the same workloads in gmpx and in Go, side by side.

Builds every workload program of every implementation, runs each workload x
implementation for R rounds (implementations interleaved within a round, and
their order rotated from round to round, so drift of a noisy machine affects
all alike), takes medians and prints, per metric, the median of each
implementation, the ratio to the Go peer and whether gmpx meets its target.
Absolute numbers on shared machines are noise; the ratios are the result
(DESIGN.md section 5).

Usage:
    tools/bench/run.py                 # full sizes, 5 rounds
    tools/bench/run.py --quick         # tiny sizes, 1 round (CI: checks it runs)
    tools/bench/run.py --only fib_fanout,yield_switch --rounds 9
    tools/bench/run.py --markdown      # the table as Markdown, for README

Each workload program prints ONE line of JSON on stdout with its metrics and
exits 0; exit 1 means its own verification failed. Sizes are passed as
--name=value options, the same for every implementation.

Exit status: 0 when everything built, ran and verified (whether or not the
targets are met: they are reported, not enforced); 1 when something failed
to build or run, or a workload's verification failed; 2 for bad usage.

Implementations: gmpx (kernel assist off), gmpx-trace (the same programs
with GX_KASSIST=trace) and go. For gmpx-trace the runner starts ONE private
kernel-assist daemon for the whole run (build/gmpx-sched --socket
/tmp/gmpx-bench-PID/sched.sock --pin-dir /sys/fs/bpf/gmpx-bench-PID; it
needs root and kernel BTF), points GX_KASSIST_SOCK at it and stops it at
the end, also on Ctrl-C, SIGTERM or an exception. When it cannot be had the
gmpx-trace column is skipped with the reason and the others run. Every C
program reports the mode it ended in ("kassist" in its JSON); a gmpx-trace
sample that did not end in "trace" fails.

Adding an implementation: a ProgramSet (how to build its programs, where they
land) and an Impl (a name, the program set, extra environment) in IMPLS.
Adding a workload: the C and Go programs, then a Workload in WORKLOADS. A Run
may set extra environment (env) and be limited to some program sets
(programs): e.g. preempt_latency's gmpx-only GX_QUANTUM=1ms run.

Server workloads (netpoll_echo, http_hello): the program of each
implementation is a server; the Workload's driver starts it, waits for its
"listening on :PORT" line, runs a client against it (a helper program built
here, the same for every implementation, or wrk), stops the server with
SIGTERM and turns the client's output into the one line of JSON.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

BENCH_DIR = Path(__file__).resolve().parent          # tools/bench
REPO = BENCH_DIR.parent.parent                        # the gmpx checkout
BUILD = REPO / "build"
OUT = BUILD / "bench"                                 # binaries and results

DEFAULT_ROUNDS = 5
DEFAULT_LIB = BUILD / "libgmpx.a"
DEFAULT_JSON = OUT / "results.json"
# Ratios are implementation / BASELINE.
BASELINE = "go"
# A run taking longer than this is killed and counted as failed (seconds).
RUN_TIMEOUT = {"full": 900, "quick": 120}

CC = os.environ.get("CC", "gcc")
# -fstack-clash-protection: as gmpx asks of all its users (user/stack.c).
CFLAGS = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-fstack-clash-protection"]


def find_go() -> Optional[str]:
    """The go command: $GO, then Debian's golang-1.23, then PATH."""
    for cand in (os.environ.get("GO"), "/usr/lib/go-1.23/bin/go", shutil.which("go")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def go_env() -> dict:
    """Environment for the go command: local toolchain, no network, and all
    caches under build/ so nothing is written elsewhere."""
    env = dict(os.environ)
    env.update({
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOENV": "off",
        "GOCACHE": str(BUILD / "go-cache"),
        "GOPATH": str(BUILD / "gopath"),
        "GOMODCACHE": str(BUILD / "gopath" / "pkg" / "mod"),
        "XDG_CONFIG_HOME": str(BUILD / "go-config"),  # go telemetry's counters
        "CGO_ENABLED": "0",
    })
    return env


# --------------------------------------------------------------------------
# Program sets: how an implementation's workload programs are built.
# --------------------------------------------------------------------------

class BuildError(Exception):
    pass


def run_build(cmd, cwd=None, env=None):
    print("+ " + " ".join(str(c) for c in cmd), file=sys.stderr)
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.stdout.strip():
        print(p.stdout.rstrip(), file=sys.stderr)
    if p.returncode != 0:
        raise BuildError(f"{cmd[0]} exited {p.returncode}")


@dataclass
class ProgramSet:
    """The programs of one kind of implementation, one per workload."""
    name: str
    build: Callable[["Options", list], None]   # builds the given workloads
    path: Callable[[str], Path]                # workload -> its binary
    has: Callable[[str], bool]                 # does this set have the workload?


# gmpx programs that do not live in tools/bench/c (the rest: c/NAME.c).
C_SOURCES = {"http_hello": REPO / "examples" / "http_hello.c"}
# Extra sources linked into a gmpx program: kassist_exit.c makes a program
# that is not a benchmark program of its own report its kernel-assist mode
# at exit (on stderr; its driver reads it).
C_EXTRA = {"http_hello": [BENCH_DIR / "c" / "kassist_exit.c"]}


def c_source(w):
    return C_SOURCES.get(w, BENCH_DIR / "c" / f"{w}.c")


def build_gmpx(opts, workloads):
    lib = Path(opts.lib)
    if opts.make:
        run_build(["make", "-C", str(REPO), "lib"])
    if not lib.exists():
        raise BuildError(f"{lib} does not exist")
    (OUT / "c").mkdir(parents=True, exist_ok=True)
    for w in workloads:
        run_build([CC, *CFLAGS, "-I", str(REPO / "include"), "-I", str(BENCH_DIR / "c"),
                   str(c_source(w)), *(str(x) for x in C_EXTRA.get(w, [])), str(lib), *opts.ldlibs,
                   "-o", str(OUT / "c" / w)])


# Helper programs (clients of server workloads): plain C, no gmpx, one binary
# shared by every implementation. name -> source.
HELPERS = {"netpoll_echo_client": BENCH_DIR / "c" / "netpoll_echo_client.c"}


def helper_path(name):
    return OUT / "helpers" / name


def build_helpers(names):
    (OUT / "helpers").mkdir(parents=True, exist_ok=True)
    for name in names:
        run_build([CC, *CFLAGS, str(HELPERS[name]), "-pthread", "-o", str(helper_path(name))])


def build_go(opts, workloads):
    go = find_go()
    if not go:
        raise BuildError("no go command (set GO=/path/to/go)")
    (OUT / "go").mkdir(parents=True, exist_ok=True)
    env = go_env()
    for w in workloads:
        run_build([go, "build", "-o", str(OUT / "go" / w), f"./{w}"],
                  cwd=BENCH_DIR / "go", env=env)


PROGRAM_SETS = {
    "gmpx": ProgramSet(
        "gmpx", build_gmpx,
        path=lambda w: OUT / "c" / w,
        has=lambda w: c_source(w).exists()),
    "go": ProgramSet(
        "go", build_go,
        path=lambda w: OUT / "go" / w,
        has=lambda w: (BENCH_DIR / "go" / w / "main.go").exists()),
}


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


# Later: Impl("gmpx-scx", "gmpx", {"GX_KASSIST": "scx"}, kassist="scx", daemon=True),
#        Impl("pthreads", "pthreads") with its own ProgramSet.
IMPLS = [
    Impl("gmpx", "gmpx", {"GX_KASSIST": "off"},
         "gmpx runtime (build/libgmpx.a), kernel assist off", kassist="off"),
    Impl("gmpx-trace", "gmpx", {"GX_KASSIST": "trace"},
         "the gmpx programs with GX_KASSIST=trace, attached to the run's private gmpx-sched "
         "daemon (needs root and kernel BTF)", kassist="trace", daemon=True),
    Impl("go", "go", {}, "Go peer program (tools/bench/go)"),
]


# --------------------------------------------------------------------------
# Targets: what gmpx should achieve on a metric.
# --------------------------------------------------------------------------

@dataclass
class Target:
    """kind: "ratio_max", "ratio_min" (impl / BASELINE), "abs_max" (the
    value itself), or "ratio_to" (impl / the implementation `ref` <= bound:
    a comparison between two gmpx modes). impl: the one implementation the
    target is about (None: every gmpx implementation, is_subject)."""
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
        elif self.kind == "ratio_to":
            t = f"≤ {self.bound:g} × {self.ref}"
        else:
            t = f"≤ {self.bound:g}{(' ' + self.unit) if self.unit else ''}"
        return f"{t} ({self.impl})" if self.impl else t

    def applies(self, impl_name):
        return impl_name == self.impl if self.impl else is_subject(impl_name)

    def met(self, value, ratio, values=None):
        if self.kind == "ratio_max":
            return None if ratio is None else ratio <= self.bound
        if self.kind == "ratio_min":
            return None if ratio is None else ratio >= self.bound
        if self.kind == "ratio_to":
            ref = (values or {}).get(self.ref)
            return None if value is None or not ref else value / ref <= self.bound
        return None if value is None else value <= self.bound


def is_subject(impl_name):
    """Implementations the targets are about: gmpx in every mode."""
    return impl_name.startswith("gmpx")


# --------------------------------------------------------------------------
# Workloads: what to run, and which rows of the table come out of it.
# --------------------------------------------------------------------------

@dataclass
class Run:
    """One invocation of a workload program per implementation and round."""
    key: str        # names the run within its workload, e.g. "P2"
    args: dict      # --name=value options at full size
    quick: dict     # the same at --quick size
    env: dict = field(default_factory=dict)   # extra environment for this run
    programs: Optional[tuple] = None          # only impls of these program sets
                                              # (None: every implementation)

    def applies(self, impl):
        return self.programs is None or impl.programs in self.programs


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


def fib_speedup(med):
    t1 = med.get("P1", {}).get("wall_ms")
    t2 = med.get("P2", {}).get("wall_ms")
    return t1 / t2 if t1 and t2 else None


# --------------------------------------------------------------------------
# Server workloads: a server program per implementation, one client for all.
# --------------------------------------------------------------------------

class DriverError(Exception):
    pass


class Server:
    """A server program running in the background. Its stdout and stderr
    are collected by threads; start() waits for its "listening on :PORT"
    line; stop() sends SIGTERM and returns (exit status, stdout, stderr)."""

    def __init__(self, cmd, env):
        self.cmd = cmd
        self.p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.out, self.err = [], []
        self.ready = threading.Event()
        self.port = None
        self.threads = [threading.Thread(target=self._pump, args=(self.p.stdout, self.out, True)),
                        threading.Thread(target=self._pump, args=(self.p.stderr, self.err, False))]
        for t in self.threads:
            t.daemon = True
            t.start()

    def _pump(self, f, lines, watch):
        for line in f:
            lines.append(line)
            m = re.match(r"listening on .*:(\d+)\s*$", line) if watch and self.port is None else None
            if m:
                self.port = int(m.group(1))
                self.ready.set()
        self.ready.set()    # EOF: it exited before listening

    def start(self, timeout=10):
        self.ready.wait(timeout)
        if self.port is None:
            rc, out, err = self.stop()
            raise DriverError(f"server {self.cmd[0]} did not print 'listening on :PORT' "
                              f"(exit {rc}): {(out + err).strip()[-500:]}")
        return self.port

    def cpu_seconds(self):
        """User + system CPU time of the whole process so far."""
        try:
            fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def stop(self, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        for t in self.threads:
            t.join(5)
        return self.p.returncode, "".join(self.out), "".join(self.err)


def drive_netpoll_echo(binary, args, env, timeout):
    """The gmpx or Go echo server, driven by netpoll_echo_client."""
    client = helper_path("netpoll_echo_client")
    if not client.exists():
        return 1, "", f"{client} was not built"
    srv = Server([str(binary), f"--maxprocs={args['maxprocs']}", "--port=0"], env)
    try:
        port = srv.start()
        c = subprocess.run([str(client), f"--port={port}"] +
                           [f"--{k}={args[k]}" for k in ("conns", "trips", "size", "threads")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        cpu = srv.cpu_seconds()
    finally:
        rc, sout, serr = srv.stop()
    if c.returncode != 0:
        return c.returncode, c.stdout, c.stderr + serr
    try:
        m = json.loads(c.stdout.strip().splitlines()[-1])
        s = json.loads([ln for ln in sout.splitlines() if ln.startswith("{")][-1])
    except (IndexError, json.JSONDecodeError) as e:
        return 1, "", f"bad client or server output ({e}): {c.stdout!r} {sout!r} {serr!r}"
    want = args["conns"] * args["trips"] * args["size"]
    if rc != 0 or s.get("conns") != args["conns"] or s.get("bytes") != want:
        return 1, "", (f"server exit {rc}, served {s.get('conns')} connections and {s.get('bytes')} bytes; "
                       f"want {args['conns']} and {want}. {serr}")
    m["maxprocs"] = s.get("maxprocs")
    if "kassist" in s:
        m["kassist"] = s["kassist"]
    if cpu is not None:
        m["server_cpu_ms"] = round(cpu * 1e3, 1)
        m["server_cpu_us_per_req"] = round(cpu * 1e6 / (args["conns"] * args["trips"]), 3)
    return 0, json.dumps(m) + "\n", serr


WRK_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}


def parse_wrk(text):
    """Requests/s, request count, latency percentiles (µs) and errors from
    the output of wrk --latency."""
    r = {}
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if m:
        r["requests_per_s"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", text)
    if m:
        r["requests"] = int(m.group(1))
    for pct in (50, 75, 90, 99):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        if m:
            r[f"lat_p{pct}_us"] = round(float(m.group(1)) * WRK_UNITS[m.group(2)], 1)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non_2xx"] = int(m.group(1)) if m else 0
    return r


def drive_http_hello(binary, args, env, timeout):
    """The gmpx (examples/http_hello.c) or Go net/http server, driven by wrk."""
    wrk = shutil.which("wrk")
    if not wrk:
        return 1, "", "wrk is not installed (tools/install-deps.sh bench)"
    env = dict(env, GX_MAXPROCS=str(args["maxprocs"]), GOMAXPROCS=str(args["maxprocs"]))
    srv = Server([str(binary), "127.0.0.1:0"], env)
    try:
        port = srv.start()
        w = subprocess.run([wrk, f"-t{args['threads']}", f"-c{args['conns']}", f"-d{args['duration_s']}s",
                            "--latency", f"http://127.0.0.1:{port}/"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        cpu = srv.cpu_seconds()
    finally:
        rc, sout, serr = srv.stop()
    r = parse_wrk(w.stdout)
    if w.returncode != 0 or "requests_per_s" not in r or not r.get("requests") or "lat_p99_us" not in r:
        return 1, "", f"wrk exit {w.returncode}: {w.stdout.strip()[-1000:]} {serr}"
    if r["socket_errors"] or r["non_2xx"]:
        return 1, "", f"wrk saw {r['socket_errors']} socket errors, {r['non_2xx']} non-2xx: {w.stdout} {serr}"
    if rc != 0:
        return 1, "", f"server exit status {rc} after SIGTERM: {serr}"
    m = {"workload": "http_hello", "maxprocs": args["maxprocs"], "threads": args["threads"],
         "conns": args["conns"], "duration_s": args["duration_s"], **r}
    k = re.findall(r"^gmpx-bench: kassist=(\w+)\s*$", serr, re.M)   # c/kassist_exit.c
    if k:
        m["kassist"] = k[-1]
    if cpu is not None:
        m["server_cpu_ms"] = round(cpu * 1e3, 1)
        m["server_cpu_us_per_req"] = round(cpu * 1e6 / r["requests"], 3)
    return 0, json.dumps(m) + "\n", serr


# Full and quick sizes. Quick sizes only keep the code from rotting.
SPAWN_N, SPAWN_N_QUICK = 1_000_000, 10_000
YIELD_ITERS, YIELD_ITERS_QUICK = 5_000_000, 50_000     # per goroutine; 2x switches
FIB_N, FIB_N_QUICK = 32, 20
PARKED_N, PARKED_N_QUICK = 1_000_000, 10_000
PARKED_BYTES_MAX = 4608                                # 4.5 KiB per parked goroutine
PINGPONG_TRIPS, PINGPONG_TRIPS_QUICK = 1_000_000, 10_000
CHAN_ITEMS, CHAN_ITEMS_QUICK = 10_000_000, 100_000     # in all, whatever the fan-in/out
CHAN_CAP = 1024
TIMERS_N, TIMERS_N_QUICK = 100_000, 2_000
MUTEX_WORKERS = 4
MUTEX_ITERS, MUTEX_ITERS_QUICK = 1_000_000, 25_000     # per worker; x4 pairs
HANDOFF_ITERS, HANDOFF_ITERS_QUICK = 200, 10           # blocking reads of ~20 ms
HANDOFF_DELAY_US = 20_000                              # the helper process's delay
HANDOFF_YIELD_US = 1_000                               # B yields after this much running
HANDOFF_P99_MAX_US = 1_000                             # hand-off p99 target (absolute)
# trace mode, unwrapped read: hand-off targets (absolute, gmpx-trace only)
HANDOFF_TRACE_UNWRAPPED_P50_MAX_US, HANDOFF_TRACE_UNWRAPPED_P99_MAX_US = 50, 500
SYSMON_CPU_MAX_PCT = 1.0                               # sysmon CPU target (absolute)
PREEMPT_ITERS, PREEMPT_ITERS_QUICK = 500, 20           # 1 ms sleeps against a spinner
PREEMPT_SLEEP_US = 1_000
PREEMPT_SHORT_QUANTUM = "1ms"                          # the extra gmpx-only run's GX_QUANTUM
# lateness p99 target: quantum + 1 ms (absolute)
PREEMPT_P99_MAX_US = {"default": 10_000 + 1_000, PREEMPT_SHORT_QUANTUM: 1_000 + 1_000}
ECHO_CONNS, ECHO_CONNS_QUICK = 1000, 50                # concurrent connections
ECHO_TRIPS, ECHO_TRIPS_QUICK = 200, 20                 # round trips per connection
ECHO_SIZE = 64                                         # bytes per message
ECHO_CLIENT_THREADS = 2
HTTP_THREADS, HTTP_CONNS = 2, 100                      # wrk -t -c
HTTP_SECS, HTTP_SECS_QUICK = 5, 1                      # wrk -d
IDLE_N = 1000                                          # parked goroutines
IDLE_MS, IDLE_MS_QUICK = 10_000, 2_000                 # the idle window
IDLE_TRACE_MAX_RATIO = 0.1                             # gmpx-trace idle CPU / gmpx's

WORKLOADS = [
    Workload(
        "spawn_join", "N goroutines each doing one atomic add, joined by a WaitGroup",
        runs=[Run(f"P{p}", {"maxprocs": p, "n": SPAWN_N}, {"maxprocs": p, "n": SPAWN_N_QUICK})
              for p in (1, 2)],
        metrics=[
            Metric("ns/goroutine", "maxprocs=1", "ns", run="P1", field="ns_per_goroutine"),
            Metric("ns/goroutine", "maxprocs=2", "ns", run="P2", field="ns_per_goroutine",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "yield_switch", "two goroutines yielding in turn on one P",
        runs=[Run("P1", {"maxprocs": 1, "iters": YIELD_ITERS},
                  {"maxprocs": 1, "iters": YIELD_ITERS_QUICK})],
        metrics=[
            Metric("ns/switch", "maxprocs=1", "ns", run="P1", field="ns_per_switch",
                   target=Target("ratio_max", 0.5)),
        ]),
    Workload(
        "fib_fanout", "recursive fib, one goroutine per call above the cutoff",
        runs=[Run(f"P{p}", {"maxprocs": p, "n": FIB_N}, {"maxprocs": p, "n": FIB_N_QUICK})
              for p in (1, 2)],
        metrics=[
            Metric("wall ms", "maxprocs=1", "ms", run="P1", field="wall_ms"),
            Metric("wall ms", "maxprocs=2", "ms", run="P2", field="wall_ms"),
            Metric("speedup t1/t2", "maxprocs=1→2", "x", derive=fib_speedup,
                   target=Target("ratio_min", 1.0)),
        ]),
    Workload(
        "parked_memory", "N goroutines blocked forever: RSS and creation cost",
        runs=[Run("P2", {"maxprocs": 2, "n": PARKED_N}, {"maxprocs": 2, "n": PARKED_N_QUICK})],
        metrics=[
            Metric("RSS bytes/goroutine", "maxprocs=2", "B", run="P2",
                   field="bytes_per_goroutine",
                   target=Target("abs_max", PARKED_BYTES_MAX, "B")),
            Metric("create ns/goroutine", "maxprocs=2", "ns", run="P2",
                   field="ns_per_goroutine"),
        ]),
    Workload(
        "chan_pingpong", "round trips between two goroutines over two unbuffered channels",
        runs=[Run(f"P{p}", {"maxprocs": p, "trips": PINGPONG_TRIPS},
                  {"maxprocs": p, "trips": PINGPONG_TRIPS_QUICK}) for p in (1, 2)],
        metrics=[
            Metric("ns/round trip", "maxprocs=1", "ns", run="P1", field="ns_per_roundtrip",
                   target=Target("ratio_max", 0.5)),
            Metric("ns/round trip", "maxprocs=2", "ns", run="P2", field="ns_per_roundtrip",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "chan_throughput", "int64s through one buffered channel (cap 1024), K producers → C consumers",
        runs=[Run(f"{k}x{k}",
                  {"maxprocs": 2, "items": CHAN_ITEMS, "producers": k, "consumers": k,
                   "cap": CHAN_CAP},
                  {"maxprocs": 2, "items": CHAN_ITEMS_QUICK, "producers": k, "consumers": k,
                   "cap": CHAN_CAP}) for k in (1, 4)],
        metrics=[
            Metric("ns/item", "1→1, maxprocs=2", "ns", run="1x1", field="ns_per_item",
                   target=Target("ratio_max", 1.0)),
            Metric("ns/item", "4→4, maxprocs=2", "ns", run="4x4", field="ns_per_item",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "timers", "N goroutines each sleeping once for 1-10 ms (same seeded durations)",
        runs=[Run("P2", {"maxprocs": 2, "n": TIMERS_N}, {"maxprocs": 2, "n": TIMERS_N_QUICK})],
        metrics=[
            Metric("wall ms", "maxprocs=2", "ms", run="P2", field="wall_ms"),
            Metric("oversleep p50 µs", "maxprocs=2", "µs", run="P2", field="oversleep_p50_us"),
            Metric("oversleep p99 µs", "maxprocs=2", "µs", run="P2", field="oversleep_p99_us",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "mutex_contention", "4 goroutines locking one mutex around a counter increment",
        runs=[Run("P2", {"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": MUTEX_ITERS},
                  {"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": MUTEX_ITERS_QUICK})],
        metrics=[
            Metric("ns/lock+unlock", "maxprocs=2", "ns", run="P2", field="ns_per_pair",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "syscall_handoff", "A blocks ~20 ms in a read of a pipe fed by a helper process, 200 "
        "times; how soon after A's read-entry does spinning B run (1 P). P1: the read and write "
        "are wrapped (gx_sys_read; Go syscall.Read); P1-unwrapped: plain read(2)/write(2) the "
        "runtime does not know about (Go: syscall.RawSyscall)",
        runs=[Run(key, {"maxprocs": 1, "iters": HANDOFF_ITERS, "delay_us": HANDOFF_DELAY_US,
                        "yield_us": HANDOFF_YIELD_US, "unwrapped": u},
                  {"maxprocs": 1, "iters": HANDOFF_ITERS_QUICK, "delay_us": HANDOFF_DELAY_US,
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
                   target=Target("abs_max", HANDOFF_TRACE_UNWRAPPED_P50_MAX_US, "µs", impl="gmpx-trace")),
            Metric("hand-off p99 µs", "maxprocs=1, unwrapped", "µs", run="P1-unwrapped",
                   field="handoff_p99_us",
                   target=Target("abs_max", HANDOFF_TRACE_UNWRAPPED_P99_MAX_US, "µs", impl="gmpx-trace")),
            Metric("B longest stall µs", "maxprocs=1, unwrapped", "µs", run="P1-unwrapped",
                   field="b_max_stall_us"),
            Metric("sysmon CPU % of wall", "maxprocs=1, unwrapped", "%", run="P1-unwrapped",
                   field="sysmon_cpu_pct", target=Target("abs_max", SYSMON_CPU_MAX_PCT, "%")),
        ]),
    Workload(
        "preempt_latency", "a call-free spinner holds the only P; lateness of 1 ms sleeps",
        runs=[Run("P1", {"maxprocs": 1, "iters": PREEMPT_ITERS, "sleep_us": PREEMPT_SLEEP_US},
                  {"maxprocs": 1, "iters": PREEMPT_ITERS_QUICK, "sleep_us": PREEMPT_SLEEP_US}),
              Run("P1-q1ms", {"maxprocs": 1, "iters": PREEMPT_ITERS, "sleep_us": PREEMPT_SLEEP_US},
                  {"maxprocs": 1, "iters": PREEMPT_ITERS_QUICK, "sleep_us": PREEMPT_SLEEP_US},
                  env={"GX_QUANTUM": PREEMPT_SHORT_QUANTUM}, programs=("gmpx",))],
        metrics=[
            Metric("lateness p50 µs", "maxprocs=1", "µs", run="P1", field="late_p50_us"),
            Metric("lateness p99 µs", "maxprocs=1", "µs", run="P1", field="late_p99_us",
                   target=Target("abs_max", PREEMPT_P99_MAX_US["default"], "µs")),
            Metric("lateness p50 µs", f"maxprocs=1, GX_QUANTUM={PREEMPT_SHORT_QUANTUM}", "µs",
                   run="P1-q1ms", field="late_p50_us"),
            Metric("lateness p99 µs", f"maxprocs=1, GX_QUANTUM={PREEMPT_SHORT_QUANTUM}", "µs",
                   run="P1-q1ms", field="late_p99_us",
                   target=Target("abs_max", PREEMPT_P99_MAX_US[PREEMPT_SHORT_QUANTUM], "µs")),
        ]),
    Workload(
        "netpoll_echo", f"echo server, goroutine per connection; one C client (threads + epoll) "
        f"runs {ECHO_CONNS} connections x {ECHO_TRIPS} round trips of {ECHO_SIZE} B on 127.0.0.1",
        runs=[Run("P2", {"maxprocs": 2, "conns": ECHO_CONNS, "trips": ECHO_TRIPS, "size": ECHO_SIZE,
                         "threads": ECHO_CLIENT_THREADS},
                  {"maxprocs": 2, "conns": ECHO_CONNS_QUICK, "trips": ECHO_TRIPS_QUICK, "size": ECHO_SIZE,
                   "threads": ECHO_CLIENT_THREADS})],
        metrics=[
            Metric("requests/s", f"maxprocs=2, {ECHO_CONNS} conns", "req/s", run="P2",
                   field="requests_per_s", target=Target("ratio_min", 1.0)),
            Metric("round trip p99 µs", f"maxprocs=2, {ECHO_CONNS} conns", "µs", run="P2",
                   field="lat_p99_us"),
            Metric("server CPU µs/request", "maxprocs=2", "µs", run="P2", field="server_cpu_us_per_req"),
        ],
        driver=drive_netpoll_echo, helpers=("netpoll_echo_client",)),
    Workload(
        "http_hello", f"HTTP/1.1 keep-alive hello server (examples/http_hello.c; Go: net/http) "
        f"under wrk -t{HTTP_THREADS} -c{HTTP_CONNS} -d{HTTP_SECS}s",
        runs=[Run("P2", {"maxprocs": 2, "threads": HTTP_THREADS, "conns": HTTP_CONNS,
                         "duration_s": HTTP_SECS},
                  {"maxprocs": 2, "threads": HTTP_THREADS, "conns": HTTP_CONNS,
                   "duration_s": HTTP_SECS_QUICK})],
        metrics=[
            Metric("requests/s", f"maxprocs=2, wrk -c{HTTP_CONNS}", "req/s", run="P2",
                   field="requests_per_s", target=Target("ratio_min", 1.0)),
            Metric("latency p99 µs", f"maxprocs=2, wrk -c{HTTP_CONNS}", "µs", run="P2", field="lat_p99_us"),
            Metric("server CPU µs/request", "maxprocs=2", "µs", run="P2", field="server_cpu_us_per_req"),
        ],
        driver=drive_http_hello),
    Workload(
        "idle_cost", f"{IDLE_N} goroutines parked on a waitgroup while main sleeps {IDLE_MS // 1000} s "
        f"(--quick: {IDLE_MS_QUICK // 1000} s): the process's CPU time and context switches in that window",
        runs=[Run("P2", {"maxprocs": 2, "n": IDLE_N, "idle_ms": IDLE_MS},
                  {"maxprocs": 2, "n": IDLE_N, "idle_ms": IDLE_MS_QUICK})],
        metrics=[
            Metric("idle CPU µs", "maxprocs=2", "µs", run="P2", field="idle_cpu_us",
                   target=Target("ratio_to", IDLE_TRACE_MAX_RATIO, impl="gmpx-trace", ref="gmpx")),
            Metric("idle CPU % of one CPU", "maxprocs=2", "%", run="P2", field="idle_cpu_pct"),
            Metric("context switches", "maxprocs=2", "", run="P2", field="wakeups"),
        ]),
]


# --------------------------------------------------------------------------
# The kernel-assist daemon: one private gmpx-sched for the whole run.
# --------------------------------------------------------------------------

SCHED_BIN = BUILD / "gmpx-sched"
SCHED_LOG = OUT / "gmpx-sched.log"
SCHED_START_TIMEOUT = 10          # seconds for its socket to appear


class Daemon:
    """build/gmpx-sched on a private socket and pin directory. start()
    returns None, or one line saying why there is no daemon; env() is what
    a gmpx-trace program needs; stop() ends it (idempotent)."""

    def __init__(self):
        pid = os.getpid()
        self.dir = Path(f"/tmp/gmpx-bench-{pid}")
        self.sock = self.dir / "sched.sock"
        self.pins = Path(f"/sys/fs/bpf/gmpx-bench-{pid}")
        self.p = None
        self.log = None
        self.watch = None

    def start(self):
        if os.geteuid() != 0:
            return "needs root (the gmpx-sched daemon loads BPF programs)"
        if not Path("/sys/kernel/btf/vmlinux").exists():
            return "no kernel BTF (/sys/kernel/btf/vmlinux): trace mode's BPF programs cannot load"
        if not os.access(SCHED_BIN, os.X_OK):
            return (f"{SCHED_BIN.relative_to(REPO)} is not built "
                    "(make gmpx-sched: needs clang, bpftool and libbpf)")
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        SCHED_LOG.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(SCHED_LOG, "w")
        # It exits cleanly (removing its pins) when the write end of this
        # pipe closes: when the runner ends, however it ends.
        r, self.watch = os.pipe()
        cmd = [str(SCHED_BIN), "--socket", str(self.sock), "--pin-dir", str(self.pins),
               "--watch-fd", str(r)]
        print("+ " + " ".join(cmd) + f" 2>{SCHED_LOG.relative_to(REPO)}", file=sys.stderr)
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT, pass_fds=(r,))
        os.close(r)
        deadline = time.monotonic() + SCHED_START_TIMEOUT
        while not self.sock.exists():
            if self.p.poll() is not None:
                why = f"gmpx-sched exited at start (status {self.p.returncode}): {self.last_log()}"
                self.stop()
                return why
            if time.monotonic() > deadline:
                self.stop()
                return f"gmpx-sched did not create {self.sock} in {SCHED_START_TIMEOUT} s: {self.last_log()}"
            time.sleep(0.01)
        return None

    def last_log(self):
        try:
            lines = [ln for ln in SCHED_LOG.read_text().splitlines() if ln.strip()]
            return lines[-1].strip() if lines else "(no output)"
        except OSError:
            return "(no log)"

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def env(self):
        return {"GX_KASSIST_SOCK": str(self.sock)}

    def stop(self):
        if self.watch is not None:
            os.close(self.watch)
            self.watch = None
        if self.p is not None:
            if self.p.poll() is None:
                self.p.send_signal(signal.SIGTERM)
                try:
                    self.p.wait(10)
                except subprocess.TimeoutExpired:
                    self.p.kill()
                    self.p.wait()
        if self.log:
            self.log.close()
            self.log = None
        # What a daemon that did not exit cleanly leaves behind.
        for d in (self.pins, self.dir):
            try:
                if d.is_dir():
                    for f in d.iterdir():
                        f.unlink()
                    d.rmdir()
            except OSError:
                pass


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

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


def run_program(opts, impl, wl, run, rnd, daemon=None):
    """Runs one workload program once; returns a sample dict."""
    args = run.quick if opts.quick else run.args
    cmd = [str(PROGRAM_SETS[impl.programs].path(wl.name))]
    cmd += [f"--{k}={v}" for k, v in args.items()]
    env = dict(os.environ)
    for var in ("GOMAXPROCS", "GX_MAXPROCS"):       # the --maxprocs option rules
        env.pop(var, None)
    env.pop("GX_KASSIST_SOCK", None)
    env.update(impl.env)
    if impl.daemon and daemon is not None:
        env.update(daemon.env())
    env.update(run.env)
    sample = {"round": rnd, "impl": impl.name, "workload": wl.name, "run": run.key,
              "cmd": cmd, "ok": False}
    if run.env:
        sample["env"] = run.env
    t0 = time.monotonic()
    timeout = RUN_TIMEOUT["quick" if opts.quick else "full"]
    try:
        if wl.driver:
            returncode, stdout, stderr = wl.driver(cmd[0], args, env, timeout)
        else:
            p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=timeout)
            returncode, stdout, stderr = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        sample["error"] = f"timed out after {e.timeout} s"
        return sample
    except (OSError, DriverError) as e:
        sample["error"] = str(e)
        return sample
    sample["process_s"] = round(time.monotonic() - t0, 6)
    sample["exit"] = returncode
    if stderr.strip():
        sample["stderr"] = stderr.strip()[-2000:]
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if returncode != 0:
        sample["error"] = f"exit status {returncode}"
    elif len(lines) != 1:
        sample["error"] = f"printed {len(lines)} lines, want one line of JSON"
    else:
        try:
            metrics = json.loads(lines[0])
        except json.JSONDecodeError as e:
            sample["error"] = f"bad JSON: {e}"
        else:
            if not isinstance(metrics, dict) or metrics.get("workload") != wl.name:
                sample["error"] = "JSON does not name the workload"
            elif impl.kassist and metrics.get("kassist") != impl.kassist:
                # The runtime's own word on why (gmpx: kassist: ... on stderr).
                why = [ln.strip() for ln in stderr.splitlines() if "kassist" in ln
                       and not ln.startswith("gmpx-bench:")]
                sample["error"] = (f"ran in kernel-assist mode {metrics.get('kassist')!r}, not "
                                   f"{impl.kassist!r}" + (f": {why[-1]}" if why else ""))
                if impl.daemon and daemon is not None and not daemon.alive():
                    sample["error"] += f" (gmpx-sched has exited: {daemon.last_log()})"
                sample["metrics"] = metrics
            else:
                sample["metrics"] = metrics
                sample["ok"] = True
    if not sample["ok"] and stdout.strip():
        sample["stdout"] = stdout.strip()[-2000:]
    return sample


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


def summarize(opts, workloads, impls, samples):
    """Medians per (workload, run, impl, field) and the table rows."""
    medians = {}
    for wl in workloads:
        for run in wl.runs:
            for impl in impls:
                got = [s["metrics"] for s in samples if s["ok"] and s["impl"] == impl.name
                       and s["workload"] == wl.name and s["run"] == run.key]
                if not got:
                    continue
                fields = {}
                for k, v in got[0].items():
                    vals = [g.get(k) for g in got]
                    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vals):
                        fields[k] = statistics.median(vals)
                medians.setdefault(wl.name, {}).setdefault(impl.name, {})[run.key] = fields

    rows = []
    names = [i.name for i in impls]
    for wl in workloads:
        for m in wl.metrics:
            values = {}
            for name in names:
                med = medians.get(wl.name, {}).get(name, {})
                if m.derive:
                    values[name] = m.derive(med)
                else:
                    values[name] = med.get(m.run, {}).get(m.field)
            base = values.get(BASELINE)
            ratios, met = {}, {}
            for name in names:
                if name == BASELINE:
                    continue
                v = values.get(name)
                ratios[name] = v / base if v is not None and base else None
                if m.target and m.target.applies(name):
                    met[name] = m.target.met(v, ratios[name], values)
            rows.append({"workload": wl.name, "metric": m.name, "param": m.param,
                         "unit": m.unit, "values": values, "ratios": ratios,
                         "target": m.target.text() if m.target else None, "met": met})
    return medians, rows


def table(rows, impls, markdown):
    names = [i.name for i in impls]
    others = [n for n in names if n != BASELINE]
    subjects = [n for n in others if is_subject(n)]
    head = ["workload", "metric", "param"] + names
    head += [f"{n}/{BASELINE}" for n in others] if BASELINE in names else []
    head += ["target"]
    head += ["met"] if len(subjects) == 1 else [f"met {n}" for n in subjects]
    first_text = len(head) - (1 + max(len(subjects), 1 if subjects else 0))
    numeric = lambda i: 3 <= i < first_text   # medians and ratios: right-aligned
    body = []
    for r in rows:
        line = [r["workload"], r["metric"], r["param"]]
        line += [fmt_num(r["values"].get(n)) for n in names]
        if BASELINE in names:
            line += ["—" if r["ratios"].get(n) is None else f"{r['ratios'][n]:.2f}"
                     for n in others]
        line += [r["target"] or "info"]
        for n in subjects:
            ok = r["met"].get(n)
            line += ["" if n not in r["met"] else "—" if ok is None else "yes" if ok else "NO"]
        body.append(line)
    if markdown:
        out = ["| " + " | ".join(head) + " |",
               "|" + "|".join("---:" if numeric(i) else "---" for i in range(len(head))) + "|"]
        out += ["| " + " | ".join(line) + " |" for line in body]
        return "\n".join(out)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = lambda line: "  ".join(
        (c.rjust(w) if numeric(i) else c.ljust(w))
        for i, (c, w) in enumerate(zip(line, widths))).rstrip()
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(ln) for ln in body])


def cmd_out(cmd, **kw):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=30, **kw).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info():
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = line.split(":", 1)[1].strip()
    except OSError:
        pass
    go = find_go()
    return {
        "uname": cmd_out(["uname", "-a"]) or " ".join(platform.uname()),
        "kernel": platform.release(),
        "nproc": cmd_out(["nproc"]),
        "cpus_online": os.cpu_count(),
        "cpu_model": model,
        "mem_total": mem,
        "loadavg_start": Path("/proc/loadavg").read_text().strip()
        if Path("/proc/loadavg").exists() else None,
        "go_version": cmd_out([go, "version"], env=go_env()) if go else None,
        "cc_version": (cmd_out([CC, "--version"]) or "").splitlines()[0] or None,
        "python": platform.python_version(),
        "commit": cmd_out(["git", "-C", str(REPO), "rev-parse", "--verify", "-q", "HEAD"]),
    }


def loadavg1(text):
    """The 1-minute load average from a /proc/loadavg line: a load near the
    number of CPUs means other work competed with the benchmark."""
    return text.split()[0] if text else "?"


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Run the gmpx benchmarks side by side with their Go peers.")
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes and 1 round (checks that everything runs; "
                         "the numbers mean nothing)")
    ap.add_argument("--rounds", type=int, help=f"rounds (default {DEFAULT_ROUNDS}; 1 with --quick)")
    ap.add_argument("--only", help="comma-separated workloads (default: all): "
                    + ",".join(w.name for w in WORKLOADS))
    ap.add_argument("--impl", help="comma-separated implementations (default: all): "
                    + ",".join(i.name for i in IMPLS))
    ap.add_argument("--json", default=str(DEFAULT_JSON),
                    help=f"where to write the results (default {DEFAULT_JSON.relative_to(REPO)})")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--no-make", dest="make", action="store_false",
                    help="do not run 'make lib' first (use the library as it is)")
    ap.add_argument("--lib", help=f"gmpx static library (default {DEFAULT_LIB.relative_to(REPO)}; "
                    "implies --no-make)")
    ap.add_argument("--ldlibs", default="-pthread",
                    help="what to link after the library (default: -pthread)")
    a = ap.parse_args(argv)

    def pick(spec, known, what):
        if not spec:
            return list(known)
        want = [s.strip() for s in spec.split(",") if s.strip()]
        bad = [s for s in want if s not in known]
        if bad:
            ap.error(f"unknown {what}: {', '.join(bad)} (known: {', '.join(known)})")
        return [k for k in known if k in want]

    rounds = a.rounds if a.rounds is not None else (1 if a.quick else DEFAULT_ROUNDS)
    if rounds < 1:
        ap.error("--rounds must be >= 1")
    return Options(
        rounds=rounds, quick=a.quick,
        only=pick(a.only, [w.name for w in WORKLOADS], "workload"),
        impls=pick(a.impl, [i.name for i in IMPLS], "implementation"),
        json=a.json, markdown=a.markdown,
        make=a.make and a.lib is None,
        lib=a.lib or str(DEFAULT_LIB),
        ldlibs=a.ldlibs.split())


def main(argv):
    opts = parse_args(argv)
    workloads = [w for w in WORKLOADS if w.name in opts.only]
    impls = [i for i in IMPLS if i.name in opts.impls]
    failures = []

    # Helper programs of server workloads (clients), then each program set
    # once (shared by every implementation using it).
    helpers = sorted({h for w in workloads for h in w.helpers})
    if helpers:
        try:
            build_helpers(helpers)
        except BuildError as e:
            print(f"bench: building helpers failed: {e}", file=sys.stderr)
            failures.append({"stage": "build", "programs": "helpers", "error": str(e)})
    built = {}
    for pset in dict.fromkeys(i.programs for i in impls):
        ps = PROGRAM_SETS[pset]
        names = [w.name for w in workloads if ps.has(w.name)]
        try:
            ps.build(opts, names)
            built[pset] = True
        except BuildError as e:
            print(f"bench: building {pset} failed: {e}", file=sys.stderr)
            failures.append({"stage": "build", "programs": pset, "error": str(e)})
            built[pset] = False

    info = machine_info()
    samples = []
    skipped = {}        # implementation -> why it did not run (one line)
    daemon = None

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt     # unwinds through the finally below

    old_sigterm = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        # One private kernel-assist daemon for the whole run, if an
        # implementation needs it; without it those columns are skipped.
        if any(i.daemon and built[i.programs] for i in impls):
            daemon = Daemon()
            why = daemon.start()
            if why:
                for i in impls:
                    if i.daemon:
                        skipped[i.name] = why
                        print(f"bench: {i.name} skipped: {why}", file=sys.stderr)
        impls = [i for i in impls if i.name not in skipped]

        for rnd in range(opts.rounds):
            # Rotate the order of the implementations each round.
            order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
            for wl in workloads:
                for run in wl.runs:
                    for impl in order:
                        ps = PROGRAM_SETS[impl.programs]
                        if not built[impl.programs] or not ps.has(wl.name) or not run.applies(impl):
                            continue
                        s = run_program(opts, impl, wl, run, rnd, daemon)
                        samples.append(s)
                        tag = f"[{rnd + 1}/{opts.rounds}] {wl.name} {run.key} {impl.name}"
                        if s["ok"]:
                            print(f"{tag}: {json.dumps(s['metrics'])}", file=sys.stderr)
                        else:
                            print(f"{tag}: FAILED: {s['error']}", file=sys.stderr)
                            if s.get("stderr"):
                                print("  " + s["stderr"].replace("\n", "\n  "), file=sys.stderr)
                            failures.append({"stage": "run", "impl": impl.name,
                                             "workload": wl.name, "run": run.key,
                                             "round": rnd, "error": s["error"]})
    except KeyboardInterrupt:
        print("\nbench: interrupted; no results written", file=sys.stderr)
        return 130
    finally:
        if daemon is not None:
            daemon.stop()
        signal.signal(signal.SIGTERM, old_sigterm)

    medians, rows = summarize(opts, workloads, impls, samples)
    info["loadavg_end"] = (Path("/proc/loadavg").read_text().strip()
                           if Path("/proc/loadavg").exists() else None)
    now = datetime.datetime.now(datetime.timezone.utc)

    mode = "quick (tiny sizes: numbers mean nothing)" if opts.quick else "full"
    header = (f"{now:%Y-%m-%d}, Linux {info['kernel']}, {info['nproc']} CPUs"
              f" ({info['cpu_model'] or 'unknown CPU'}), {opts.rounds} round"
              f"{'s' if opts.rounds != 1 else ''}, medians; {mode}; "
              f"{(info['go_version'] or 'go ?').replace('go version ', '')}; "
              f"1-min load avg {loadavg1(info['loadavg_start'])} at start, "
              f"{loadavg1(info['loadavg_end'])} at end")
    if opts.markdown:
        print(f"Benchmarks: {header}. Ratio = implementation / {BASELINE}.\n")
    else:
        print(f"# {header}")
    print(table(rows, impls, opts.markdown))
    for name, why in skipped.items():
        print(f"\n{name}: skipped: {why}" if opts.markdown else f"# {name}: skipped: {why}")
    if failures:
        print(f"\n{len(failures)} failure(s):", file=sys.stderr)
        for f in failures:
            print("  " + ", ".join(f"{k}={v}" for k, v in f.items()), file=sys.stderr)

    result = {
        "date": now.isoformat(timespec="seconds"),
        "machine": info,
        "options": {"rounds": opts.rounds, "quick": opts.quick, "workloads": opts.only,
                    "impls": opts.impls, "lib": opts.lib, "ldlibs": opts.ldlibs,
                    "cc": CC, "cflags": CFLAGS},
        "environment": {k: v for k, v in os.environ.items()
                        if k.startswith(("GX_", "GO")) and k not in ("GOROOT",)},
        "implementations": [{"name": i.name, "programs": i.programs, "env": i.env,
                             "about": i.about} for i in impls],
        "skipped": skipped,
        "baseline": BASELINE,
        "workloads": [{"name": w.name, "about": w.about,
                       "runs": [{"key": r.key, "args": r.quick if opts.quick else r.args,
                                 "env": r.env, "programs": r.programs}
                                for r in w.runs]} for w in workloads],
        "samples": samples,
        "medians": medians,
        "rows": rows,
        "failures": failures,
        "ok": not failures,
    }
    out = Path(opts.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"bench: results in {out}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
