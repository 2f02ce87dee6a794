/* SPDX-License-Identifier: MIT */
/*
 * proc.c - the scheduler: Gs, Ms and Ps (Go's runtime/proc.go).
 *
 * The model. A G is a goroutine; an M is an OS thread; a P is the right to
 * run goroutine code, gomaxprocs of them. An M runs Gs only while it holds
 * a P. Each M's own pthread stack is its g0: schedule() and findrunnable()
 * run there, and a G returns to it through gx_mcall() to park, yield or exit.
 *
 * Scheduling (findrunnable, in this order):
 *   every 61st round the global queue first (so a pair of Gs that keep
 *   readying each other through runnext cannot starve it; see fairtick); runnext and the
 *   local queue; the global queue (a batch moves to the local queue);
 *   stealing half of another P's queue (4 passes over the Ps in a random
 *   order, runnext only on the last); and if nothing: release the P, look
 *   once more, park the M on its note.
 *
 * Spinning Ms. An M looking for work without finding any is "spinning". At
 * most half the busy Ps may have a spinning M (2 * nmspinning < busy), and
 * wakep() starts a new spinning M only when there is an idle P and no
 * spinning M. A spinning M that finds work stops spinning and, if it was
 * the last one, wakes another (resetspinning): so new work always has
 * someone looking for it without a thundering herd. The delicate part is
 * the transition spinning -> idle: the M first drops its P and its spinning
 * count and only then re-checks every queue (with a full fence between),
 * while a submitter publishes work before checking for idle Ps and spinning
 * Ms (also with a fence): one of the two always sees the other.
 *
 * Invariants:
 *  - m->p != NULL while m->curg runs; p->m == m.
 *  - A runnable G is in exactly one run queue (runq.c).
 *  - A G has a stack from its first execution until it exits.
 *  - No runtime lock is held across a goroutine switch, except the one
 *    the next G releases for the previous (mp->switchunlock: a park's
 *    lock, a select's channel locks, and sched.lock in gx_yield's fast
 *    path); m->locks > 0 means no switch (asserted in mcall).
 *  - Ps with id >= gomaxprocs are retired by their M at its next
 *    schedule() (their Gs go to the global queue); no stop-the-world.
 *
 * Deadlock: when the last M goes idle (mput) while goroutines exist,
 * nothing can ever wake them: checkdead reports them, like Go.
 */
#include "runtime.h"
#include "kassist.h"
#include "netpoll.h"
#include "trace.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct gx_sched gx_sched;
struct gx_p *gx_allp[GX_MAXPROCS_LIMIT];
__thread struct gx_m *gx_tls_m __attribute__((tls_model("initial-exec")));
struct gx_debug gx_debug = {.schedtrace = 0, .scheddetail = 0};
#if GX_TSAN
_Atomic int gx_fence_word;
#endif

static struct gx_m m0;
static sigset_t initial_sigmask; /* the main thread's, at gx_main: every M starts from it */

#define SCHED_FAIRNESS_TICKS 61 /* Go's: prime, so it does not resonate with program periods */
#define STEAL_TRIES	     4
#define TIMER_SLACK_NS	     1000 /* kernel default 50 us; see minit */

static void schedule(void) __attribute__((noreturn));

