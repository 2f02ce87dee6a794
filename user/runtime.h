/* SPDX-License-Identifier: MIT */
/*
 * runtime.h - the runtime's internal types and cross-file functions.
 *
 * The names are Go's (runtime/runtime2.go, proc.go) with a gx_ prefix on
 * functions that cross files, so that a reader who knows Go's runtime finds
 * G, M, P, sched, runqput, findrunnable, wakep, handoffp where expected.
 *
 *   G  a goroutine: saved stack pointer, stack, status, id, wait reason.
 *   M  an OS thread. It runs Gs only while it holds a P. Its own pthread
 *      stack is its g0: the scheduler (schedule, findrunnable) runs there.
 *   P  the right to run goroutine code; gomaxprocs of them. Each has a
 *      256-slot lock-free run queue plus runnext, a G free list and a stack
 *      cache.
 *   sched  the global part: global run queue, idle Ps, idle Ms, spinning Ms.
 *
 * Locks, in acquisition order: sched.lock, then sched.gflock / stack locks
 * and sema buckets. No runtime lock is held across a context switch, except
 * a hand-over: gx_park's unlockf on g0, or, in a direct switch, the lock
 * the next G releases first (mp->switchunlock: a park's or select's lock,
 * sched.lock in gx_yield's fast path).
 */
#ifndef GX_RUNTIME_H
#define GX_RUNTIME_H

#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gmpx.h"
#include <gmpx/kabi.h>
#include "arch.h"
#include "sanitizer.h"

#define GX_CACHELINE 64
#define likely(x)    __builtin_expect(!!(x), 1)
#define unlikely(x)  __builtin_expect(!!(x), 0)
#define GX_HIDDEN    __attribute__((visibility("hidden")))

/*
 * gx_storeload_fence - a full fence between a store and a later load (the
 * spinning/idle hand-shake in proc.c). GCC's TSan does not support
 * atomic_thread_fence; there a seq_cst RMW on a dummy word serves (TSan
 * checks data races, not memory ordering, so this changes nothing it sees).
 */
#if GX_TSAN
extern GX_HIDDEN _Atomic int gx_fence_word;
#define gx_storeload_fence() ((void)atomic_fetch_add(&gx_fence_word, 0))
#else
#define gx_storeload_fence() atomic_thread_fence(memory_order_seq_cst)
#endif

/* ---- locks and notes (lock_futex.c) ---------------------------------- */

/* Lock preconditions are checked, as Go's assertLockHeld, in the sanitizer
 * builds (and with -DGX_LOCKCHECK): each runtime lock then records the
 * thread that holds it, GX_ASSERT_LOCK_HELD(l) in a function that needs l
 * dies with "gmpx: fatal: F: lock L not held" if the caller does not hold
 * it, and an unlock by another thread is fatal too. Release builds keep the
 * one-word lock and no check. The run-queue model check (GX_RUNQ_MODEL)
 * checks against its own lock. */
#if GX_ASAN || GX_TSAN || defined(GX_LOCKCHECK) || defined(GX_RUNQ_MODEL)
#define GX_LOCK_CHECKS 1
#else
#define GX_LOCK_CHECKS 0
#endif

/* A futex mutex (3 states: unlocked, locked, locked with sleepers). While
 * an M holds one, m->locks > 0: the M must not be preempted or switch G. */
typedef struct gx_mutex_rt {
	_Atomic uint32_t key;
#if GX_LOCK_CHECKS
	_Atomic(const void *) owner; /* the holder's gx_lockself(), NULL when free */
#endif
} gx_lock_t;

#if GX_LOCK_CHECKS
GX_HIDDEN void gx_assert_lock_held(gx_lock_t *l, const char *lockname, const char *fn);
#define GX_ASSERT_LOCK_HELD(l) gx_assert_lock_held((l), #l, __func__)
#else
#define GX_ASSERT_LOCK_HELD(l) ((void)(l))
#endif

/* A one-shot sleep/wake-up event for one M (Go's note). */
typedef struct gx_note {
	_Atomic uint32_t key;
} gx_note;

GX_HIDDEN void gx_lock(gx_lock_t *l);
GX_HIDDEN void gx_unlock(gx_lock_t *l);
GX_HIDDEN void gx_noteclear(gx_note *n);
GX_HIDDEN void gx_notesleep(gx_note *n);
/* Sleep until woken or ns elapse; returns true if woken. */
GX_HIDDEN bool gx_notetsleep(gx_note *n, int64_t ns);
GX_HIDDEN void gx_notewakeup(gx_note *n);
GX_HIDDEN void gx_futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns);
GX_HIDDEN void gx_futexwakeup(_Atomic uint32_t *addr, uint32_t cnt);
GX_HIDDEN int64_t gx_nanotime(void);
/* gx_when - the time ns from now (Go's when()): ns <= 0 is now; a sum past
 * INT64_MAX is INT64_MAX, i.e. never. */
static inline int64_t gx_when(int64_t ns)
{
	int64_t now = gx_nanotime();
	if (ns <= 0)
		return now;
	return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}
/* gx_runtime_ready - gx_main has made the Ps: timers, the poller and the
 * scheduler may be used (before that, calls that need them say -EPERM). */
#define gx_runtime_ready() (atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_acquire) > 0)
GX_HIDDEN void gx_procyield(int n);
GX_HIDDEN void gx_osyield(void);

