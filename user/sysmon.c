/* SPDX-License-Identifier: MIT */
/*
 * sysmon.c - the system monitor (Go's sysmon): a thread with no P that
 * retakes Ps stuck in system calls, asks goroutines that overran their
 * quantum to yield, and prints GX_DEBUG=schedtrace.
 *
 * When it wakes (Go's rules, with exact deadlines where Go polls):
 *  - A P in a syscall with work queued is handed off once it has been there
 *    GX_SYSCALL_RETAKE_NS (20 us, Go's first tick). sysmon sleeps until that
 *    moment; entersyscall wakes it when it would otherwise sleep longer and
 *    the P has work, so a blocked M's P moves in ~20 us plus a wake-up, not
 *    Go's 10-20 ms. A P whose queue is empty is left alone while other Ps
 *    are idle or spinning (nothing to gain), and handed off after 10 ms.
 *  - A time slice: execute stamps p->slicestart with gx_cputicks() (the
 *    TSC, ~10 ns; the yield fast path does not restamp) whenever a new slice
 *    begins, so sysmon knows when each slice will have run a quantum and
 *    sleeps until exactly then; a slice asked to yield that did not (an
 *    unsafe point, or asynchronous preemption off) is asked again every
 *    ASK_AGAIN_NS. Preemption lands within a wake-up latency of the quantum.
 *  - The signal is not sent to an M that is in the kernel (preempt.c: it
 *    would end an unwrapped nanosleep, poll, ... with EINTR); the flag
 *    stays set. In off mode that check reads /proc/self/task/TID/syscall
 *    twice, CONFIRM_NS apart, and the thread's CPU clock twice (ask): two
 *    file reads (~5 us of sysmon's time each) per signal, so at most
 *    twice per quantum per busy P, plus two per ASK_AGAIN_NS re-ask while
 *    signals land outside safe points; an M found in the kernel is looked
 *    at again only a quantum later. A signal goes CONFIRM_NS (200 us)
 *    after the quantum ends. Nothing is added to the scheduler's own paths.
 *  - A P held by one goroutine for HELD_REPORT_QUANTA quanta although it
 *    was asked to yield (its signals land outside safe points, or were
 *    withheld because it is in the kernel: an unwrapped blocking call in a
 *    loop, or long runs of libc) is reported once, in off mode, where the
 *    kernel cannot tell: like Go, the runtime cannot take a P back from
 *    code it cannot see, but it says so.
 *  - Otherwise it sleeps up to 10 ms while any P is busy, and deeply (woken
 *    only when a P becomes busy) while every P is idle. There is no
 *    periodic polling: ~one wake-up per quantum per busy P (0.4% of a CPU
 *    with two Ps running flat out, measured here).
 *
 * The kernel-assist table (kassist.h: struct gx_kassist_ops) is where the
 * kernel-assisted modes replace "entersyscall wakes sysmon", the sleep and
 * the slice watch with kernel events; sysmon calls it and knows no mode.
 * This file holds off mode's table, gx_kassist_off: Go's design.
 */
#include "runtime.h"
#include "trace.h"
#include "kassist.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SYSMON_MIN_NS		((int64_t)20000)    /* 20 us */
#define SYSMON_MAX_NS		((int64_t)10000000) /* 10 ms */
#define SYSCALL_FORCE_RETAKE_NS ((int64_t)10000000) /* Go: hand off even an empty P after 10 ms */
#define QUANTUM_DEFAULT_NS	((int64_t)10000000)

/* A slice that was asked to yield but did not (an unsafe point, or
 * asynchronous preemption off) is asked again this often. */
#define ASK_AGAIN_NS ((int64_t)1000000)

/* A slice asked to yield that still runs this many quanta later is
 * reported (once): 1 s at the default quantum. */
#define HELD_REPORT_QUANTA 100

/* off mode: the second stage of ask, before the signal */
#define CONFIRM_NS ((int64_t)200000)

/* sysmon's own bookkeeping per P (only sysmon reads or writes it). */
static struct {
	int64_t goid;  /* the goroutine seen holding the slice since `since` (0: none yet) */
	int64_t since; /* ... */
	int64_t again; /* after an ask: when to ask again */
	/* off mode, between ask's two stages: when to look again, at which
	 * M, and its CPU time (-1: unknown) at the first stage, at t0 */
	int64_t confirm, cpu0, t0;
	struct gx_m *m;
} pwatch[GX_MAXPROCS_LIMIT];
static bool held_reported;