uint32_t gx_fastrand(void)
{
	struct gx_m *mp = getm();
	/* xorshift64*: cheap, per M, good enough for victim order */
	uint64_t x = mp->fastrand;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	mp->fastrand = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* ---- switching ---------------------------------------------------------- */

/*
 * setgstatus - a transition of a G this M owns exclusively (it is running
 * here, or we just took it off a run queue): a store, no CAS. Transitions
 * that others may race with (ready) use casgstatus, which also catches
 * misuse such as readying a goroutine that is not parked.
 */
static inline void setgstatus(gx_g *gp, uint32_t old, uint32_t new)
{
#ifdef GX_DEBUG_STATUS
	if (atomic_load_explicit(&gp->status, memory_order_relaxed) != old)
		gx_fatal("setgstatus: goroutine %lld is %s, want %s", (long long)gp->goid,
			 gx_gstatus_name(atomic_load(&gp->status)), gx_gstatus_name(old));
#else
	(void)old;
#endif
	if (new == Grunnable) /* a constant at every call */
		gx_schedlat_stamp(gp);
	atomic_store_explicit(&gp->status, new, memory_order_release);
}

/* Out of line, so that gx_casgstatus's fast path needs no stack frame. */
__attribute__((noinline, cold, noreturn)) static void casgstatus_fail(const gx_g *gp, uint32_t cur, uint32_t old,
								      uint32_t new)
{
	gx_fatal("casgstatus: goroutine %lld is %s, want %s -> %s", (long long)gp->goid, gx_gstatus_name(cur),
		 gx_gstatus_name(old), gx_gstatus_name(new));
}

void gx_casgstatus(gx_g *gp, uint32_t old, uint32_t new)
{
	uint32_t cur = old;
	if (new == Grunnable) {
		gx_schedlat_stamp(gp); /* before the CAS publishes it: metrics.c */
		if (old == Gwaiting)
			gx_trace(GX_TEV_GOREADY, -1, 0, gp->goid, 0);
	}
	if (unlikely(!atomic_compare_exchange_strong_explicit(&gp->status, &cur, new, memory_order_acq_rel,
							      memory_order_relaxed)))
		casgstatus_fail(gp, cur, old, new);
}

static inline void wakep_nofence(void);

/* switchdone - first thing on arrival in a goroutine: finish what the
 * goroutine we came from left for us (a direct switch's lock). */
static inline void switchdone(void)
{
	struct gx_m *mp = getm();
	if (unlikely(mp->switchunlock != NULL)) {
		gx_lock_t *l = mp->switchunlock;
		mp->switchunlock = NULL;
		gx_unlock(l);
		/* The G we came from is on the global queue: an idle P could
		 * run it. Published under the lock, so no fence. */
		wakep_nofence();
	}
	if (unlikely(mp->switchparked != NULL)) {
		/* The G we came from parked (gx_gopark's direct switch): now
		 * that we are off its stack, run its unlock function. */
		gx_g *parked = mp->switchparked;
		bool (*f)(gx_g *, void *) = mp->waitunlockf;
		void *lock = mp->waitlock;
		mp->switchparked = NULL;
		mp->waitunlockf = NULL;
		mp->waitlock = NULL;
		if (f && !f(parked, lock)) {
			/* park cancelled: it is runnable again, next in line */
			gx_schedlat_stamp(parked);
			atomic_store_explicit(&parked->status, Grunnable, memory_order_release);
			gx_runqput(mp->p, parked, true);
		}
	}
}

/*
 * gx_mcall - switch from the running G to g0 and have g0 call fn(gp). fn
 * returns the G to resume at once (without a trip through findrunnable),
 * or NULL to schedule. When this G is resumed later, gx_mcall returns, maybe
 * on another M. dying: the G will never run again (its ASan fake stack is
 * released). lockheld: runtime locks are held on purpose, to be released by
 * fn on g0 (gx_gopark's unlockf: one wait-queue lock, or every channel lock
 * of a select).
 */
void gx_mcall(gx_g *(*fn)(gx_g *), bool dying, bool lockheld)
{
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	if (unlikely(!lockheld && mp->locks))
		gx_fatal("gx_mcall with %u runtime locks held", mp->locks);
	mp->mcallfn = fn;
#if GX_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(dying ? NULL : &fake, (void *)mp->g0_stack_lo, mp->g0_stack_size);
#else
	(void)dying;
#endif
#if GX_TSAN
	__tsan_switch_to_fiber(mp->tsan_g0fiber, 0);
#endif
	gx_ctx_switch(&gp->sp, mp->g0sp);
#if GX_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
	switchdone();
}

/* systemstack_m - gx_systemstack's continuation on g0: run the function,
 * then resume gp at once (execute takes it Grunnable -> Grunning). */
static gx_g *systemstack_m(gx_g *gp)
{
	struct gx_m *mp = getm();
	void (*fn)(void *) = mp->sysfn;
	mp->sysfn = NULL;
	fn(mp->sysarg);
	gx_casgstatus(gp, Grunning, Grunnable);
	return gp;
}

void gx_systemstack(void (*fn)(void *), void *arg)
{
	struct gx_m *mp = getm();
	if (!mp || !mp->curg) {
		fn(arg);
		return;
	}
	mp->sysfn = fn;
	mp->sysarg = arg;
	gx_mcall(systemstack_m, false, true);
}

static void goexit1(void) __attribute__((noreturn));

/* gentry - the first frame on every goroutine stack. */
static void gentry(void *arg)
{
	gx_g *gp = arg;
#if GX_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	switchdone();
	atomic_signal_fence(memory_order_seq_cst);
	atomic_store_explicit(&gp->rtdepth, 0, memory_order_relaxed); /* user code from here */
	atomic_signal_fence(memory_order_seq_cst);
	gp->fn(gp->arg);
	/* Back in the runtime, as any entry is: if the kernel assist gave our
	 * P away while fn was blocked in the kernel (kassist_revoke.c), get one
	 * first, or goexit would run on a P another M now holds. */
	(void)gx_rtenter();
	goexit1();
}

static void stackwait_put(gx_g *gp);

/*
 * execute - run gp on the current M (on g0). Returns when gp mcalls back.
 * inherit_time: gp continues the current time slice (came from runnext).
 * Returns false if gp could not get a stack (it waits for one instead).
 */
/* gstackget - give gp, which has never run, its stack and first context.
 * 0 or -ENOMEM. */
static int gstackget(struct gx_p *pp, gx_g *gp)
{
	int err = gx_stackalloc(pp, gp->stackclass, &gp->stack);
	if (unlikely(err))
		return err;
	gp->sp = gx_ctx_make((void *)(gp->stack.lo + gp->stack.size), gentry, gp);
#if GX_TSAN
	/* TSan counts fibers as threads (at most 8128): give one only to Gs
	 * that have a stack. */
	gp->tsan_fiber = __tsan_create_fiber(0);
#endif
	return 0;
}

static bool execute(gx_g *gp, bool inherit_time)
{
	gx_freezecheck(); /* a goroutine dump is reading stacks: not now */
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->p;
	if (unlikely(gp->stack.lo == 0) && unlikely(gstackget(pp, gp) != 0)) {
		stackwait_put(gp);
		return false;
	}
	mp->curg = gp;
	gp->m = mp;
	setgstatus(gp, Grunnable, Grunning);
	gx_trace(GX_TEV_GOSTART, pp->id, gx_runqlen(pp), gp->goid, 0);
	uint64_t now = 0;
	if (gx_schedlat_enabled()) {
		now = gx_cputicks();
		gx_schedlat_record(pp, gp, now);
	}
	if (!inherit_time) {
		atomic_store_explicit(&pp->schedtick, pp->schedtick + 1, memory_order_relaxed);
		atomic_store_explicit(&pp->slicestart, now ? now : gx_cputicks(), memory_order_relaxed);
		gx_kpub_slice(pp);
	}
	atomic_store_explicit(&pp->preempt, false, memory_order_relaxed); /* a new slice, or resumed */
	gx_kpub_runq(pp);
	atomic_store_explicit(&pp->executions, pp->executions + 1, memory_order_relaxed);
#if GX_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(&fake, (void *)gp->stack.lo, gp->stack.size);
#endif
#if GX_TSAN
	__tsan_switch_to_fiber(gp->tsan_fiber, 0);
#endif
	gx_ctx_switch(&mp->g0sp, gp->sp);
#if GX_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
	return true;
}

static void dropg(struct gx_m *mp)
{
	mp->curg->m = NULL;
	mp->curg = NULL;
}

/* ---- Ps and Ms ------------------------------------------------------------ */

void gx_acquirep(struct gx_p *pp)
{
	struct gx_m *mp = getm();
	if (unlikely(mp->p || pp->m))
		gx_fatal("gx_acquirep: M%lld already has P%d or P%d has M", (long long)mp->id, mp->p ? mp->p->id : -1,
			 pp->id);
	mp->p = pp;
	atomic_store_explicit(&pp->m, mp, memory_order_relaxed);
	atomic_store_explicit(&pp->status, Prunning, memory_order_release);
	gx_trace(GX_TEV_PACQUIRE, pp->id, 0, 0, 0);
	gx_kpub_acquirep(mp, pp);
	gx_sysmon_kick();	      /* one load: sysmon sleeps deeply only while every P is idle */
	GX_KASSIST(acquirep, mp, pp); /* scx: run on pp's CPU */
}

struct gx_p *gx_releasep(void)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->p;
	gx_trace(GX_TEV_PRELEASE, pp->id, 0, 0, 0);
	gx_kpub_releasep(mp, pp, GX_KP_IDLE);
	atomic_store_explicit(&pp->m, NULL, memory_order_relaxed);
	mp->p = NULL;
	atomic_store_explicit(&pp->status, Pidle, memory_order_release);
	return pp;
}

/* gx_pidleput - put pp on the idle list, or retire it if it is beyond
 * gomaxprocs. sched.lock held; pp's queue is empty. */
void gx_pidleput(struct gx_p *pp)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	if (unlikely(!gx_runqempty(pp)))
		gx_fatal("pidleput: P%d with a non-empty run queue", pp->id);
	if (pp->id >= atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed)) {
		atomic_store_explicit(&pp->status, Pdead, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&pp->status, Pidle, memory_order_relaxed);
	gx_kpub_pidle(pp);
	pp->link = gx_sched.pidle;
	gx_sched.pidle = pp;
	atomic_fetch_add(&gx_sched.npidle, 1);
}

/* gx_pidleget - an idle P, or NULL. sched.lock held. */
struct gx_p *gx_pidleget(void)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	struct gx_p *pp = gx_sched.pidle;
	if (pp) {
		gx_sched.pidle = pp->link;
		pp->link = NULL;
		atomic_fetch_sub(&gx_sched.npidle, 1);
	}
	return pp;
}

