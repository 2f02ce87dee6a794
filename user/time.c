/* SPDX-License-Identifier: MIT */
/*
 * time.c - runtime timers (Go's runtime/time.go) and gx_sleep. The public
 * timers (Go's time.Timer, Ticker, After, AfterFunc) are in timer.c.
 *
 * Heaps. Each P keeps its timers in a 4-ary min-heap ordered by `when`
 * under pp->timerslock; pp->timer0when mirrors the top so the scheduler
 * can skip the lock when nothing is due (one load per schedule). A timer is
 * added to the heap of the P that arms it. It fires when its P's M runs
 * gx_checktimers in findrunnable, or when an idle P steals work and runs a
 * busy P's due timers on the last stealing pass. A retiring P's timers move
 * to a live P (gx_movetimers). When every M is idle, one of them blocks in
 * gx_netpoll until the earliest timer (sched.polluntil); arming an earlier
 * timer breaks that sleep (gx_wakenetpoller). So an idle runtime sleeps
 * exactly until its next timer, with no polling.
 *
 * States: IDLE -> ARMED (in a heap) -> RUNNING (popped, f executing) ->
 * IDLE, or ARMED again for a periodic timer. Transitions into and out of
 * ARMED happen under the heap's lock; t->lock only serializes the owner's
 * add/del against each other. Lock order: t->lock, then a heap lock; two
 * heap locks (moving timers) in P id order.
 *
 * del waits for RUNNING to end, so once gx_deltimer returns the callback is
 * not running and will not run: the struct may go away (it often lives on a
 * goroutine's stack). A periodic timer re-arms after its callback only if no
 * add/del happened meanwhile (t->gen).
 * */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>

#define HEAP_ARITY 4

/* ---- the per-P heap (pp->timerslock held) ------------------------------- */

static void heapset(struct gx_p *pp, int32_t i, struct gx_rtimer *t)
{
	pp->timers[i] = t;
	t->idx = i;
}

static void siftup(struct gx_p *pp, int32_t i)
{
	struct gx_rtimer *t = pp->timers[i];
	while (i > 0) {
		int32_t parent = (i - 1) / HEAP_ARITY;
		if (pp->timers[parent]->when <= t->when)
			break;
		heapset(pp, i, pp->timers[parent]);
		i = parent;
	}
	heapset(pp, i, t);
}

static void siftdown(struct gx_p *pp, int32_t i)
{
	struct gx_rtimer *t = pp->timers[i];
	int32_t n = pp->ntimers;
	for (;;) {
		int32_t c = i * HEAP_ARITY + 1;
		if (c >= n)
			break;
		int32_t best = c;
		for (int32_t k = c + 1; k < c + HEAP_ARITY && k < n; k++)
			if (pp->timers[k]->when < pp->timers[best]->when)
				best = k;
		if (pp->timers[best]->when >= t->when)
			break;
		heapset(pp, i, pp->timers[best]);
		i = best;
	}
	heapset(pp, i, t);
}

static void updatetimer0(struct gx_p *pp)
{
	int64_t when = pp->ntimers ? pp->timers[0]->when : 0;
	atomic_store_explicit(&pp->timer0when, when, memory_order_release);
	gx_kpub_timer0(pp, when); /* BPF's "the P has work" counts a due timer too */
}

static bool heappush(struct gx_p *pp, struct gx_rtimer *t)
{
	GX_ASSERT_LOCK_HELD(&pp->timerslock);
	if (pp->ntimers == pp->captimers) {
		int32_t ncap = pp->captimers ? pp->captimers * 2 : 64;
		struct gx_rtimer **n = realloc(pp->timers, (size_t)ncap * sizeof(struct gx_rtimer *));
		if (!n)
			return false;
		pp->timers = n;
		pp->captimers = ncap;
	}
	int32_t i = pp->ntimers++;
	heapset(pp, i, t);
	siftup(pp, i);
	updatetimer0(pp);
	return true;
}