int64_t gx_quantum_ns = QUANTUM_DEFAULT_NS;

/* gx_cputicks -> ns: the rate is measured against CLOCK_MONOTONIC from
 * sysmon's start (it reads both every round); exact enough after 1 ms. */
static uint64_t cal_ticks0;
static int64_t cal_ns0;
static double ns_per_tick = 1.0;

static void calibrate(int64_t now)
{
	uint64_t t = gx_cputicks();
	if (!cal_ticks0) {
		cal_ticks0 = t;
		cal_ns0 = now;
		/* until measured, assume a 1 GHz-ish rate that errs early: a
		 * slice may be seen as old too soon, never too late */
		ns_per_tick = 0.25;
		return;
	}
	if (now - cal_ns0 >= 1000000 && t > cal_ticks0)
		ns_per_tick = (double)(now - cal_ns0) / (double)(t - cal_ticks0);
}

static int64_t ticks_to_ns(uint64_t t)
{
	if (t < cal_ticks0)
		return cal_ns0 - (int64_t)((double)(cal_ticks0 - t) * ns_per_tick);
	return cal_ns0 + (int64_t)((double)(t - cal_ticks0) * ns_per_tick);
}
_Atomic bool gx_sysmon_deepsleep;
_Atomic int64_t gx_sysmon_wakeat;
static _Atomic uint32_t sysmon_key; /* futex word: 1 = woken */
static _Atomic bool sysmon_started;

/* ---- off mode: Go's policy ------------------------------------------------ */

static void off_sysmon_wake(void)
{
	uint32_t zero = 0;
	if (atomic_compare_exchange_strong(&sysmon_key, &zero, 1))
		gx_futexwakeup(&sysmon_key, 1);
}

static void off_sysmon_sleep(int64_t until)
{
	int64_t now = gx_nanotime();
	atomic_store(&gx_sysmon_wakeat, until);
	while (atomic_load(&sysmon_key) == 0 && (until < 0 || now < until)) {
		gx_futexsleep(&sysmon_key, 0, until < 0 ? -1 : until - now);
		now = gx_nanotime();
	}
	atomic_store(&sysmon_key, 0);
	atomic_store(&gx_sysmon_wakeat, 0);
}

void gx_off_entersyscall(struct gx_m *mp, struct gx_p *pp, int64_t now)
{
	(void)mp;
	/* Only worth a wake-up if sysmon would sleep past the hand-off time
	 * and there is work that the hand-off would let run. */
	int64_t wakeat = atomic_load_explicit(&gx_sysmon_wakeat, memory_order_relaxed);
	if (wakeat != 0 && wakeat <= now + 2 * GX_SYSCALL_RETAKE_NS)
		return;
	if (!gx_p_haswork(pp, now))
		return;
	off_sysmon_wake();
}

bool gx_off_preempt(struct gx_p *pp, struct gx_m *mp)
{
	(void)pp;
	return gx_asyncpreempt_enabled ? gx_preemptm(mp) : true;
}

static void off_minit(struct gx_m *mp)
{
	(void)mp;
}
void gx_off_start(void)
{
}
void gx_off_newp(struct gx_p *pp)
{
	(void)pp; /* nothing but the kslot, which gx_kslot_initp set */
}
void gx_off_acquirep(struct gx_m *mp, struct gx_p *pp)
{
	(void)mp;
	(void)pp; /* the kernel places Ms as it likes */
}
struct gx_m *gx_off_mget(struct gx_p *pp)
{
	(void)pp;
	return NULL;
}
static void off_wakem(struct gx_m *mp)
{
	(void)mp; /* its note, which startm woke, is all it waits on */
}
static void off_idle(struct gx_m *mp)
{
	(void)mp; /* the futex (stopm) */
}
static bool off_retake(struct gx_p *pp, int64_t now)
{
	(void)pp;
	(void)now;
	return false; /* no kernel word: a P in user code keeps its M */
}
static int64_t off_sysmon_tick(int64_t now)
{
	(void)now;
	return 0;
}
static struct gx_p *off_event(const struct gx_kabi_event *ev, int64_t now, bool take)
{
	(void)ev;
	(void)now;
	(void)take;
	return NULL; /* no events in off mode (a drain left over from a fallback) */
}

