# SPDX-License-Identifier: MIT
"""The VM part: the same programs in a sched_ext guest (tools/vmtest). The
guest's sh script (tools/bench/guest.sh plus the run's steps, generated
here), ONE boot of the guest for every VM implementation, and its tagged
output parsed back into samples with the host's checks."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .build import PROGRAM_SETS, helper_path
from .host import check_sample
from .servers import echo_result
from .util import BENCH_DIR, OUT, REPO, SCHED_BIN, report_sample

VMTEST = REPO / "tools" / "vmtest" / "vmtest.sh"
GUEST_SH = BENCH_DIR / "guest.sh"       # the guest script's fixed part: its sh functions
VM_DIR = OUT / "vm"                     # the guest script, its raw output
VM_SMP, VM_MEM_MB = 4, 2048
# The VM (tools/vmtest: QEMU TCG, every guest instruction emulated, 10-100x
# slower than the host): its own sizes (each Run's vm= and vm_quick=), full
# and --quick, chosen to keep the whole VM part near 10 min (full, VM_ROUNDS
# rounds) and 2 min (--quick).
VM_ROUNDS = 5
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


def guest_script(opts, workloads, impls, rounds):
    """The guest's sh script: guest.sh (its sh functions), then the daemons,
    the probes, then every workload x run x VM implementation for `rounds`
    rounds (implementations rotated each round, as on the host), and the
    daemons stopped."""
    tmo = VM_RUN_TIMEOUT["quick" if opts.quick else "full"]
    out = [GUEST_SH.read_text(), f"DAEMON_WAIT={VM_DAEMON_WAIT_S}"]
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


def run_vm_part(opts, workloads, vm_impls, built, skipped, failures):
    """run_vm with the runner's progress lines: the skipped columns (added
    to skipped), one line per sample (failed ones added to failures).
    Returns (samples, info)."""
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
    return vsamples, vm_info
