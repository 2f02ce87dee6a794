/* SPDX-License-Identifier: MIT */
/*
 * runq.c - per-P local run queues and the global run queue (Go's runqput,
 * runqget, runqgrab, runqsteal, globrunqput, globrunqget).
 *
 * Local run queue: a 256-slot ring plus a runnext slot, per P.
 *  - Only the owner P's M writes runqtail and the ring slots in
 *    [runqtail, runqhead + 256). It publishes new entries with a release
 *    store of runqtail.
 *  - Anyone (the owner, thieves) consumes from runqhead with a CAS. A
 *    consumer reads the slots first and then CASes the head forward; if the
 *    CAS fails, what it read is discarded. The owner can only overwrite a
 *    slot after it has observed (acquire) a head beyond it, so a successful
 *    CAS proves the values read were the ones published.
 *  - runnext holds the G made runnable most recently by this P (a spawned
 *    or readied G); it runs next and inherits the current time slice, which
 *    keeps producer/consumer pairs on one P hot. Thieves take it only on
 *    their last pass, after giving the owner a moment to run it.
 *  - When the ring is full, runqputslow moves half of it plus the new G to
 *    the global queue in one lock acquisition.
 * Invariant: each runnable G is in exactly one place: one ring slot between
 * head and tail of one P, one runnext, or the global list. The model test
 * (selftests/runq_model.c) checks that no interleaving loses or duplicates
 * a G.
 *
 * Global run queue: a singly linked FIFO through g->schedlink, protected by
 * sched.lock; runqsize is also read without the lock as a hint.
 *
 * Build with GX_RUNQ_MODEL defined (the model test does) to route every
 * shared-memory access through gx_model_step(), a scheduling point.
 */
#include "runtime.h"

#include <time.h>

#ifdef GX_RUNQ_MODEL
void gx_model_step(void);
#define STEP() gx_model_step()
#else
#define STEP() ((void)0)
#endif

#define LOAD_ACQ(p)	(STEP(), atomic_load_explicit((p), memory_order_acquire))
#define LOAD_RLX(p)	(STEP(), atomic_load_explicit((p), memory_order_relaxed))
#define STORE_REL(p, v) (STEP(), atomic_store_explicit((p), (v), memory_order_release))
#define STORE_RLX(p, v) (STEP(), atomic_store_explicit((p), (v), memory_order_relaxed))
#define CAS_REL(p, old, new) \
	(STEP(), atomic_compare_exchange_strong_explicit((p), (old), (new), memory_order_acq_rel, memory_order_acquire))

#define RUNQ_MASK (GX_RUNQ_SIZE - 1)

/* How long a thief lets a running victim get to its runnext G before
 * taking it: Go sleeps 3 us. A G readied by a channel hand-off is usually
 * run by its victim within that time, and stealing it would split a
 * producer/consumer pair across CPUs. A thief has nothing else to do. */
#define RUNNEXT_STEAL_WAIT_NS 3000
_Static_assert((GX_RUNQ_SIZE & RUNQ_MASK) == 0, "run queue size must be a power of two");

/* Put gp and a batch of pp's local queue on the global queue. Called when
 * the local queue is full; h and t are the head and tail the caller saw.
 * Returns false if a consumer moved the head meanwhile (the caller retries). */
static bool runqputslow(struct gx_p *pp, gx_g *gp, uint32_t h, uint32_t t)
{
	enum { N = GX_RUNQ_SIZE / 2 };
	gx_g *batch[N + 1];

	uint32_t n = (t - h) / 2;
	if (unlikely(n != N))
		gx_fatal("runqputslow: queue is not full (head %u, tail %u)", h, t);
	for (uint32_t i = 0; i < n; i++)
		batch[i] = LOAD_RLX(&pp->runq[(h + i) & RUNQ_MASK]);
	if (!CAS_REL(&pp->runqhead, &h, h + n))
		return false;
	batch[n] = gp;
	for (uint32_t i = 0; i < n; i++)
		batch[i]->schedlink = batch[i + 1];
	gx_lock(&gx_sched.lock);
	gx_globrunqputbatch(batch[0], batch[n], (int32_t)n + 1);
	gx_unlock(&gx_sched.lock);
	return true;
}

/*
 * gx_runqput - put gp on pp's local queue. Owner only. With next, gp goes
 * into runnext and the G it displaces goes to the tail of the ring. A full
 * ring spills half of itself to the global queue. Must not hold sched.lock.
 */
