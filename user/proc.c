/* SPDX-License-Identifier: MIT */
/*
 * proc.c - the scheduler: Gs, Ms and Ps (Go's runtime/proc.go).
 *
 * The model. A G is a goroutine; an M is an OS thread; a P is the right to
 * run goroutine code, gomaxprocs of them. An M runs Gs only while it holds
 * a P. Each M's own pthread stack is its g0: schedule() and findrunnable()
 * run there, and a G returns to it through mcall() to park, yield or exit.
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
 *  - sched.lock is never held across a goroutine switch; m->locks > 0
 *    means no switch (asserted in mcall).
 *  - Ps with id >= gomaxprocs are retired by their M at its next
 *    schedule() (their Gs go to the global queue); no stop-the-world.
 *
 * Deadlock: when the last M goes idle (mput) while goroutines exist,
 * nothing can ever wake them: checkdead reports them, like Go.
 */
#include "runtime.h"
#include "netpoll.h"

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
static int preset_maxprocs;	 /* gx_maxprocs before gx_main */
static int preset_maxthreads;	 /* gx_set_max_threads before gx_main */
static bool deadlock_check = true;

#define MAXMCOUNT_DEFAULT    10000
#define GOIDCACHE_BATCH	     16
#define GFREE_LOCAL_MAX	     64 /* free Gs a P keeps before moving half to the global list */
#define GSLAB_N		     64 /* Gs allocated at once */
#define SCHED_FAIRNESS_TICKS 61 /* Go's: prime, so it does not resonate with program periods */
#define STEAL_TRIES	     4
#define TIMER_SLACK_NS	     1000 /* kernel default 50 us; see minit */

static void schedule(void) __attribute__((noreturn));
static void stopm(void);

/* ---- diagnostics -------------------------------------------------------- */

void gx_print(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	ssize_t r = write(2, buf, (size_t)n);
	(void)r;
}

void gx_fatal(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	gx_g *gp = getg();
	if (gp)
		gx_print("gmpx: fatal: %s [goroutine %lld%s%s%s]\n", buf, (long long)gp->goid, gp->name ? " \"" : "",
			 gp->name ? gp->name : "", gp->name ? "\"" : "");
	else
		gx_print("gmpx: fatal: %s [on the scheduler stack of M%lld]\n", buf,
			 getm() ? (long long)getm()->id : -1LL);
	_exit(2);
}

static const char *const gstatus_names[Gnstatus] = {"idle",    "runnable",  "running", "syscall",
						    "waiting", "preempted", "dead"};

const char *gx_gstatus_name(uint32_t st)
{
	return st < Gnstatus ? gstatus_names[st] : "???";
}

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

/* ---- G allocation: slabs, never freed; free lists per P and global ------- */

struct gx_gslab {
	struct gx_gslab *next;
	gx_g gs[GSLAB_N];
};
static _Atomic(struct gx_gslab *) allgslabs;

GX_NO_TSAN void gx_forallg(void (*fn)(gx_g *gp, void *arg), void *arg)
{
	for (struct gx_gslab *s = atomic_load(&allgslabs); s; s = s->next)
		for (int i = 0; i < GSLAB_N; i++)
			if (atomic_load_explicit(&s->gs[i].status, memory_order_relaxed) != Gidle)
				fn(&s->gs[i], arg);
}

static void gfput(struct gx_p *pp, gx_g *gp)
{
	gp->schedlink = pp->gfree;
	pp->gfree = gp;
	if (++pp->gfreecnt < GFREE_LOCAL_MAX)
		return;
	gx_lock(&gx_sched.gflock);
	while (pp->gfreecnt > GFREE_LOCAL_MAX / 2) {
		gx_g *g = pp->gfree;
		pp->gfree = g->schedlink;
		pp->gfreecnt--;
		g->schedlink = gx_sched.gfree;
		gx_sched.gfree = g;
		atomic_fetch_add_explicit(&gx_sched.ngfree, 1, memory_order_relaxed);
	}
	gx_unlock(&gx_sched.gflock);
}

