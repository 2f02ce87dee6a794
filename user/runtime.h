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
 * the hand-over in gx_park's unlockf, which runs on g0.
 */
#ifndef GX_RUNTIME_H
#define GX_RUNTIME_H

#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gmpx.h"
#include "gmpx_kabi.h"
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

/* A futex mutex (3 states: unlocked, locked, locked with sleepers). While
 * an M holds one, m->locks > 0: the M must not be preempted or switch G. */
typedef struct gx_mutex_rt {
	_Atomic uint32_t key;
} gx_lock_t;

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
GX_HIDDEN void gx_procyield(int n);
GX_HIDDEN void gx_osyield(void);

/* ---- G ------------------------------------------------------------- */

enum gstatus {
	Gidle = 0,  /* just allocated, not yet initialized */
	Grunnable,  /* in a run queue, not running */
	Grunning,   /* running user code, has an M and a P */
	Gsyscall,   /* in a system call (issue 4) */
	Gwaiting,   /* parked: blocked in the runtime */
	Gpreempted, /* stopped by async preemption (issue 4) */
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
	const char *name;
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
	 * whose curg has rtdepth 0 is in user code (kassist.c revocation). */
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
	/* What the kernel and the runtime share about this M (gmpx_kabi.h):
	 * a slot of the mmapped state when the kassist is attached, else
	 * kslot_local. Never changes once the M runs. */
	struct gx_kabi_m *kslot;
	struct gx_kabi_m kslot_local;
	bool kscx; /* scx mode: this thread is SCHED_EXT (the BPF scheduler places it) */
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

