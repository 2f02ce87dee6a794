#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gmpx benchmark runner: the same workloads in gmpx (each kernel-assist
mode), in Go and with plain pthreads, on the host and in a sched_ext VM.

Builds every workload program of every implementation (tools/bench/c: gmpx,
tools/bench/go: the Go peers, tools/bench/pthreads: the pthreads
analogues), runs each workload x implementation for R rounds on the host
(implementations interleaved within a round, their order rotated from round
to round, so drift of a noisy machine affects all alike), then boots ONE
QEMU guest on Debian's sched_ext kernel (tools/vmtest/vmtest.sh) and runs
the VM implementations there the same way (a generated sh script; the
guest starts its own gmpx-sched daemons for trace and scx mode). Takes
medians and prints, per metric, every implementation's median, the ratios
(host implementations to Go; the kernel-assist modes to each other, the
VM's to the VM's) and whether gmpx meets its targets; writes JSON with every
sample and one SVG plot per metric (gnuplot). Absolute numbers on shared
machines are noise; the ratios are the result (DESIGN.md section 5).

Usage:
    tools/bench/run.py                 # full sizes: host 5 rounds, VM 5 rounds
    tools/bench/run.py --quick         # tiny sizes, 1 round (CI: checks it runs)
    tools/bench/run.py --only fib_fanout,yield_switch --rounds 9 --no-vm
    tools/bench/run.py --markdown      # the table as Markdown, for README

Each workload program prints ONE line of JSON on stdout with its metrics and
exits 0; exit 1 means its own verification failed. Sizes are passed as
--name=value options, the same for every implementation of one place (the
VM has its own, smaller sizes).

