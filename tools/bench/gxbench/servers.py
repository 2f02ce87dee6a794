# SPDX-License-Identifier: MIT
"""Server workloads (netpoll_echo, http_hello): a server program per
implementation, one client for all. A driver starts the server, waits for
its "listening on :PORT" line, runs the client (a helper program, or wrk)
against it, stops the server with SIGTERM and turns the client's output
into the one line of JSON a workload program would print."""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from .build import helper_path


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
    k = re.findall(r"^gmpx-bench: kassist=(\w+)\s*$", serr, re.M)   # workloads/http_hello/kassist_exit.c
    if k:
        m["kassist"] = k[-1]
    if cpu is not None:
        m["server_cpu_ms"] = round(cpu * 1e3, 1)
        m["server_cpu_us_per_req"] = round(cpu * 1e6 / r["requests"], 3)
    return 0, json.dumps(m) + "\n", serr