const struct gx_kassist_ops gx_kassist_off = {
	.name = "off",
	.mode = GX_KASSIST_OFF,
	.minit = off_minit,
	.start = gx_off_start,
	.newp = gx_off_newp,
	.acquirep = gx_off_acquirep,
	.mget = gx_off_mget,
	.wakem = off_wakem,
	.idle = off_idle,
	.retake = off_retake,
	.sysmon_slices = true,
	.kernel_mstate = false,
	.sysmon_tick = off_sysmon_tick,
	.sysmon_sleep = off_sysmon_sleep,
	.sysmon_wake = off_sysmon_wake,
	.entersyscall = gx_off_entersyscall,
	.preempt = gx_off_preempt,
	.event = off_event,
};
const struct gx_kassist_ops *_Atomic gx_kassist = &gx_kassist_off;

void gx_sysmon_kick(void)
{
	if (atomic_load_explicit(&gx_sysmon_deepsleep, memory_order_relaxed))
		GX_KASSIST(sysmon_wake);
}

/* ---- retake ------------------------------------------------------------------ */

/* preemptone - ask the G running on pp to yield. Returns false if the
 * signal was not sent (its M is in the kernel: preempt.c). */
bool gx_preemptone(struct gx_p *pp)
{
	struct gx_m *mp = atomic_load(&pp->m);
	if (!mp)
		return true;
	/* The flag is the P's: whichever G runs there when it is seen yields
	 * (execute clears it for each new slice). */
	atomic_store(&pp->preempt, true);
	gx_trace(GX_TEV_PREEMPTREQ, pp->id, 0, 0, 0); /* whichever G runs there: the P's next stop says */
	return GX_KASSIST(preempt, pp, mp);
}

/*
 * held_check - pp's slice was asked to yield and still runs: if one
 * goroutine has held it for HELD_REPORT_QUANTA quanta, say so (once per
 * process, off mode only: trace mode revokes a P whose M blocks). Not for a
 * goroutine that asked not to be preempted (gx_nopreempt_begin, or locked
 * to its thread), nor without asynchronous preemption (where any loop
 * holds its P). Racy reads of the M's fields: G structures are never freed.
 */
static void held_check(struct gx_p *pp, int64_t now)
{
	if (held_reported || !gx_asyncpreempt_enabled || GX_KASSIST_FIELD(kernel_mstate))
		return;
	struct gx_m *mp = atomic_load(&pp->m);
	if (!mp)
		return;
	gx_g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
	if (!gp || __atomic_load_n(&mp->lockedg, __ATOMIC_RELAXED) || __atomic_load_n(&gp->nopreempt, __ATOMIC_RELAXED))
		return;
	int64_t goid = __atomic_load_n(&gp->goid, __ATOMIC_RELAXED);
	if (pwatch[pp->id].goid != goid) {
		/* at the slice's first ask it has run a quantum; one that came
		 * in later by runnext is counted from now */
		pwatch[pp->id].since = pp->sysmon_asked ? now : now - gx_quantum_ns;
		pwatch[pp->id].goid = goid;
	}
	int64_t held = now - pwatch[pp->id].since;
	if (held < HELD_REPORT_QUANTA * gx_quantum_ns)
		return;
	held_reported = true;
	const char *name = __atomic_load_n(&gp->name, __ATOMIC_RELAXED);
	gx_print("gmpx: goroutine %lld%s%s%s has held P %d for %.1f s in code the runtime cannot preempt (a "
		 "blocking call it cannot see, or libc): wrap it with GX_SYSCALL, or use GX_KASSIST=trace\n",
		 (long long)goid, name ? " \"" : "", name ? name : "", name ? "\"" : "", pp->id, (double)held / 1e9);
}

