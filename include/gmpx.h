/* SPDX-License-Identifier: MIT */
/*
 * gmpx.h - goroutines for C: Go's G-M-P scheduler as a C library.
 *
 * Conventions (one for the whole API, as in libdill):
 *  - Every public name starts with gx_.
 *  - Calls that can fail return a negative errno value (-EINVAL, -ENOMEM,
 *    -EAGAIN, -EPERM, ...) and never set errno; >= 0 means success.
 *  - "Runtime context" means code running in a goroutine (the main goroutine
 *    started by gx_main, or one started by gx_go). Calls marked [G] must be
 *    made from runtime context; from any other thread they return -EPERM (or,
 *    for calls that return nothing, are documented no-ops).
 *
 * A program hands its main function to gx_main(), which starts the runtime
 * and runs it as goroutine 1. When it returns, the process exits with its
 * return value without waiting for other goroutines, exactly as a Go program
 * does when main.main returns.
 */
#ifndef GMPX_H
#define GMPX_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GX_VERSION_MAJOR 0
#define GX_VERSION_MINOR 1
#define GX_VERSION_PATCH 0

/* A goroutine's entry function. */
typedef void (*gx_fn)(void *arg);

/* Opaque goroutine handle (used by gx_park/gx_ready). */
typedef struct gx_g gx_g;

/* ------------------------------------------------------------------ */
/* Running the runtime                                                 */
/* ------------------------------------------------------------------ */

/*
 * gx_main - start the runtime and run main_fn(argc, argv) as goroutine 1.
 * Never returns: when main_fn returns, the process exits with its value
 * (other goroutines are not waited for). The calling thread becomes M0.
 * Reads the environment: GX_MAXPROCS, GX_MAXTHREADS, GX_STACKSIZE, GX_DEBUG
 * (see README). Calling it twice, or from inside the runtime, is a fatal
 * error. If the runtime cannot start (no memory), prints
 * "gmpx: fatal: ..." and exits with status 2.
 */
__attribute__((noreturn)) void gx_main(int (*main_fn)(int argc, char **argv), int argc, char **argv);

/* gx_exit - exit the process with code (flushes stdio, like exit(3)). */
__attribute__((noreturn)) void gx_exit(int code);

/* ------------------------------------------------------------------ */
/* Goroutines                                                          */
/* ------------------------------------------------------------------ */

/* Largest argument gx_go_copy / gx_attr.arg_size may copy into the G. */
#define GX_ARG_MAX 48

/* Stack size limits for gx_attr.stack_size (bytes; rounded up to a power of two). */
#define GX_STACK_MIN ((size_t)16 << 10)
#define GX_STACK_MAX ((size_t)1 << 30)

typedef struct gx_attr {
	size_t stack_size; /* 0: the runtime default (GX_STACKSIZE, 64 KiB) */
	const char *name;  /* shown in deadlock reports and scheddetail; not copied */
	size_t arg_size;   /* if > 0: copy arg_size bytes at arg into the G and
			      pass fn a pointer to the copy (<= GX_ARG_MAX) */
} gx_attr;

/*
 * gx_go - start fn(arg) in a new goroutine. [G]
 * The new goroutine goes into the current P's runnext slot: it runs next on
 * this P unless stolen first. Returns its id (> 0), or -EINVAL (fn NULL),
 * -ENOMEM/-EAGAIN (no memory for the G or its stack), -EPERM (not in
 * runtime context).
 */
int64_t gx_go(gx_fn fn, void *arg);

/* gx_go_attr - gx_go with attributes (attr may be NULL). Adds -EINVAL for
 * arg_size > GX_ARG_MAX, arg_size > 0 with arg NULL, or a stack size
 * outside [GX_STACK_MIN, GX_STACK_MAX]. */
int64_t gx_go_attr(const gx_attr *attr, gx_fn fn, void *arg);

/* gx_go_copy - start fn with a private copy of size bytes at arg (by value;
 * the caller may reuse its buffer at once). size <= GX_ARG_MAX. */
int64_t gx_go_copy(gx_fn fn, const void *arg, size_t size);

/* gx_yield - put the calling goroutine on the global run queue and run
 * another (Go's runtime.Gosched). [G] Returns 0 or -EPERM. */
int gx_yield(void);

/* gx_id - the calling goroutine's id (1 = main), or -EPERM. */
int64_t gx_id(void);

/* gx_self - the calling goroutine, or NULL outside runtime context. */
gx_g *gx_self(void);

/*
 * gx_maxprocs - GOMAXPROCS. n == 0 queries; n > 0 sets it and returns the
 * previous value; n < 0 or n > GX_MAXPROCS_LIMIT: -EINVAL. Works before
 * gx_main (sets the value it will start with) and while goroutines run.
 * The default is the number of CPUs in sched_getaffinity lowered by the
 * cgroup CPU quota (see README); GX_MAXPROCS overrides it.
 */
#define GX_MAXPROCS_LIMIT 1024
int gx_maxprocs(int n);

/* gx_set_max_threads - cap on the number of Ms (default 10000), like Go's
 * debug.SetMaxThreads; returns the previous cap, -EINVAL for n < 1.
 * Needing more Ms than the cap is the fatal error "thread exhaustion". */
int gx_set_max_threads(int n);

/* gx_num_goroutines - goroutines that exist now (started, not finished). */
int64_t gx_num_goroutines(void);