/* gfget - a dead G from pp's list, the global list, or a new slab. */
static gx_g *gfget(struct gx_p *pp)
{
	if (!pp->gfree && atomic_load_explicit(&gx_sched.ngfree, memory_order_relaxed) > 0) {
		gx_lock(&gx_sched.gflock);
		while (pp->gfreecnt < GFREE_LOCAL_MAX / 2 && gx_sched.gfree) {
			gx_g *g = gx_sched.gfree;
			gx_sched.gfree = g->schedlink;
			atomic_fetch_sub_explicit(&gx_sched.ngfree, 1, memory_order_relaxed);
			g->schedlink = pp->gfree;
			pp->gfree = g;
			pp->gfreecnt++;
		}
		gx_unlock(&gx_sched.gflock);
	}
	if (!pp->gfree) {
		struct gx_gslab *s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		for (int i = GSLAB_N - 1; i >= 0; i--) {
			gx_g *g = &s->gs[i];
			atomic_store_explicit(&g->status, Gdead, memory_order_relaxed);
			g->schedlink = pp->gfree;
			pp->gfree = g;
			pp->gfreecnt++;
		}
		s->next = atomic_load(&allgslabs);
		while (!atomic_compare_exchange_weak(&allgslabs, &s->next, s))
			;
	}
	gx_g *gp = pp->gfree;
	pp->gfree = gp->schedlink;
	pp->gfreecnt--;
	gp->schedlink = NULL;
	return gp;
}

static int64_t newgoid(struct gx_p *pp)
{
	if (pp->goidcache == pp->goidcacheend) {
		pp->goidcache = atomic_fetch_add(&gx_sched.goidgen, GOIDCACHE_BATCH) + 1;
		pp->goidcacheend = pp->goidcache + GOIDCACHE_BATCH;
	}
	return pp->goidcache++;
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
	atomic_store_explicit(&gp->status, new, memory_order_release);
}

void gx_casgstatus(gx_g *gp, uint32_t old, uint32_t new)
{
	uint32_t cur = old;
	if (unlikely(!atomic_compare_exchange_strong_explicit(&gp->status, &cur, new, memory_order_acq_rel,
							      memory_order_relaxed)))
		gx_fatal("casgstatus: goroutine %lld is %s, want %s -> %s", (long long)gp->goid, gx_gstatus_name(cur),
			 gx_gstatus_name(old), gx_gstatus_name(new));
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
			atomic_store_explicit(&parked->status, Grunnable, memory_order_release);
			gx_runqput(mp->p, parked, true);
		}
	}
}

/*
 * mcall - switch from the running G to g0 and have g0 call fn(gp). fn
 * returns the G to resume at once (without a trip through findrunnable),
 * or NULL to schedule. When this G is resumed later, mcall returns, maybe
 * on another M. dying: the G will never run again (its ASan fake stack is
 * released). lockheld: runtime locks are held on purpose, to be released by
 * fn on g0 (gx_gopark's unlockf: one wait-queue lock, or every channel lock
 * of a select).
 */