/* Retire the current M's P if it is beyond gomaxprocs: its work goes to the
 * global queue. Returns true if the M no longer has a P. */
static bool pretire(void)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->p;
	if (likely(pp->id < atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed)))
		return false;
	gx_lock(&gx_sched.lock);
	if (pp->id < gx_sched.gomaxprocs) {
		gx_unlock(&gx_sched.lock);
		return false;
	}
	gx_runqdrain_locked(pp);
	gx_releasep();
	atomic_store_explicit(&pp->status, Pdead, memory_order_relaxed);
	struct gx_p *np = gx_pidleget();
	gx_unlock(&gx_sched.lock);
	gx_movetimers(pp, np ? np : gx_allp[0]); /* P0 always survives a resize */
	if (np)
		gx_acquirep(np);
	gx_wakep();
	return np == NULL;
}

/* mput - put mp on the idle M list. sched.lock held. */
static void mput(struct gx_m *mp)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	mp->schedlink = gx_sched.midle;
	gx_sched.midle = mp;
	gx_sched.nmidle++;
	gx_checkdead();
}

/* gx_midle_remove - take mp off the idle M list if it is still there (then
 * nobody else will wake it). sched.lock held. */
bool gx_midle_remove(struct gx_m *mp)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	for (struct gx_m **pm = &gx_sched.midle; *pm; pm = &(*pm)->schedlink) {
		if (*pm == mp) {
			*pm = mp->schedlink;
			mp->schedlink = NULL;
			gx_sched.nmidle--;
			return true;
		}
	}
	return false;
}

/* mget - an idle M, or NULL. sched.lock held. */
static struct gx_m *mget(void)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	struct gx_m *mp = gx_sched.midle;
	if (mp) {
		gx_sched.midle = mp->schedlink;
		gx_sched.nmidle--;
	}
	return mp;
}

static void minit(struct gx_m *mp)
{
	gx_tls_m = mp;
	mp->tid = (pid_t)syscall(SYS_gettid);
	GX_KASSIST(minit, mp);
	mp->fastrand = ((uint64_t)mp->tid << 32) ^ (uint64_t)gx_nanotime() ^ ((uint64_t)mp->id * 0x9E3779B97F4A7C15ULL);
	if (!mp->fastrand)
		mp->fastrand = 1;
	pthread_attr_t attr;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		void *addr;
		size_t size;
		pthread_attr_getstack(&attr, &addr, &size);
		mp->g0_stack_lo = (uintptr_t)addr;
		mp->g0_stack_size = size;
		pthread_attr_destroy(&attr);
	}
#if GX_TSAN
	mp->tsan_g0fiber = __tsan_get_current_fiber();
#endif
	gx_stack_sigsetup(mp);
	/* Every M starts from the program's initial signal mask (not from
	 * whoever created it: sysmon blocks everything) and always takes the
	 * runtime's own signals. */
	sigset_t mask = initial_sigmask;
	sigdelset(&mask, SIGURG);
	sigdelset(&mask, SIGSEGV);
	sigdelset(&mask, SIGBUS);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	/* Timers wake the M blocked in netpoll: with the default 50 us slack
	 * every sleep would be that late. */
	prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0);
}

static void *mstart(void *arg)
{
	struct gx_m *mp = arg;
	char name[16];
	snprintf(name, sizeof(name), "gx-m%lld", (long long)mp->id);
	pthread_setname_np(pthread_self(), name); /* top, perf, /proc/.../comm */
	minit(mp);
	struct gx_p *pp = mp->nextp;
	mp->nextp = NULL;
	if (pp)
		gx_acquirep(pp);
	else
		gx_stopm(); /* gx_newm_idle: idle until given a P */
	schedule();
}

/* newm - start a new M that will run pp. spinning: it starts as a spinning
 * M (already counted in nmspinning by the caller). Returns 0 or -errno; on
 * failure the caller still owns pp. */
static int newm(struct gx_p *pp, bool spinning, int64_t id)
{
	struct gx_m *mp = calloc(1, sizeof(*mp));
	if (!mp)
		return -ENOMEM;
	mp->id = id;
	mp->nextp = pp;
	mp->spinning = spinning;
	gx_kslot_initm(mp);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	int err = pthread_create(&th, &attr, mstart, mp);
	pthread_attr_destroy(&attr);
	if (err) {
		free(mp);
		return -err;
	}
	mp->alllink = atomic_load(&gx_sched.allm);
	while (!atomic_compare_exchange_weak(&gx_sched.allm, &mp->alllink, mp))
		;
	return 0;
}

/* After pthread_create fails (RLIMIT_NPROC, cgroup pids.max, memory),
 * startm does not try again for this long: a wakep at every gx_go would
 * otherwise pay a failing clone each. Long enough to cost nothing, short
 * enough that a thread freed by the limit's owner is used within a
 * scheduling round or two. */
#define NEWM_RETRY_NS ((int64_t)10 * 1000000)

static _Atomic int64_t newm_retry_at; /* no new M before this time (0: try) */

/* newm_backoff - newm, unless a recent failure says it will fail again;
 * the first failure prints one line naming the limit. */
static int newm_backoff(struct gx_p *pp, bool spinning, int64_t id)
{
	int64_t at = atomic_load_explicit(&newm_retry_at, memory_order_relaxed);
	if (at && gx_nanotime() < at)
		return -EAGAIN;
	int err = newm(pp, spinning, id);
	if (!err) {
		if (at)
			atomic_store_explicit(&newm_retry_at, 0, memory_order_relaxed);
		return 0;
	}
	atomic_store_explicit(&newm_retry_at, gx_nanotime() + NEWM_RETRY_NS, memory_order_relaxed);
	static _Atomic bool warned;
	if (!atomic_exchange(&warned, true))
		gx_print("gmpx: cannot create a thread (%s%s); running with the Ms it has (%lld)\n", strerror(-err),
			 err == -EAGAIN ? ": RLIMIT_NPROC, cgroup pids.max or kernel.threads-max" : "", (long long)id);
	return err;
}

/*
 * startm - have an M run pp (or an idle P if pp is NULL): an idle M, or a
 * new one. spinning: the M will look for work (the caller already counted
 * it in nmspinning; undone here if nothing can be started).
 */
static void startm(struct gx_p *pp, bool spinning)
{
	gx_lock(&gx_sched.lock);
	if (!pp) {
		pp = gx_pidleget();
		if (!pp) {
			gx_unlock(&gx_sched.lock);
			if (spinning)
				atomic_fetch_sub(&gx_sched.nmspinning, 1);
			return;
		}
	}
	struct gx_m *nmp = GX_KASSIST(mget, pp); /* scx: the one the BPF scheduler holds on pp's CPU */
	if (!nmp)
		nmp = mget();
	if (!nmp) {
		if (gx_sched.mnext >= gx_sched.maxmcount)
			gx_fatal("thread exhaustion: program exceeds %d-thread limit", gx_sched.maxmcount);
		int64_t id = gx_sched.mnext++;
		gx_unlock(&gx_sched.lock);
		int err = newm_backoff(pp, spinning, id);
		if (err) {
			/* No thread for pp: its queued work (a hand-off gives a P
			 * with work) goes to the global queue, where the Ms that
			 * exist find it, and pp waits on the idle list. */
			gx_lock(&gx_sched.lock);
			gx_sched.mnext--;
			gx_runqdrain_locked(pp);
			gx_pidleput(pp);
			gx_unlock(&gx_sched.lock);
			if (spinning)
				atomic_fetch_sub(&gx_sched.nmspinning, 1);
		}
		return;
	}
	gx_unlock(&gx_sched.lock);
	nmp->spinning = spinning;
	nmp->nextp = pp;
	gx_notewakeup(&nmp->park);
	/* An idle M may wait elsewhere than on its futex (kassist.h: idle). */
	GX_KASSIST(wakem, nmp);
}