/*
 * ask - pp's slice has run its quantum (or was asked before and still
 * runs): ask it to yield. Returns when to look at pp again.
 * The signal goes only to an M outside the kernel (preempt.c). In off mode
 * /proc cannot tell a thread woken in a system call and not yet returned
 * (waiting for a CPU, or finishing the call: a poll whose timeout expired
 * still returns EINTR if a signal comes then) from one running user code:
 * both are 'R'. And sysmon's timer often fires with the one that wakes the
 * M. So off mode asks in two stages, CONFIRM_NS apart: the first sets the
 * flag and looks at the thread (asleep in the kernel: look again a quantum
 * later: it has no hurry, and each look is a file read); the second
 * signals only if the thread used at least a quarter of that time on a CPU
 * (its CPU clock) and is still not in the kernel (gx_preemptm). A thread
 * that loops over blocking calls sleeps most of any 200 us, a spinner
 * runs all of it, or a good part where the machine is busy (one that got
 * no CPU at all is asked again ASK_AGAIN_NS later: a signal then would
 * wait for it in any case). Trace mode's look is a few loads from the kernel's
 * state, which knows when the M is in a system call: one stage.
 */
static int64_t ask(struct gx_p *pp, int32_t i, int64_t now)
{
	bool kstate = GX_KASSIST_FIELD(kernel_mstate);
	struct gx_m *mp = atomic_load(&pp->m);
	if (!kstate && gx_asyncpreempt_enabled && mp) {
		if (!pwatch[i].confirm || pwatch[i].m != mp) {
			held_check(pp, now);
			atomic_store(&pp->preempt, true);
			pp->sysmon_asked = now;
			pwatch[i].confirm = 0;
			if (gx_m_in_kernel(mp))
				return pwatch[i].again = now + gx_quantum_ns;
			pwatch[i].m = mp;
			pwatch[i].cpu0 = gx_m_cputime(mp);
			pwatch[i].t0 = now;
			return pwatch[i].confirm = now + CONFIRM_NS;
		}
		pwatch[i].confirm = 0;
		int64_t cpu = gx_m_cputime(mp);
		if (cpu >= 0 && pwatch[i].cpu0 >= 0 && 4 * (cpu - pwatch[i].cpu0) < now - pwatch[i].t0)
			return pwatch[i].again = now + ASK_AGAIN_NS; /* hardly on a CPU */
	} else {
		held_check(pp, now);
		pwatch[i].confirm = 0;
	}
	bool sent = gx_preemptone(pp);
	pp->sysmon_asked = now;
	return pwatch[i].again = now + (sent || kstate ? ASK_AGAIN_NS : gx_quantum_ns);
}

/*
 * retake - one pass over the Ps. Returns how many it acted on; *next is the
 * earliest time it must look again for a known reason (0: none), *busy
 * whether any P is running or in a syscall.
 */
static int retake(int64_t now, int64_t *next, bool *busy)
{
	int n = 0;
	*next = 0;
	*busy = false;
	int32_t procs = atomic_load(&gx_sched.gomaxprocs);
	for (int32_t i = 0; i < gx_sched.nallp && i < procs; i++) {
		struct gx_p *pp = gx_allp[i];
		uint32_t st = atomic_load_explicit(&pp->status, memory_order_acquire);
		if (st == Psyscall) {
			*busy = true;
			int64_t since = atomic_load_explicit(&pp->syscallwhen, memory_order_relaxed);
			bool work = gx_p_haswork(pp, now);
			bool helpers = atomic_load(&gx_sched.nmspinning) + atomic_load(&gx_sched.npidle) > 0;
			int64_t due = since + (work || !helpers ? GX_SYSCALL_RETAKE_NS : SYSCALL_FORCE_RETAKE_NS);
			if (now < due) {
				if (!*next || due < *next)
					*next = due;
				continue;
			}
			if (atomic_compare_exchange_strong(&pp->status, &st, Pidle)) {
				gx_trace(GX_TEV_PRETAKE, pp->id, 0, 0, 0);
				gx_handoffp(pp);
				n++;
			}
		} else if (st == Prunning) {
			*busy = true;
			/* the kernel says its M is asleep, in goroutine code */
			if (GX_KASSIST(retake, pp, now)) {
				n++;
				continue;
			}
			/* the kernel watches the quantum and sends an event when
			 * a signal is needed */
			if (!GX_KASSIST_FIELD(sysmon_slices))
				continue;
			uint32_t t = atomic_load_explicit(&pp->schedtick, memory_order_relaxed);
			if (pp->sysmon_schedtick != t) {
				/* A new slice since we last looked. It began after that
				 * look, whatever the stamp says (the yield fast path
				 * does not stamp). */
				pp->sysmon_schedtick = t;
				pp->sysmon_asked = 0;
				int64_t stamped =
					ticks_to_ns(atomic_load_explicit(&pp->slicestart, memory_order_relaxed));
				pp->sysmon_slicefrom = stamped > pp->sysmon_looked ? stamped : pp->sysmon_looked;
				pwatch[i].goid = 0;
				pwatch[i].confirm = 0;
			}
			pp->sysmon_looked = now;
			int64_t due = pwatch[i].confirm	 ? pwatch[i].confirm
				      : pp->sysmon_asked ? pwatch[i].again
							 : pp->sysmon_slicefrom + gx_quantum_ns;
			if (now >= due) {
				due = ask(pp, i, now);
				n++;
			}
			if (!*next || due < *next)
				*next = due;
		}
	}
	return n;
}

