# SPDX-License-Identifier: MIT
"""Plots: one SVG per table row (gnuplot), the host's columns and the VM's
in two panels."""

import re
import shutil
import subprocess
from pathlib import Path

from .util import OUT, fmt_num


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
              "tokio": "#8c564b", "boost.fiber": "#9467bd",
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