int gx_newm_idle(void)
{
	gx_lock(&gx_sched.lock);
	if (gx_sched.mnext >= gx_sched.maxmcount) {
		gx_unlock(&gx_sched.lock);
		return -EAGAIN;
	}
	int64_t id = gx_sched.mnext++;
	gx_unlock(&gx_sched.lock);
	int err = newm(NULL, false, id);
	if (err) {
		gx_lock(&gx_sched.lock);
		gx_sched.mnext--;
		gx_unlock(&gx_sched.lock);
	}
	return err;
}

void gx_startm_idle(void)
{
	startm(NULL, false);
}

/*
 * gx_wakep - start a spinning M on an idle P if there is an idle P and
 * nobody is spinning yet. Called after making work runnable.
 */
static inline void wakep_nofence(void);

void gx_wakep(void)
{
	/* With one P, and that one ours, no P can be idle: skip the fence.
	 * (Only if we hold it: an M that just gave its P away, or sysmon,
	 * may be the one that has to wake the idle P.) */
	if (atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed) == 1) {
		struct gx_m *mp = getm();
		if (mp && mp->p)
			return;
	}
	/* Pairs with the fence in findrunnable's spinning -> idle path: our
	 * work is visible before we look for idle Ps, or they see it. */
	gx_storeload_fence();
	wakep_nofence();
}

/* wakep_nofence - gx_wakep for callers whose work was published under
 * sched.lock (the lock orders it against an M going idle). */
static inline void wakep_nofence(void)
{
	if (atomic_load_explicit(&gx_sched.npidle, memory_order_relaxed) == 0)
		return;
	int32_t zero = 0;
	if (atomic_load_explicit(&gx_sched.nmspinning, memory_order_relaxed) != 0 ||
	    !atomic_compare_exchange_strong(&gx_sched.nmspinning, &zero, 1))
		return;
	startm(NULL, true);
}

/*
 * handoffp - the current M gives pp away (it is about to block, or pp is
 * surplus): to a new M if there is work for it, else to the idle list.
 * Go's handoffp; used by syscall hand-off and by maxprocs changes.
 */
void gx_handoffp(struct gx_p *pp)
{
	atomic_fetch_add_explicit(&gx_rtstats.handoffs, 1, memory_order_relaxed);
	bool work = gx_p_haswork(pp, 0);
	gx_trace(GX_TEV_HANDOFF, pp->id, work, 0, 0);
	if (work) {
		startm(pp, false);
		return;
	}
	int32_t zero = 0;
	if (atomic_load(&gx_sched.nmspinning) + atomic_load(&gx_sched.npidle) == 0 &&
	    atomic_compare_exchange_strong(&gx_sched.nmspinning, &zero, 1)) {
		startm(pp, true);
		return;
	}
	gx_lock(&gx_sched.lock);
	if (gx_sched.runqsize != 0) {
		gx_unlock(&gx_sched.lock);
		startm(pp, false);
		return;
	}
	gx_pidleput(pp);
	gx_unlock(&gx_sched.lock);
	int64_t when = atomic_load(&pp->timer0when);
	if (when)
		gx_wakenetpoller(when); /* someone must poll for its timers */
}

/* gx_stopm - park the current M (no P) until startm gives it one. */
void gx_stopm(void)
{
	struct gx_m *mp = getm();
	if (unlikely(mp->p || mp->locks || mp->spinning))
		gx_fatal("gx_stopm holding a P or a lock, or still counted as spinning");
	gx_lock(&gx_sched.lock);
	mput(mp);
	gx_unlock(&gx_sched.lock);
	gx_trace(GX_TEV_MPARK, -1, 0, 0, 0);
	GX_KASSIST(idle, mp); /* trace, scx: maybe wait where the kernel can start us */
	gx_notesleep(&mp->park);
	gx_noteclear(&mp->park);
	struct gx_p *pp = mp->nextp;
	mp->nextp = NULL;
	gx_trace(GX_TEV_MWAKE, pp->id, 0, 0, 0);
	gx_acquirep(pp);
	if (mp->spinning) /* startm made it a spinning M */
		gx_trace(GX_TEV_MSPIN, pp->id, atomic_load(&gx_sched.nmspinning), 0, 0);
}

static void resetspinning(void)
{
	struct gx_m *mp = getm();
	mp->spinning = false;
	int32_t n = atomic_fetch_sub(&gx_sched.nmspinning, 1);
	if (unlikely(n <= 0))
		gx_fatal("resetspinning: negative nmspinning");
	gx_trace(GX_TEV_MSPINEND, -1, n - 1, 0, 0);
	/* We were looking for work and found some: there may be more, and
	 * nobody may be looking now. */
	gx_wakep();
}

/* ---- finding work ---------------------------------------------------------- */

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* stealwork - try to steal from every other P, 4 passes in random order;
 * runnext is taken only on the last pass. */
static gx_g *stealwork(struct gx_p *pp)
{
	int32_t n = gx_sched.nallp;
	for (int i = 0; i < STEAL_TRIES; i++) {
		bool stealnext = i == STEAL_TRIES - 1;
		uint32_t start = gx_fastrand() % (uint32_t)n;
		/* A stride coprime to n visits every P once, in an order that
		 * differs between Ms and passes. */
		uint32_t stride = 1 + gx_fastrand() % (uint32_t)n;
		while (gcd(stride, (uint32_t)n) != 1)
			stride = stride >= (uint32_t)n ? 1 : stride + 1;
		for (int32_t k = 0; k < n; k++) {
			struct gx_p *p2 = gx_allp[(start + (uint32_t)k * stride) % (uint32_t)n];
			if (p2 == pp || !p2)
				continue;
			if (atomic_load_explicit(&p2->status, memory_order_relaxed) == Pdead) {
				/* A P retired while its M held it (released through
				 * pidleput under sched.lock, where timers cannot move):
				 * adopt its timers. */
				if (atomic_load_explicit(&p2->timer0when, memory_order_relaxed))
					gx_movetimers(p2, pp);
				continue;
			}
			/* Last pass: run p2's due timers here (p2 may be busy
			 * with a long goroutine, or idle). What they ready
			 * lands in our queue. */
			if (stealnext && atomic_load_explicit(&p2->timer0when, memory_order_relaxed)) {
				gx_checktimers(p2, gx_nanotime());
				bool inherit;
				gx_g *gp = gx_runqget(pp, &inherit);
				if (gp)
					return gp;
			}
			gx_g *gp = gx_runqsteal(pp, p2, stealnext);
			if (gp) {
				gx_trace(GX_TEV_STEAL, pp->id, p2->id, gp->goid, 0);
				return gp;
			}
		}
	}
	return NULL;
}