/* ---- G ------------------------------------------------------------- */

enum gstatus {
	Gidle = 0,  /* just allocated, not yet initialized */
	Grunnable,  /* in a run queue, not running */
	Grunning,   /* running user code, has an M and a P */
	Gsyscall,   /* in a system call (entersyscall); its M may have lost the P */
	Gwaiting,   /* parked: blocked in the runtime */
	Gpreempted, /* Go has it; unused here: a preempted G goes straight to Grunnable */
	Gdead,	    /* finished, on a free list */
	Gnstatus
};

/* A stack: usable memory is [lo, lo + size); a guard page sits below lo. */
typedef struct gx_stack {
	uintptr_t lo;
	size_t size;
} gx_stack;

struct gx_g {
	void *sp;	/* saved stack pointer while not running */
	gx_stack stack; /* lo == 0: not allocated yet (allocated when the G first runs) */
	_Atomic uint32_t status;
	uint32_t stackclass; /* size class of the stack it needs */
	int64_t goid;
	struct gx_m *m;		/* M running it, while running */
	struct gx_g *schedlink; /* global run queue, free lists, wait lists */
	gx_fn fn;
	void *arg;
	const char *waitreason;
	int64_t waitsince;	/* gx_coarsenow() when it parked (dumps: how long) */
	uint64_t runnableticks; /* gx_cputicks() when it last became runnable (metrics.c: latency) */
	const char *name;
	uintptr_t gopc;		  /* return address in whoever called gx_go (dumps: "created by") */
	int64_t parentgoid;	  /* the goroutine that created it (0: none, e.g. a timer) */
	void *param;		  /* passed by whoever readies it (chan: the sudog that won a select) */
	struct gx_sudog *waiting; /* sudogs of the select it is blocked in (chan/select.c) */
	/* select wake-up: the first waker (a channel op, a close, a deadline
	 * timer) to CAS 0 -> 1 owns the wake-up; everyone else skips this G. */
	_Atomic uint32_t selectdone;
#if GX_TSAN
	void *tsan_fiber;
#endif
	/* Runtime entries this G is inside (GX_ENTER): 0 only while it runs
	 * goroutine code. A G that is not running is always inside one (it
	 * parked or yielded in the runtime; a new G starts at 1), so an M
	 * whose curg has rtdepth 0 is in user code (kassist_revoke.c). */
	_Atomic uint32_t rtdepth;
	int32_t nopreempt;    /* gx_nopreempt_begin depth: no async preemption */
	uint32_t lockedcount; /* gx_lock_os_thread nesting */
	struct gx_m *lockedm; /* gx_lock_os_thread: runs only on this M */
	_Alignas(16) unsigned char argbuf[GX_ARG_MAX];
};

/*
 * gx_sudog - a G waiting in a wait queue (Go's sudog): in a semaphore's
 * bucket, or in a channel's sendq/recvq. Lives on the waiting G's stack (or
 * in select's array): valid exactly as long as the G is parked.
 */
struct gx_sudog {
	gx_g *g;
	struct gx_sudog *next, *prev; /* wait queue links */
	void *elem;		      /* data: value to send / where to receive (chan) */
	void *c;		      /* channel (chan) or semaphore address (sema) */
	struct gx_sudog *waitlink;    /* g->waiting list (select) */
	_Atomic uint32_t ticket;      /* sema: handed off directly */
	bool isselect;		      /* g is in a select: wake only via selectdone CAS */
	bool success;		      /* chan: woken by a value, not by close */
};

/* ---- M -------------------------------------------------------------- */

struct gx_m {
	void *g0sp;	    /* g0's saved stack pointer while a G runs */
	gx_g *curg;	    /* G running on this M, or NULL on g0 */
	struct gx_p *p;	    /* attached P, NULL if none */
	struct gx_p *nextp; /* P to take when woken from stopm */
	struct gx_p *oldp;  /* P it had when it entered a syscall (exitsyscall's fast path) */
	gx_g *lockedg;	    /* gx_lock_os_thread: the only G this M runs */
	int64_t id;
	pid_t tid;
	uint32_t locks; /* runtime locks held (no preemption, no switch) */
	bool spinning;	/* looking for work: counted in sched.nmspinning */
	gx_note park;
	struct gx_m *schedlink; /* idle M list */
	struct gx_m *alllink;	/* all Ms */
	uint64_t fastrand;
	/* mcall: the function g0 runs for the G that switched to it */
	gx_g *(*mcallfn)(gx_g *gp);
	void (*sysfn)(void *arg); /* gx_systemstack: what to run on g0 */
	void *sysarg;
	/* A runtime lock held across a direct G-to-G switch (gx_yield's fast
	 * path), released by the G switched to (switchdone in proc.c). */
	gx_lock_t *switchunlock;
	/* A G parked by a direct switch (gx_gopark's fast path): the G switched
	 * to runs waitunlockf(switchparked, waitlock) first (switchdone). */
	gx_g *switchparked;
	/* gx_park's unlock function, run on g0 */
	bool (*waitunlockf)(gx_g *gp, void *lock);
	void *waitlock;
	void *altstack; /* signal stack (stack overflow reports) */
	/* What the kernel and the runtime share about this M (gmpx/kabi.h):
	 * a slot of the mmapped state when the kassist is attached, else
	 * kslot_local. Never changes once the M runs. */
	struct gx_kabi_m *kslot;
	struct gx_kabi_m kslot_local;
	struct gx_tchunk *tchunk; /* the execution trace's records (trace.c) */
	bool kscx;		  /* scx mode: this thread is SCHED_EXT (the BPF scheduler places it) */
	uintptr_t g0_stack_lo;
	size_t g0_stack_size;
#if GX_ASAN
	void *asan_fake_stack;
#endif
#if GX_TSAN
	void *tsan_g0fiber;
#endif
};

