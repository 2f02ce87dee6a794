/* SPDX-License-Identifier: MIT */
/*
 * gmpx/trace.h - the execution trace: what every goroutine, P and M did,
 * on one timeline, in a file Perfetto (ui.perfetto.dev, trace_processor)
 * opens. Go's runtime/trace for gmpx.
 *
 * A trace records, each with its time: goroutines created, started,
 * stopped (parked with the wait reason, yielded, preempted, exited, back
 * from a syscall without a P), readied; syscalls entered and left; Ps
 * acquired, released, taken from a syscall, handed off, stolen from; Ms
 * parking, waking and spinning; and sysmon's preemption requests. In the
 * file each M is a thread track with the M's real thread id (so a
 * kernel sched_switch capture of the same run lines up under it), with
 * the goroutines it ran as slices on it and the syscalls nested inside
 * them; each P has a track (which M held it) and a run-queue counter,
 * and a counter shows the spinning Ms. In trace and scx modes (GX_KASSIST)
 * each M also has a child track with the kernel's view from the BPF
 * programs: on which CPU the thread ran, and when it was switched out,
 * blocked or preempted. tools/gmpx-trace summarises a file
 * in the terminal (scheduling latency per goroutine, time in each state,
 * hand-off and preemption latencies).
 *
 * Two modes:
 *  - a trace to a file, from gx_trace_start until gx_trace_stop (or from
 *    gx_main to exit with GX_TRACE=FILE): records are written to the file
 *    by a background thread as they fill, so a trace may be long;
 *  - a flight recorder (Go 1.25's): the last `size` bytes of records kept
 *    in memory, written on demand with gx_trace_flight_write, and by the
 *    runtime on a fatal error (GX_TRACE=flight:FILE[:MB] from the start).
 *
 * Cost: while no trace runs each event site is one predictable branch;
 * while one runs an event is a 32-byte store and a read of the CPU's
 * clock on the M's own buffer (no lock, no atomic read-modify-write).
 * The bench's trace_overhead row measures both.
 *
 * The file is written with protobuf-c (loaded at gx_trace_start): without
 * libprotobuf-c.so.1 the calls return -ENOTSUP and print why.
 */
#ifndef GMPX_TRACE_H
#define GMPX_TRACE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * gx_trace_start - start tracing to the file at path (created, or
 * truncated; mode 0644).
 * Returns 0, or -EBUSY (a trace or flight recorder already runs), -EINVAL
 * (path NULL or empty), -ENOTSUP (built or run without protobuf-c), -EPERM
 * (the runtime has not started), or the negative errno of open(2).
 */
int gx_trace_start(const char *path);

/*
 * gx_trace_stop - stop the trace gx_trace_start started and finish its
 * file (waits for the writer). Returns 0, -ENOENT (no trace runs), or the
 * negative errno of a write that failed while tracing (the file is then
 * incomplete).
 */
int gx_trace_stop(void);

/*
 * gx_trace_flight_start - keep the last size bytes of trace (rounded up
 * to 64 KiB chunks, at least 2 per M) in memory. fatal_path, if not NULL,
 * is where the runtime writes it on a fatal error (copied).
 * Returns 0, or -EBUSY, -EINVAL (size 0), -ENOTSUP, -EPERM, -ENOMEM.
 */
int gx_trace_flight_start(size_t size, const char *fatal_path);

/*
 * gx_trace_flight_write - write what the flight recorder holds now to the
 * file at path, and go on recording. [G] or any thread (a goroutine's P
 * is handed off while it writes). Returns the number of records written,
 * or -ENOENT (no flight recorder), -EINVAL, or a negative errno of
 * open/write.
 */
long gx_trace_flight_write(const char *path);

/* gx_trace_flight_stop - stop the flight recorder and free its memory.
 * Returns 0 or -ENOENT. */
int gx_trace_flight_stop(void);

#ifdef __cplusplus
}
#endif

#endif