	/* What BPF sees of this P (gmpx_kabi.h): the mmapped slot when the
	 * kassist is attached, else kslot_local. Written by the owner only. */
	struct gx_kabi_p *kslot;
	struct gx_kabi_p kslot_local;
	_Atomic(struct gx_m *) standby; /* scx mode: the M standing by for this P (kassist_scx.c) */
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
GX_HIDDEN int64_t gx_newproc(const gx_attr *attr, gx_fn fn, void *arg);
GX_HIDDEN struct gx_p *gx_pidleget(void);
GX_HIDDEN uint32_t gx_fastrand(void);
GX_HIDDEN __attribute__((noreturn, format(printf, 1, 2))) void gx_fatal(const char *fmt, ...);
GX_HIDDEN __attribute__((format(printf, 1, 2))) void gx_print(const char *fmt, ...);
GX_HIDDEN void gx_dumpgs(int max);
GX_HIDDEN const char *gx_gstatus_name(uint32_t st);
/* Iterate every G ever allocated (Gs are never freed). */
GX_HIDDEN void gx_forallg(void (*fn)(gx_g *gp, void *arg), void *arg);

/* ---- maxprocs.c --------------------------------------------------------- */
GX_HIDDEN int gx_default_maxprocs(void);
GX_HIDDEN int gx_cgroup_limit(void);

/* ---- debug.c (GX_DEBUG) ------------------------------------------------ */
struct gx_debug {
	int schedtrace;	 /* ms between SCHED lines; 0 = off */
	int scheddetail; /* also per-P, per-M, per-G lines */
};
extern GX_HIDDEN struct gx_debug gx_debug;
GX_HIDDEN void gx_parsedebug(const char *s);
GX_HIDDEN void gx_schedtrace(bool detail);

/* ---- sysmon.c: the policy points ------------------------------------------ */
/*
 * Where the runtime learns that an M blocked, what wakes sysmon, and how a
 * goroutine is asked to yield: one small table, so that the kernel-assisted
 * modes (trace: sched_switch events; scx: the BPF scheduler) can replace
 * polling with events without touching the scheduler. Off mode is Go's
 * design: sysmon watches syscalls and time slices, preemption is a signal.
 */
struct gx_policy {
	const char *name;
	/* An M entered a syscall holding pp loosely (may wake sysmon). */
	void (*entersyscall)(struct gx_m *mp, struct gx_p *pp, int64_t now);
	/* sysmon sleeps until `until` (ns) or until woken. */
	void (*sysmon_sleep)(int64_t until);
	/* Wake a sleeping sysmon. */
	void (*sysmon_wake)(void);
	/* Ask the G running on pp to yield (flag set already); false if it
	 * could not be delivered now (sysmon retries). */
	bool (*preempt)(struct gx_p *pp, struct gx_m *mp);
};
extern GX_HIDDEN const struct gx_policy *gx_policy;
GX_HIDDEN void gx_sysmon_start(void);
GX_HIDDEN void gx_sysmon_kick(void); /* a P became busy: sysmon leaves deep sleep */
extern GX_HIDDEN _Atomic bool gx_sysmon_deepsleep;
extern GX_HIDDEN _Atomic int64_t gx_sysmon_wakeat;
/* Tunables (README): quantum for preemption, and how long a P may sit in a
 * syscall with work queued before sysmon hands it off. */
extern GX_HIDDEN int64_t gx_quantum_ns;
#define GX_SYSCALL_RETAKE_NS ((int64_t)20000) /* Go's first sysmon tick: 20 us */

/* ---- syscall.c ------------------------------------------------------------ */
GX_HIDDEN void gx_entersyscall(void);
GX_HIDDEN void gx_entersyscallblock(void);
GX_HIDDEN void gx_exitsyscall(void);
GX_HIDDEN void gx_handoffp(struct gx_p *pp);
/* proc.c pieces syscall.c and preempt.c use */
GX_HIDDEN void gx_acquirep(struct gx_p *pp);
GX_HIDDEN void gx_stopm(void);
/* Switch to g0 and run fn(curg) there; fn returns the G to run next or NULL. */
GX_HIDDEN void gx_mcall(gx_g *(*fn)(gx_g *));

/* ---- kassist.c: the kernel assist (trace mode) -------------------------------- */
/* gx_kassist_attach - at start, before any M but m0: attach to gmpx-sched
 * if GX_KASSIST / gx_kassist_set asked for it; else (or on failure, with
 * one log line) stay in off mode. */
GX_HIDDEN void gx_kassist_attach(void);
/* A new M: register its thread with the daemon (on the M, in minit). */
GX_HIDDEN void gx_kassist_minit(struct gx_m *mp);
/* sysmon's retake: take pp from an M blocked in the kernel in goroutine
 * code if pp has work (trace mode; false otherwise). */
GX_HIDDEN bool gx_kassist_retake(struct gx_p *pp, int64_t now);
/* Revoke pp now if its M's word says BLOCKED (testing.c's fake kernel). */
GX_HIDDEN bool gx_kassist_tryrevoke(struct gx_p *pp, int64_t now);
extern GX_HIDDEN bool gx_kassist_testing;
/* sysmon: signal revoked Ms that run goroutine code for a quantum;
 * returns when to look again (0: nothing to watch). */
GX_HIDDEN int64_t gx_kassist_kick(int64_t now);
/* stopm, trace mode: maybe park as the standby M (on the ring buffer, not
 * the futex) until woken; then stopm's futex sleep returns at once. */
GX_HIDDEN void gx_kassist_standby(struct gx_m *mp);
/* startm woke mp's note: also wake it if it is the standby. */
GX_HIDDEN void gx_kassist_wake_standby(struct gx_m *mp);
/* scx mode (kassist_scx.c): on while the BPF scheduler places our Ms. */
extern GX_HIDDEN _Atomic bool gx_kassist_scx;
/* After start: one standby M per P (idle Ms the BPF scheduler holds). */
GX_HIDDEN void gx_scx_start_standbys(void);
/* stopm, scx mode: stand by for a P (parked in BPF, not on the futex)
 * until given one; false if this M cannot (then the futex as usual). */
GX_HIDDEN bool gx_kassist_scx_standby(struct gx_m *mp);
/* startm, scx mode, sched.lock held: pp's own standby if it is idle
 * (taken off the idle list), else NULL. */
GX_HIDDEN struct gx_m *gx_kassist_scx_mget(struct gx_p *pp);
/* startm woke nmp's note: if it stands by, have BPF run it now. */
GX_HIDDEN void gx_kassist_scx_wake(struct gx_m *nmp);
/* acquirep, scx mode: on the wrong CPU for pp, yield so BPF moves us. */
GX_HIDDEN void gx_kassist_oncpu(struct gx_p *pp);
/* proc.c: start an M with no P that goes idle at once (scx standbys). */
GX_HIDDEN int gx_newm_idle(void);
/* sysmon.c: ask the G running on pp to yield (flag and signal). */
GX_HIDDEN void gx_preemptone(struct gx_p *pp);
/* The slow path of GX_ENTER: this M's P was revoked while it was blocked. */
GX_HIDDEN void gx_revoked(void);
extern GX_HIDDEN _Atomic bool gx_kassist_active;
extern GX_HIDDEN const struct gx_policy gx_off_policy;
GX_HIDDEN bool gx_off_preempt(struct gx_p *pp, struct gx_m *mp);

extern GX_HIDDEN struct gx_kabi_proc *gx_kabi; /* the mmapped state, NULL if never attached */

static inline void gx_kslot_initm(struct gx_m *mp)
{
	mp->kslot = &mp->kslot_local;
	mp->kslot_local.p = -1;
	mp->kslot_local.mword = GX_KM_WORD(0, GX_KM_RUNNING);
}
static inline void gx_kslot_initp(struct gx_p *pp)
{
	pp->kslot = gx_kabi && pp->id < GX_KABI_MAX_P ? &gx_kabi->p[pp->id] : &pp->kslot_local;
	pp->kslot->owner = -1;
	pp->kslot->cpu = -1;
}

/* Publishing for BPF: plain stores on lines the writer owns. */
/* The global queue's length, for BPF's "work around" test. sched.lock held. */
static inline void gx_kpub_globrunq(void)
{
	if (gx_kabi)
		gx_kabi->hdr.globrunq = (uint32_t)atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed);
}
static inline void gx_kpub_acquirep(struct gx_m *mp, struct gx_p *pp)
{
	mp->kslot->p = pp->id;
	mp->kslot->rstate = GX_RM_RUNNING;
	pp->kslot->owner = (int32_t)mp->id;
	pp->kslot->status = GX_KP_RUNNING;
}
static inline void gx_kpub_releasep(struct gx_m *mp, struct gx_p *pp, uint32_t pstatus)
{
	pp->kslot->owner = -1;
	pp->kslot->status = pstatus;
	mp->kslot->rstate = pstatus == GX_KP_SYSCALL ? GX_RM_SYSCALL : GX_RM_IDLE;
	if (pstatus != GX_KP_SYSCALL)
		mp->kslot->p = -1;
}