/* ---- P -------------------------------------------------------------- */

enum pstatus {
	Pidle = 0,
	Prunning,
	Psyscall,
	Pdead, /* beyond gomaxprocs */
};

/* Go's size; a power of two so indexes wrap with a mask. The model test
 * overrides it with a tiny ring to reach the full-queue paths. */
#ifndef GX_RUNQ_SIZE
#define GX_RUNQ_SIZE 256
#endif

/* Stacks cached per P, per size class: refill/release in batches. */
#define GX_STACKCACHE_MAX 32

struct gx_p {
	/* Read by thieves: its own lines. */
	_Alignas(GX_CACHELINE) _Atomic uint32_t runqhead;
	_Alignas(GX_CACHELINE) _Atomic uint32_t runqtail;
	_Atomic(gx_g *) runnext;
	_Atomic(gx_g *) runq[GX_RUNQ_SIZE];

	_Alignas(GX_CACHELINE) int32_t id;
	_Atomic uint32_t status;
	_Atomic(struct gx_m *) m; /* owning M, NULL if idle or in a syscall (read by sysmon) */
	struct gx_p *link;	  /* idle P list */
	_Atomic uint32_t
		schedtick; /* incremented on every scheduler call that does not inherit time (read by sysmon) */
	/* Incremented on every findrunnable: drives the 1-in-61 global queue
	 * check. Go uses schedtick, which stands still while a runnext
	 * ping-pong pair shares one time slice, so there only preemption
	 * ends the starvation; counting every round makes the guarantee hold
	 * with or without preemption. */
	uint32_t fairtick;
	/* sysmon bookkeeping (Go's sysmontick): what it saw last time */
	_Atomic uint32_t syscalltick; /* incremented on every syscall entry */
	_Atomic int64_t syscallwhen;  /* when the current syscall started */
	_Atomic uint64_t slicestart;  /* gx_cputicks() when execute began the current time slice */
	uint32_t sysmon_schedtick;    /* sysmon's bookkeeping */
	int64_t sysmon_asked;	      /* when sysmon last asked this slice to yield (0: not yet) */
	int64_t sysmon_looked;	      /* when sysmon last looked at this P */
	int64_t sysmon_slicefrom;     /* sysmon's estimate of when the current slice began */
	gx_g *lastpreempted;	      /* the G this P last preempted (findrunnable's fairness check) */
	_Atomic bool preempt;	      /* the G running here should yield */
	_Atomic uint64_t executions;  /* Gs executed here (tests and schedtrace) */

	/* goroutine ids handed out in batches from sched.goidgen */
	int64_t goidcache, goidcacheend;
	_Atomic int64_t ncreated, nexited; /* summed by gx_num_goroutines */

	/* Free Gs (dead, no stack) */
	gx_g *gfree;
	int32_t gfreecnt;

	/* Timers (time.c): a 4-ary min-heap on when */
	gx_lock_t timerslock;
	struct gx_rtimer **timers;
	int32_t ntimers, captimers;
	_Atomic int64_t timer0when; /* heap top's when, 0 if empty: read without the lock */

	/* Stack cache for the default class */
	uintptr_t stackcache[GX_STACKCACHE_MAX];
	int32_t nstackcache;

	/* What BPF sees of this P (gmpx/kabi.h): the mmapped slot when the
	 * kassist is attached, else kslot_local. Written by the owner only. */
	struct gx_kabi_p *kslot;
	struct gx_kabi_p kslot_local;
	bool kslot_clock;		/* publish each slice's start time (kslot.h: gx_kpub_slice) */
	_Atomic(struct gx_m *) standby; /* scx mode: the M standing by for this P (kassist_scx.c) */

	/* Metrics (metrics.c): written by the M that holds the P (timersfired
	 * under timerslock), read racily by gx_metrics_read. */
	_Alignas(GX_CACHELINE) _Atomic uint64_t schedlat[GX_METRIC_HIST_BUCKETS]; /* runnable -> running, ticks */
	_Atomic uint64_t nsyscall, nsteal, npreempt, ntimerfired;
};

/* ---- sched ------------------------------------------------------------ */

struct gx_sched {
	gx_lock_t lock;

	/* Ms */
	struct gx_m *midle;
	int32_t nmidle;
	int32_t mnext; /* next M id; also the number of Ms created */
	int32_t maxmcount;
	int32_t nmsys;	      /* Ms that never run Gs (sysmon) */
	int32_t nmidlelocked; /* Ms parked in stoplockedm, waiting for their locked G */
	_Atomic int32_t nmspinning;
	_Atomic(struct gx_m *) allm;

	/* Ps */
	struct gx_p *pidle;
	_Atomic int32_t npidle;
	_Atomic int32_t gomaxprocs;
	_Atomic int32_t nallp; /* Ps ever allocated: allp[0..nallp), read without the lock */

	/* Global run queue */
	gx_g *runqhead, *runqtail;
	_Atomic int32_t runqsize;

