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
 *  - Otherwise it sleeps up to 10 ms while any P is busy, and deeply (woken
 *    only when a P becomes busy) while every P is idle. There is no
 *    periodic polling: ~one wake-up per quantum per busy P (0.4% of a CPU
 *    with two Ps running flat out, measured here).
 *
 * The policy table (struct gx_policy) is the seam for the kernel-assisted
 * modes: they replace "entersyscall wakes sysmon" and the sleep with kernel
 * events. This file holds the off mode (Go's design).
 */
#include "runtime.h"

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

static void off_entersyscall(struct gx_m *mp, struct gx_p *pp, int64_t now)
{
	(void)mp;
	/* Only worth a wake-up if sysmon would sleep past the hand-off time
	 * and there is work that the hand-off would let run. */
	int64_t wakeat = atomic_load_explicit(&gx_sysmon_wakeat, memory_order_relaxed);
	if (wakeat != 0 && wakeat <= now + 2 * GX_SYSCALL_RETAKE_NS)
		return;
	if (gx_runqempty(pp) && atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed) == 0)
		return;
	off_sysmon_wake();
}

bool gx_off_preempt(struct gx_p *pp, struct gx_m *mp)
{
	(void)pp;
	return gx_asyncpreempt_enabled ? gx_preemptm(mp) : true;
}

const struct gx_policy gx_off_policy = {
	.name = "off",
	.entersyscall = off_entersyscall,
	.sysmon_sleep = off_sysmon_sleep,
	.sysmon_wake = off_sysmon_wake,
	.preempt = gx_off_preempt,
};
const struct gx_policy *gx_policy = &gx_off_policy;

void gx_sysmon_kick(void)
{
	if (atomic_load_explicit(&gx_sysmon_deepsleep, memory_order_relaxed))
		gx_policy->sysmon_wake();
}

/* ---- retake ------------------------------------------------------------------ */

/* preemptone - ask the G running on pp to yield. */
void gx_preemptone(struct gx_p *pp)
{
	struct gx_m *mp = atomic_load(&pp->m);
	if (!mp)
		return;
	/* The flag is the P's: whichever G runs there when it is seen yields
	 * (execute clears it for each new slice). */
	atomic_store(&pp->preempt, true);
	gx_policy->preempt(pp, mp);
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
			bool work = !gx_runqempty(pp) || atomic_load(&gx_sched.runqsize) != 0;
			bool helpers = atomic_load(&gx_sched.nmspinning) + atomic_load(&gx_sched.npidle) > 0;
			int64_t due = since + (work || !helpers ? GX_SYSCALL_RETAKE_NS : SYSCALL_FORCE_RETAKE_NS);
			if (now < due) {
				if (!*next || due < *next)
					*next = due;
				continue;
			}
			if (atomic_compare_exchange_strong(&pp->status, &st, Pidle)) {
				gx_handoffp(pp);
				n++;
			}
		} else if (st == Prunning) {
			*busy = true;
			/* trace mode: its M is asleep in the kernel, in goroutine code */
			if (gx_kassist_retake(pp, now)) {
				n++;
				continue;
			}
			/* scx mode: BPF's timer watches the quantum and sends an
			 * event when a signal is needed (kassist_scx.c) */
			if (atomic_load_explicit(&gx_kassist_scx, memory_order_relaxed))
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
			}
			pp->sysmon_looked = now;
			int64_t due = pp->sysmon_asked ? pp->sysmon_asked + ASK_AGAIN_NS
						       : pp->sysmon_slicefrom + gx_quantum_ns;
			if (now >= due) {
				gx_preemptone(pp);
				pp->sysmon_asked = now;
				n++;
				due = now + ASK_AGAIN_NS;
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
		calibrate(now);
		int64_t next;
		bool busy;
		retake(now, &next, &busy);
		int64_t kick = gx_kassist_kick(now); /* trace mode: revoked goroutines */
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
				gx_policy->sysmon_sleep(trace_period > 0 ? trace_next : -1);
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
		gx_policy->sysmon_sleep(until);
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
	if (gx_kabi)
		gx_kabi->hdr.quantum_ns = (uint64_t)gx_quantum_ns; /* scx: BPF's quantum timer */
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