/* netpolltake - of n goroutines netpoll made ready, run the first here and
 * queue the rest (injectglist). */
static gx_g *netpolltake(gx_g *list, int32_t n)
{
	gx_g *first = list;
	gx_injectglist(list->schedlink, n - 1);
	gx_casgstatus(first, Gwaiting, Grunnable);
	return first;
}

/*
 * findrunnable - find a G to run; blocks (parks the M) until one exists.
 * Returns with the M holding a P.
 */
static gx_g *findrunnable(bool *inherit_time)
{
	struct gx_m *mp = getm();
top:;
	struct gx_p *pp;
	if (unlikely(pretire())) {
		/* Our P was retired and no other was free. A spinning M must
		 * stop counting as one before it parks, or wakep would think
		 * someone is still looking for work (and wake nobody). */
		if (mp->spinning) {
			mp->spinning = false;
			int32_t n = atomic_fetch_sub(&gx_sched.nmspinning, 1);
			gx_trace(GX_TEV_MSPINEND, -1, n - 1, 0, 0);
			gx_wakep();
		}
		gx_stopm();
		goto top;
	}
	pp = mp->p;
	*inherit_time = false;

	/* Our due timers first: they may make Gs runnable. One load when
	 * there are none. */
	if (atomic_load_explicit(&pp->timer0when, memory_order_relaxed))
		gx_checktimers(pp, gx_nanotime());

	if (++pp->fairtick % SCHED_FAIRNESS_TICKS == 0 &&
	    atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed) > 0) {
		gx_lock(&gx_sched.lock);
		gx_g *gp = gx_globrunqget(pp, 1);
		if (gp && gp == pp->lastpreempted) {
			/* The G this P just preempted: taking it straight back
			 * would undo the preemption (a spinner would get a second
			 * quantum ahead of what it was preempted for). Take the
			 * one behind it and send it to the tail; if it is alone,
			 * leave it at the head. Only once: a P whose Gs never
			 * yield never preempts anything else, and a head skipped
			 * every time would starve the whole queue behind it. */
			gx_g *pre = gp;
			gp = gx_globrunqget(pp, 1);
			if (gp)
				gx_globrunqput(pre);
			else
				gx_globrunqputhead(pre);
			pp->lastpreempted = NULL;
		}
		gx_unlock(&gx_sched.lock);
		if (gp)
			return gp;
	}
	gx_g *gp = gx_runqget(pp, inherit_time);
	if (gp)
		return gp;
	if (atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed) != 0) {
		gx_lock(&gx_sched.lock);
		gp = gx_globrunqget(pp, 0);
		gx_unlock(&gx_sched.lock);
		if (gp)
			return gp;
	}

	/* Ready network I/O, without blocking, if goroutines wait on it and
	 * nobody is blocked in epoll already (Go's order: before stealing). */
	if (atomic_load_explicit(&gx_netpollwaiters, memory_order_relaxed) > 0 &&
	    atomic_load_explicit(&gx_sched.lastpoll, memory_order_relaxed) != 0) {
		int32_t n;
		gx_g *list = gx_netpoll(0, &n);
		if (list)
			return netpolltake(list, n);
	}

	/* Steal, if this M may spin: limit spinning Ms to half the busy Ps so
	 * that idle CPUs are not burned when parallelism is low. */
	int32_t procs = atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed);
	int32_t busy = procs - atomic_load_explicit(&gx_sched.npidle, memory_order_relaxed);
	if (mp->spinning || 2 * atomic_load_explicit(&gx_sched.nmspinning, memory_order_relaxed) < busy) {
		if (!mp->spinning) {
			mp->spinning = true;
			int32_t n = atomic_fetch_add(&gx_sched.nmspinning, 1);
			gx_trace(GX_TEV_MSPIN, pp->id, n + 1, 0, 0);
		}
		gp = stealwork(pp);
		if (gp)
			return gp;
	}

	/* Nothing: give up the P. */
	gx_lock(&gx_sched.lock);
	if (gx_sched.runqsize != 0) {
		gp = gx_globrunqget(pp, 0);
		gx_unlock(&gx_sched.lock);
		return gp;
	}
	gx_pidleput(gx_releasep());
	gx_unlock(&gx_sched.lock);

	/* spinning -> idle: drop the count first, then look again, so that a
	 * submitter that saw us spinning (and so did not wake anyone) has its
	 * work seen here. */
	bool was_spinning = mp->spinning;
	if (was_spinning) {
		mp->spinning = false;
		int32_t n = atomic_fetch_sub(&gx_sched.nmspinning, 1);
		if (n <= 0)
			gx_fatal("findrunnable: negative nmspinning");
		gx_trace(GX_TEV_MSPINEND, -1, n - 1, 0, 0);
	}
	gx_storeload_fence();
	bool work = atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed) != 0;
	for (int32_t i = 0; !work && i < gx_sched.nallp; i++) {
		struct gx_p *p2 = gx_allp[i];
		if (p2 && atomic_load_explicit(&p2->status, memory_order_relaxed) != Pdead && !gx_runqempty(p2))
			work = true;
	}
	int64_t polluntil = gx_timers_next();
	if (work || (polluntil && polluntil <= gx_nanotime())) {
		/* Runnable Gs, or timers due on some idle or busy P: get a P
		 * back (the stealing pass runs other Ps' timers). */
		gx_lock(&gx_sched.lock);
		pp = gx_pidleget();
		gx_unlock(&gx_sched.lock);
		if (pp) {
			gx_acquirep(pp);
			mp->spinning = true;
			int32_t n = atomic_fetch_add(&gx_sched.nmspinning, 1);
			gx_trace(GX_TEV_MSPIN, pp->id, n + 1, 0, 0);
			goto top;
		}
	}
	/* Nothing to run. If timers are pending and nobody is polling, this M
	 * sleeps in netpoll until the earliest one (woken early by
	 * gx_netpollbreak); otherwise it parks. */
	bool iowait = atomic_load(&gx_netpollwaiters) > 0;
	if ((polluntil || iowait) && atomic_exchange(&gx_sched.lastpoll, 0) != 0) {
		atomic_store(&gx_sched.polluntil, polluntil);
		int64_t delay = -1;
		if (polluntil) {
			delay = polluntil - gx_nanotime();
			if (delay < 0)
				delay = 0;
		}
		int32_t n;
		gx_g *list = gx_netpoll(delay, &n);
		atomic_store(&gx_sched.polluntil, 0);
		atomic_store(&gx_sched.lastpoll, gx_nanotime());
		gx_lock(&gx_sched.lock);
		pp = gx_pidleget();
		gx_unlock(&gx_sched.lock);
		if (pp) {
			gx_acquirep(pp);
			if (list)
				return netpolltake(list, n);
			goto top;
		}
		/* Every P is busy: what became ready goes to the global queue;
		 * their Ms run timers at their next scheduling point. */
		gx_injectglist(list, n);
	} else if (polluntil) {
		int64_t until = atomic_load(&gx_sched.polluntil);
		if (until == 0 || until > polluntil)
			gx_netpollbreak(); /* the poller must wake earlier */
	}
	gx_stopm();
	goto top;
}