	/* Global free G list */
	gx_lock_t gflock;
	gx_g *gfree;
	_Atomic int32_t ngfree; /* also read without gflock, as a hint */

	/* Gs waiting for a stack when memory ran out (sched.lock); the count
	 * is read without the lock as a hint */
	gx_g *stackwait;
	_Atomic int32_t nstackwait;

	/* netpoll: lastpoll == 0 while an M is blocked in gx_netpoll, which
	 * will return by polluntil (0: no deadline) */
	_Atomic int64_t lastpoll;
	_Atomic int64_t polluntil;

	_Atomic int64_t goidgen;
	_Atomic bool started;
	int64_t starttime;
	uint64_t startticks; /* gx_cputicks() at starttime (metrics.c: the tick rate) */

	/* A clock for stamps that need no precision (how long a G has
	 * waited): a recent gx_nanotime() of sysmon's or a timer check's
	 * (gx_coarsetick; written at most once a GX_COARSE_NS, so the line
	 * stays shared). */
	_Alignas(GX_CACHELINE) _Atomic int64_t coarsenow;
	/* Non-zero while a goroutine dump stops the world (dump.c): an M
	 * about to switch to a G waits instead (gx_freezecheck). Read on every
	 * switch, written only by dumps: a line of its own. */
	_Alignas(GX_CACHELINE) _Atomic uint32_t freezing;
};

extern GX_HIDDEN struct gx_sched gx_sched;
extern GX_HIDDEN struct gx_p *gx_allp[GX_MAXPROCS_LIMIT];
extern GX_HIDDEN __thread struct gx_m *gx_tls_m __attribute__((tls_model("initial-exec")));

/*
 * getm - the current M. A goroutine can resume on another thread after any
 * switch, but compilers treat the thread pointer as constant within a
 * function and may reuse a TLS address computed before the switch. So the
 * read is an opaque volatile load: it is redone every time.
 */
/* gx_cputicks - a cheap timestamp (the TSC, ~10 ns; constant and
 * synchronized on the machines this targets); sysmon converts to ns. */
static inline uint64_t gx_cputicks(void)
{
#if defined(__x86_64__)
	return __builtin_ia32_rdtsc();
#else
	return (uint64_t)gx_nanotime();
#endif
}

/* gx_pstat_inc - one more in a per-P counter. The M holding the P (or
 * the P's lock that guards the event). */
static inline void gx_pstat_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* gx_schedlat_bucket - the scheduling-latency histogram's bucket for d
 * ticks: with x = d + 4, 4 buckets per power of two of x (so d 0..3 get
 * one each), without a branch: a handful of instructions on every switch
 * (bounds: metrics.c). d < 2^63, the largest bucket 247. */
static inline uint32_t gx_schedlat_bucket(uint64_t d)
{
	uint64_t x = d + 4;
	uint32_t e = 63 - (uint32_t)__builtin_clzll(x);
	return 4 * e - 8 + (uint32_t)((x >> (e - 2)) & 3);
}

/* Whether the scheduling-latency histogram is kept (metrics.c): a TSC
 * read costs ~10 ns, two per switch double a 20 ns yield, so they are
 * taken only from GX_DEBUG=schedlat=1 at start, or from the first read of
 * /sched/latencies:seconds, on. Never turned off. */
extern GX_HIDDEN _Atomic bool gx_schedlat_on;

static inline bool gx_schedlat_enabled(void)
{
	return unlikely(atomic_load_explicit(&gx_schedlat_on, memory_order_relaxed));
}

/* gx_schedlat_stamp - gp becomes runnable now (when the histogram is kept). */
static inline void gx_schedlat_stamp(struct gx_g *gp)
{
	if (gx_schedlat_enabled())
		gp->runnableticks = gx_cputicks();
}

/* gx_schedlat_record - gp (runnable since gp->runnableticks) starts
 * running on pp at now: one event in pp's histogram. The M holding pp;
 * only while gx_schedlat_enabled. A G made runnable before the histogram
 * was turned on has no stamp and is not counted. */
static inline void gx_schedlat_record(struct gx_p *pp, const struct gx_g *gp, uint64_t now)
{
	if (!gp->runnableticks)
		return;
	int64_t d = (int64_t)(now - gp->runnableticks);
	gx_pstat_inc(
		&pp->schedlat[gx_schedlat_bucket(d > 0 ? (uint64_t)d : 0)]); /* two CPUs' TSCs may differ a little */
}

static inline struct gx_m *getm(void)
{
#if defined(__x86_64__)
	struct gx_m *m;
	__asm__ volatile("movq gx_tls_m@gottpoff(%%rip), %0\n\tmovq %%fs:(%0), %0" : "=r"(m));
	return m;
#else
	return *(struct gx_m *volatile *)&gx_tls_m;
#endif
}
static inline gx_g *getg(void)
{
	struct gx_m *m = getm();
	return m ? m->curg : NULL;
}