static void *sysmon(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "gx-sysmon");
	int64_t trace_period = (int64_t)gx_debug.schedtrace * 1000000, trace_next = 0;
	if (trace_period > 0)
		trace_next = gx_nanotime() + trace_period;
	for (;;) {
		int64_t now = gx_nanotime();
		gx_coarsetick(now);
		calibrate(now);
		int64_t next;
		bool busy;
		retake(now, &next, &busy);
		int64_t kick = GX_KASSIST(sysmon_tick, now); /* e.g. revoked goroutines to kick */
		if (kick && (!next || kick < next))
			next = kick;
		gx_sysmon_netpoll(now); /* nobody polled for 10 ms: every P busy */
		if (trace_period > 0 && now >= trace_next) {
			gx_schedtrace(gx_debug.scheddetail != 0);
			trace_next += trace_period;
			if (trace_next <= now)
				trace_next = now + trace_period;
		}
		if (!busy) {
			/* Every P idle: sleep until a P gets busy (or the next
			 * trace line). */
			atomic_store(&gx_sysmon_deepsleep, true);
			gx_storeload_fence();
			bool still = true;
			for (int32_t i = 0; i < gx_sched.nallp; i++) {
				uint32_t st = atomic_load(&gx_allp[i]->status);
				if (st == Prunning || st == Psyscall)
					still = false;
			}
			if (still)
				GX_KASSIST(sysmon_sleep, trace_period > 0 ? trace_next : -1);
			atomic_store(&gx_sysmon_deepsleep, false);
			continue;
		}
		/* Sleep until the first thing due (a quantum ending, a syscall
		 * long enough to hand off), at most SYSMON_MAX_NS; never less
		 * than SYSMON_MIN_NS. */
		int64_t until = now + SYSMON_MAX_NS;
		if (next && next < until)
			until = next;
		if (until < now + SYSMON_MIN_NS)
			until = now + SYSMON_MIN_NS;
		if (trace_period > 0 && trace_next < until)
			until = trace_next;
		GX_KASSIST(sysmon_sleep, until);
	}
	return NULL;
}

void gx_sysmon_start(void)
{
	const char *q = getenv("GX_QUANTUM");
	if (q && *q) {
		char *end;
		double v = strtod(q, &end);
		int64_t mul = 1000000; /* default unit: ms */
		if (strcmp(end, "us") == 0)
			mul = 1000;
		else if (strcmp(end, "ns") == 0)
			mul = 1;
		else if (strcmp(end, "s") == 0)
			mul = 1000000000;
		else if (*end && strcmp(end, "ms") != 0)
			v = -1;
		if (v * (double)mul >= 50000 && v * (double)mul <= 10e9)
			gx_quantum_ns = (int64_t)(v * (double)mul);
		else
			gx_print("gmpx: GX_QUANTUM=%s is not a duration between 50us and 10s; using 10ms\n", q);
	}
	gx_kpub_quantum(gx_quantum_ns);
	if (atomic_exchange(&sysmon_started, true))
		return;
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* sysmon must never receive the preemption signal */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&th, &attr, sysmon, NULL) != 0)
		gx_print("gmpx: cannot start sysmon: no syscall hand-off, preemption or schedtrace\n");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}