static void heapremove(struct gx_p *pp, struct gx_rtimer *t)
{
	GX_ASSERT_LOCK_HELD(&pp->timerslock);
	int32_t i = t->idx, last = --pp->ntimers;
	if (i != last) {
		heapset(pp, i, pp->timers[last]);
		if (i > 0 && pp->timers[i]->when < pp->timers[(i - 1) / HEAP_ARITY]->when)
			siftup(pp, i);
		else
			siftdown(pp, i);
	}
	updatetimer0(pp);
}

/* ---- add / del ---------------------------------------------------------- */

/* deltimer_locked - t->lock held. */
static bool deltimer_locked(struct gx_rtimer *t)
{
	GX_ASSERT_LOCK_HELD(&t->lock);
	atomic_fetch_add(&t->gen, 1);
	for (int spins = 0;; spins++) {
		uint32_t st = atomic_load(&t->state);
		if (st == TIMER_IDLE)
			return false;
		if (st == TIMER_RUNNING) {
			/* its callback is running on another M: it is short */
			if (spins < 100)
				gx_procyield(10);
			else
				gx_osyield();
			continue;
		}
		struct gx_p *pp = atomic_load(&t->pp);
		if (!pp)
			continue; /* being moved or popped */
		gx_lock(&pp->timerslock);
		if (atomic_load(&t->state) == TIMER_ARMED && atomic_load(&t->pp) == pp) {
			heapremove(pp, t);
			atomic_store(&t->pp, NULL);
			atomic_store(&t->state, TIMER_IDLE);
			gx_unlock(&pp->timerslock);
			return true;
		}
		gx_unlock(&pp->timerslock);
	}
}

bool gx_deltimer(struct gx_rtimer *t)
{
	gx_lock(&t->lock);
	bool r = deltimer_locked(t);
	gx_unlock(&t->lock);
	return r;
}

void gx_addtimer(struct gx_rtimer *t, int64_t when, int64_t period, void (*f)(void *, uintptr_t), void *arg,
		 uintptr_t seq)
{
	GX_ASSERT_INRT("gx_addtimer");
	if (when <= 0)
		when = 1; /* 0 means "not armed" in timer0when */
	gx_lock(&t->lock);
	deltimer_locked(t);
	t->when = when;
	t->period = period;
	t->f = f;
	t->arg = arg;
	t->seq = seq;
	struct gx_m *mp = getm();
	struct gx_p *pp = mp && mp->p ? mp->p : gx_allp[0];
	gx_lock(&pp->timerslock);
	if (unlikely(!heappush(pp, t)))
		gx_fatal("out of memory growing the timer heap of P%d", pp->id);
	atomic_store(&t->pp, pp);
	atomic_store(&t->state, TIMER_ARMED);
	gx_unlock(&pp->timerslock);
	gx_unlock(&t->lock);
	gx_wakenetpoller(when);
}

/*
 * gx_checktimers - run pp's timers that are due at now. Called by pp's M
 * or a thief, holding a P (callbacks ready Gs into it). Returns pp's next
 * when, or 0.
 */
int64_t gx_checktimers(struct gx_p *pp, int64_t now)
{
	gx_coarsetick(now);
	int64_t next = atomic_load_explicit(&pp->timer0when, memory_order_acquire);
	if (next == 0 || next > now)
		return next;
	gx_lock(&pp->timerslock);
	while (pp->ntimers > 0 && pp->timers[0]->when <= now) {
		struct gx_rtimer *t = pp->timers[0];
		heapremove(pp, t);
		gx_pstat_inc(&pp->ntimerfired); /* under timerslock */
		atomic_store(&t->pp, NULL);
		atomic_store(&t->state, TIMER_RUNNING);
		uint32_t gen = atomic_load(&t->gen);
		void (*f)(void *, uintptr_t) = t->f;
		void *arg = t->arg;
		uintptr_t seq = t->seq;
		int64_t period = t->period, when = t->when;
		gx_unlock(&pp->timerslock);

		f(arg, seq);

		gx_lock(&pp->timerslock);
		if (period > 0 && atomic_load(&t->gen) == gen) {
			/* next tick after now, skipping the ones missed (never,
			 * INT64_MAX, if that is past the end of time) */
			int64_t ticks = 1 + (now - when) / period;
			t->when = period > (INT64_MAX - when) / ticks ? INT64_MAX : when + period * ticks;
			if (unlikely(!heappush(pp, t)))
				gx_fatal("out of memory growing the timer heap of P%d", pp->id);
			atomic_store(&t->pp, pp);
			atomic_store(&t->state, TIMER_ARMED);
		} else {
			atomic_store(&t->state, TIMER_IDLE);
		}
	}
	next = pp->ntimers ? pp->timers[0]->when : 0;
	gx_unlock(&pp->timerslock);
	return next;
}