/* ---- run queues (runq.c) ---------------------------------------------- */
GX_HIDDEN void gx_runqput(struct gx_p *pp, gx_g *gp, bool next);
GX_HIDDEN gx_g *gx_runqget(struct gx_p *pp, bool *inherit_time);
GX_HIDDEN bool gx_runqempty(struct gx_p *pp);
GX_HIDDEN uint32_t gx_runqlen(struct gx_p *pp);
GX_HIDDEN gx_g *gx_runqsteal(struct gx_p *pp, struct gx_p *victim, bool stealnext);
/* Move everything in pp's local queue and runnext to the global queue. sched.lock held. */
GX_HIDDEN void gx_runqdrain_locked(struct gx_p *pp);
/* Global run queue: sched.lock held. */
GX_HIDDEN void gx_globrunqput(gx_g *gp);
GX_HIDDEN void gx_globrunqputhead(gx_g *gp);
GX_HIDDEN void gx_globrunqputbatch(gx_g *head, gx_g *tail, int32_t n);
GX_HIDDEN gx_g *gx_globrunqget(struct gx_p *pp, int32_t max);
/* Test hook: called by runqputslow/runqgrab with the queue state; NULL normally. */

/* ---- stacks (stack.c) -------------------------------------------------- */
#define GX_STACK_DEFAULT ((size_t)64 << 10)
#define GX_MAIN_STACK	 ((size_t)8 << 20)
#define GX_NSTACKCLASS	 17 /* 16 KiB << 0..16 = 16 KiB .. 1 GiB */
GX_HIDDEN int gx_stackclass(size_t size, uint32_t *cls);
GX_HIDDEN size_t gx_stackclass_size(uint32_t cls);
GX_HIDDEN uint32_t gx_stackclass_default(void);
GX_HIDDEN void gx_stackinit(void);
/* Get a stack of class cls (from pp's cache, the global cache, or new
 * memory). Returns 0 or -ENOMEM/-EAGAIN. */
GX_HIDDEN int gx_stackalloc(struct gx_p *pp, uint32_t cls, gx_stack *st);
GX_HIDDEN void gx_stackfree(struct gx_p *pp, uint32_t cls, gx_stack *st);
/* Make sure at least one stack of class cls can be had without new memory
 * (spawn-time check, so gx_go reports -ENOMEM). */
GX_HIDDEN int gx_stackreserve(struct gx_p *pp, uint32_t cls);
GX_HIDDEN void gx_stack_sigsetup(struct gx_m *mp);
GX_HIDDEN void gx_stack_sigteardown(struct gx_m *mp);
GX_HIDDEN bool gx_stack_guard_is_madvise(void);

/* ---- proc.c ----------------------------------------------------------- */
GX_HIDDEN void gx_ready_g(gx_g *gp, bool next);
/* Change gp's status from old to new, or die naming both (a misuse such as
 * readying a goroutine that is not parked). */
GX_HIDDEN void gx_casgstatus(gx_g *gp, uint32_t old, uint32_t new);
GX_HIDDEN void gx_gopark(bool (*unlockf)(gx_g *, void *), void *lock, const char *reason);
GX_HIDDEN void gx_wakep(void);
/* gopc: the creator's return address (dumps' "created by"). */
GX_HIDDEN int64_t gx_newproc(const gx_attr *attr, gx_fn fn, void *arg, uintptr_t gopc);
GX_HIDDEN struct gx_p *gx_pidleget(void);
GX_HIDDEN uint32_t gx_fastrand(void);
GX_HIDDEN __attribute__((noreturn, format(printf, 1, 2))) void gx_fatal(const char *fmt, ...);
GX_HIDDEN __attribute__((format(printf, 1, 2))) void gx_print(const char *fmt, ...);
/* ---- dump.c, traceback.c: goroutine dumps ---------------------------- */
/* Every goroutine with its state, wait reason and stack (at most max of
 * them; self: the calling thread's own stack first, if it is not a
 * goroutine's), on g0's stack (gx_systemstack), then _exit(code). */
#define GX_DUMP_MAX 1000
GX_HIDDEN __attribute__((noreturn)) void gx_dumpgs_exit(int max, bool self, int code);
/* A dump the process survives (the leak check): begin stops the world
 * (false: another thread is dumping), one prints gp's block, end starts
 * the world again. */
GX_HIDDEN bool gx_dump_begin(void);
GX_HIDDEN void gx_dump_one(gx_g *gp);
GX_HIDDEN void gx_dump_end(void);
/* Install the SIGQUIT dump (gx_main, unless GX_DEBUG=sigquit=0). */
GX_HIDDEN void gx_dump_siginit(void);
/* A fatal signal (SIGSEGV not in a guard page, SIGBUS, SIGFPE, SIGILL):
 * "gmpx: fatal: signal ..." (if headline; a stack overflow has printed its
 * own) and the dump from the signal's context; the caller then lets the
 * signal kill the process, or exits. */
GX_HIDDEN void gx_dump_crash(int sig, siginfo_t *si, void *uctx, bool headline);
/* An M about to run a G waits here while a dump stops the world. */
GX_HIDDEN void gx_freezewait(void);
static inline void gx_freezecheck(void)
{
	if (__builtin_expect(atomic_load_explicit(&gx_sched.freezing, memory_order_relaxed) != 0, 0))
		gx_freezewait();
}
#define GX_COARSE_NS 1000000 /* the coarse clock's resolution: 1 ms */
static inline int64_t gx_coarsenow(void)
{
	return atomic_load_explicit(&gx_sched.coarsenow, memory_order_relaxed);
}
static inline void gx_coarsetick(int64_t now)
{
	if (now - gx_coarsenow() >= GX_COARSE_NS)
		atomic_store_explicit(&gx_sched.coarsenow, now, memory_order_relaxed);
}
/* Print the frames of a stack: from a saved context (gx_ctx_switch's sp),
 * from a signal's ucontext, or from the caller's own (frames of the dump
 * machinery left out). Symbolised with libunwind and libdw when they can
 * be loaded, raw addresses otherwise. */