/* A new time slice on pp (schedtick bumped): BPF's quantum timer (scx)
 * measures from here. */
static inline void gx_kpub_slice(struct gx_p *pp)
{
	pp->kslot->schedtick = atomic_load_explicit(&pp->schedtick, memory_order_relaxed);
	if (atomic_load_explicit(&gx_kassist_scx, memory_order_relaxed))
		pp->kslot->slice_start_ns = (uint64_t)gx_nanotime();
}
/* scx: BPF flagged this slice as past the quantum (always false in the
 * other modes: nobody writes kslot->preempt). */
static inline bool gx_kpreempt_requested(struct gx_p *pp)
{
	const struct gx_kabi_p *k = pp->kslot;
	return __atomic_load_n(&k->preempt, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&k->preempt_tick, __ATOMIC_RELAXED) == k->schedtick;
}
static inline void gx_kpub_runq(struct gx_p *pp)
{
	pp->kslot->nrunq = atomic_load_explicit(&pp->runqtail, memory_order_relaxed) -
			   atomic_load_explicit(&pp->runqhead, memory_order_relaxed) +
			   (atomic_load_explicit(&pp->runnext, memory_order_relaxed) != NULL);
}

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
/* Send the async preemption signal to mp (sysmon). */
GX_HIDDEN bool gx_preemptm(struct gx_m *mp);
extern GX_HIDDEN bool gx_asyncpreempt_enabled;
extern GX_HIDDEN _Atomic uint64_t gx_async_preemptions; /* statistics and tests */
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
GX_HIDDEN int gx_chansend(gx_chan *c, const void *ep, bool block);
GX_HIDDEN int gx_chanrecv(gx_chan *c, void *ep, bool block);
GX_HIDDEN int gx_selectgo(gx_case *cases, int n, int64_t deadline, const char *reason);

/* ---- sema.c ------------------------------------------------------------ */
GX_HIDDEN void gx_semacquire(uint32_t *addr, bool lifo, const char *reason);
GX_HIDDEN void gx_semrelease(uint32_t *addr, bool handoff);
GX_HIDDEN bool gx_canspin(int iter);

#endif