void gx_runqput(struct gx_p *pp, gx_g *gp, bool next)
{
	if (next) {
		gx_g *old = LOAD_RLX(&pp->runnext);
		while (!CAS_REL(&pp->runnext, &old, gp))
			;
		if (old == NULL)
			return;
		gp = old; /* kick the old runnext to the ring */
	}
	for (;;) {
		uint32_t h = LOAD_ACQ(&pp->runqhead);
		uint32_t t = LOAD_RLX(&pp->runqtail);
		if (t - h < GX_RUNQ_SIZE) {
			STORE_RLX(&pp->runq[t & RUNQ_MASK], gp);
			STORE_REL(&pp->runqtail, t + 1);
			return;
		}
		if (runqputslow(pp, gp, h, t))
			return;
		/* a thief took some: there is room now */
	}
}

/*
 * gx_runqget - take a G from pp's local queue. Owner only (thieves use
 * runqsteal). *inherit_time is set when the G came from runnext: it then
 * continues the current time slice instead of starting a new one.
 */
gx_g *gx_runqget(struct gx_p *pp, bool *inherit_time)
{
	gx_g *next = LOAD_RLX(&pp->runnext);
	/* Only the owner sets runnext to non-NULL, so a failed CAS means a
	 * thief took it: fall through to the ring. */
	if (next != NULL && CAS_REL(&pp->runnext, &next, NULL)) {
		*inherit_time = true;
		return next;
	}
	*inherit_time = false;
	for (;;) {
		uint32_t h = LOAD_ACQ(&pp->runqhead);
		uint32_t t = LOAD_RLX(&pp->runqtail);
		if (t == h)
			return NULL;
		gx_g *gp = LOAD_RLX(&pp->runq[h & RUNQ_MASK]);
		if (CAS_REL(&pp->runqhead, &h, h + 1))
			return gp;
	}
}

/* gx_runqempty - whether pp has no local work (ring and runnext). Safe from
 * any thread; a consistent snapshot of head, tail and runnext. */
bool gx_runqempty(struct gx_p *pp)
{
	for (;;) {
		uint32_t h = LOAD_ACQ(&pp->runqhead);
		uint32_t t = LOAD_ACQ(&pp->runqtail);
		gx_g *next = LOAD_ACQ(&pp->runnext);
		if (t == LOAD_ACQ(&pp->runqtail))
			return h == t && next == NULL;
	}
}

/* gx_runqlen - approximate length of pp's ring (not counting runnext). */
uint32_t gx_runqlen(struct gx_p *pp)
{
	uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
	uint32_t n = t - h;
	return n > GX_RUNQ_SIZE ? 0 : n;
}

/*
 * runqgrab - copy half of victim's ring into batch[bhead ...] (a ring of the
 * same size, owned by the caller) and advance victim's head. If the ring is
 * empty and stealnext is set, take victim's runnext instead, after letting
 * a running victim get to it first. Returns the number grabbed.
 */
static uint32_t runqgrab(struct gx_p *victim, _Atomic(gx_g *) *batch, uint32_t bhead, bool stealnext)
{
	for (;;) {
		uint32_t h = LOAD_ACQ(&victim->runqhead);
		uint32_t t = LOAD_ACQ(&victim->runqtail);
		uint32_t n = t - h;
		n = n - n / 2;
		if (n == 0) {
			if (!stealnext)
				return 0;
			gx_g *next = LOAD_RLX(&victim->runnext);
			if (next == NULL)
				return 0;
#ifndef GX_RUNQ_MODEL
			/* The victim is probably about to run it: stealing
			 * it now would just move the G between CPUs (Go
			 * sleeps 3 µs here). */
			if (atomic_load_explicit(&victim->status, memory_order_relaxed) == Prunning) {
				struct timespec ts = {0, RUNNEXT_STEAL_WAIT_NS};
				nanosleep(&ts, NULL);
			}
#endif
			if (!CAS_REL(&victim->runnext, &next, NULL))
				continue;
			STORE_RLX(&batch[bhead & RUNQ_MASK], next);
			return 1;
		}
		if (n > GX_RUNQ_SIZE / 2)
			continue; /* read head and tail at different times */
		for (uint32_t i = 0; i < n; i++) {
			gx_g *gp = LOAD_RLX(&victim->runq[(h + i) & RUNQ_MASK]);
			STORE_RLX(&batch[(bhead + i) & RUNQ_MASK], gp);
		}
		if (CAS_REL(&victim->runqhead, &h, h + n))
			return n;
	}
}

/*
 * gx_runqsteal - steal half of victim's queue into pp's (pp's owner only)
 * and return one of the stolen Gs to run, or NULL.
 */
