/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the execution trace's recording side (trace.c): event types
 * and the one-branch emit the scheduler calls at every event.
 *
 * Every site is `gx_trace(TYPE, p, a32, goid, arg)`: while no trace runs
 * it is one load of gx_tracing and a branch predicted not taken; while
 * one runs it is an out-of-line call that appends a 32-byte record, with
 * one TSC read and no lock and no atomic read-modify-write, to the
 * calling M's own chunk (threads without an M, sysmon and foreign
 * threads, share one chunk under a lock). What each field means per type
 * is listed below; trace_perfetto.c turns records into Perfetto packets.
 */
#ifndef GX_TRACE_H
#define GX_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum gx_tev_type {
	GX_TEV_NONE = 0,
	GX_TEV_GOCREATE,   /* goid: the new G; arg: its creator's goid */
	GX_TEV_GONAME,	   /* goid's name: its first 15 bytes in place of ticks and arg */
	GX_TEV_GOSTART,	   /* goid starts running on P p; a32: p's local run-queue length */
	GX_TEV_GOSTOP,	   /* goid stops running; a32: enum gx_tstop; arg: wait reason (park) */
	GX_TEV_GOREADY,	   /* goid: Gwaiting -> Grunnable (whoever readied it) */
	GX_TEV_SYSENTER,   /* goid enters a wrapped syscall, leaving P p */
	GX_TEV_SYSEXIT,	   /* goid is back; a32: 1 its own P again, 0 another or none */
	GX_TEV_PACQUIRE,   /* this M takes P p */
	GX_TEV_PRELEASE,   /* this M gives P p up */
	GX_TEV_PRETAKE,	   /* P p is taken from M goid: a32 0 left in a syscall, 1 revoked (the M
			    * blocked in the kernel in goroutine code: the kernel assist) */
	GX_TEV_HANDOFF,	   /* P p is handed on (handoffp); a32: 1 it has work (an M is started for it) */
	GX_TEV_STEAL,	   /* P p stole goid (the first G taken) from P a32 */
	GX_TEV_MPARK,	   /* this M parks (no P) */
	GX_TEV_MWAKE,	   /* this M is woken with P p */
	GX_TEV_MSPIN,	   /* this M starts spinning (looking for work); a32: spinning Ms now */
	GX_TEV_MSPINEND,   /* it stops; a32: spinning Ms now */
	GX_TEV_PREEMPTREQ, /* sysmon asks whichever goroutine runs on P p to yield (quantum over) */
	/* The kernel's view (trace and scx modes: BPF's records, drained by
	 * sysmon): goid is the CLOCK_MONOTONIC time, a32 the M's id, p its
	 * CPU, arg GX_KSW_* << 32 | the M's tid. */
	GX_TEV_KSWITCH, /* the M left CPU p: blocked or preempted */
	GX_TEV_KRUN,	/* the M runs on CPU p */
	GX_TEV_NTYPES
};

/* Why a G stopped running (GX_TEV_GOSTOP's a32). */
enum gx_tstop {
	GX_TSTOP_PARK = 0, /* blocked: arg is the wait reason */
	GX_TSTOP_YIELD,	   /* gx_yield: runnable */
	GX_TSTOP_PREEMPT,  /* preempted: runnable */
	GX_TSTOP_EXIT,	   /* returned */
	GX_TSTOP_SYSCALL,  /* back from a syscall with no P: runnable */
	GX_TSTOP_N
};

struct gx_tev {
	uint64_t ticks; /* gx_cputicks() */
	int64_t goid;
	uint64_t arg;
	uint16_t type;
	int16_t p; /* -1: none */
	uint32_t a32;
};

/* 2,047 records and the header make a 64 KiB chunk: one malloc per 2,047
 * events per M, small enough that a flight recorder's window is fine. */
#define GX_TCHUNK_EVENTS 2047

struct gx_tchunk {
	struct gx_tchunk *next; /* full list, free list */
	int64_t mid;		/* -1: threads without an M */
	int32_t tid;
	uint32_t gen;	      /* the trace it belongs to (trace.c) */
	_Atomic uint32_t pos; /* records written (released after each) */
	uint32_t owner;	      /* trace.c: who may reuse or free it */
	struct gx_tev ev[GX_TCHUNK_EVENTS];
};

extern _Atomic bool gx_tracing __attribute__((visibility("hidden")));

__attribute__((visibility("hidden"))) void gx_trace_emit(uint32_t type, int32_t p, uint32_t a32, int64_t goid,
							 uint64_t arg);
__attribute__((visibility("hidden"))) void gx_trace_gocreate(int64_t goid, int64_t parent, const char *name);
/* A direct switch (proc.c's switchto): from stops (why: GX_TSTOP_*;
 * reason: a park's), to starts on P p with runq queued, at one time. */
__attribute__((visibility("hidden"))) void gx_trace_switch(int32_t p, uint32_t why, int64_t from, const char *reason,
							   int64_t to, uint32_t runq);
struct gx_kabi_event;
/* A BPF record of an M's switch (kassist_ring.c). */
__attribute__((visibility("hidden"))) void gx_trace_kevent(const struct gx_kabi_event *ev);
/* GX_TRACE=FILE at start (proc.c's gx_main); the flight recorder's file on
 * a fatal error; flush on exit. */
__attribute__((visibility("hidden"))) void gx_trace_init(void);
__attribute__((visibility("hidden"))) void gx_trace_atfatal(void);
__attribute__((visibility("hidden"))) void gx_trace_atexit(void);

static inline bool gx_trace_on(void)
{
	return __builtin_expect(atomic_load_explicit(&gx_tracing, memory_order_relaxed), 0);
}

#define gx_trace(type, p, a32, goid, arg)                                                                       \
	do {                                                                                                    \
		if (gx_trace_on())                                                                              \
			gx_trace_emit((type), (int32_t)(p), (uint32_t)(a32), (int64_t)(goid), (uint64_t)(arg)); \
	} while (0)

/* ---- trace_perfetto.c: the file format ------------------------------------- */

struct gx_pfw; /* one output file */

/* Open a writer on fd (owned by the caller); ns = tick_ns(ticks) maps
 * record times to CLOCK_BOOTTIME ns (Perfetto's default clock, which its
 * own ftrace capture uses). NULL and *err -ENOTSUP without protobuf-c. */
struct gx_pfw_clock {
	uint64_t ticks0;
	int64_t boot0;
	double ns_per_tick;
	int64_t mono_to_boot; /* add to a CLOCK_MONOTONIC time (the BPF records') */
};
__attribute__((visibility("hidden"))) struct gx_pfw *gx_pfw_open(int fd, const struct gx_pfw_clock *clk, int *err);
/* Write n records of chunk c (one M's, in order). -errno on a write error. */
__attribute__((visibility("hidden"))) int gx_pfw_chunk(struct gx_pfw *w, const struct gx_tchunk *c, uint32_t n);
__attribute__((visibility("hidden"))) int gx_pfw_close(struct gx_pfw *w);
/* Why gx_pfw_open said -ENOTSUP (a sentence), or NULL. */
__attribute__((visibility("hidden"))) const char *gx_pfw_unsupported(void);

#endif