GX_HIDDEN void gx_traceback_saved(void *sp);
GX_HIDDEN void gx_traceback_signal(void *uctx);
GX_HIDDEN void gx_traceback_here(void);
/* "created by FUNC in goroutine N" and the call's FILE:LINE: pc is the
 * return address of the gx_go call that created a goroutine. */
GX_HIDDEN void gx_traceback_createdby(uintptr_t pc, int64_t parent);
/* When an M goes idle (sched.lock held): fatal if nothing can ever run again. */
GX_HIDDEN void gx_checkdead(void);
GX_HIDDEN const char *gx_gstatus_name(uint32_t st);
/* Iterate every G ever allocated (Gs are never freed). */
GX_HIDDEN void gx_forallg(void (*fn)(gx_g *gp, void *arg), void *arg);

/* ---- maxprocs.c --------------------------------------------------------- */
GX_HIDDEN int gx_default_maxprocs(void);
GX_HIDDEN int gx_cgroup_limit(void);

/* ---- debug.c (GX_DEBUG) ------------------------------------------------ */
struct gx_debug {
	int schedtrace;	     /* ms between SCHED lines; 0 = off */
	int scheddetail;     /* also per-P, per-M, per-G lines */
	int asyncpreemptoff; /* no signal-based preemption */
	int nodeadlock;	     /* deadlock=0: no deadlock detection */
	int nosigquit;	     /* sigquit=0: leave SIGQUIT alone (no dump) */
};
extern GX_HIDDEN struct gx_debug gx_debug;
GX_HIDDEN void gx_parsedebug(const char *s);
GX_HIDDEN void gx_schedtrace(bool detail);

/* ---- sysmon.c -------------------------------------------------------------- */
GX_HIDDEN void gx_sysmon_start(void);
GX_HIDDEN void gx_sysmon_kick(void); /* a P became busy: sysmon leaves deep sleep */
extern GX_HIDDEN _Atomic bool gx_sysmon_deepsleep;
extern GX_HIDDEN _Atomic int64_t gx_sysmon_wakeat;
/* Tunables (README): quantum for preemption, and how long a P may sit in a
 * syscall with work queued before sysmon hands it off. */
extern GX_HIDDEN int64_t gx_quantum_ns;
#define GX_SYSCALL_RETAKE_NS ((int64_t)20000) /* Go's first sysmon tick: 20 us */
/* Ask the G running on pp to yield (flag and signal); false if the signal
 * was not sent (its M is in the kernel: preempt.c). */
GX_HIDDEN bool gx_preemptone(struct gx_p *pp);

/* ---- syscall.c ------------------------------------------------------------ */
GX_HIDDEN void gx_entersyscall(void);
GX_HIDDEN void gx_entersyscallblock(void);
GX_HIDDEN void gx_exitsyscall(void);
GX_HIDDEN void gx_handoffp(struct gx_p *pp);
/* proc.c pieces syscall.c, preempt.c and the kernel assist use */
GX_HIDDEN void gx_acquirep(struct gx_p *pp);
GX_HIDDEN struct gx_p *gx_releasep(void);
GX_HIDDEN void gx_pidleput(struct gx_p *pp);
/* procresize.c: gomaxprocs := n (sched.lock held); 0 or -ENOMEM */
GX_HIDDEN int gx_procresize(int32_t n);
extern GX_HIDDEN int gx_preset_maxprocs, gx_preset_maxthreads;
#define GX_MAXMCOUNT_DEFAULT 10000 /* Go's debug.SetMaxThreads default */
/* galloc.c: Gs and goroutine ids */
GX_HIDDEN gx_g *gx_gfget(struct gx_p *pp);
GX_HIDDEN void gx_gfspill(struct gx_p *pp); /* half of a full local list to the global one */
#define GFREE_LOCAL_MAX 64		    /* free Gs a P keeps before moving half to the global list */
#define GOIDCACHE_BATCH 16		    /* Go's: ids taken from the global counter at once */
/* gx_gfput - a dead G onto pp's free list (inline: every goroutine exit). */
static inline void gx_gfput(struct gx_p *pp, gx_g *gp)
{
	gp->schedlink = pp->gfree;
	pp->gfree = gp;
	if (++pp->gfreecnt >= GFREE_LOCAL_MAX)
		gx_gfspill(pp);
}
/* gx_newgoid - the next goroutine id from pp's batch (inline: every gx_go). */
static inline int64_t gx_newgoid(struct gx_p *pp)
{
	if (pp->goidcache == pp->goidcacheend) {
		pp->goidcache = atomic_fetch_add(&gx_sched.goidgen, GOIDCACHE_BATCH) + 1;
		pp->goidcacheend = pp->goidcache + GOIDCACHE_BATCH;
	}
	return pp->goidcache++;
}
/* lockosthread.c: the scheduler's side of a locked G */
GX_HIDDEN void gx_stoplockedm(void);
GX_HIDDEN void gx_startlockedm(gx_g *gp);
GX_HIDDEN void gx_stopm(void);
/* Switch to g0 and run fn(curg) there; fn returns the G to run next or NULL
 * (proc.c: dying, lockheld). */