gx_g *gx_runqsteal(struct gx_p *pp, struct gx_p *victim, bool stealnext)
{
	uint32_t t = LOAD_RLX(&pp->runqtail);
	uint32_t n = runqgrab(victim, pp->runq, t, stealnext);
	if (n == 0)
		return NULL;
	atomic_store_explicit(&pp->nsteal, atomic_load_explicit(&pp->nsteal, memory_order_relaxed) + n,
			      memory_order_relaxed);
	n--;
	gx_g *gp = LOAD_RLX(&pp->runq[(t + n) & RUNQ_MASK]);
	if (n == 0)
		return gp;
	uint32_t h = LOAD_ACQ(&pp->runqhead);
	if (unlikely(t - h + n >= GX_RUNQ_SIZE))
		gx_fatal("runqsteal: runq overflow");
	STORE_REL(&pp->runqtail, t + n);
	return gp;
}

/* ---- global run queue (sched.lock held) -------------------------------- */

void gx_globrunqput(gx_g *gp)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	gp->schedlink = NULL;
	if (gx_sched.runqtail)
		gx_sched.runqtail->schedlink = gp;
	else
		gx_sched.runqhead = gp;
	gx_sched.runqtail = gp;
	atomic_store_explicit(&gx_sched.runqsize, gx_sched.runqsize + 1, memory_order_relaxed);
	gx_kpub_globrunq();
}

void gx_globrunqputhead(gx_g *gp)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	gp->schedlink = gx_sched.runqhead;
	gx_sched.runqhead = gp;
	if (!gx_sched.runqtail)
		gx_sched.runqtail = gp;
	atomic_store_explicit(&gx_sched.runqsize, gx_sched.runqsize + 1, memory_order_relaxed);
	gx_kpub_globrunq();
}

void gx_globrunqputbatch(gx_g *head, gx_g *tail, int32_t n)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	tail->schedlink = NULL;
	if (gx_sched.runqtail)
		gx_sched.runqtail->schedlink = head;
	else
		gx_sched.runqhead = head;
	gx_sched.runqtail = tail;
	atomic_store_explicit(&gx_sched.runqsize, gx_sched.runqsize + n, memory_order_relaxed);
	gx_kpub_globrunq();
}

static gx_g *globrunqpop(void)
{
	gx_g *gp = gx_sched.runqhead;
	gx_sched.runqhead = gp->schedlink;
	if (!gx_sched.runqhead)
		gx_sched.runqtail = NULL;
	gp->schedlink = NULL;
	return gp;
}

/*
 * gx_globrunqget - take a batch from the global queue: one G to run and up
 * to a fair share (size / gomaxprocs + 1, at most max if max > 0, at most
 * half a ring, and no more than fits) moved into pp's local queue. Owner of
 * pp, sched.lock held.
 */
gx_g *gx_globrunqget(struct gx_p *pp, int32_t max)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	int32_t size = gx_sched.runqsize;
	if (size == 0)
		return NULL;
	int32_t procs = atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed);
	int32_t n = size / (procs > 0 ? procs : 1) + 1;
	if (n > size)
		n = size;
	if (max > 0 && n > max)
		n = max;
	if (n > GX_RUNQ_SIZE / 2)
		n = GX_RUNQ_SIZE / 2;
	/* Local ring room: the caller owns pp, so the tail is stable and the
	 * head only moves forward (room only grows). */
	uint32_t room = GX_RUNQ_SIZE - (LOAD_RLX(&pp->runqtail) - LOAD_ACQ(&pp->runqhead));
	if ((uint32_t)n - 1 > room)
		n = (int32_t)room + 1;
	atomic_store_explicit(&gx_sched.runqsize, size - n, memory_order_relaxed);
	gx_kpub_globrunq();
	gx_g *gp = globrunqpop();
	uint32_t t = LOAD_RLX(&pp->runqtail);
	for (int32_t i = 1; i < n; i++)
		STORE_RLX(&pp->runq[(t++) & RUNQ_MASK], globrunqpop());
	STORE_REL(&pp->runqtail, t);
	return gp;
}

/* gx_runqdrain_locked - move pp's runnext and ring to the global queue
 * (when pp is being retired). Owner of pp, sched.lock held. */
void gx_runqdrain_locked(struct gx_p *pp)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	gx_g *next = atomic_exchange_explicit(&pp->runnext, NULL, memory_order_acq_rel);
	if (next)
		gx_globrunqput(next);
	for (;;) {
		uint32_t h = LOAD_ACQ(&pp->runqhead);
		uint32_t t = LOAD_RLX(&pp->runqtail);
		if (t == h)
			return;
		gx_g *gp = LOAD_RLX(&pp->runq[h & RUNQ_MASK]);
		if (CAS_REL(&pp->runqhead, &h, h + 1))
			gx_globrunqput(gp);
	}
}