/* The mcall continuations -------------------------------------------------- */

static gx_g *gosched_m(gx_g *gp)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->p;
	setgstatus(gp, Grunning, Grunnable);
	gx_trace(GX_TEV_GOSTOP, pp->id, GX_TSTOP_YIELD, gp->goid, 0);
	dropg(mp);
	/* If this P has no local work, no due timers and is not being
	 * retired, findrunnable would take the head of the global queue next:
	 * take it in the same critical section (one lock round trip per
	 * yield instead of two). Same choice, same order. */
	bool fast = !mp->lockedg && gx_runqempty(pp) &&
		    atomic_load_explicit(&pp->timer0when, memory_order_relaxed) == 0 &&
		    pp->id < atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed);
	gx_lock(&gx_sched.lock);
	gx_globrunqput(gp);
	gx_g *next = fast ? gx_globrunqget(pp, 0) : NULL;
	gx_unlock(&gx_sched.lock);
	/* No fence needed: the work was published under sched.lock, which an
	 * M going idle also takes (and re-checks runqsize under). */
	wakep_nofence();
	if (next) {
		pp->fairtick++;
		if (next == gp) {
			/* alone: keep running, but a yield ends the time slice */
			atomic_store_explicit(&pp->schedtick, pp->schedtick + 1, memory_order_relaxed);
			atomic_store_explicit(&pp->slicestart, gx_cputicks(), memory_order_relaxed);
			gx_kpub_slice(pp);
			return gp;
		}
	}
	return next;
}

static gx_g *park_m(gx_g *gp)
{
	struct gx_m *mp = getm();
	setgstatus(gp, Grunning, Gwaiting);
	gx_trace(GX_TEV_GOSTOP, mp->p->id, GX_TSTOP_PARK, gp->goid, gp->waitreason);
	dropg(mp);
	bool (*f)(gx_g *, void *) = mp->waitunlockf;
	if (f) {
		void *lock = mp->waitlock;
		mp->waitunlockf = NULL;
		mp->waitlock = NULL;
		if (!f(gp, lock)) {
			setgstatus(gp, Gwaiting, Grunnable);
			return gp;
		}
	}
	return NULL;
}

static void gdestroy(struct gx_p *pp, gx_g *gp)
{
	gx_asan_stack_dead(gp->stack.lo, gp->stack.size, (uintptr_t)gp->sp); /* ASan: the frames it exited through */
	gx_stackfree(pp, gp->stackclass, &gp->stack);
#if GX_TSAN
	__tsan_destroy_fiber(gp->tsan_fiber);
	gp->tsan_fiber = NULL;
#endif
	if (unlikely(atomic_load_explicit(&gx_sched.nstackwait, memory_order_relaxed) > 0)) {
		/* Someone is waiting for memory: retry them all now. */
		gx_lock(&gx_sched.lock);
		while (gx_sched.stackwait) {
			gx_g *w = gx_sched.stackwait;
			gx_sched.stackwait = w->schedlink;
			gx_globrunqput(w);
		}
		atomic_store(&gx_sched.nstackwait, 0);
		gx_unlock(&gx_sched.lock);
		gx_wakep();
	}
	gp->fn = NULL;
	gp->arg = NULL;
	gp->name = NULL;
	gp->waitreason = NULL;
	gp->param = NULL;
	atomic_store_explicit(&pp->nexited, pp->nexited + 1, memory_order_relaxed);
	gx_gfput(pp, gp);
}

static gx_g *goexit0(gx_g *gp)
{
	struct gx_m *mp = getm();
	setgstatus(gp, Grunning, Gdead);
	gx_trace(GX_TEV_GOSTOP, mp->p->id, GX_TSTOP_EXIT, gp->goid, 0);
	dropg(mp);
	if (gp->lockedm) { /* exited while locked: the thread is free again */
		gp->lockedm = NULL;
		gp->lockedcount = 0;
		mp->lockedg = NULL;
	}
	gdestroy(mp->p, gp);
	return NULL;
}

static void goexit1(void)
{
	gx_mcall(goexit0, true, false);
	__builtin_unreachable();
}

static void stackwait_put(gx_g *gp)
{
	static _Atomic bool warned;
	if (!atomic_exchange(&warned, true))
		gx_print("gmpx: cannot allocate a stack for goroutine %lld (out of memory); it waits for one\n",
			 (long long)gp->goid);
	gx_lock(&gx_sched.lock);
	gp->schedlink = gx_sched.stackwait;
	gx_sched.stackwait = gp;
	atomic_fetch_add(&gx_sched.nstackwait, 1);
	gx_unlock(&gx_sched.lock);
}

/*
 * schedule - the M's scheduling loop on g0. Never returns.
 */
static void schedule(void)
{
	struct gx_m *mp = getm();
	for (;;) {
		bool inherit = false;
		gx_g *gp;
		if (unlikely(mp->lockedg != NULL)) {
			gx_stoplockedm(); /* returns with a P when our G is runnable */
			gp = mp->lockedg;
		} else {
			gp = findrunnable(&inherit);
			if (mp->spinning)
				resetspinning();
		}
		while (gp) {
			if (unlikely(gp->lockedm && gp->lockedm != mp)) {
				gx_startlockedm(gp);
				break;
			}
			if (!execute(gp, inherit))
				break;
			/* gp mcalled back: run its continuation on g0, which may
			 * name the next G itself (park: resume at once; gosched:
			 * the head of the global queue, a new time slice) */
			gx_g *cur = mp->curg;
			gp = mp->mcallfn(cur);
			inherit = gp == cur;
		}
	}
}

/* ---- ready and park ----------------------------------------------------------- */

/*
 * gx_ready_g - make a waiting gp runnable: into the current P's runnext
 * (next) or the tail of its local queue; from a thread without a P, into
 * the global queue. Wakes an idle P if nobody is looking for work.
 */
void gx_ready_g(gx_g *gp, bool next)
{
	GX_ASSERT_INRT("gx_ready_g");
	gx_casgstatus(gp, Gwaiting, Grunnable);
	struct gx_m *mp = getm();
	if (mp && mp->p) {
		gx_runqput(mp->p, gp, next);
		gx_kpub_runq(mp->p);
	} else {
		gx_lock(&gx_sched.lock);
		gx_globrunqput(gp);
		gx_unlock(&gx_sched.lock);
	}
	gx_wakep();
}

/*
 * switchto - the direct G-to-G switch of gx_yield's and gx_gopark's fast
 * paths: gp leaves the M (its new status and queue already set, the lock
 * or parked G recorded for switchdone), next (Grunnable, with a stack)
 * takes it. Returns when gp runs again.
 */