GX_HIDDEN void gx_mcall(gx_g *(*fn)(gx_g *), bool dying, bool lockheld);
/* gx_systemstack - run fn(arg) on this M's g0 stack (Go's systemstack):
 * for work a goroutine's small stack cannot hold (a goroutine dump). On
 * g0, or on a thread that is not an M, it just calls fn. The calling G
 * stays this M's (its context saved, its status Grunning) and resumes when
 * fn returns, unless fn exits the process. */
GX_HIDDEN void gx_systemstack(void (*fn)(void *), void *arg);
/* Start an M with no P that goes idle at once (scx standbys). */
GX_HIDDEN int gx_newm_idle(void);
/* Take mp off the idle M list if it is still there. sched.lock held. */
GX_HIDDEN bool gx_midle_remove(struct gx_m *mp);

/* ---- the kernel assist (kassist.h has the interface) ---------------------------- */
/* gx_kassist_attach - at start, before any M but m0: choose the mode
 * (GX_KASSIST / gx_kassist_set), attach to gmpx-sched for it, or stay in
 * off mode (on a failure, with one log line). */
GX_HIDDEN void gx_kassist_attach(void);
/* The slow path of GX_ENTER: this M's P was revoked while it was blocked
 * (kassist_revoke.c). */
GX_HIDDEN void gx_revoked(void);

#include "kslot.h"

/*
 * GX_ENTER - first statement of every public function that may touch the
 * P or switch goroutines. It marks the goroutine as inside the runtime for
 * the scope (so sysmon never revokes the P of an M that blocked halfway
 * through runtime code) and notices, with one load and compare, that the
 * P was revoked while the M was blocked in an unwrapped call: then it
 * takes the exitsyscall path first. The compiler barriers keep the marks
 * where they are written: a block (a page fault) can happen anywhere.
 */