int64_t gx_timers_next(void)
{
	int64_t next = 0;
	for (int32_t i = 0; i < gx_sched.nallp; i++) {
		struct gx_p *pp = gx_allp[i];
		int64_t w = pp ? atomic_load_explicit(&pp->timer0when, memory_order_acquire) : 0;
		if (w && (!next || w < next))
			next = w;
	}
	return next;
}

void gx_movetimers(struct gx_p *from, struct gx_p *to)
{
	if (from == to || atomic_load(&from->timer0when) == 0)
		return;
	struct gx_p *a = from->id < to->id ? from : to, *b = a == from ? to : from;
	gx_lock(&a->timerslock);
	gx_lock(&b->timerslock);
	while (from->ntimers > 0) {
		struct gx_rtimer *t = from->timers[from->ntimers - 1];
		heapremove(from, t);
		if (unlikely(!heappush(to, t)))
			gx_fatal("out of memory moving timers to P%d", to->id);
		atomic_store(&t->pp, to);
	}
	gx_unlock(&b->timerslock);
	gx_unlock(&a->timerslock);
	gx_wakenetpoller(atomic_load(&to->timer0when));
}

/*
 * gx_goready_timer - ready a goroutine whose timer fired. Into this P's
 * local queue if it has room; if it is full, to the HEAD of the global
 * queue rather than (as a plain ready would) its tail. A sleeper has
 * already waited; behind a backlog of goroutines that have never run (a
 * spawner starting 100,000 sleepers) it would wake up tens of ms late. Ps
 * look at the global queue at least every 61st round, so it runs within
 * about 61 short time slices. (A deliberate difference from Go, whose p99
 * timer lateness suffers from exactly this backlog.)
 */
void gx_goready_timer(void *arg, uintptr_t seq)
{
	(void)seq;
	gx_g *gp = arg;
	struct gx_m *mp = getm();
	struct gx_p *pp = mp ? mp->p : NULL;
	if (!pp || gx_runqlen(pp) < GX_RUNQ_SIZE - 1) {
		gx_ready_g(gp, false);
		return;
	}
	gx_casgstatus(gp, Gwaiting, Grunnable);
	gx_lock(&gx_sched.lock);
	gx_globrunqputhead(gp);
	gx_unlock(&gx_sched.lock);
	gx_wakep();
}

/* ---- gx_sleep ------------------------------------------------------------------ */

struct sleeper {
	struct gx_rtimer t;
	int64_t when;
};

static bool sleep_arm(gx_g *gp, void *arg)
{
	struct sleeper *s = arg;
	gx_addtimer(&s->t, s->when, 0, gx_goready_timer, gp, 0);
	return true;
}

int gx_sleep_until(int64_t deadline)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	if (deadline < 0)
		return -EINVAL;
	if (deadline <= gx_nanotime())
		return 0;
	struct sleeper s = {.when = deadline};
	/* Arm the timer only once we are off our stack (in unlockf): it may
	 * fire at once on another M. */
	gx_gopark(sleep_arm, &s, "sleep");
	gx_deltimer(&s.t); /* its callback may still be finishing */
	return 0;
}

int gx_sleep(int64_t ns)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	if (ns <= 0)
		return 0;
	return gx_sleep_until(gx_when(ns));
}
