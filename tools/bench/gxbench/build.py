# SPDX-License-Identifier: MIT
"""Program sets: how each implementation's workload programs are built
(gmpx C programs against build/libgmpx.a, Go, pthreads, Tokio,
Boost.Fiber), the helper programs of server workloads, the toolchains
they need, and why a set has no program for a workload (n/a)."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .util import BENCH_DIR, BENCH_INCLUDE, BUILD, OUT, REPO, WORKLOADS_DIR, Options

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


class BuildError(Exception):
    pass


class ToolchainMissing(BuildError):
    """A peer's toolchain is not installed: its columns are skipped with
    this one line, which is not a failure."""


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


# gmpx programs that do not live in tools/bench/workloads/NAME/gmpx.c.
C_SOURCES = {"http_hello": REPO / "examples" / "http_hello.c"}
# Extra sources linked into a gmpx program: kassist_exit.c makes a program
# that is not a benchmark program of its own report its kernel-assist mode
# at exit (on stderr; its driver reads it).
C_EXTRA = {"http_hello": [WORKLOADS_DIR / "http_hello" / "kassist_exit.c"]}


def c_source(w):
    return C_SOURCES.get(w, WORKLOADS_DIR / w / "gmpx.c")


def build_gmpx(opts, workloads):
    lib = Path(opts.lib)
    if opts.make:
        run_build(["make", "-C", str(REPO), "lib"])
    if not lib.exists():
        raise BuildError(f"{lib} does not exist")
    (OUT / "c").mkdir(parents=True, exist_ok=True)
    for w in workloads:
        run_build([CC, *CFLAGS, "-I", str(REPO / "include"), "-I", str(BENCH_INCLUDE),
                   str(c_source(w)), *(str(x) for x in C_EXTRA.get(w, [])), str(lib), *opts.ldlibs,
                   "-o", str(OUT / "c" / w)])


# Helper programs (clients of server workloads): plain C, no gmpx, one binary
# shared by every implementation. name -> source.
HELPERS = {"netpoll_echo_client": WORKLOADS_DIR / "netpoll_echo" / "client.c"}


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
        run_build([go, "build", "-ldflags=-s -w", "-o", str(OUT / "go" / w), f"./workloads/{w}/go"],
                  cwd=BENCH_DIR, env=env)


def build_pthreads(opts, workloads):
    (OUT / "pthreads").mkdir(parents=True, exist_ok=True)
    for w in workloads:
        run_build([CC, *CFLAGS, "-I", str(BENCH_INCLUDE), str(WORKLOADS_DIR / w / "pthreads.c"),
                   "-pthread", "-o", str(OUT / "pthreads" / w)])


def find_cargo() -> Optional[str]:
    """The cargo command: $CARGO, then PATH, then rustup's ~/.cargo/bin."""
    for cand in (os.environ.get("CARGO"), shutil.which("cargo"),
                 str(Path.home() / ".cargo" / "bin" / "cargo")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


TOKIO_DIR = BENCH_DIR / "tokio"                      # the one crate: a [[bin]] per workload
TOKIO_TARGET = OUT / "tokio-target"                  # CARGO_TARGET_DIR
DEBIAN_CRATES = Path("/usr/share/cargo/registry")    # librust-tokio-dev and its deps


def build_tokio(opts, workloads):
    cargo = find_cargo()
    if not cargo:
        raise ToolchainMissing("no cargo (tools/install-deps.sh bench; or set CARGO=/path/to/cargo)")
    if not any(DEBIAN_CRATES.glob("tokio-1.*")):
        raise ToolchainMissing(f"no tokio crate in {DEBIAN_CRATES} (Debian: librust-tokio-dev)")
    if not workloads:
        return
    env = dict(os.environ, CARGO_TARGET_DIR=str(TOKIO_TARGET))
    run_build([cargo, "build", "--release", "--offline", "--quiet",
               *(x for w in workloads for x in ("--bin", w))], cwd=TOKIO_DIR, env=env)
    (OUT / "tokio").mkdir(parents=True, exist_ok=True)
    for w in workloads:
        shutil.copy2(TOKIO_TARGET / "release" / w, OUT / "tokio" / w)


CXX = os.environ.get("CXX", "g++")
CXXFLAGS = ["-O2", "-std=gnu++17", "-Wall", "-Wextra"]
BOOST_FIBER_HEADER = Path("/usr/include/boost/fiber/all.hpp")


def build_fiber(opts, workloads):
    if not shutil.which(CXX):
        raise ToolchainMissing(f"no C++ compiler {CXX} (set CXX)")
    if not BOOST_FIBER_HEADER.exists():
        raise ToolchainMissing(f"no {BOOST_FIBER_HEADER} (Debian: libboost-fiber-dev)")
    (OUT / "fiber").mkdir(parents=True, exist_ok=True)
    for w in workloads:
        # Boost's libraries linked statically: the binary also runs where
        # libboost-fiber is not installed.
        run_build([CXX, *CXXFLAGS, "-I", str(BENCH_INCLUDE), str(WORKLOADS_DIR / w / "fiber.cpp"),
                   "-Wl,-Bstatic", "-lboost_fiber", "-lboost_context", "-Wl,-Bdynamic", "-pthread",
                   "-o", str(OUT / "fiber" / w)])


PROGRAM_SETS = {
    "gmpx": ProgramSet(
        "gmpx", build_gmpx,
        path=lambda w: OUT / "c" / w,
        has=lambda w: c_source(w).exists()),
    "go": ProgramSet(
        "go", build_go,
        path=lambda w: OUT / "go" / w,
        has=lambda w: (WORKLOADS_DIR / w / "go" / "main.go").exists()),
    "pthreads": ProgramSet(
        "pthreads", build_pthreads,
        path=lambda w: OUT / "pthreads" / w,
        has=lambda w: (WORKLOADS_DIR / w / "pthreads.c").exists()),
    "tokio": ProgramSet(
        "tokio", build_tokio,
        path=lambda w: OUT / "tokio" / w,
        has=lambda w: (WORKLOADS_DIR / w / "tokio.rs").exists()),
    "fiber": ProgramSet(
        "fiber", build_fiber,
        path=lambda w: OUT / "fiber" / w,
        has=lambda w: (WORKLOADS_DIR / w / "fiber.cpp").exists()),
}


def na_reason(pset, wl):
    """Why program set pset has no program for the Workload wl (None: it
    has one): the reason in its table entry (Workload.na), else "not
    written yet"."""
    if PROGRAM_SETS[pset].has(wl.name):
        return None
    return wl.na.get(pset, "not written yet")


def build_all(opts, workloads, impls, failures, also=None):
    """Helper programs of server workloads (clients), then each program set
    once (shared by every implementation using it), with the programs named
    in also ({program set: [workload]}) besides the workloads', then
    gmpx-sched if a column needs it. A failed build is added to failures.
    Returns (built: {program set: bool}, toolchain_missing: {program set:
    why it cannot be built}; its columns are skipped)."""
    helpers = sorted({h for w in workloads for h in w.helpers})
    if helpers:
        try:
            build_helpers(helpers)
        except BuildError as e:
            print(f"bench: building helpers failed: {e}", file=sys.stderr)
            failures.append({"stage": "build", "programs": "helpers", "error": str(e)})
    built = {}
    toolchain_missing = {}
    for pset in dict.fromkeys(i.programs for i in impls):
        ps = PROGRAM_SETS[pset]
        names = [w.name for w in workloads if ps.has(w.name)]
        names += [w for w in (also or {}).get(pset, ()) if w not in names]
        try:
            ps.build(opts, names)
            built[pset] = True
        except ToolchainMissing as e:
            print(f"bench: {pset}: skipped: {e}", file=sys.stderr)
            toolchain_missing[pset] = str(e)
            built[pset] = False
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
    return built, toolchain_missing