static void mcall(gx_g *(*fn)(gx_g *), bool dying, bool lockheld)
{
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	if (unlikely(!lockheld && mp->locks))
		gx_fatal("mcall with %u runtime locks held", mp->locks);
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

void gx_mcall(gx_g *(*fn)(gx_g *))
{
	mcall(fn, false, false);
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
	atomic_store_explicit(&gp->rtdepth, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	goexit1();
}

static void stackwait_put(gx_g *gp);

/*
 * execute - run gp on the current M (on g0). Returns when gp mcalls back.
 * inherit_time: gp continues the current time slice (came from runnext).
 * Returns false if gp could not get a stack (it waits for one instead).
 */
static bool execute(gx_g *gp, bool inherit_time)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->p;
	if (unlikely(gp->stack.lo == 0)) {
		int err = gx_stackalloc(pp, gp->stackclass, &gp->stack);
		if (unlikely(err)) {
			stackwait_put(gp);
			return false;
		}
		gp->sp = gx_ctx_make((void *)(gp->stack.lo + gp->stack.size), gentry, gp);
#if GX_TSAN
		/* TSan counts fibers as threads (at most 8128): give one only to
		 * Gs that have a stack. */
		gp->tsan_fiber = __tsan_create_fiber(0);
#endif
	}
	mp->curg = gp;
	gp->m = mp;
	setgstatus(gp, Grunnable, Grunning);
	if (!inherit_time) {
		atomic_store_explicit(&pp->schedtick, pp->schedtick + 1, memory_order_relaxed);
		atomic_store_explicit(&pp->slicestart, gx_cputicks(), memory_order_relaxed);
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

static void acquirep(struct gx_p *pp)
{
	struct gx_m *mp = getm();
	if (unlikely(mp->p || pp->m))
		gx_fatal("acquirep: M%lld already has P%d or P%d has M", (long long)mp->id, mp->p ? mp->p->id : -1,
			 pp->id);
	mp->p = pp;
	atomic_store_explicit(&pp->m, mp, memory_order_relaxed);
	atomic_store_explicit(&pp->status, Prunning, memory_order_release);
	gx_kpub_acquirep(mp, pp);
	gx_sysmon_kick(); /* one load: sysmon sleeps deeply only while every P is idle */
	if (unlikely(mp->kscx))
		gx_kassist_oncpu(pp); /* scx: run on pp's CPU */
}

void gx_acquirep(struct gx_p *pp)
{
	acquirep(pp);
}

static struct gx_p *releasep(void)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->p;
	gx_kpub_releasep(mp, pp, GX_KP_IDLE);
	atomic_store_explicit(&pp->m, NULL, memory_order_relaxed);
	mp->p = NULL;
	atomic_store_explicit(&pp->status, Pidle, memory_order_release);
	return pp;
}

/* pidleput - put pp on the idle list, or retire it if it is beyond
 * gomaxprocs. sched.lock held; pp's queue is empty. */
static void pidleput(struct gx_p *pp)
{
	if (unlikely(!gx_runqempty(pp)))
		gx_fatal("pidleput: P%d with a non-empty run queue", pp->id);
	if (pp->id >= atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed)) {
		atomic_store_explicit(&pp->status, Pdead, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&pp->status, Pidle, memory_order_relaxed);
	pp->kslot->owner = -1;
	pp->kslot->status = GX_KP_IDLE;
	pp->link = gx_sched.pidle;
	gx_sched.pidle = pp;
	atomic_fetch_add(&gx_sched.npidle, 1);
}

/* gx_pidleget - an idle P, or NULL. sched.lock held. */
struct gx_p *gx_pidleget(void)
{
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
	releasep();
	atomic_store_explicit(&pp->status, Pdead, memory_order_relaxed);
	struct gx_p *np = gx_pidleget();
	gx_unlock(&gx_sched.lock);
	gx_movetimers(pp, np ? np : gx_allp[0]); /* P0 always survives a resize */
	if (np)
		acquirep(np);
	gx_wakep();
	return np == NULL;
}

/* mput - put mp on the idle M list. sched.lock held. */
static void checkdead(void);
static void mput(struct gx_m *mp)
{
	mp->schedlink = gx_sched.midle;
	gx_sched.midle = mp;
	gx_sched.nmidle++;
	checkdead();
}

static struct gx_m *mget(void)
{
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
	gx_kassist_minit(mp);
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
		acquirep(pp);
	else
		stopm(); /* gx_newm_idle: idle until given a P */
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
	struct gx_m *nmp = NULL;
	if (atomic_load_explicit(&gx_kassist_scx, memory_order_relaxed))
		nmp = gx_kassist_scx_mget(pp); /* the one the BPF scheduler holds on pp's CPU */
	if (!nmp)
		nmp = mget();
	if (!nmp) {
		if (gx_sched.mnext >= gx_sched.maxmcount)
			gx_fatal("thread exhaustion: program exceeds %d-thread limit", gx_sched.maxmcount);
		int64_t id = gx_sched.mnext++;
		gx_unlock(&gx_sched.lock);
		int err = newm(pp, spinning, id);
		if (err) {
			static _Atomic bool warned;
			if (!atomic_exchange(&warned, true))
				gx_print("gmpx: cannot create a thread (%s); running with fewer threads\n",
					 strerror(-err));
			gx_lock(&gx_sched.lock);
			gx_sched.mnext--;
			pidleput(pp);
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
	/* An idle M may wait elsewhere than on its futex: parked by the BPF
	 * scheduler (scx standby), or in epoll on the ring buffer (the trace
	 * standby, which scx mode has too when every P has its standby). */
	if (atomic_load_explicit(&gx_kassist_scx, memory_order_relaxed))
		gx_kassist_scx_wake(nmp);
	if (atomic_load_explicit(&gx_kassist_active, memory_order_relaxed))
		gx_kassist_wake_standby(nmp);
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
	if (!gx_runqempty(pp) || atomic_load(&gx_sched.runqsize) != 0) {
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
	pidleput(pp);
	gx_unlock(&gx_sched.lock);
	int64_t when = atomic_load(&pp->timer0when);
	if (when)
		gx_wakenetpoller(when); /* someone must poll for its timers */
}

/* stopm - park the current M (no P) until startm gives it one. */
static void stopm(void)
{
	struct gx_m *mp = getm();
	if (unlikely(mp->p || mp->locks || mp->spinning))
		gx_fatal("stopm holding a P or a lock, or still counted as spinning");
	gx_lock(&gx_sched.lock);
	mput(mp);
	gx_unlock(&gx_sched.lock);
	if (atomic_load_explicit(&gx_kassist_active, memory_order_relaxed) && !gx_kassist_scx_standby(mp))
		gx_kassist_standby(mp); /* trace mode: maybe wait on the kernel's events */
	gx_notesleep(&mp->park);
	gx_noteclear(&mp->park);
	struct gx_p *pp = mp->nextp;
	mp->nextp = NULL;
	acquirep(pp);
}

void gx_stopm(void)
{
	stopm();
}

/* ---- gx_lock_os_thread: an M that runs only its locked G (Go's lockOSThread) ---- */

/* stoplockedm - our locked G is not running: give the P away and sleep
 * until an M that finds the G runnable hands it to us with a P. */
static void stoplockedm(void)
{
	struct gx_m *mp = getm();
	if (mp->p)
		gx_handoffp(releasep());
	gx_lock(&gx_sched.lock);
	gx_sched.nmidlelocked++;
	checkdead();
	gx_unlock(&gx_sched.lock);
	gx_notesleep(&mp->park);
	gx_noteclear(&mp->park);
	gx_lock(&gx_sched.lock);
	gx_sched.nmidlelocked--;
	gx_unlock(&gx_sched.lock);
	struct gx_p *pp = mp->nextp;
	mp->nextp = NULL;
	acquirep(pp);
}

/* startlockedm - gp (runnable, taken off a queue) is locked to another M:
 * hand it our P and park. */
static void startlockedm(gx_g *gp)
{
	struct gx_m *target = gp->lockedm;
	struct gx_p *pp = releasep();
	target->nextp = pp;
	gx_notewakeup(&target->park);
	stopm();
}

int gx_lock_os_thread(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	gx_g *gp = mp->curg;
	gp->lockedcount++;
	gp->lockedm = mp;
	mp->lockedg = gp;
	return 0;
}

int gx_unlock_os_thread(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	gx_g *gp = mp->curg;
	if (gp->lockedcount == 0)
		return 0; /* Go: a no-op */
	if (--gp->lockedcount == 0) {
		gp->lockedm = NULL;
		mp->lockedg = NULL;
	}
	return 0;
}

static void resetspinning(void)
{
	struct gx_m *mp = getm();
	mp->spinning = false;
	if (unlikely(atomic_fetch_sub(&gx_sched.nmspinning, 1) <= 0))
		gx_fatal("resetspinning: negative nmspinning");
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
			if (gp)
				return gp;
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
			atomic_fetch_sub(&gx_sched.nmspinning, 1);
			gx_wakep();
		}
		stopm();
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
			atomic_fetch_add(&gx_sched.nmspinning, 1);
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
	pidleput(releasep());
	gx_unlock(&gx_sched.lock);

	/* spinning -> idle: drop the count first, then look again, so that a
	 * submitter that saw us spinning (and so did not wake anyone) has its
	 * work seen here. */
	bool was_spinning = mp->spinning;
	if (was_spinning) {
		mp->spinning = false;
		if (atomic_fetch_sub(&gx_sched.nmspinning, 1) <= 0)
			gx_fatal("findrunnable: negative nmspinning");
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
			acquirep(pp);
			mp->spinning = true;
			atomic_fetch_add(&gx_sched.nmspinning, 1);
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
			acquirep(pp);
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
	stopm();
	goto top;
}

/* The mcall continuations -------------------------------------------------- */

static gx_g *gosched_m(gx_g *gp)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->p;
	setgstatus(gp, Grunning, Grunnable);
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
	gfput(pp, gp);
}

static gx_g *goexit0(gx_g *gp)
{
	struct gx_m *mp = getm();
	setgstatus(gp, Grunning, Gdead);
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
	mcall(goexit0, true, false);
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
			stoplockedm(); /* returns with a P when our G is runnable */
			gp = mp->lockedg;
		} else {
			gp = findrunnable(&inherit);
			if (mp->spinning)
				resetspinning();
		}
		while (gp) {
			if (unlikely(gp->lockedm && gp->lockedm != mp)) {
				startlockedm(gp);
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
static void switchto(struct gx_m *mp, gx_g *gp, gx_g *next)
{
	gp->m = NULL;
	mp->curg = next;
	next->m = mp;
	setgstatus(next, Grunnable, Grunning);
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
	switchto(mp, gp, next); /* next inherits the time slice: runnext */
	return true;
}

void gx_gopark(bool (*unlockf)(gx_g *, void *), void *lock, const char *reason)
{
	GX_ASSERT_INRT("gx_gopark");
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	gp->waitreason = reason;
	mp->waitunlockf = unlockf;
	mp->waitlock = lock;
	/* The lock (if any) stays held across the switch and is released by
	 * unlockf on g0 of this same M, or by the G we switch to directly. */
	/* Only a lock-protected park may go direct: gp is marked waiting
	 * before we leave its stack, and only the lock keeps wakers away. */
	if (!unlockf || !parkdirect(mp, gp))
		mcall(park_m, false, unlockf != NULL);
}

/* ---- public API ------------------------------------------------------------------- */

int64_t gx_go_attr(const gx_attr *attr, gx_fn fn, void *arg)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	int64_t id = gx_newproc(attr, fn, arg);
	gx_preempt_point();
	return id;
}

/* gx_newproc - create a goroutine on the current M's P (Go's newproc);
 * from a goroutine or from g0 with a P (timer callbacks). */
int64_t gx_newproc(const gx_attr *attr, gx_fn fn, void *arg)
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
	gx_g *gp = gfget(pp);
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
	gp->goid = newgoid(pp);
	gp->waitreason = NULL;
	int64_t id = gp->goid;
	atomic_store_explicit(&pp->ncreated, pp->ncreated + 1, memory_order_relaxed);
	setgstatus(gp, Gdead, Grunnable);
	gx_runqput(pp, gp, true);
	gx_kpub_runq(pp);
	gx_wakep();
	return id;
}

int64_t gx_go(gx_fn fn, void *arg)
{
	return gx_go_attr(NULL, fn, arg);
}

int64_t gx_go_copy(gx_fn fn, const void *arg, size_t size)
{
	gx_attr a = {.arg_size = size};
	return gx_go_attr(&a, fn, (void *)(uintptr_t)arg);
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
	gx_g *gp = mp->curg;
	struct gx_p *pp = mp->p;
	if (mp->lockedg || !gx_runqempty(pp) || atomic_load_explicit(&pp->timer0when, memory_order_relaxed) != 0 ||
	    pp->id >= atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed) || mp->locks) {
		mcall(gosched_m, false, false);
		return 0;
	}
	gx_lock(&gx_sched.lock);
	gx_g *next = gx_sched.runqhead;
	if (!next || next->stack.lo == 0 || next->lockedm) {
		/* nothing else to run, or it needs a stack: the g0 path */
		gx_unlock(&gx_sched.lock);
		mcall(gosched_m, false, false);
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
	switchto(mp, gp, next); /* a new time slice (not stamped: see sysmon.c) */
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

static struct gx_p *allocp(int32_t id)
{
	struct gx_p *pp = gx_allp[id];
	if (pp)
		return pp;
	pp = aligned_alloc(GX_CACHELINE, (sizeof(*pp) + GX_CACHELINE - 1) & ~(size_t)(GX_CACHELINE - 1));
	if (!pp)
		return NULL;
	memset(pp, 0, sizeof(*pp));
	pp->id = id;
	gx_kslot_initp(pp);
	atomic_store(&pp->status, Pdead);
	gx_allp[id] = pp;
	return pp;
}

/* procresize - set gomaxprocs to n. sched.lock held. Ps beyond n that are
 * running retire themselves at their next schedule(); idle ones retire
 * now. Returns -ENOMEM if a new P cannot be allocated. */
static int procresize_locked(int32_t n)
{
	for (int32_t i = gx_sched.nallp; i < n; i++) {
		if (!allocp(i))
			return -ENOMEM;
		gx_sched.nallp = i + 1;
	}
	int32_t old = gx_sched.gomaxprocs;
	atomic_store(&gx_sched.gomaxprocs, n);
	if (n < old) {
		struct gx_p **pl = &gx_sched.pidle;
		while (*pl) {
			struct gx_p *pp = *pl;
			if (pp->id >= n) {
				*pl = pp->link;
				pp->link = NULL;
				atomic_store(&pp->status, Pdead);
				atomic_fetch_sub(&gx_sched.npidle, 1);
			} else {
				pl = &pp->link;
			}
		}
	}
	for (int32_t i = 0; i < n; i++) {
		struct gx_p *pp = gx_allp[i];
		if (atomic_load(&pp->status) == Pdead && pp->m == NULL)
			pidleput(pp);
	}
	return 0;
}

int gx_maxprocs(int n)
{
	GX_ENTER();
	if (n < 0 || n > GX_MAXPROCS_LIMIT)
		return -EINVAL;
	if (!atomic_load(&gx_sched.started)) {
		int old = preset_maxprocs ? preset_maxprocs : gx_default_maxprocs();
		if (n > 0)
			preset_maxprocs = n;
		return old;
	}
	if (n == 0)
		return atomic_load(&gx_sched.gomaxprocs);
	gx_lock(&gx_sched.lock);
	int old = gx_sched.gomaxprocs;
	int err = procresize_locked(n);
	gx_unlock(&gx_sched.lock);
	if (err)
		return err;
	/* Idle Ps retired by the resize keep their timers until moved (a
	 * running P moves its own in pretire). Not under sched.lock: timer
	 * callbacks take sched.lock while holding a heap lock. */
	for (int i = n; i < old; i++)
		if (atomic_load(&gx_allp[i]->status) == Pdead)
			gx_movetimers(gx_allp[i], gx_allp[0]);
	if (n > old)
		for (int i = old; i < n; i++)
			gx_wakep();
	/* If our own P was retired, give it up now rather than at our next
	 * scheduling point. */
	struct gx_m *mp = getm();
	if (mp && mp->curg && mp->p && mp->p->id >= n)
		gx_yield();
	return old;
}

int gx_set_max_threads(int n)
{
	if (n < 1)
		return -EINVAL;
	if (!atomic_load(&gx_sched.started)) {
		int old = preset_maxthreads ? preset_maxthreads : MAXMCOUNT_DEFAULT;
		preset_maxthreads = n;
		return old;
	}
	gx_lock(&gx_sched.lock);
	int old = gx_sched.maxmcount;
	gx_sched.maxmcount = n;
	if (gx_sched.mnext > n) {
		gx_unlock(&gx_sched.lock);
		gx_fatal("thread exhaustion: program exceeds %d-thread limit", n);
	}
	gx_unlock(&gx_sched.lock);
	return old;
}

/* ---- deadlock detection -------------------------------------------------------------- */

struct deadcount {
	int64_t waiting, syscall, other;
};

static void countg(gx_g *gp, void *arg)
{
	struct deadcount *c = arg;
	uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
	if (st == Gwaiting)
		c->waiting++;
	else if (st == Gsyscall)
		c->syscall++;
	else if (st != Gdead && st != Gidle)
		c->other++;
}

/* checkdead - called when an M goes idle (sched.lock held). If no M is
 * running, no goroutine can ever become runnable again. */
static void checkdead(void)
{
	if (!deadlock_check || !atomic_load(&gx_sched.started))
		return;
	int32_t run = gx_sched.mnext - gx_sched.nmidle - gx_sched.nmidlelocked - gx_sched.nmsys;
	if (run > 0)
		return;
	if (run < 0)
		gx_fatal("checkdead: inconsistent counts: %d Ms, %d idle, %d locked idle, %d system", gx_sched.mnext,
			 gx_sched.nmidle, gx_sched.nmidlelocked, gx_sched.nmsys);
	if (gx_timers_next() != 0)
		return; /* a timer will wake someone */
	struct deadcount c = {0, 0, 0};
	gx_forallg(countg, &c);
	if (c.syscall > 0 || c.other > 0)
		return; /* runnable Gs with every M idle would be a scheduler bug; let it show */
	if (gx_sched.stackwait) {
		gx_print("gmpx: fatal: out of memory: goroutines cannot get a stack and nothing else can run\n");
		gx_dumpgs(100);
		_exit(2);
	}
	if (c.waiting == 0)
		return;
	gx_print("gmpx: fatal: all goroutines are asleep - deadlock!\n\n");
	gx_dumpgs(100);
	_exit(2);
}

struct dumpstate {
	int max, shown;
	int64_t skipped;
};

static void dumpg(gx_g *gp, void *arg)
{
	struct dumpstate *d = arg;
	uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
	if (st == Gdead || st == Gidle)
		return;
	if (d->shown >= d->max) {
		d->skipped++;
		return;
	}
	d->shown++;
	const char *what = st == Gwaiting && gp->waitreason ? gp->waitreason : gx_gstatus_name(st);
	if (gp->name)
		gx_print("goroutine %lld \"%s\" [%s]\n", (long long)gp->goid, gp->name, what);
	else
		gx_print("goroutine %lld [%s]\n", (long long)gp->goid, what);
}

void gx_dumpgs(int max)
{
	struct dumpstate d = {max, 0, 0};
	gx_forallg(dumpg, &d);
	if (d.skipped)
		gx_print("... and %lld more goroutines\n", (long long)d.skipped);
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
	const char *dl = dbg ? strstr(dbg, "deadlock=0") : NULL;
	deadlock_check = dl == NULL;

	int procs = preset_maxprocs;
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
	gx_sched.maxmcount = preset_maxthreads ? preset_maxthreads : envint("GX_MAXTHREADS", MAXMCOUNT_DEFAULT);
	gx_sched.starttime = gx_nanotime();
	gx_stackinit();
	gx_netpollinit();

	pthread_sigmask(SIG_SETMASK, NULL, &initial_sigmask);
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
	if (procresize_locked(procs) != 0)
		gx_fatal("cannot allocate %d Ps", procs);
	struct gx_p *pp = gx_pidleget();
	gx_unlock(&gx_sched.lock);
	acquirep(pp);
	gx_kassist_attach(); /* before any other M or goroutine exists */

	/* Goroutine 1, with a main-thread-sized stack. */
	uint32_t cls;
	gx_stackclass(GX_MAIN_STACK, &cls);
	gx_g *gp = gfget(pp);
	if (!gp)
		gx_fatal("out of memory starting the main goroutine");
	gp->fn = main_goroutine;
	atomic_store_explicit(&gp->rtdepth, 1, memory_order_relaxed); /* until gentry calls fn */
	gp->stackclass = cls;
	gp->goid = newgoid(pp);
	gp->name = NULL;
	atomic_store_explicit(&pp->ncreated, 1, memory_order_relaxed);
	setgstatus(gp, Gdead, Grunnable);
	gx_runqput(pp, gp, true);

	gx_preemptinit();
	gx_sysmon_start();
	gx_scx_start_standbys(); /* scx mode: standby Ms for the BPF scheduler to hold */
	schedule();
}