static void switchto(struct gx_m *mp, gx_g *gp, gx_g *next, uint32_t why)
{
	gp->m = NULL;
	mp->curg = next;
	next->m = mp;
	setgstatus(next, Grunnable, Grunning);
	if (gx_trace_on()) /* gp's stop and next's start, at one time */
		gx_trace_switch(mp->p->id, why, gp->goid, why == GX_TSTOP_PARK ? gp->waitreason : NULL, next->goid,
				gx_runqlen(mp->p));
	if (gx_schedlat_enabled())
		gx_schedlat_record(mp->p, next, gx_cputicks());
	atomic_store_explicit(&mp->p->executions, mp->p->executions + 1, memory_order_relaxed);
#if GX_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(&fake, (void *)next->stack.lo, next->stack.size);
#endif
#if GX_TSAN
	__tsan_switch_to_fiber(next->tsan_fiber, 0);
#endif
	gx_ctx_switch(&gp->sp, next->sp);
#if GX_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
	switchdone();
}

/*
 * parkdirect - gx_gopark's fast path: switch from the parking gp straight
 * to the G in this P's runnext, skipping the trip through g0, when that is
 * exactly what findrunnable would run next: not a 1-in-61 global-queue
 * round, no timers on this P, the P not retiring, nothing locked to a
 * thread, and the next G already has a stack. The wait-queue lock stays
 * held across the switch (nobody can find gp to ready it until then) and
 * the G we switch to releases it by running unlockf (switchdone). A
 * channel ping-pong then costs one switch per hand-off instead of two.
 */
static bool parkdirect(struct gx_m *mp, gx_g *gp)
{
	struct gx_p *pp = mp->p;
	if (mp->lockedg || mp->switchunlock || atomic_load_explicit(&pp->timer0when, memory_order_relaxed) != 0 ||
	    (pp->fairtick + 1) % SCHED_FAIRNESS_TICKS == 0 ||
	    pp->id >= atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed))
		return false;
	/* Take it before looking at it: a thief may be starting it. */
	gx_g *next = atomic_exchange_explicit(&pp->runnext, NULL, memory_order_acq_rel);
	if (!next)
		return false;
	if (next->stack.lo == 0 || next->lockedm) {
		/* Only the owner P sets runnext, and we just emptied it. */
		atomic_store_explicit(&pp->runnext, next, memory_order_release);
		return false;
	}
	pp->fairtick++;
	setgstatus(gp, Grunning, Gwaiting);
	mp->switchparked = gp;
	switchto(mp, gp, next, GX_TSTOP_PARK); /* next inherits the time slice: runnext */
	return true;
}

void gx_gopark(bool (*unlockf)(gx_g *, void *), void *lock, const char *reason)
{
	GX_ASSERT_INRT("gx_gopark");
	gx_freezecheck(); /* before gp can be marked waiting while still on its stack */
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	gp->waitreason = reason;
	gp->waitsince = gx_coarsenow();
	mp->waitunlockf = unlockf;
	mp->waitlock = lock;
	/* The lock (if any) stays held across the switch and is released by
	 * unlockf on g0 of this same M, or by the G we switch to directly. */
	/* Only a lock-protected park may go direct: gp is marked waiting
	 * before we leave its stack, and only the lock keeps wakers away. */
	if (!unlockf || !parkdirect(mp, gp))
		gx_mcall(park_m, false, unlockf != NULL);
}

/* ---- public API ------------------------------------------------------------------- */

/* goattr - gx_go_attr for a caller at pc (the return address of its
 * gx_go call: dumps' "created by"). */
static inline int64_t goattr(const gx_attr *attr, gx_fn fn, void *arg, uintptr_t pc)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	int64_t id = gx_newproc(attr, fn, arg, pc);
	gx_preempt_point();
	return id;
}

int64_t gx_go_attr(const gx_attr *attr, gx_fn fn, void *arg)
{
	return goattr(attr, fn, arg, (uintptr_t)__builtin_return_address(0));
}

/* gx_newproc - create a goroutine on the current M's P (Go's newproc);
 * from a goroutine or from g0 with a P (timer callbacks). */
int64_t gx_newproc(const gx_attr *attr, gx_fn fn, void *arg, uintptr_t gopc)
{
	GX_ASSERT_INRT("gx_newproc");
	struct gx_m *mp = getm();
	if (!mp || !mp->p)
		return -EPERM;
	if (!fn)
		return -EINVAL;
	uint32_t cls = gx_stackclass_default();
	size_t argsize = 0;
	const char *name = NULL;
	if (attr) {
		if (attr->stack_size && gx_stackclass(attr->stack_size, &cls) != 0)
			return -EINVAL;
		argsize = attr->arg_size;
		if (argsize > GX_ARG_MAX || (argsize && !arg))
			return -EINVAL;
		name = attr->name;
	}
	struct gx_p *pp = mp->p;
	int err = gx_stackreserve(pp, cls);
	if (err)
		return err;
	gx_g *gp = gx_gfget(pp);
	if (!gp)
		return -ENOMEM;
	gp->fn = fn;
	atomic_store_explicit(&gp->rtdepth, 1, memory_order_relaxed); /* until gentry calls fn */
	if (argsize) {
		memcpy(gp->argbuf, arg, argsize);
		gp->arg = gp->argbuf;
	} else {
		gp->arg = arg;
	}
	gp->name = name;
	gp->stackclass = cls;
	gp->goid = gx_newgoid(pp);
	gp->waitreason = NULL;
	gp->gopc = gopc;
	gp->parentgoid = mp->curg ? mp->curg->goid : 0;
	int64_t id = gp->goid;
	atomic_store_explicit(&pp->ncreated, pp->ncreated + 1, memory_order_relaxed);
	if (gx_trace_on())
		gx_trace_gocreate(id, gp->parentgoid, name);
	setgstatus(gp, Gdead, Grunnable);
	gx_runqput(pp, gp, true);
	gx_kpub_runq(pp);
	gx_wakep();
	return id;
}

int64_t gx_go(gx_fn fn, void *arg)
{
	return goattr(NULL, fn, arg, (uintptr_t)__builtin_return_address(0));
}

int64_t gx_go_copy(gx_fn fn, const void *arg, size_t size)
{
	gx_attr a = {.arg_size = size};
	return goattr(&a, fn, (void *)(uintptr_t)arg, (uintptr_t)__builtin_return_address(0));
}

/*
 * gx_yield - Go's Gosched: the caller goes to the tail of the global queue.
 *
 * Fast path (the common case of goroutines taking turns): when this P has
 * no local work and no timers, the next G is the head of the global queue
 * and already has a stack, switch to it directly instead of through g0.
 * The caller is queued under sched.lock and the lock stays held across the
 * switch, so no other M can take the caller off the queue while we are
 * still on its stack; the G we switch to releases it (switchdone). That is
 * one context switch and one lock round trip per yield; the choice of G is
 * the one findrunnable would make.
 */