Exit status: 0 when everything built, ran and verified (whether or not the
targets are met: they are reported, not enforced; an implementation marked
advisory reports its failures without failing the run); 1 when something
failed to build or run, or a workload's verification failed, or the guest
crashed or timed out; 2 for bad usage. A column that cannot be had (no root
or BTF for the host's daemon; no QEMU or kernel for the VM, vmtest.sh exit
4; a kernel-assist mode the guest's probe shows not working) is skipped
with the reason.

Host implementations: gmpx (kernel assist off), gmpx-trace (GX_KASSIST=trace
with ONE private daemon for the whole run: build/gmpx-sched --socket
/tmp/gmpx-bench-PID/sched.sock --pin-dir /sys/fs/bpf/gmpx-bench-PID; root and
kernel BTF), go and pthreads. VM implementations: vm-off, vm-trace, vm-scx,
vm-go, vm-pthreads (run_vm). Every C program reports the mode it ended in
("kassist" in its JSON); a sample that did not end in its column's mode fails.

Adding an implementation: a ProgramSet (how to build its programs, where they
land) and an Impl (a name, the program set, extra environment, where) in
IMPLS. Adding a workload: the programs, then a Workload in WORKLOADS. A Run
has host and VM sizes, may set extra environment (env) and be limited to
some program sets (programs): e.g. preempt_latency's gmpx-only
GX_QUANTUM=1ms run.

Server workloads (netpoll_echo, http_hello): the program of each
implementation is a server; the Workload's driver starts it, waits for its
"listening on :PORT" line, runs a client against it (a helper program built
here, the same for every implementation, or wrk), stops the server with
SIGTERM and turns the client's output into the one line of JSON. In the VM
the guest script does the same for netpoll_echo (http_hello is host-only).
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
DEFAULT_PLOTS = OUT / "plots"
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
        # Static (CGO_ENABLED=0, go_env) and stripped: they also run in the
        # VM's busybox guest, packed into its initramfs.
        run_build([go, "build", "-ldflags=-s -w", "-o", str(OUT / "go" / w), f"./{w}"],
                  cwd=BENCH_DIR / "go", env=env)


def build_pthreads(opts, workloads):
    (OUT / "pthreads").mkdir(parents=True, exist_ok=True)
    for w in workloads:
        run_build([CC, *CFLAGS, "-I", str(BENCH_DIR / "pthreads"), str(BENCH_DIR / "pthreads" / f"{w}.c"),
                   "-pthread", "-o", str(OUT / "pthreads" / w)])


PROGRAM_SETS = {
    "gmpx": ProgramSet(
        "gmpx", build_gmpx,
        path=lambda w: OUT / "c" / w,
        has=lambda w: c_source(w).exists()),
    "go": ProgramSet(
        "go", build_go,
        path=lambda w: OUT / "go" / w,
        has=lambda w: (BENCH_DIR / "go" / w / "main.go").exists()),
    "pthreads": ProgramSet(
        "pthreads", build_pthreads,
        path=lambda w: OUT / "pthreads" / w,
        has=lambda w: (BENCH_DIR / "pthreads" / f"{w}.c").exists()),
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
    Impl("go", "go", {}, "Go peer program (tools/bench/go)"),
    Impl("pthreads", "pthreads", {}, "plain pthreads analogue (tools/bench/pthreads), no runtime"),
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
          ("gmpx-trace", "gmpx"),
          ("vm-trace", "vm-off"), ("vm-scx", "vm-off"), ("vm-scx", "vm-trace")]
RATIO_HEADS = {("gmpx", "go"): "gmpx/go", ("gmpx-trace", "go"): "trace/go",
               ("pthreads", "go"): "pthreads/go", ("gmpx-trace", "gmpx"): "trace/off",
               ("vm-trace", "vm-off"): "vm trace/off", ("vm-scx", "vm-off"): "vm scx/off",
               ("vm-scx", "vm-trace"): "vm scx/trace"}


# --------------------------------------------------------------------------
# Targets: what gmpx should achieve on a metric.
# --------------------------------------------------------------------------

@dataclass
class Target:
    """kind: "ratio_max", "ratio_min" (impl / BASELINE), "abs_max" (the
    value itself), "ratio_to" (impl / the implementation `ref` <= bound: a
    comparison between two gmpx modes, e.g. vm-scx / vm-off) or
    "ratio_to_min" (the same, >= bound). impl: the one implementation the
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
        elif self.kind == "ratio_to":
            t = f"≤ {self.bound:g} × {self.ref}"
        elif self.kind == "ratio_to_min":
            t = f"≥ {self.bound:g} × {self.ref}"
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
    vm: Optional[dict] = None                 # the options in the VM (TCG: slow);
    vm_quick: Optional[dict] = None           # None: the quick sizes
    # Per program set, options replacing some of the host's full-size ones
    # where that implementation would take far longer for the same per-item
    # figure (e.g. pthreads' kernel wake-ups): {"pthreads": {"trips": ...}}.
    override: dict = field(default_factory=dict)
    vm_override: dict = field(default_factory=dict)   # the same for the VM's full sizes

    def applies(self, impl):
        return self.programs is None or impl.programs in self.programs

    def args_for(self, impl, quick):
        if impl.where == "vm":
            a = dict((self.vm_quick if quick else self.vm) or self.quick)
        else:
            a = dict(self.quick if quick else self.args)
        if not quick:
            a.update((self.override if impl.where == "host" else self.vm_override).get(impl.programs, {}))
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
    return echo_result(args, c.returncode, c.stdout, c.stderr, rc, sout, serr, cpu)


def echo_result(args, crc, cout, cerr, rc, sout, serr, cpu):
    """The netpoll_echo sample from the client's and the server's exit
    status and output, and the server's CPU seconds (None: unknown): the
    driver's result, here or in the VM (run_vm). Checks the server's totals
    against the client's work."""
    c = subprocess.CompletedProcess([], crc, cout, cerr)
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
WAKE_ITERS, WAKE_ITERS_QUICK = 1000, 50                # spawns onto an idle P
WAKE_GAP_US = 2000                                     # idle gap before each spawn
# pthreads where one OS thread per goroutine or a kernel wake-up per
# hand-off makes the full size take minutes (same per-item figures)
PT_SPAWN_N, PT_PINGPONG_TRIPS = 200_000, 100_000

# The VM (tools/vmtest: QEMU TCG, every guest instruction emulated, 10-100x
# slower than the host): its own sizes, full and --quick, chosen to keep the
# whole VM part near 10 min (full, VM_ROUNDS rounds) and 2 min (--quick).
VM_ROUNDS = 5
VM_WAKE_GAP_US = 5000
# The targets for the sched_ext mode, measured in the VM against the
# VM's own other modes (like with like).
SCX_HANDOFF_UNWRAPPED_P50_TO_TRACE = 0.2    # vm-scx p50 <= 0.2 x vm-trace p50
SCX_HANDOFF_UNWRAPPED_P50_TO_OFF = 0.01     # ... and <= 0.01 x vm-off's (the stall)
SCX_WAKE_P50_TO_OFF = 0.5                   # wakeup_latency: vm-scx p50 <= 0.5 x vm-off
SCX_SAME_AS_OFF = 1.05                      # within 5% of vm-off or better (times)
SCX_SAME_AS_OFF_MIN = 0.95                  # ... (rates: requests/s)

WORKLOADS = [
    Workload(
        "spawn_join", "N goroutines each doing one atomic add, joined by a WaitGroup",
        runs=[Run(f"P{p}", {"maxprocs": p, "n": SPAWN_N}, {"maxprocs": p, "n": SPAWN_N_QUICK},
                  vm={"maxprocs": p, "n": 20_000}, vm_quick={"maxprocs": p, "n": 2_000},
                  override={"pthreads": {"n": PT_SPAWN_N}}, vm_override={"pthreads": {"n": 2_000}})
              for p in (1, 2)],
        metrics=[
            Metric("ns/goroutine", "maxprocs=1", "ns", run="P1", field="ns_per_goroutine"),
            Metric("ns/goroutine", "maxprocs=2", "ns", run="P2", field="ns_per_goroutine",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "yield_switch", "two goroutines yielding in turn on one P",
        runs=[Run("P1", {"maxprocs": 1, "iters": YIELD_ITERS},
                  {"maxprocs": 1, "iters": YIELD_ITERS_QUICK},
                  vm={"maxprocs": 1, "iters": 50_000}, vm_quick={"maxprocs": 1, "iters": 5_000})],
        metrics=[
            Metric("ns/switch", "maxprocs=1", "ns", run="P1", field="ns_per_switch",
                   target=Target("ratio_max", 0.5)),
        ]),
    Workload(
        "fib_fanout", "recursive fib, one goroutine per call above the cutoff",
        runs=[Run(f"P{p}", {"maxprocs": p, "n": FIB_N}, {"maxprocs": p, "n": FIB_N_QUICK},
                  vm={"maxprocs": p, "n": 24}, vm_quick={"maxprocs": p, "n": 18})
              for p in (1, 2)],
        metrics=[
            Metric("wall ms", "maxprocs=1", "ms", run="P1", field="wall_ms"),
            Metric("wall ms", "maxprocs=2", "ms", run="P2", field="wall_ms",
                   target=Target("ratio_to", SCX_SAME_AS_OFF, impl="vm-scx", ref="vm-off")),
            Metric("speedup t1/t2", "maxprocs=1→2", "x", derive=fib_speedup,
                   target=Target("ratio_min", 1.0)),
        ]),
    Workload(
        "parked_memory", "N goroutines blocked forever: RSS and creation cost",
        runs=[Run("P2", {"maxprocs": 2, "n": PARKED_N}, {"maxprocs": 2, "n": PARKED_N_QUICK},
                  vm={"maxprocs": 2, "n": 20_000}, vm_quick={"maxprocs": 2, "n": 2_000})],
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
                  {"maxprocs": p, "trips": PINGPONG_TRIPS_QUICK},
                  vm={"maxprocs": p, "trips": 10_000}, vm_quick={"maxprocs": p, "trips": 1_000},
                  override={"pthreads": {"trips": PT_PINGPONG_TRIPS}}) for p in (1, 2)],
        metrics=[
            Metric("ns/round trip", "maxprocs=1", "ns", run="P1", field="ns_per_roundtrip",
                   target=Target("ratio_max", 0.5)),
            Metric("ns/round trip", "maxprocs=2", "ns", run="P2", field="ns_per_roundtrip",
                   target=(Target("ratio_max", 1.0),
                           Target("ratio_to", SCX_SAME_AS_OFF, impl="vm-scx", ref="vm-off"))),
        ]),
    Workload(
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
                   target=Target("ratio_max", 1.0)),
            Metric("ns/item", "4→4, maxprocs=2", "ns", run="4x4", field="ns_per_item",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "timers", "N goroutines each sleeping once for 1-10 ms (same seeded durations)",
        runs=[Run("P2", {"maxprocs": 2, "n": TIMERS_N}, {"maxprocs": 2, "n": TIMERS_N_QUICK},
                  vm={"maxprocs": 2, "n": 5_000}, vm_quick={"maxprocs": 2, "n": 500})],
        metrics=[
            Metric("wall ms", "maxprocs=2", "ms", run="P2", field="wall_ms"),
            Metric("oversleep p50 µs", "maxprocs=2", "µs", run="P2", field="oversleep_p50_us"),
            Metric("oversleep p99 µs", "maxprocs=2", "µs", run="P2", field="oversleep_p99_us",
                   target=Target("ratio_max", 1.0)),
        ]),
    Workload(
        "mutex_contention", "4 goroutines locking one mutex around a counter increment",
        runs=[Run("P2", {"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": MUTEX_ITERS},
                  {"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": MUTEX_ITERS_QUICK},
                  vm={"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": 20_000},
                  vm_quick={"maxprocs": 2, "workers": MUTEX_WORKERS, "iters": 2_000})],
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
        ]),
    Workload(
        "preempt_latency", "a call-free spinner holds the only P; lateness of 1 ms sleeps",
        runs=[Run("P1", {"maxprocs": 1, "iters": PREEMPT_ITERS, "sleep_us": PREEMPT_SLEEP_US},
                  {"maxprocs": 1, "iters": PREEMPT_ITERS_QUICK, "sleep_us": PREEMPT_SLEEP_US},
                  vm={"maxprocs": 1, "iters": 50, "sleep_us": PREEMPT_SLEEP_US},
                  vm_quick={"maxprocs": 1, "iters": 10, "sleep_us": PREEMPT_SLEEP_US}),
              Run("P1-q1ms", {"maxprocs": 1, "iters": PREEMPT_ITERS, "sleep_us": PREEMPT_SLEEP_US},
                  {"maxprocs": 1, "iters": PREEMPT_ITERS_QUICK, "sleep_us": PREEMPT_SLEEP_US},
                  env={"GX_QUANTUM": PREEMPT_SHORT_QUANTUM}, programs=("gmpx",),
                  vm={"maxprocs": 1, "iters": 100, "sleep_us": PREEMPT_SLEEP_US},
                  vm_quick={"maxprocs": 1, "iters": 20, "sleep_us": PREEMPT_SLEEP_US})],
        metrics=[
            Metric("lateness p50 µs", "maxprocs=1", "µs", run="P1", field="late_p50_us"),
            Metric("lateness p99 µs", "maxprocs=1", "µs", run="P1", field="late_p99_us",
                   target=Target("abs_max", PREEMPT_P99_MAX_US["default"], "µs")),
            Metric("lateness p50 µs", f"maxprocs=1, GX_QUANTUM={PREEMPT_SHORT_QUANTUM}", "µs",
                   run="P1-q1ms", field="late_p50_us"),
            Metric("lateness p99 µs", f"maxprocs=1, GX_QUANTUM={PREEMPT_SHORT_QUANTUM}", "µs",
                   run="P1-q1ms", field="late_p99_us",
                   target=(Target("abs_max", PREEMPT_P99_MAX_US[PREEMPT_SHORT_QUANTUM], "µs"),
                           Target("abs_max", PREEMPT_P99_MAX_US[PREEMPT_SHORT_QUANTUM], "µs",
                                  impl="vm-scx"))),
        ]),
    Workload(
        "netpoll_echo", f"echo server, goroutine per connection; one C client (threads + epoll) "
        f"runs {ECHO_CONNS} connections x {ECHO_TRIPS} round trips of {ECHO_SIZE} B on 127.0.0.1",
        runs=[Run("P2", {"maxprocs": 2, "conns": ECHO_CONNS, "trips": ECHO_TRIPS, "size": ECHO_SIZE,
                         "threads": ECHO_CLIENT_THREADS},
                  {"maxprocs": 2, "conns": ECHO_CONNS_QUICK, "trips": ECHO_TRIPS_QUICK, "size": ECHO_SIZE,
                   "threads": ECHO_CLIENT_THREADS},
                  vm={"maxprocs": 2, "conns": 100, "trips": 50, "size": ECHO_SIZE,
                      "threads": ECHO_CLIENT_THREADS},
                  vm_quick={"maxprocs": 2, "conns": 20, "trips": 10, "size": ECHO_SIZE,
                            "threads": ECHO_CLIENT_THREADS})],
        metrics=[
            Metric("requests/s", f"maxprocs=2, {ECHO_CONNS} conns (VM: 100)", "req/s", run="P2",
                   field="requests_per_s",
                   target=(Target("ratio_min", 1.0),
                           Target("ratio_to_min", SCX_SAME_AS_OFF_MIN, impl="vm-scx", ref="vm-off"))),
            Metric("round trip p99 µs", f"maxprocs=2, {ECHO_CONNS} conns (VM: 100)", "µs", run="P2",
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
        driver=drive_http_hello, vm=False),
    Workload(
        "idle_cost", f"{IDLE_N} goroutines parked on a waitgroup while main sleeps {IDLE_MS // 1000} s "
        f"(--quick: {IDLE_MS_QUICK // 1000} s): the process's CPU time and context switches in that window",
        runs=[Run("P2", {"maxprocs": 2, "n": IDLE_N, "idle_ms": IDLE_MS},
                  {"maxprocs": 2, "n": IDLE_N, "idle_ms": IDLE_MS_QUICK},
                  vm={"maxprocs": 2, "n": IDLE_N, "idle_ms": 2_000},
                  vm_quick={"maxprocs": 2, "n": 100, "idle_ms": 300})],
        metrics=[
            Metric("idle CPU µs", "maxprocs=2", "µs", run="P2", field="idle_cpu_us",
                   target=Target("ratio_to", IDLE_TRACE_MAX_RATIO, impl="gmpx-trace", ref="gmpx")),
            Metric("idle CPU % of one CPU", "maxprocs=2", "%", run="P2", field="idle_cpu_pct"),
            Metric("context switches", "maxprocs=2", "", run="P2", field="wakeups"),
        ]),
    Workload(
        "wakeup_latency", "main sleeps (every P idle), spawns a goroutine and keeps its own P busy: "
        "spawn to the goroutine's first instruction on the other, idle P (woken by wakep)",
        runs=[Run("P2", {"maxprocs": 2, "iters": WAKE_ITERS, "gap_us": WAKE_GAP_US},
                  {"maxprocs": 2, "iters": WAKE_ITERS_QUICK, "gap_us": WAKE_GAP_US},
                  vm={"maxprocs": 2, "iters": 200, "gap_us": VM_WAKE_GAP_US},
                  vm_quick={"maxprocs": 2, "iters": 30, "gap_us": VM_WAKE_GAP_US})],
        metrics=[
            Metric("wake p50 µs", "maxprocs=2", "µs", run="P2", field="wake_p50_us",
                   target=Target("ratio_to", SCX_WAKE_P50_TO_OFF, impl="vm-scx", ref="vm-off")),
            Metric("wake p99 µs", "maxprocs=2", "µs", run="P2", field="wake_p99_us"),
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
    vm_rounds: int = 1
    vm_smp: int = 4
    plots_dir: str = ""


def run_program(opts, impl, wl, run, rnd, daemon=None):
    """Runs one workload program once; returns a sample dict."""
    args = run.args_for(impl, opts.quick)
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
    sample = {"round": rnd, "impl": impl.name, "where": "host", "workload": wl.name, "run": run.key,
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
    return check_sample(sample, impl, wl, returncode, stdout, stderr, daemon)


def check_sample(sample, impl, wl, returncode, stdout, stderr, daemon=None):
    """Fills in a sample from a program's exit status and output: its
    metrics if it printed one line of JSON naming the workload and ended in
    its implementation's kernel-assist mode, else the error."""
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


# --------------------------------------------------------------------------
# The VM part: the same programs in a sched_ext guest (tools/vmtest).
# --------------------------------------------------------------------------

VMTEST = REPO / "tools" / "vmtest" / "vmtest.sh"
VM_DIR = OUT / "vm"                     # the guest script, its raw output
VM_SMP, VM_MEM_MB = 4, 2048
VM_RUN_TIMEOUT = {"full": 120, "quick": 20}   # one program in the guest (s)
VM_DAEMON_WAIT_S = 30                   # for the guest's gmpx-sched socket
# The guest's daemons: mode -> (socket, pin directory); the sockets are the
# ones the VM implementations' GX_KASSIST_SOCK name.
GUEST_DAEMONS = {"trace": ("/run/gx-trace.sock", "/sys/fs/bpf/gx-trace"),
                 "scx": ("/run/gx-scx.sock", "/sys/fs/bpf/gx-scx")}
# A program every kernel-assist mode is probed with before the columns run:
# it must end in its mode, else the column is skipped with its reason.
VM_PROBE = ("spawn_join", {"maxprocs": 2, "n": 100})


def shq(x):
    """Quotes a word for the guest's sh."""
    x = str(x)
    if re.fullmatch(r"[A-Za-z0-9_./:=,+-]+", x):
        return x
    return "'" + x.replace("'", "'\\''") + "'"


def guest_path(path):
    """Where a file under the checkout lands in the guest (vmtest copies a
    relative PATH to /work/PATH, and runs the command in /work)."""
    return str(Path(path).relative_to(REPO))


GUEST_PRELUDE = r'''# generated by tools/bench/run.py: the VM part of the benchmarks.
# Prints "@@" lines the runner parses: @@INFO k v, @@SKIP impl reason,
# @@S impl workload run round, @@R status, @@O/@@E program stdout/stderr,
# @@SO/@@SE server stdout/stderr, @@CPU server CPU ticks, @@SRC server status, @@END.
export LC_ALL=C
echo "@@INFO uname $(uname -r)"
echo "@@INFO nproc $(nproc)"
echo "@@INFO sched_ext $(cat /sys/kernel/sched_ext/state 2>/dev/null || echo absent)"
echo "@@INFO btf $([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
echo "@@INFO loadavg_start $(cat /proc/loadavg)"
T0=$(cut -d' ' -f1 /proc/uptime)
up() { cut -d' ' -f1 /proc/uptime; }
emit() { # emit STATUS [KEY]: the last program's output, tagged; a timeout
	# (busybox timeout: 143) marks KEY hung: later rounds do not run it again
	[ "$1" != 143 ] && [ "$1" != 124 ] || [ -z "$2" ] || eval "hung_$2=1"
	echo "@@R $1 $(up)"
	sed 's/^/@@O /' /tmp/o
	sed 's/^/@@E /' /tmp/e
	echo "@@END"
}
# daemon MODE SOCK PINS: start gmpx-sched in MODE; on failure print a SKIP
# for the implementations that need it and set skip_MODE.
daemon() {
	rm -f "$2"
	build/gmpx-sched --mode "$1" --socket "$2" --pin-dir "$3" >"/tmp/gx-$1.log" 2>&1 &
	eval "pid_$1=$!"
	i=0
	while [ ! -S "$2" ] && [ $i -lt $((DAEMON_WAIT * 10)) ] && kill -0 "$(eval echo \$pid_$1)" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -S "$2" ]; then
		echo "@@INFO daemon_$1 up after $((i / 10)).$((i % 10)) s"
		return 0
	fi
	why=$(grep -v '^ *$' "/tmp/gx-$1.log" | tail -n 1)
	if kill -0 "$(eval echo \$pid_$1)" 2>/dev/null; then
		why="no socket $2 after $DAEMON_WAIT s: $why"
	fi
	eval "skip_$1=1"
	echo "@@DSKIP $1 gmpx-sched --mode $1: ${why:-exited with no output}"
}
# probe MODE SOCK CMD...: a tiny program in MODE must end in MODE.
probe() {
	m=$1 s=$2
	shift 2
	echo "@@INFO probe_$m $*"
	GX_KASSIST=$m GX_KASSIST_SOCK=$s timeout 60 "$@" >/tmp/o 2>/tmp/e
	rc=$?
	if ! grep -q "\"kassist\":\"$m\"" /tmp/o; then
		why=$(grep 'kassist' /tmp/e | tail -n 1)
		[ -n "$why" ] || why="the probe ($*) exited $rc in mode '$(sed -n 's/.*"kassist":"\([a-z]*\)".*/\1/p' /tmp/o)', not $m: $(tail -n 1 /tmp/e)"
		eval "skip_$m=1"
		echo "@@DSKIP $m $why"
	fi
}
# notrun KEY: a program that timed out in an earlier round is not run again.
notrun() {
	echo "@@R 125 $(up)"
	echo "@@E not run: it timed out in an earlier round"
	echo "@@END"
}
# server TIMEOUT SERVER_CMD -- CLIENT_CMD...: a server workload.
server() {
	tmo=$1
	shift
	srv=""
	while [ "$1" != "--" ]; do srv="$srv $(printf "'%s'" "$1")"; shift; done
	shift
	: >/tmp/so  # now: the background shell's own truncation may come after our first look (the last run's port)
	eval "exec $srv" >>/tmp/so 2>/tmp/se &
	spid=$!
	port=""
	i=0
	while [ -z "$port" ] && [ $i -lt 300 ] && kill -0 $spid 2>/dev/null; do
		port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' /tmp/so | head -n 1)
		[ -n "$port" ] || sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$port" ]; then
		kill -KILL $spid 2>/dev/null; wait $spid
		echo "server did not print 'listening on :PORT'" >/tmp/e
		: >/tmp/o
		emit 1
		return
	fi
	timeout "$tmo" "$@" --port="$port" >/tmp/o 2>/tmp/e
	rc=$?
	cpu=$(awk '{print $14 + $15}' /proc/$spid/stat 2>/dev/null)
	kill -TERM $spid 2>/dev/null
	i=0
	while kill -0 $spid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL $spid 2>/dev/null
	wait $spid
	src=$?
	echo "@@CPU ${cpu:-}"
	echo "@@SRC $src"
	sed 's/^/@@SO /' /tmp/so
	sed 's/^/@@SE /' /tmp/se
	emit $rc
}
'''


def guest_script(opts, workloads, impls, rounds):
    """The guest's sh script: the daemons, the probes, then every workload x
    run x VM implementation for `rounds` rounds (implementations rotated
    each round, as on the host), and the daemons stopped."""
    tmo = VM_RUN_TIMEOUT["quick" if opts.quick else "full"]
    out = [GUEST_PRELUDE, f"DAEMON_WAIT={VM_DAEMON_WAIT_S}"]
    modes = [i.guest_daemon for i in impls if i.guest_daemon]
    for m in modes:
        sock, pins = GUEST_DAEMONS[m]
        out.append(f"daemon {m} {sock} {pins}")
    probe_bin = guest_path(PROGRAM_SETS["gmpx"].path(VM_PROBE[0]))
    for m in modes:
        sock, _ = GUEST_DAEMONS[m]
        out.append(f'[ -n "$skip_{m}" ] || probe {m} {sock} {probe_bin} ' +
                   " ".join(f"--{k}={v}" for k, v in VM_PROBE[1].items()))
    for rnd in range(rounds):
        order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
        for wl in workloads:
            for run in wl.runs:
                for impl in order:
                    if not PROGRAM_SETS[impl.programs].has(wl.name) or not run.applies(impl):
                        continue
                    args = run.args_for(impl, opts.quick)
                    env = {**impl.env, **run.env}
                    envs = " ".join(f"{k}={shq(v)}" for k, v in env.items())
                    prog = guest_path(PROGRAM_SETS[impl.programs].path(wl.name))
                    tag = f'echo "@@S {impl.name} {wl.name} {run.key} {rnd} $(up)"'
                    guard = f'[ -n "$skip_{impl.guest_daemon}" ] || ' if impl.guest_daemon else ""
                    key = re.sub(r"[^A-Za-z0-9]", "_", f"{impl.name}_{wl.name}_{run.key}")
                    if wl.name == "netpoll_echo":
                        client = guest_path(helper_path("netpoll_echo_client"))
                        cargs = " ".join(f"--{k}={args[k]}" for k in ("conns", "trips", "size", "threads"))
                        line = (f"{tag}; server {tmo} {'env ' + envs + ' ' if envs else ''}{prog} "
                                f"--maxprocs={args['maxprocs']} --port=0 -- {client} {cargs}")
                        out.append(guard + "{ " + line + "; }" if guard else line)
                    elif wl.driver:
                        continue
                    else:
                        argv = " ".join(f"--{k}={shq(v)}" for k, v in args.items())
                        line = (f'{tag}; if [ -n "$hung_{key}" ]; then notrun; else '
                                f"{envs + ' ' if envs else ''}timeout {tmo} {prog} {argv} "
                                f">/tmp/o 2>/tmp/e; emit $? {key}; fi")
                        out.append(guard + "{ " + line + "; }" if guard else line)
    for m in modes:
        out.append(f'[ -n "$skip_{m}" ] || {{ tail -n 3 /tmp/gx-{m}.log | sed "s/^/@@LOG {m} /"; '
                   f'kill -TERM $pid_{m} 2>/dev/null; wait $pid_{m}; }}')
    out.append('echo "@@INFO loadavg_end $(cat /proc/loadavg)"')
    out.append('echo "@@INFO guest_seconds $(awk -v t0=$T0 \'{print $1 - t0}\' /proc/uptime)"')
    out.append("exit 0")
    return "\n".join(out) + "\n"


def parse_vm_output(opts, text, workloads, impls):
    """The guest's tagged output -> (samples, skipped, info)."""
    wls = {w.name: w for w in workloads}
    by_name = {i.name: i for i in impls}
    samples, skipped, info = [], {}, {}
    cur = None

    def finish(cur):
        impl, wl, run = by_name[cur["impl"]], wls[cur["workload"]], cur["run_obj"]
        out, err = "".join(cur["O"]), "".join(cur["E"])
        rc = cur.get("rc", 1)
        sample = {"round": cur["round"], "impl": impl.name, "where": "vm", "workload": wl.name,
                  "run": run.key, "cmd": cur["cmd"], "ok": False}
        if "guest_s" in cur:
            sample["process_s"] = cur["guest_s"]     # guest uptime, 10 ms resolution
        if run.env:
            sample["env"] = run.env
        if "CPU" in cur or "SRC" in cur:     # a server workload
            ticks = cur.get("CPU")
            cpu = float(ticks) / 100 if ticks not in (None, "") else None   # USER_HZ
            rc, out, err = echo_result(run.args_for(impl, opts.quick), rc, out, err,
                                       cur.get("SRC", 1), "".join(cur["SO"]), "".join(cur["SE"]), cpu)
        if rc == 125 and "not run:" in err:
            sample["exit"] = None
            sample["error"] = "not run: it timed out in an earlier round"
            return sample
        if rc == 143 or rc == 124:
            sample["exit"] = rc
            sample["error"] = f"timed out in the guest (timeout {cur['tmo']} s)"
            if err.strip():
                sample["stderr"] = err.strip()[-2000:]
            return sample
        return check_sample(sample, impl, wl, rc, out, err)

    for line in text.splitlines(keepends=True):
        if not line.startswith("@@"):
            continue
        tag, _, body = line[2:].rstrip("\r\n").partition(" ")
        if tag == "INFO":
            k, _, v = body.partition(" ")
            info[k] = v
        elif tag == "DSKIP":
            mode, _, why = body.partition(" ")
            for i in impls:
                if i.guest_daemon == mode:
                    skipped[i.name] = why
        elif tag == "LOG":
            mode, _, v = body.partition(" ")
            info.setdefault(f"daemon_{mode}_log", []).append(v)
        elif tag == "S":
            f = body.split()
            wl = wls.get(f[1])
            run = next((r for r in wl.runs if r.key == f[2]), None) if wl else None
            if f[0] not in by_name or run is None:
                cur = None
                continue
            impl = by_name[f[0]]
            cur = {"impl": f[0], "workload": f[1], "run": f[2], "run_obj": run, "round": int(f[3]),
                   "t0": f[4] if len(f) > 4 else None,
                   "O": [], "E": [], "SO": [], "SE": [],
                   "tmo": VM_RUN_TIMEOUT["quick" if opts.quick else "full"],
                   "cmd": [guest_path(PROGRAM_SETS[impl.programs].path(f[1]))] +
                          [f"--{k}={v}" for k, v in run.args_for(impl, opts.quick).items()]}
        elif cur is None:
            continue
        elif tag == "R":
            f = body.split()
            cur["rc"] = int(f[0]) if f and f[0].lstrip("-").isdigit() else 1
            try:
                cur["guest_s"] = round(float(f[1]) - float(cur["t0"]), 2)
            except (IndexError, TypeError, ValueError):
                pass
        elif tag in ("O", "E", "SO", "SE"):
            cur[tag].append(body + "\n")
        elif tag == "CPU":
            cur["CPU"] = body.strip()
        elif tag == "SRC":
            cur["SRC"] = int(body) if body.strip().isdigit() else 1
        elif tag == "END":
            samples.append(finish(cur))
            cur = None
    return samples, skipped, info


def run_vm(opts, workloads, impls, built):
    """Boots the VM once and runs every VM implementation in it. Returns
    (samples, skipped, failures, info); a VM that cannot be had (vmtest.sh
    exits 4: no qemu, no kernel) skips every VM column with its reason."""
    skipped, failures, info = {}, [], {"smp": opts.vm_smp, "mem_mb": VM_MEM_MB}
    impls = [i for i in impls if built.get(i.programs)]
    workloads = [w for w in workloads if w.vm]
    if not impls or not workloads:
        return [], skipped, failures, info
    if not os.access(VMTEST, os.X_OK):
        return [], {i.name: f"{VMTEST.relative_to(REPO)} is missing" for i in impls}, failures, info
    for i in impls:
        if i.guest_daemon and not os.access(SCHED_BIN, os.X_OK):
            skipped[i.name] = (f"{SCHED_BIN.relative_to(REPO)} is not built "
                               "(make gmpx-sched: needs clang, bpftool and libbpf)")
    impls = [i for i in impls if i.name not in skipped]
    rounds = opts.vm_rounds
    VM_DIR.mkdir(parents=True, exist_ok=True)
    script = VM_DIR / "guest.sh"
    script.write_text(guest_script(opts, workloads, impls, rounds))
    copies = []
    for pset in dict.fromkeys(i.programs for i in impls):
        d = PROGRAM_SETS[pset].path("x").parent
        copies += ["--copy", guest_path(d)]
    if any(w.name == "netpoll_echo" for w in workloads):
        copies += ["--copy", guest_path(helper_path("netpoll_echo_client"))]
    if any(i.guest_daemon for i in impls):
        copies += ["--copy", guest_path(SCHED_BIN)]
    # The guest's whole run: the sum of what its programs may take, bounded.
    nruns = script.read_text().count('echo "@@S ')
    tmo = min(120 + nruns * (8 if opts.quick else 30), 600 if opts.quick else 3600)
    # A snapshot of vmtest.sh: bash reads a script as it runs, and the guest
    # runs for minutes; an edit of the original meanwhile must not break it.
    vmtest = VM_DIR / "vmtest.sh"
    shutil.copyfile(VMTEST, vmtest)
    cmd = ["bash", str(vmtest), "--smp", str(opts.vm_smp), "--mem", str(VM_MEM_MB), "--timeout", str(tmo),
           *copies, "--script", guest_path(script)]
    print("+ " + " ".join(cmd), file=sys.stderr)
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace")
    info["wall_s"] = round(time.monotonic() - t0, 1)
    (VM_DIR / "output").write_text(p.stdout)
    (VM_DIR / "vmtest.log").write_text(p.stderr)
    for line in p.stderr.splitlines():
        if line.startswith("vmtest: kernel "):
            info["kernel_package"] = line[len("vmtest: kernel "):]
    if p.returncode == 4:
        why = next((ln.split("SKIP: ", 1)[1] for ln in p.stderr.splitlines() if "SKIP: " in ln),
                   "tools/vmtest/vmtest.sh skipped")
        return [], {i.name: f"no VM: {why}" for i in impls} | skipped, failures, info
    samples, vskipped, ginfo = parse_vm_output(opts, p.stdout, workloads, impls)
    info.update(ginfo)
    skipped.update(vskipped)
    if p.returncode != 0:
        tail = " ".join(p.stderr.strip().splitlines()[-3:])
        failures.append({"stage": "vm", "error": f"tools/vmtest/vmtest.sh exited {p.returncode}: {tail}"})
        print(f"bench: the VM failed (exit {p.returncode}); its last lines:\n{p.stderr[-3000:]}",
              file=sys.stderr)
    # Samples of a skipped column (its probe failed) are not results.
    samples = [s for s in samples if s["impl"] not in skipped]
    return samples, skipped, failures, info


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
    """Medians per (workload, impl, run, field) and the table rows."""
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
            ratios = {}
            for a, b in RATIOS:
                if a in names and b in names:
                    va, vb = values.get(a), values.get(b)
                    ratios[f"{a}/{b}"] = va / vb if va is not None and vb else None
            met, texts = {}, []
            for t in targets_of(m):
                if (t.impl and t.impl not in names or t.ref and t.ref not in names
                        or not t.impl and not any(is_subject(n) for n in names)):
                    continue        # about a column this run does not have
                texts.append(t.text())
                for name in names:
                    if not t.applies(name):
                        continue
                    base = values.get(BASELINE)
                    v = values.get(name)
                    r = v / base if v is not None and base else None
                    ok = t.met(v, r, values)
                    # Every target about an implementation must hold; one
                    # that cannot be judged (a value missing) leaves it open.
                    if name not in met or met[name] is True or ok is False:
                        met[name] = ok if met.get(name) is not False else False
            rows.append({"workload": wl.name, "metric": m.name, "param": m.param,
                         "unit": m.unit, "values": values, "ratios": ratios,
                         "target": "; ".join(texts) or None, "met": met})
    return medians, rows


def table(rows, impls, markdown):
    names = [i.name for i in impls]
    heads = [i.head for i in impls]
    ratio_keys = [f"{a}/{b}" for a, b in RATIOS if a in names and b in names]
    ratio_heads = [RATIO_HEADS[(a, b)] for a, b in RATIOS if a in names and b in names]
    subjects = [n for n in names if any(n in r["met"] for r in rows)]
    head = ["workload", "metric", "param"] + heads + ratio_heads + ["target"]
    head += [f"met {IMPL_BY_NAME[n].head}" for n in subjects]
    first_text = 3 + len(heads) + len(ratio_heads)
    numeric = lambda i: 3 <= i < first_text   # medians and ratios: right-aligned
    body = []
    for r in rows:
        line = [r["workload"], r["metric"], r["param"]]
        line += [fmt_num(r["values"].get(n)) for n in names]
        line += ["—" if r["ratios"].get(k) is None else f"{r['ratios'][k]:.2f}" for k in ratio_keys]
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


# --------------------------------------------------------------------------
# Plots: one SVG per table row, gnuplot.
# --------------------------------------------------------------------------

def slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text.replace("µ", "u").replace("→", "to")).strip("-").lower()


def plot_name(row):
    return f"{row['workload']}.{slug(row['metric'])}.{slug(row['param'])}.svg"


def gp_str(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_plots(rows, impls, plots_dir, vm_info):
    """build/bench/plots/<workload>.<metric>.<param>.svg: per row of the
    table, grouped bars of every implementation's median, the host's and
    the VM's in two panels (their scales differ: the VM is emulated).
    Returns (number written, None) or (0, why not)."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return 0, "gnuplot is not installed (tools/install-deps.sh bench: gnuplot-nox)"
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    for old in plots_dir.glob("*.svg"):
        old.unlink()
    data_dir = OUT / "plot-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    groups = [("host", [i for i in impls if i.where == "host"]),
              (f"VM (QEMU TCG, -smp {vm_info.get('smp', '?')}, partial mode)",
               [i for i in impls if i.where == "vm"])]
    groups = [(t, g) for t, g in groups if g]
    colors = {"gmpx": "#1f77b4", "gmpx-trace": "#2ca02c", "go": "#7f7f7f", "pthreads": "#ff7f0e",
              "vm-off": "#1f77b4", "vm-trace": "#2ca02c", "vm-scx": "#d62728", "vm-go": "#7f7f7f",
              "vm-pthreads": "#ff7f0e"}
    script = []
    n = 0
    for k, r in enumerate(rows):
        if not any(v is not None for v in r["values"].values()):
            continue
        name = plot_name(r)
        script += ["reset", f"set terminal svg size {360 * len(groups) + 80},380 dynamic noenhanced "
                   'font "sans,11" background "#ffffff"', "set bmargin 6",
                   f"set output {gp_str(str(plots_dir / name))}",
                   f"set multiplot layout 1,{len(groups)} title "
                   f"{gp_str(r['workload'] + ': ' + r['metric'] + ' (' + r['param'] + ')')}",
                   "set style fill solid 0.85 border -1", "set boxwidth 0.7", "set grid ytics",
                   "set yrange [0:*]", "set xtics nomirror rotate by -30", "unset key",
                   f"set ylabel {gp_str(r['unit'] or r['metric'])}"]
        for title, group in groups:
            dat = data_dir / f"{k}-{slug(title)[:4]}.dat"
            lines = []
            for j, i in enumerate(group):
                v = r["values"].get(i.name)
                lines.append(f"{j} {gp_str(i.head)} {'NaN' if v is None else repr(float(v))} "
                             f"{int(colors.get(i.name, '#444444')[1:], 16)} "
                             f"{gp_str('' if v is None else fmt_num(v))}")
            dat.write_text("\n".join(lines) + "\n")
            have = any(r["values"].get(i.name) is not None for i in group)
            script += [f"set title {gp_str(title)}", f"set xrange [-0.6:{len(group) - 0.4}]"]
            if have:
                script.append(f"plot {gp_str(str(dat))} using 1:3:4:xtic(2) with boxes lc rgb variable, "
                              f"'' using 1:3:5 with labels offset 0,0.7 font \"sans,9\"")
            else:
                script += ["set yrange [0:1]", 'set label 1 "no data" at graph 0.5,0.5 center',
                           f"plot {gp_str(str(dat))} using 1:(NaN):xtic(2) with boxes",
                           "unset label 1", "set yrange [0:*]"]
        script.append("unset multiplot")
        n += 1
    gp = data_dir / "plots.gp"
    gp.write_text("\n".join(script) + "\n")
    p = subprocess.run([gnuplot, str(gp)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        return 0, f"gnuplot failed: {p.stdout.strip()[-500:]}"
    return n, None


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
        description="Run the gmpx benchmarks side by side with Go and pthreads, on the host and "
                    "in a sched_ext VM.")
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes and 1 round (checks that everything runs; "
                         "the numbers mean nothing)")
    ap.add_argument("--rounds", type=int, help=f"rounds (default {DEFAULT_ROUNDS}; 1 with --quick)")
    ap.add_argument("--vm-rounds", type=int,
                    help=f"rounds in the VM (default {VM_ROUNDS}; 1 with --quick)")
    ap.add_argument("--vm-smp", type=int, default=VM_SMP, help=f"the guest's CPUs (default {VM_SMP})")
    ap.add_argument("--no-vm", action="store_true", help="host only: leave out the VM columns")
    ap.add_argument("--vm-only", action="store_true", help="the VM columns only")
    ap.add_argument("--only", help="comma-separated workloads (default: all): "
                    + ",".join(w.name for w in WORKLOADS))
    ap.add_argument("--impl", help="comma-separated implementations (default: all): "
                    + ",".join(i.name for i in IMPLS))
    ap.add_argument("--json", default=str(DEFAULT_JSON),
                    help=f"where to write the results (default {DEFAULT_JSON.relative_to(REPO)})")
    ap.add_argument("--plots-dir", default=str(DEFAULT_PLOTS),
                    help=f"where the SVG plots go (default {DEFAULT_PLOTS.relative_to(REPO)})")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--no-make", dest="make", action="store_false",
                    help="do not run 'make lib' (and 'make gmpx-sched') first")
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
    vm_rounds = a.vm_rounds if a.vm_rounds is not None else (1 if a.quick else VM_ROUNDS)
    if rounds < 1 or vm_rounds < 1:
        ap.error("--rounds and --vm-rounds must be >= 1")
    if a.no_vm and a.vm_only:
        ap.error("--no-vm and --vm-only exclude each other")
    impls = pick(a.impl, [i.name for i in IMPLS], "implementation")
    if a.no_vm:
        impls = [n for n in impls if IMPL_BY_NAME[n].where != "vm"]
    if a.vm_only:
        impls = [n for n in impls if IMPL_BY_NAME[n].where == "vm"]
    return Options(
        rounds=rounds, quick=a.quick,
        only=pick(a.only, [w.name for w in WORKLOADS], "workload"),
        impls=impls,
        json=a.json, markdown=a.markdown,
        make=a.make and a.lib is None,
        lib=a.lib or str(DEFAULT_LIB),
        ldlibs=a.ldlibs.split(),
        vm_rounds=vm_rounds, vm_smp=a.vm_smp, plots_dir=a.plots_dir)


def main(argv):
    opts = parse_args(argv)
    workloads = [w for w in WORKLOADS if w.name in opts.only]
    impls = [i for i in IMPLS if i.name in opts.impls]
    host_impls = [i for i in impls if i.where == "host"]
    vm_impls = [i for i in impls if i.where == "vm"]
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
        if pset == "gmpx" and vm_impls and VM_PROBE[0] not in names:
            names.append(VM_PROBE[0])     # the guest's kernel-assist probe
        try:
            ps.build(opts, names)
            built[pset] = True
        except BuildError as e:
            print(f"bench: building {pset} failed: {e}", file=sys.stderr)
            failures.append({"stage": "build", "programs": pset, "error": str(e)})
            built[pset] = False
    if opts.make and any(i.daemon or i.guest_daemon for i in impls):
        # The daemon (BPF: clang, bpftool, libbpf). Without it the columns
        # that need it are skipped with the reason, not failed.
        try:
            run_build(["make", "-C", str(REPO), "gmpx-sched"])
        except BuildError as e:
            print(f"bench: make gmpx-sched failed ({e}): its columns will be skipped", file=sys.stderr)

    info = machine_info()
    samples = []
    skipped = {}        # implementation -> why it did not run (one line)
    daemon = None
    vm_info = {}

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt     # unwinds through the finally below

    old_sigterm = signal.signal(signal.SIGTERM, on_sigterm)
    t_host = time.monotonic()
    try:
        # One private kernel-assist daemon for the whole run, if an
        # implementation needs it; without it those columns are skipped.
        if any(i.daemon and built[i.programs] for i in host_impls):
            daemon = Daemon()
            why = daemon.start()
            if why:
                for i in host_impls:
                    if i.daemon:
                        skipped[i.name] = why
                        print(f"bench: {i.name} skipped: {why}", file=sys.stderr)
        run_impls = [i for i in host_impls if i.name not in skipped]

        for rnd in range(opts.rounds if run_impls else 0):
            # Rotate the order of the implementations each round.
            order = run_impls[rnd % len(run_impls):] + run_impls[:rnd % len(run_impls)]
            for wl in workloads:
                for run in wl.runs:
                    for impl in order:
                        ps = PROGRAM_SETS[impl.programs]
                        if not built[impl.programs] or not ps.has(wl.name) or not run.applies(impl):
                            continue
                        s = run_program(opts, impl, wl, run, rnd, daemon)
                        samples.append(s)
                        tag = f"[{rnd + 1}/{opts.rounds}] {wl.name} {run.key} {impl.name}"
                        report_sample(tag, s, failures)
    except KeyboardInterrupt:
        print("\nbench: interrupted; no results written", file=sys.stderr)
        return 130
    finally:
        if daemon is not None:
            daemon.stop()
        signal.signal(signal.SIGTERM, old_sigterm)
    host_s = time.monotonic() - t_host

    # The VM: one boot, every VM implementation (its own rounds, rotated).
    if vm_impls:
        print(f"bench: the VM part ({', '.join(i.name for i in vm_impls)}; {opts.vm_rounds} round"
              f"{'s' if opts.vm_rounds != 1 else ''})", file=sys.stderr)
        vsamples, vskipped, vfailures, vm_info = run_vm(opts, workloads, vm_impls, built)
        for name, why in vskipped.items():
            print(f"bench: {name} skipped: {why}", file=sys.stderr)
        skipped.update(vskipped)
        failures += vfailures
        for s in vsamples:
            report_sample(f"[vm {s['round'] + 1}/{opts.vm_rounds}] {s['workload']} {s['run']} {s['impl']}",
                          s, failures)
        samples += vsamples

    if not host_impls:      # host-only workloads (http_hello) have no rows then
        workloads = [w for w in workloads if w.vm]
    medians, rows = summarize(opts, workloads, impls, samples)
    info["loadavg_end"] = (Path("/proc/loadavg").read_text().strip()
                           if Path("/proc/loadavg").exists() else None)
    info["host_seconds"] = round(host_s, 1)
    now = datetime.datetime.now(datetime.timezone.utc)

    mode = "quick (tiny sizes: numbers mean nothing)" if opts.quick else "full"
    header = f"{now:%Y-%m-%d}, {mode}; medians; {(info['go_version'] or 'go ?').replace('go version ', '')}"
    if host_impls:
        header += (f". Host: Linux {info['kernel']}, {info['nproc']} CPUs"
                   f" ({info['cpu_model'] or 'unknown CPU'}), {opts.rounds} round"
                   f"{'s' if opts.rounds != 1 else ''}; "
                   f"1-min load avg {loadavg1(info['loadavg_start'])} at start, "
                   f"{loadavg1(info['loadavg_end'])} at end; {info['host_seconds']} s")
    if vm_impls:
        if vm_info.get("uname"):
            header += (f". VM: QEMU TCG guest, Linux {vm_info['uname']}, -smp {vm_info.get('smp')} "
                       f"({vm_info.get('nproc', '?')} CPUs online), {opts.vm_rounds} round"
                       f"{'s' if opts.vm_rounds != 1 else ''}, its own smaller sizes; sched_ext partial "
                       f"mode (only gmpx's Ms are SCHED_EXT) on an otherwise idle guest; "
                       f"{vm_info.get('wall_s', '?')} s")
        else:
            header += ". VM: not run"
    if opts.markdown:
        print(f"Benchmarks: {header}. Ratios: a/b of the two medians; host columns to go, "
              f"modes to each other (the VM's to the VM's).\n")
    else:
        print(f"# {header}")
    # A skipped column with no value at all is left out of the table.
    shown = [i for i in impls if i.name not in skipped
             or any(r["values"].get(i.name) is not None for r in rows)]
    if len(shown) < len(impls):
        _, rows_shown = summarize(opts, workloads, shown, samples)
    else:
        rows_shown = rows
    print(table(rows_shown, shown, opts.markdown))
    by_reason = {}
    for name, why in skipped.items():
        by_reason.setdefault(why, []).append(name)
    for why, names in by_reason.items():
        line = f"{', '.join(names)}: skipped: {why}"
        print(f"\n{line}" if opts.markdown else f"# {line}")
    nplots, why = write_plots(rows_shown, shown, opts.plots_dir, vm_info)
    if why:
        print(f"bench: no plots: {why}", file=sys.stderr)
    else:
        print(f"bench: {nplots} plots in {opts.plots_dir}", file=sys.stderr)
    advisory = [f for f in failures if f.get("impl") in IMPL_BY_NAME and IMPL_BY_NAME[f["impl"]].advisory]
    failures = [f for f in failures if f not in advisory]
    for what, fl in (("failure(s)", failures),
                     ("advisory failure(s) (a mode still being written: they do not change the "
                      "exit status)", advisory)):
        if fl:
            print(f"\n{len(fl)} {what}:", file=sys.stderr)
            for f in fl:
                print("  " + ", ".join(f"{k}={v}" for k, v in f.items()), file=sys.stderr)
    if advisory:
        n = len(advisory)
        line = (f"{', '.join(dict.fromkeys(f['impl'] for f in advisory))}: {n} failed sample"
                f"{'s' if n != 1 else ''} (advisory): " +
                "; ".join(dict.fromkeys(f"{f['workload']} {f['run']}: {f['error']}" for f in advisory)))
        print(f"\n{line}" if opts.markdown else f"# {line}")

    result = {
        "date": now.isoformat(timespec="seconds"),
        "machine": info,
        "vm": vm_info,
        "options": {"rounds": opts.rounds, "vm_rounds": opts.vm_rounds, "quick": opts.quick,
                    "workloads": opts.only, "impls": opts.impls, "lib": opts.lib,
                    "ldlibs": opts.ldlibs, "cc": CC, "cflags": CFLAGS, "vm_smp": opts.vm_smp},
        "environment": {k: v for k, v in os.environ.items()
                        if k.startswith(("GX_", "GO")) and k not in ("GOROOT",)},
        "implementations": [{"name": i.name, "where": i.where, "programs": i.programs, "env": i.env,
                             "kassist": i.kassist, "about": i.about} for i in impls],
        "skipped": skipped,
        "baseline": BASELINE,
        "ratios": [f"{a}/{b}" for a, b in RATIOS],
        "workloads": [{"name": w.name, "about": w.about, "vm": w.vm,
                       "runs": [{"key": r.key, "args": r.quick if opts.quick else r.args,
                                 "vm_args": (r.vm_quick if opts.quick else r.vm) or r.quick,
                                 "override": r.override, "vm_override": r.vm_override, "env": r.env,
                                 "programs": r.programs}
                                for r in w.runs]} for w in workloads],
        "samples": samples,
        "medians": medians,
        "rows": [dict(r, plot=plot_name(r)) for r in rows],
        "plots_dir": str(opts.plots_dir),
        "failures": failures,
        "advisory_failures": advisory,
        "ok": not failures,
    }
    out = Path(opts.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"bench: results in {out}", file=sys.stderr)
    return 1 if failures else 0


def report_sample(tag, s, failures):
    if s["ok"]:
        print(f"{tag}: {json.dumps(s['metrics'])}", file=sys.stderr)
        return
    print(f"{tag}: FAILED: {s['error']}", file=sys.stderr)
    if s.get("stderr"):
        print("  " + s["stderr"].replace("\n", "\n  "), file=sys.stderr)
    failures.append({"stage": "run", "impl": s["impl"], "where": s.get("where", "host"),
                     "workload": s["workload"], "run": s["run"], "round": s["round"],
                     "error": s["error"]})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