/*
 * Kernel assist (README "Kernel assist"). In trace mode BPF programs loaded
 * by the gmpx-sched daemon tell sysmon the moment an M blocks in the
 * kernel, for any reason (a wrapped or unwrapped syscall, a futex, a page
 * fault), and sysmon hands its P to another M at once. scx (gmpx-sched
 * --mode scx, a kernel with CONFIG_SCHED_CLASS_EXT) adds a sched_ext
 * scheduler: each P's M runs on that P's CPU, idle Ms wait as standbys
 * held by BPF and one runs the instant a P's M blocks, and the quantum is
 * watched by a BPF timer. off is Go's design. auto picks the best that
 * works. The environment variable GX_KASSIST=off|trace|scx|auto chooses
 * too (default off); GX_KASSIST_SOCK names the daemon's socket (default
 * /run/gmpx/sched.sock). Any failure, at start or later (the daemon gone,
 * the scheduler ejected by the kernel), falls back to off with one log
 * line on stderr saying why; no goroutine is lost.
 */
enum gx_kassist {
	GX_KASSIST_OFF = 0,
	GX_KASSIST_TRACE = 1,
	GX_KASSIST_SCX = 2,
	GX_KASSIST_AUTO = 3,
};

/* gx_kassist_set - the mode to ask for at gx_main (overrides GX_KASSIST).
 * -EINVAL for an unknown mode, -EBUSY once gx_main has started. */
int gx_kassist_set(int mode);

/* gx_kassist_mode - the mode in effect now: GX_KASSIST_OFF, _TRACE or _SCX
 * (it becomes OFF if the kernel side goes away). */
int gx_kassist_mode(void);

/* gx_kassist_status - one line on the mode in effect, or on why the mode
 * asked for is not (e.g. "trace mode unavailable: no gmpx-sched daemon at
 * /run/gmpx/sched.sock ...; running in off mode"). Never NULL. */
const char *gx_kassist_status(void);

/* ------------------------------------------------------------------ */
/* Parking (the primitive the runtime's own blocking operations use)   */
/* ------------------------------------------------------------------ */

/*
 * gx_park - block the calling goroutine until gx_ready(it). [G]
 * If unlockf is not NULL it runs on the scheduler stack after the goroutine
 * has been taken off its M, as unlockf(self, lock): this is where a waiter
 * releases the lock protecting its wait queue (Go's gopark). If unlockf
 * returns false the goroutine is resumed at once. reason is shown in
 * deadlock reports, dumps and execution traces ("chan receive", ...): a
 * string that outlives the park, such as a literal (a trace keeps the
 * pointer and reads it when it writes). Returns 0 or -EPERM.
 */
int gx_park(bool (*unlockf)(gx_g *g, void *lock), void *lock, const char *reason);

/*
 * gx_ready - make a goroutine parked by gx_park runnable again; it goes into
 * the current P's runnext slot (Go's goready). Calling it for a goroutine
 * that is not parked is a fatal error. May be called from a thread outside
 * the runtime: the goroutine then goes to the global run queue. Such external
 * wake-ups are invisible to deadlock detection; see README.
 */
void gx_ready(gx_g *g);

/* ------------------------------------------------------------------ */
/* Preemption and threads                                              */
/* ------------------------------------------------------------------ */

/*
 * A goroutine that runs longer than the quantum (GX_QUANTUM, default 10 ms)
 * is asked to yield: at its next runtime call or gx_preempt_check()
 * (cooperative), or at once by a signal (SIGURG, asynchronous) when it is
 * at a safe point: in the program's own code (never in libc, the dynamic
 * loader, another shared library or the runtime), holding no runtime lock,
 * not in a gx_nopreempt_begin/end region. GX_DEBUG=asyncpreemptoff=1 turns
 * the signal off. See README, "Preemption".
 */

/* gx_preempt_check - yield here if asked to. [G] 0 or -EPERM. */
int gx_preempt_check(void);
/* gx_nopreempt_begin/end - a region asynchronous preemption never stops
 * (nestable), e.g. code that keeps a thread-local address in a register or
 * must not move between threads. Cooperative checks still apply at its end. */
void gx_nopreempt_begin(void);
void gx_nopreempt_end(void);

/* gx_lock_os_thread - wire the calling goroutine to its current thread:
 * it always runs on it and no other goroutine runs there until as many
 * gx_unlock_os_thread calls (Go's runtime.LockOSThread). [G] 0 or -EPERM. */
int gx_lock_os_thread(void);
int gx_unlock_os_thread(void);

/* ------------------------------------------------------------------ */
/* Deadlines: every blocking call that takes one uses the same rule.    */
/* ------------------------------------------------------------------ */

/* An absolute time on the monotonic clock in ns (gx_now() + delay), or: */
#define GX_FOREVER ((int64_t)-1) /* block until done */
#define GX_NOW	   ((int64_t)0)	 /* do not block: -EAGAIN if it would */
/* A call whose deadline passes returns -ETIMEDOUT. */

#ifdef __cplusplus
}
#endif

#include <gmpx/sync.h>
#include <gmpx/time.h>
#include <gmpx/chan.h>
#include <gmpx/syscall.h>
#include <gmpx/net.h>
#include <gmpx/debug.h>
#include <gmpx/metrics.h>
#include <gmpx/trace.h>
#include <gmpx/context.h>
#include <gmpx/pool.h>

#endif /* GMPX_H */
