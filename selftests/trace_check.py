#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""trace_check.py - check an execution trace file (gmpx/trace.h) with
protobuf's own parser (python3-protobuf and the module protoc makes of
user/trace.proto, build/proto/trace_pb2.py), for selftests/test_trace.c.

    trace_check.py FILE [--pid N] [--tids T,T,..] [--min PREFIX:N]...
                   [--name NAME]... [--why WHY]... [--kernel] [--max-records N]

Always checked: the file is one valid Trace message; every event's track
was described earlier in the file; the first event packet of every
sequence clears its incremental state; per sequence, timestamps never go
back; on every track, after sorting by time, slice ends never outnumber
begins, and a goroutine slice's end names the goroutine its begin did; M
tracks are thread tracks of the process. Options add expectations:
  --pid/--tids   the thread tracks' pid, and tids among the process's;
  --min P:N      at least N slice begins whose name starts with P;
  --name NAME    a goroutine slice named "G<id> NAME";
  --why WHY      an end with annotation why=WHY (A|B: either);
  --kernel       a kernel-view track with "blocked" and "CPU n" slices;
  --max-records  at most N events in all (a flight recorder's window).
Exit 0: fine; 1: a check failed (each on stderr); 4: cannot check here.
"""
import argparse
import collections
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--tids")
    ap.add_argument("--min", action="append", default=[])
    ap.add_argument("--name", action="append", default=[])
    ap.add_argument("--why", action="append", default=[])
    ap.add_argument("--kernel", action="store_true")
    ap.add_argument("--max-records", type=int)
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "build" / "proto"))
    try:
        import trace_pb2
    except ImportError as e:
        print(f"cannot import trace_pb2 ({e}): python3-protobuf or build/proto/trace_pb2.py missing",
              file=sys.stderr)
        return 4
    errors = []

    def bad(msg):
        if len(errors) < 20:
            errors.append(msg)

    trace = trace_pb2.Trace()
    try:
        trace.ParseFromString(pathlib.Path(a.file).read_bytes())
    except Exception as e:  # DecodeError
        print(f"{a.file}: not a valid Trace message: {e}", file=sys.stderr)
        return 1
    tracks, seqs_begun, lastts = {}, set(), {}
    events = []
    for i, pk in enumerate(trace.packet):
        if pk.HasField("track_descriptor"):
            td = pk.track_descriptor
            if td.uuid in tracks:
                bad(f"packet {i}: track {td.uuid:#x} described twice")
            tracks[td.uuid] = td
            continue
        if not pk.HasField("track_event"):
            bad(f"packet {i}: neither a track descriptor nor a track event")
            continue
        te = pk.track_event
        seq = pk.trusted_packet_sequence_id
        if te.track_uuid not in tracks:
            bad(f"packet {i}: event on track {te.track_uuid:#x} before its descriptor")
        if seq not in seqs_begun:
            if not pk.sequence_flags & 1:
                bad(f"packet {i}: sequence {seq}'s first event does not clear incremental state")
            seqs_begun.add(seq)
        if pk.timestamp < lastts.get(seq, 0) and te.track_uuid >> 32 != 4:
            bad(f"packet {i}: sequence {seq} goes back in time ({pk.timestamp} < {lastts[seq]})")
        lastts[seq] = max(lastts.get(seq, 0), pk.timestamp)
        ann = {x.name: (x.int_value if x.HasField("int_value") else x.string_value) for x in te.debug_annotations}
        events.append((pk.timestamp, i, te, ann))
    events.sort(key=lambda e: (e[0], e[1]))

    stacks = collections.defaultdict(list)
    orphans = collections.Counter()
    begins = collections.Counter()
    names, whys, kernel = set(), set(), collections.Counter()
    for ts, i, te, ann in events:
        kind = te.track_uuid >> 32
        if "why" in ann:
            whys.add(ann["why"])
        if te.type == 1:
            if kind == 2 and stacks[te.track_uuid]:
                bad(f"packet {i}: {tracks[te.track_uuid].name} taken ({te.name}) while held "
                    f"({stacks[te.track_uuid][-1][0]})")
            stacks[te.track_uuid].append((te.name, ann.get("goid")))
            for m in a.min:
                p = m.rsplit(":", 1)[0]
                if te.name.startswith(p):
                    begins[p] += 1
            if te.name.startswith("G") and " " in te.name:
                names.add(te.name.split(" ", 1)[1])
            if kind == 4:
                kernel["CPU" if te.name.startswith("CPU") else te.name] += 1
        elif te.type == 2:
            st = stacks[te.track_uuid]
            if not st:
                # slices open when the trace began end without a begin: a
                # goroutine and its syscall on an M, a P held: at most 2
                orphans[te.track_uuid] += 1
                if orphans[te.track_uuid] > (1 if kind == 2 else 2):
                    bad(f"packet {i}: end on track {tracks[te.track_uuid].name} with no slice open")
                continue
            name, goid = st.pop()
            if name.startswith("G") and "goid" in ann and goid is not None and ann["goid"] != goid:
                bad(f"packet {i}: {tracks[te.track_uuid].name}: end of G{ann['goid']} closes {name}")
    for uuid, td in tracks.items():
        if uuid >> 32 == 1:
            if not td.HasField("thread"):
                bad(f"M track {td.name} is not a thread track")
                continue
            if a.pid is not None and td.thread.pid != a.pid:
                bad(f"M track {td.name}: pid {td.thread.pid}, want {a.pid}")
            if a.tids is not None and str(td.thread.tid) not in a.tids.split(","):
                bad(f"M track {td.name}: tid {td.thread.tid} is not a thread of the process ({a.tids})")
    for m in a.min:
        p, n = m.rsplit(":", 1)
        if begins[p] < int(n):
            bad(f"{begins[p]} slices named {p}*, want at least {n}")
    for n in a.name:
        if n not in names:
            bad(f"no goroutine slice named '{n}' (names: {sorted(names)[:10]})")
    for w in a.why:
        if not whys.intersection(w.split("|")):
            bad(f"no end with why='{w}' (seen: {sorted(whys)[:10]})")
    if a.kernel and (not kernel["blocked"] or not kernel["CPU"]):
        bad(f"no kernel view with 'blocked' and 'CPU n' slices (seen: {dict(kernel)})")
    if a.max_records is not None and len(events) > a.max_records:
        bad(f"{len(events)} events, want at most {a.max_records}")
    for e in errors:
        print(f"{a.file}: {e}", file=sys.stderr)
    print(f"# trace_check: {len(trace.packet)} packets, {len(events)} events, {len(tracks)} tracks, "
          f"{len(errors)} problems", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