static inline gx_g *gx_rtenter(void)
{
	struct gx_m *mp = getm();
	gx_g *gp;
	if (!mp || !(gp = mp->curg))
		return NULL;
	atomic_store_explicit(&gp->rtdepth, atomic_load_explicit(&gp->rtdepth, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (unlikely(GX_KM_STATE(atomic_load_explicit((_Atomic uint64_t *)&mp->kslot->mword, memory_order_relaxed)) ==
		     GX_KM_REVOKED))
		gx_revoked();
	return gp;
}
static inline void gx_rtleave(gx_g *const *gpp)
{
	gx_g *gp = *gpp;
	if (gp) {
		atomic_signal_fence(memory_order_seq_cst);
		atomic_store_explicit(&gp->rtdepth, atomic_load_explicit(&gp->rtdepth, memory_order_relaxed) - 1,
				      memory_order_relaxed);
	}
}
#define GX_ENTER() gx_g *const gx_entered_ __attribute__((cleanup(gx_rtleave), unused)) = gx_rtenter()
/* Sanitizer (test) builds check that goroutine code reaches the scheduler
 * only through a GX_ENTER'd public function. */
#if GX_ASAN || GX_TSAN
#define GX_ASSERT_INRT(where)                                                                      \
	do {                                                                                       \
		gx_g *gx_ai_g = getg();                                                            \
		if (gx_ai_g && atomic_load_explicit(&gx_ai_g->rtdepth, memory_order_relaxed) == 0) \
			gx_fatal("%s: goroutine %lld entered the runtime without GX_ENTER", where, \
				 (long long)gx_ai_g->goid);                                        \
	} while (0)
#else
#define GX_ASSERT_INRT(where) ((void)0)
#endif

/* ---- preempt.c ---------------------------------------------------------------- */
GX_HIDDEN void gx_preemptinit(void);
GX_HIDDEN void gx_gopreempt(void); /* yield at a cooperative safe point */
/* Send the async preemption signal to mp, unless it is in the kernel
 * (sysmon); whether it was sent. */
GX_HIDDEN bool gx_preemptm(struct gx_m *mp);
/* Whether mp's thread is in a system call or asleep in the kernel (sysmon). */
GX_HIDDEN bool gx_m_in_kernel(struct gx_m *mp);
/* CPU time mp's thread has used, in ns, or -1. */
GX_HIDDEN int64_t gx_m_cputime(struct gx_m *mp);
extern GX_HIDDEN bool gx_asyncpreempt_enabled;
extern GX_HIDDEN _Atomic uint64_t gx_async_preemptions; /* statistics and tests */
/* Counts of rare events for gx_metrics_read (metrics.c), kept here rather
 * than per P because who counts may hold no P. */
struct gx_rtstats {
	_Atomic uint64_t handoffs;     /* gx_handoffp calls */
	_Atomic uint64_t netpollready; /* goroutines netpoll made runnable */
	_Atomic uint64_t fallbacks;    /* kernel-assist fallbacks to off mode */
};
extern GX_HIDDEN struct gx_rtstats gx_rtstats;
/* Cooperative check at runtime entry points: one load of the P's flag. */
#define gx_preempt_point()                                                                        \
	do {                                                                                      \
		struct gx_m *gx_pp_m = getm();                                                    \
		if (unlikely(gx_pp_m && gx_pp_m->p &&                                             \
			     (atomic_load_explicit(&gx_pp_m->p->preempt, memory_order_relaxed) || \
			      gx_kpreempt_requested(gx_pp_m->p))))                                \
			gx_gopreempt();                                                           \
	} while (0)

/* ---- time.c: runtime timers (Go's runtime/time.go) -------------------------- */
/*
 * A runtime timer fires f(arg, seq) at monotonic time `when` (ns,
 * gx_nanotime()), then every `period` ns if period > 0. f runs on an M's
 * scheduler stack (g0) holding a P but no lock, on whichever P runs or
 * steals the timer; it must not block or park: it readies goroutines
 * (gx_ready_g) or does non-blocking channel sends. Timers live in per-P
 * 4-ary heaps, move with their P, and are run in findrunnable.
 *
 * The struct belongs to the caller (a goroutine's stack is fine). Rule: call
 * gx_deltimer before the struct goes away, even if the timer fired:
 * gx_deltimer waits for a callback that is running right now, so after it
 * returns f is neither running nor going to run (del_timer_sync).
 * (Public timers - gx_timer, gx_sleep, gx_after - are built on this.)
 */
enum { TIMER_IDLE = 0, TIMER_ARMED, TIMER_RUNNING };
struct gx_rtimer {
	gx_lock_t lock;		   /* serializes gx_addtimer/gx_deltimer */
	_Atomic uint32_t state;	   /* TIMER_* */
	_Atomic uint32_t gen;	   /* bumped by every del/add: a running periodic timer re-arms only if unchanged */
	_Atomic(struct gx_p *) pp; /* heap it is in (ARMED), or NULL */
	int32_t idx;		   /* index in pp's heap */
	int64_t when, period;
	void (*f)(void *arg, uintptr_t seq);
	void *arg;
	uintptr_t seq;
};
/* gx_addtimer - (re)arm t to fire at when (then every period if > 0).
 * Safe from goroutines and from g0; goes into the current P's heap. */
GX_HIDDEN void gx_addtimer(struct gx_rtimer *t, int64_t when, int64_t period, void (*f)(void *, uintptr_t), void *arg,
			   uintptr_t seq);
/* gx_deltimer - disarm and wait out a running callback. true if it was
 * armed (it will not fire now), false if it fired or was never armed. */
GX_HIDDEN bool gx_deltimer(struct gx_rtimer *t);
/* Run pp's due timers; returns pp's next `when` (0: none). */
GX_HIDDEN int64_t gx_checktimers(struct gx_p *pp, int64_t now);
/* Earliest timer over all Ps (0: none). */
GX_HIDDEN int64_t gx_timers_next(void);
/* Move every timer of a retiring P to another. */
GX_HIDDEN void gx_movetimers(struct gx_p *from, struct gx_p *to);
/* gx_goready_timer - a timer callback that readies the goroutine in arg. */
GX_HIDDEN void gx_goready_timer(void *arg, uintptr_t seq);

/* ---- netpoll_epoll.c --------------------------------------------------------- */
GX_HIDDEN void gx_netpollinit(void);
/* Block up to delay ns (-1 forever, 0 poll); returns the goroutines made
 * runnable (still Gwaiting), linked through schedlink, and their count. */
GX_HIDDEN gx_g *gx_netpoll(int64_t delay, int32_t *n);
/* Goroutines parked on I/O (they keep an M polling; no deadlock report). */
extern GX_HIDDEN _Atomic int32_t gx_netpollwaiters;
/* Make a list from gx_netpoll runnable: on the global queue, starting Ms
 * for idle Ps. */
GX_HIDDEN void gx_injectglist(gx_g *list, int32_t n);
/* sysmon: poll if nobody has for a while. */
GX_HIDDEN void gx_sysmon_netpoll(int64_t now);
/* Interrupt a blocked gx_netpoll. */
GX_HIDDEN void gx_netpollbreak(void);
/* Wake the M blocked in netpoll if `when` is earlier than it will wake,
 * or start an M to poll if none is (Go's wakeNetPoller). */
GX_HIDDEN void gx_wakenetpoller(int64_t when);

/* ---- chan.c / select.c -------------------------------------------------- */
GX_HIDDEN void gx_chanlock(gx_chan *c);
GX_HIDDEN void gx_chanunlock(gx_chan *c);
GX_HIDDEN size_t gx_chanelemsize(const gx_chan *c);
/* Try a send/receive with c->lock held: 0/1 done or -EPIPE (lock released
 * by unlockf(arg)), or -EAGAIN (would block, lock still held). */
GX_HIDDEN int gx_chantrysend(gx_chan *c, const void *ep, void (*unlockf)(void *), void *arg);
GX_HIDDEN int gx_chantryrecv(gx_chan *c, void *ep, void (*unlockf)(void *), void *arg);
GX_HIDDEN void gx_chanenqueue(gx_chan *c, int op, struct gx_sudog *sg);
GX_HIDDEN void gx_chandequeuesudog(gx_chan *c, int op, struct gx_sudog *sg);
GX_HIDDEN void gx_channwaiters(gx_chan *c, int *nsend, int *nrecv);
GX_HIDDEN int gx_chansend(gx_chan *c, const void *ep, bool block);
GX_HIDDEN int gx_chanrecv(gx_chan *c, void *ep, bool block);
GX_HIDDEN int gx_selectgo(gx_case *cases, int n, int64_t deadline, const char *reason);

/* ---- sema.c ------------------------------------------------------------ */
GX_HIDDEN void gx_semacquire(uint32_t *addr, bool lifo, const char *reason);
GX_HIDDEN void gx_semrelease(uint32_t *addr, bool handoff);
GX_HIDDEN bool gx_canspin(int iter);

#endif
