#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkman.py - man pages from gmpx's public headers and gmpx-sched's README.

    mkman.py --version V --out DIR include/gmpx*.h tools/gmpx-sched/README.md

One page per function family, in section 3: a header's functions make one
family (gmpx.h -> gmpx(3), gmpx/chan.h -> gx_chan(3), ...), except that the
prefixes in SPLIT get a page of their own (gx_select(3) out of gmpx/chan.h,
gx_timer(3) out of gmpx/time.h). Each function also gets a one-line page
that sources its family's (`man gx_chan_send` works). The README becomes
gmpx-sched(8). DIR/manifest lists every file written (make uninstall).

The headers are the source: a function's text is the comment above its
declaration ("/* gx_name - what it does ... */"), the page's DESCRIPTION the
header's opening comment.
"""
import argparse
import os
import re
import sys

# family page name for each header
FAMILY = {
    "gmpx.h": "gmpx",
    "gmpx/sync.h": "gx_sync",
    "gmpx/chan.h": "gx_chan",
    "gmpx/time.h": "gx_time",
    "gmpx/syscall.h": "gx_syscall",
    "gmpx/net.h": "gx_net",
    "gmpx/debug.h": "gx_leakcheck",
    "gmpx/metrics.h": "gx_metrics",
    "gmpx/trace.h": "gx_trace",
    "gmpx/context.h": "gx_ctx",
    "gmpx/pool.h": "gx_pool",
}
# name prefix -> a family of its own
SPLIT = {"gx_select": "gx_select", "gx_timer": "gx_timer", "gx_ticker": "gx_timer", "gx_after": "gx_timer"}
DECL_NAME = re.compile(r"\b(gx_[a-z0-9_]+)\s*\(")


def esc(text):
    """troff-escape one line of running text"""
    text = text.replace("\\", "\\e")
    if text[:1] in (".", "'"):
        text = "\\&" + text
    return text


def comment_text(block):
    """the text of a /* ... */ block, without the decoration"""
    body = block.strip()
    body = re.sub(r"^/\*+", "", body)
    body = re.sub(r"\*+/$", "", body)
    lines = []
    for line in body.split("\n"):
        line = re.sub(r"^\s*\* ?", "", line) if line.strip().startswith("*") else line.strip()
        lines.append(line.rstrip())
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def parse_header(path):
    """(summary, intro lines, [(name, [decl lines], [doc lines])])"""
    src = open(path).read()
    tokens = re.split(r"(/\*.*?\*/)", src, flags=re.S)
    summary, intro, funcs = "", [], []
    pending = None
    for tok in tokens:
        if tok.startswith("/*"):
            text = comment_text(tok)
            if not text or text[0].startswith("SPDX"):
                continue
            m = re.match(r"(\S+\.h) - (.*)", text[0])
            if m and not summary:
                summary = m.group(2)
                rest = text[1:]
                while rest and not rest[0].startswith(" ") and rest[0] and not intro:
                    summary += " " + rest.pop(0).strip()
                    if summary.endswith("."):
                        break
                summary = summary.split(". ")[0].rstrip(".")
                intro = rest
                continue
            pending = text if re.match(r"gx_[a-z0-9_]+ - ", text[0]) else None
            continue
        if pending is None:
            continue
        decls = []
        for line in tok.split("\n"):
            s = line.strip()
            if not s:
                if decls:
                    break
                continue
            if s.startswith("#define") or s.startswith("typedef") or DECL_NAME.search(s) or decls:
                decls.append(line.rstrip())
        names = [m.group(1) for d in decls for m in [DECL_NAME.search(d)] if m and not d.strip().startswith("#")]
        name = re.match(r"(gx_[a-z0-9_]+)", pending[0]).group(1)
        funcs.append((name, names or [name], decls, pending))
        pending = None
    return summary, intro, funcs


def paragraphs(lines):
    """troff body for plain comment lines: paragraphs and '- ' lists"""
    out = []
    for line in lines:
        if not line.strip():
            out.append(".PP")
        elif re.match(r"\s*- ", line):
            out.append(".IP \\(bu 2")
            out.append(esc(re.sub(r"^\s*- ", "", line)))
        else:
            out.append(esc(line.strip()))
    return out


def th(name, section, version, title):
    return [f'.TH {name.upper()} {section} "" "gmpx {version}" "{title}"']


def write(outdir, rel, lines, manifest):
    path = os.path.join(outdir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    manifest.append(rel)


def family_pages(headers, version, outdir, manifest):
    fams = {}  # family -> {header, summary, intro, funcs}
    for h in headers:
        base = h.split("include/", 1)[-1]  # gmpx.h, gmpx/chan.h, ...
        summary, intro, funcs = parse_header(h)
        for name, names, decls, doc in funcs:
            fam = next((f for p, f in SPLIT.items() if name.startswith(p)), FAMILY.get(base, base[:-2]))
            e = fams.setdefault(fam, {"header": base, "summary": summary, "intro": intro, "funcs": []})
            e["funcs"].append((name, names, decls, doc))
    for fam, e in sorted(fams.items()):
        own = FAMILY.get(e["header"]) == fam
        lines = th(fam, 3, version, "gmpx manual")
        doc0 = " ".join(e["funcs"][0][3]).split(" - ", 1)[1]
        lines += [".SH NAME", f"{fam} \\- " + esc(e["summary"] if own else doc0.split(". ")[0].rstrip("."))]
        lines += [".SH SYNOPSIS", ".nf", ".B #include <gmpx.h>", ".PP"]
        for _, _, decls, _ in e["funcs"]:
            for d in decls:
                lines.append(".B " + esc(d.strip()) if d.strip() else "")
        lines += [".fi", ".PP", "Link with \\fBpkg-config --libs gmpx\\fR (\\fB-lgmpx -pthread\\fR)."]
        lines += [".SH DESCRIPTION"]
        if own:
            lines += paragraphs(e["intro"])
        for name, names, decls, doc in e["funcs"]:
            lines += [".TP", "\\fB" + esc(", ".join(dict.fromkeys(names))) + "\\fR"]
            first = doc[0].split(" - ", 1)[1] if " - " in doc[0] else doc[0]
            lines += paragraphs([first] + doc[1:])
        lines += [".SH RETURN VALUE",
                  "Functions that can fail return a negative errno value (\\-EINVAL, \\-ENOMEM, \\-EPERM, ...)"
                  " and never set \\fIerrno\\fR; each entry above lists its errors. Calls marked [G] must run"
                  " in a goroutine; elsewhere they return \\-EPERM."]
        others = sorted(f for f in fams if f != fam)
        lines += [".SH SEE ALSO", ", ".join(f"\\fB{o}\\fR(3)" for o in others) + ", \\fBgmpx-sched\\fR(8)"]
        write(outdir, f"man3/{fam}.3", lines, manifest)
        for name, names, _, _ in e["funcs"]:
            for n in dict.fromkeys(names):
                if n != fam:
                    write(outdir, f"man3/{n}.3", [f".so man3/{fam}.3"], manifest)


def inline(text):
    text = esc(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return text


def readme_page(path, version, outdir, manifest):
    lines = th("gmpx-sched", 8, version, "gmpx manual")
    src = open(path).read().split("\n")
    title = src[0].lstrip("# ").strip()
    body = src[1:]
    # the first paragraph is the NAME line's description
    first = []
    while body and not body[0].strip():
        body.pop(0)
    while body and body[0].strip():
        first.append(body.pop(0).strip())
    desc = re.sub(r"\s+", " ", " ".join(first))
    lines += [".SH NAME", f"{title} \\- " + inline(desc.split(". ")[0].rstrip("."))]
    lines += [".SH DESCRIPTION"] + [inline(desc)]
    code = False
    for line in body:
        if line.startswith("```"):
            lines.append(".fi" if code else ".nf")
            code = not code
            continue
        if code:
            lines.append(esc(line))
        elif line.startswith("## "):
            lines.append(".SH " + inline(line[3:].strip().upper()))
        elif line.startswith("|"):
            if re.match(r"^\|[\s|:-]+\|$", line.strip()):
                continue
            cells = [inline(c.strip()) for c in line.strip().strip("|").split("|")]
            lines += [".IP \\(bu 2", " | ".join(cells)]
        elif re.match(r"^\s*- ", line):
            lines += [".IP \\(bu 2", inline(re.sub(r"^\s*- ", "", line))]
        elif not line.strip():
            lines.append(".PP")
        else:
            lines.append(inline(line.strip()))
    lines += [".SH SEE ALSO", "\\fBgmpx\\fR(3), \\fBgx_chan\\fR(3)"]
    write(outdir, "man8/gmpx-sched.8", lines, manifest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    manifest = []
    headers = [i for i in a.inputs if i.endswith(".h")]
    family_pages(headers, a.version, a.out, manifest)
    for r in (i for i in a.inputs if i.endswith(".md")):
        readme_page(r, a.version, a.out, manifest)
    with open(os.path.join(a.out, "manifest"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
