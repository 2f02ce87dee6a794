# SPDX-License-Identifier: MIT
"""The host part: the run's one private gmpx-sched daemon (for gmpx-trace),
running every workload x run x host implementation for R rounds (their
order rotated each round) and checking each program's output (check_sample:
the VM's samples get the same checks)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .build import PROGRAM_SETS
from .servers import DriverError
from .util import OUT, REPO, SCHED_BIN, report_sample

# A run taking longer than this is killed and counted as failed (seconds).
RUN_TIMEOUT = {"full": 900, "quick": 120}

# --------------------------------------------------------------------------
# The kernel-assist daemon: one private gmpx-sched for the whole run.
# --------------------------------------------------------------------------

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
# Running: one program, its sample.
# --------------------------------------------------------------------------

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


def run_host(opts, workloads, host_impls, built, skipped, failures):
    """Every workload x run x host implementation, opts.rounds rounds, with
    the private daemon if an implementation needs it (without it those
    columns are added to skipped). Returns (samples, seconds taken), or
    None when interrupted (Ctrl-C, SIGTERM: the daemon is stopped)."""
    samples = []
    daemon = None

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
        return None
    finally:
        if daemon is not None:
            daemon.stop()
        signal.signal(signal.SIGTERM, old_sigterm)
    return samples, time.monotonic() - t_host