int gx_yield(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	gx_freezecheck(); /* before the fast path marks us runnable on our stack */
	gx_g *gp = mp->curg;
	struct gx_p *pp = mp->p;
	if (mp->lockedg || !gx_runqempty(pp) || atomic_load_explicit(&pp->timer0when, memory_order_relaxed) != 0 ||
	    pp->id >= atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed) || mp->locks) {
		gx_mcall(gosched_m, false, false);
		return 0;
	}
	gx_lock(&gx_sched.lock);
	gx_g *next = gx_sched.runqhead;
	if (!next || next->stack.lo == 0 || next->lockedm) {
		/* nothing else to run, or it needs a stack: the g0 path */
		gx_unlock(&gx_sched.lock);
		gx_mcall(gosched_m, false, false);
		return 0;
	}
	next = gx_globrunqget(pp, 0);
	setgstatus(gp, Grunning, Grunnable);
	gx_globrunqput(gp);
	atomic_store_explicit(&pp->schedtick, pp->schedtick + 1, memory_order_relaxed);
	atomic_store_explicit(&pp->preempt, false, memory_order_relaxed);
	gx_kpub_slice(pp);
	pp->fairtick++;
	mp->switchunlock = &gx_sched.lock;
	switchto(mp, gp, next, GX_TSTOP_YIELD); /* a new time slice (not stamped: see sysmon.c) */
	return 0;
}

int64_t gx_id(void)
{
	gx_g *gp = getg();
	return gp ? gp->goid : -EPERM;
}

gx_g *gx_self(void)
{
	return getg();
}

int gx_park(bool (*unlockf)(gx_g *g, void *lock), void *lock, const char *reason)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	gx_gopark(unlockf, lock, reason ? reason : "park");
	return 0;
}

void gx_ready(gx_g *g)
{
	GX_ENTER();
	if (!g)
		return;
	gx_ready_g(g, true);
}

int64_t gx_num_goroutines(void)
{
	int64_t n = 0;
	for (int32_t i = 0; i < gx_sched.nallp; i++) {
		struct gx_p *pp = gx_allp[i];
		if (pp)
			n += atomic_load_explicit(&pp->ncreated, memory_order_relaxed) -
			     atomic_load_explicit(&pp->nexited, memory_order_relaxed);
	}
	return n;
}

/* ---- starting the runtime ---------------------------------------------------------------- */

static int (*main_fn)(int, char **);
static int main_argc;
static char **main_argv;

static void main_goroutine(void *arg)
{
	(void)arg;
	int code = main_fn(main_argc, main_argv);
	gx_exit(code);
}

void gx_exit(int code)
{
	fflush(NULL);
	exit(code);
}

static int envint(const char *name, int def)
{
	const char *e = getenv(name);
	if (!e || !*e)
		return def;
	char *end;
	long v = strtol(e, &end, 10);
	if (*end || v < 1 || v > 1 << 30) {
		gx_print("gmpx: %s=%s is not a positive integer; ignored\n", name, e);
		return def;
	}
	return (int)v;
}

/* rlimit_as_text - RLIMIT_AS for a fatal message: "unlimited" or "N KiB". */
static const char *rlimit_as_text(void)
{
	static char buf[32];
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, sizeof(buf), "%llu KiB", (unsigned long long)rl.rlim_cur >> 10);
	return buf;
}

void gx_main(int (*fn)(int argc, char **argv), int argc, char **argv)
{
	if (atomic_exchange(&gx_sched.started, true))
		gx_fatal("gx_main called twice");
	if (!fn)
		gx_fatal("gx_main: NULL main function");
	main_fn = fn;
	main_argc = argc;
	main_argv = argv;

	const char *dbg = getenv("GX_DEBUG");
	if (dbg)
		gx_parsedebug(dbg);

	int procs = gx_preset_maxprocs;
	if (!procs) {
		procs = envint("GX_MAXPROCS", 0);
		if (procs > GX_MAXPROCS_LIMIT) {
			gx_print("gmpx: GX_MAXPROCS=%d exceeds %d; using %d\n", procs, GX_MAXPROCS_LIMIT,
				 GX_MAXPROCS_LIMIT);
			procs = GX_MAXPROCS_LIMIT;
		}
		if (!procs)
			procs = gx_default_maxprocs();
	}
	gx_sched.maxmcount =
		gx_preset_maxthreads ? gx_preset_maxthreads : envint("GX_MAXTHREADS", GX_MAXMCOUNT_DEFAULT);
	gx_sched.starttime = gx_nanotime();
	gx_sched.startticks = gx_cputicks();
	atomic_store_explicit(&gx_sched.coarsenow, gx_sched.starttime, memory_order_relaxed);
	gx_stackinit();
	gx_netpollinit();

	pthread_sigmask(SIG_SETMASK, NULL, &initial_sigmask);
	if (!gx_debug.nosigquit)
		gx_dump_siginit(); /* SIGQUIT: every goroutine's stack, exit 2 */
	/* A write to a closed pipe or socket returns -EPIPE instead of killing
	 * the program (only if the program left SIGPIPE at its default). */
	struct sigaction old;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	/* Servers need fds: raise the soft limit to the hard one, as Go does. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	struct gx_m *mp = &m0;
	mp->id = 0;
	gx_kslot_initm(mp);
	gx_sched.mnext = 1;
	atomic_store(&gx_sched.allm, mp);
	minit(mp);

	gx_lock(&gx_sched.lock);
	if (gx_procresize(procs) != 0)
		gx_fatal("cannot allocate %d Ps", procs);
	struct gx_p *pp = gx_pidleget();
	gx_unlock(&gx_sched.lock);
	gx_acquirep(pp);
	gx_kassist_attach(); /* before any other M or goroutine exists */

	/* Goroutine 1, with a main-thread-sized stack. */
	uint32_t cls;
	gx_stackclass(GX_MAIN_STACK, &cls);
	gx_g *gp = gx_gfget(pp);
	if (!gp)
		gx_fatal("out of memory starting the main goroutine");
	gp->fn = main_goroutine;
	atomic_store_explicit(&gp->rtdepth, 1, memory_order_relaxed); /* until gentry calls fn */
	gp->stackclass = cls;
	gp->goid = gx_newgoid(pp);
	gp->name = NULL;
	/* Its stack now: without one nothing can ever run, and gx_main
	 * promises a fatal error rather than a wait for memory. */
	if (gstackget(pp, gp) != 0)
		gx_fatal("cannot allocate the main goroutine's %zu KiB stack: out of memory or address space "
			 "(RLIMIT_AS is %s)",
			 (size_t)GX_MAIN_STACK >> 10, rlimit_as_text());
	atomic_store_explicit(&pp->ncreated, 1, memory_order_relaxed);
	setgstatus(gp, Gdead, Grunnable);
	gx_runqput(pp, gp, true);

	gx_preemptinit();
	gx_trace_init(); /* GX_TRACE */
	gx_sysmon_start();
	GX_KASSIST(start); /* scx: standby Ms for the BPF scheduler to hold */
	schedule();
}
