# SPDX-License-Identifier: MIT
"""The report: medians, the table's rows (values, ratios, best peer,
targets met), the table (plain or Markdown) with its header and notes
(skipped columns, n/a cells, failures), the machine's facts and the
results JSON."""

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from .build import CC, CFLAGS, find_go, go_env, na_reason
from .impls import BASELINE, IMPL_BY_NAME, PEERS, RATIO_HEADS, RATIOS
from .model import is_subject, targets_of
from .plots import plot_name, write_plots
from .util import REPO, fmt_num


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
            peers = {n: values[n] for n in PEERS if values.get(n) is not None}
            best = (max if m.higher else min)(peers, key=peers.get) if peers else None
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
                    ok = t.met(v, r, values, peers.get(best))
                    # Every target about an implementation must hold; one
                    # that cannot be judged (a value missing) leaves it open.
                    if name not in met or met[name] is True or ok is False:
                        met[name] = ok if met.get(name) is not False else False
            g = values.get("gmpx")
            na = {i.name: na_reason(i.programs, wl) for i in impls if i.where == "host"}
            rows.append({"workload": wl.name, "metric": m.name, "param": m.param,
                         "unit": m.unit, "values": values, "ratios": ratios,
                         "best_peer": best,
                         "gmpx/best": g / peers[best] if best and g is not None and peers[best] else None,
                         "na": {n: why for n, why in na.items() if why},
                         "target": "; ".join(texts) or None, "met": met})
    return medians, rows


def table(rows, impls, markdown):
    names = [i.name for i in impls]
    heads = [i.head for i in impls]
    ratio_keys = [f"{a}/{b}" for a, b in RATIOS if a in names and b in names]
    ratio_heads = [RATIO_HEADS[(a, b)] for a, b in RATIOS if a in names and b in names]
    subjects = [n for n in names if any(n in r["met"] for r in rows)]
    peers = "gmpx" in names and sum(p in names for p in PEERS) > 1
    best_heads = ["best peer", "gmpx/best"] if peers else []
    head = ["workload", "metric", "param"] + heads + ratio_heads + best_heads + ["target"]
    head += [f"met {IMPL_BY_NAME[n].head}" for n in subjects]
    first_text = 3 + len(heads) + len(ratio_heads) + len(best_heads)
    numeric = lambda i: 3 <= i < first_text and head[i] != "best peer"   # right-aligned
    body = []
    for r in rows:
        line = [r["workload"], r["metric"], r["param"]]
        line += ["n/a" if r["values"].get(n) is None and n in r.get("na", {})
                 and r["na"][n] != "not written yet" else fmt_num(r["values"].get(n)) for n in names]
        line += ["—" if r["ratios"].get(k) is None else f"{r['ratios'][k]:.2f}" for k in ratio_keys]
        if peers:
            b = r.get("best_peer")
            line += [IMPL_BY_NAME[b].head if b else "—",
                     "—" if r.get("gmpx/best") is None else f"{r['gmpx/best']:.2f}"]
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
    """The machine's facts for the header and the JSON (taken before the
    first sample: loadavg_start)."""
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


def header_line(opts, info, vm_info, now, host_impls, vm_impls):
    """The table's one-line header: date, mode, Go, the host and the VM."""
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
    return header


def print_notes(opts, workloads, skipped, shown):
    """The lines under the table: the skipped columns and why, then the
    peers' "n/a" cells and why (one line per implementation and reason),
    then the workloads' notes on a peer's figures (Workload.notes)."""
    by_reason = {}
    for name, why in skipped.items():
        by_reason.setdefault(why, []).append(name)
    for why, names in by_reason.items():
        line = f"{', '.join(names)}: skipped: {why}"
        print(f"\n{line}" if opts.markdown else f"# {line}")
    for i in shown:
        if i.where != "host":
            continue
        by_why = {}
        for w in workloads:
            why = na_reason(i.programs, w)
            if why:
                by_why.setdefault(why, []).append(w.name)
        for why, wls in by_why.items():
            line = (f"{i.head}: not written yet: {', '.join(wls)}" if why == "not written yet"
                    else f"{i.head}: n/a for {', '.join(wls)}: {why}")
            print(f"\n{line}" if opts.markdown else f"# {line}")
        for w in workloads:
            note = w.notes.get(i.programs)
            if note and not na_reason(i.programs, w):
                line = f"{i.head} on {w.name}: {note}"
                print(f"\n{line}" if opts.markdown else f"# {line}")


def print_failures(opts, failures, advisory):
    """Every failure on stderr; the advisory ones also in one line under
    the table."""
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


def results(opts, now, info, vm_info, impls, workloads, skipped, samples, medians, rows,
            failures, advisory):
    """The results JSON: the machine, the options, every sample, the
    medians and the rows."""
    return {
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
        "workloads": [{"name": w.name, "about": w.about, "vm": w.vm, "notes": w.notes,
                       "runs": [{"key": r.key, "args": r.quick if opts.quick else r.args,
                                 "vm_args": (r.vm_quick if opts.quick else r.vm) or r.quick,
                                 "override": r.override, "quick_override": r.quick_override,
                                 "vm_override": r.vm_override, "env": r.env,
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


def finish(opts, workloads, impls, samples, skipped, failures, info, vm_info, host_s):
    """After the host and the VM parts: the table and its notes on stdout,
    the plots, the failures on stderr, the results JSON. Returns the exit
    status: 1 if anything failed (advisory implementations aside), else 0."""
    host_impls = [i for i in impls if i.where == "host"]
    vm_impls = [i for i in impls if i.where == "vm"]
    if not host_impls:      # host-only workloads (http_hello) have no rows then
        workloads = [w for w in workloads if w.vm]
    medians, rows = summarize(opts, workloads, impls, samples)
    info["loadavg_end"] = (Path("/proc/loadavg").read_text().strip()
                           if Path("/proc/loadavg").exists() else None)
    info["host_seconds"] = round(host_s, 1)
    now = datetime.datetime.now(datetime.timezone.utc)

    header = header_line(opts, info, vm_info, now, host_impls, vm_impls)
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
    print_notes(opts, workloads, skipped, shown)
    nplots, why = write_plots(rows_shown, shown, opts.plots_dir, vm_info)
    if why:
        print(f"bench: no plots: {why}", file=sys.stderr)
    else:
        print(f"bench: {nplots} plots in {opts.plots_dir}", file=sys.stderr)
    advisory = [f for f in failures if f.get("impl") in IMPL_BY_NAME and IMPL_BY_NAME[f["impl"]].advisory]
    failures = [f for f in failures if f not in advisory]
    print_failures(opts, failures, advisory)

    result = results(opts, now, info, vm_info, impls, workloads, skipped, samples, medians, rows,
                     failures, advisory)
    out = Path(opts.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"bench: results in {out}", file=sys.stderr)
    return 1 if failures else 0
