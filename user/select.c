/* SPDX-License-Identifier: MIT */
/*
 * select.c - select (Go's runtime/select.go), and the deadline of every
 * blocking channel operation.
 *
 * What it owns: gx_select and selectgo, the algorithm that waits on many
 * channels at once; chan.c owns the channels and the hand-offs. A send or
 * receive with a deadline is a 1-case selectgo: the deadline is one more way
 * to wake a select.
 *
 * selectgo(cases, n, deadline):
 *  1. Poll order: the cases with a channel (NULL channels are ignored, as
 *     Go's nil cases), shuffled uniformly (inside-out Fisher-Yates on
 *     gx_fastrand). Lock order: the same cases sorted by channel address
 *     (heapsort: no allocation, n log n).
 *  2. Lock every channel in lock order, once each (a channel may appear in
 *     several cases; equal addresses are adjacent after the sort).
 *  3. Pass 1: try the cases in poll order; the first that can proceed does
 *     (chan.c's trysend/tryrecv), all locks are released, and its index is
 *     returned. Nothing ready: GX_NOW returns -EAGAIN, a passed deadline
 *     -ETIMEDOUT, outside a goroutine -EPERM.
 *  4. Pass 2: one sudog per case (isselect = true), queued on its channel's
 *     sendq or recvq, linked in lock order through waitlink from
 *     gp->waiting. gp->param = NULL. Park; the unlock function runs once
 *     the goroutine is off its stack (on g0, or on the G that gx_gopark
 *     switches to directly): it arms the deadline timer (if any), then
 *     releases the channel locks, last the first one in lock order. That
 *     is the last touch of the goroutine's memory: from then on a waker may
 *     run it.
 *  5. Woken. Exactly one waker won CAS(gp->selectdone, 0 -> 1): a sender,
 *     receiver or close on one of the channels (it dequeued that sudog,
 *     moved the data, set gp->param = sg and sg->success), or the deadline
 *     timer (gp->param stays NULL). Every other waker that reaches one of
 *     our sudogs loses the CAS and skips it (Go's selectDone).
 *  6. Pass 3: lock all channels again, stop the timer (gx_deltimer waits
 *     out a callback in flight, so none can touch selectdone later), reset
 *     selectdone to 0, and dequeue every sudog but the winner's (some may
 *     already have been taken out by losing wakers). Unlock; report the
 *     winning case, or -ETIMEDOUT.
 *
 * Invariants: selectdone is 0 whenever the goroutine is not parked in a
 * select; a select's sudogs are in queues only between pass 2 and pass 3,
 * and only the goroutine itself (holding every lock) takes out the ones
 * nobody won. The sudogs live on the goroutine's stack for n <= 16, else in
 * one malloc'd block with the order arrays (freed before returning).
 *
 * Lock order: channel locks by address; then the timer's locks
 * (gx_addtimer/gx_deltimer are called with the channel locks held). Timer
 * callbacks run with no timer lock held, so those that send on a channel
 * (gx_after's GX_NOW send) cannot deadlock with us, and gx_deltimer waits
 * only for our own callback, selecttimeout, which takes no lock but the
 * run queue's. Then sched.lock / run queues (gx_ready_g).
 *
 * m->locks: a parked select holds all its channel locks across the switch
 * (to g0, or directly to the next goroutine); gx_gopark allows that, and
 * selparkcommit releases them on the same M.
 */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>

/* Cases whose sudogs and order arrays fit on the goroutine's stack. */
#define SELECT_STACK_CASES 16

/* ---- randomness ----------------------------------------------------------------- */

/* cheaprand - gx_fastrand on an M; a thread outside the runtime (non-blocking
 * selects are allowed there) has its own xorshift state. */
static uint32_t cheaprand(void)
{
	if (likely(getm() != NULL))
		return gx_fastrand();
	static __thread uint64_t state;
	uint64_t x = state;
	if (unlikely(x == 0))
		x = ((uint64_t)(uintptr_t)&state * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)gx_nanotime() ^ 1;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* cheaprandn - uniform in [0, n) (Lemire's multiply-shift; bias < n / 2^32). */
static inline uint32_t cheaprandn(uint32_t n)
{
	return (uint32_t)(((uint64_t)cheaprand() * n) >> 32);
}

/* ---- lock order ------------------------------------------------------------------- */

static inline uintptr_t sortkey(const gx_case *cases, int32_t i)
{
	return (uintptr_t)cases[i].ch;
}

/* sortlockorder - heapsort lockorder[0..n) by channel address. */
static void sortlockorder(const gx_case *cases, int32_t *lockorder, int n)
{
	/* Build a max-heap by sifting each new element up. */
	for (int i = 1; i < n; i++) {
		int32_t v = lockorder[i];
		uintptr_t key = sortkey(cases, v);
		int j = i;
		while (j > 0 && sortkey(cases, lockorder[(j - 1) / 2]) < key) {
			lockorder[j] = lockorder[(j - 1) / 2];
			j = (j - 1) / 2;
		}
		lockorder[j] = v;
	}
	/* Move the maximum to the end, sift the displaced element down. */
	for (int i = n - 1; i > 0; i--) {
		int32_t v = lockorder[i];
		uintptr_t key = sortkey(cases, v);
		lockorder[i] = lockorder[0];
		int j = 0;
		for (;;) {
			int k = 2 * j + 1;
			if (k >= i)
				break;
			if (k + 1 < i && sortkey(cases, lockorder[k]) < sortkey(cases, lockorder[k + 1]))
				k++;
			if (key >= sortkey(cases, lockorder[k]))
				break;
			lockorder[j] = lockorder[k];
			j = k;
		}
		lockorder[j] = v;
	}
}

static void sellock(const gx_case *cases, const int32_t *lockorder, int n)
{
	gx_chan *prev = NULL;
	for (int i = 0; i < n; i++) {
		gx_chan *c = cases[lockorder[i]].ch;
		if (c != prev)
			gx_chanlock(c);
		prev = c;
	}
}

/*
 * selunlock - release in reverse lock order. The selecting goroutine may be
 * woken (by its deadline) while its locks are still held here; it then waits
 * in sellock for lockorder[0]'s channel. So that unlock comes last, and
 * nothing of the goroutine's (cases, lockorder) is read after it.
 */
static void selunlock(const gx_case *cases, const int32_t *lockorder, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		gx_chan *c = cases[lockorder[i]].ch;
		if (i > 0 && c == cases[lockorder[i - 1]].ch)
			continue;
		gx_chanunlock(c);
	}
}

struct selunlockarg {
	const gx_case *cases;
	const int32_t *lockorder;
	int n;
};

static void selunlockf(void *arg)
{
	struct selunlockarg *a = arg;
	selunlock(a->cases, a->lockorder, a->n);
}

/* ---- parking ---------------------------------------------------------------------------- */

/* selecttimeout - the deadline timer: one more waker racing for selectdone. */
static void selecttimeout(void *arg, uintptr_t seq)
{
	(void)seq;
	gx_g *gp = arg;
	uint32_t zero = 0;
	if (atomic_compare_exchange_strong_explicit(&gp->selectdone, &zero, 1, memory_order_acq_rel,
						    memory_order_relaxed)) {
		gp->param = NULL;
		gx_ready_g(gp, false);
	}
}

struct selpark {
	const gx_case *cases;
	const int32_t *lockorder;
	int nlock;		 /* entries in lockorder */
	struct gx_rtimer *timer; /* NULL: no deadline */
	int64_t deadline;
};

/* selparkcommit - the unlock function, run on this M once gp is off its stack. */
static bool selparkcommit(gx_g *gp, void *arg)
{
	/* Copy everything out first: once the timer is armed, gp may be woken,
	 * and with no channel lock to wait for, leave and reuse its stack. */
	struct selpark sp = *(struct selpark *)arg;
	if (sp.timer)
		gx_addtimer(sp.timer, sp.deadline, 0, selecttimeout, gp, 0);
	if (sp.nlock)
		selunlock(sp.cases, sp.lockorder, sp.nlock);
	return true;
}

static __attribute__((noreturn)) void parkforever(const char *reason)
{
	for (;;)
		gx_gopark(NULL, NULL, reason);
}

/* ---- selectgo --------------------------------------------------------------------------- */

/*
 * gx_selectgo - the select algorithm (see the top of the file). The caller
 * has validated the cases. Returns the index of the case that proceeded
 * (its ok / err set), or -EAGAIN, -ETIMEDOUT, -EPERM, -ENOMEM.
 */
int gx_selectgo(gx_case *cases, int n, int64_t deadline, const char *reason)
{
	int32_t order_stack[2 * SELECT_STACK_CASES];
	struct gx_sudog sg_stack[SELECT_STACK_CASES];
	int32_t *pollorder = order_stack;
	struct gx_sudog *sgs = sg_stack;
	void *mem = NULL;
	if (n > SELECT_STACK_CASES) {
		mem = malloc((size_t)n * (sizeof(struct gx_sudog) + 2 * sizeof(int32_t)));
		if (!mem)
			return -ENOMEM;
		sgs = mem;
		pollorder = (int32_t *)(sgs + n);
	}
	int32_t *lockorder = pollorder + n;
	bool block = deadline != GX_NOW;
	bool timed = deadline > 0;
	gx_g *gp = getg();
	int ret;

	/* 1. Poll order and lock order. */
	int norder = 0;
	for (int i = 0; i < n; i++) {
		if (!cases[i].ch)
			continue;
		uint32_t j = cheaprandn((uint32_t)norder + 1);
		pollorder[norder] = pollorder[j];
		pollorder[j] = i;
		norder++;
	}
	for (int i = 0; i < norder; i++)
		lockorder[i] = pollorder[i];
	sortlockorder(cases, lockorder, norder);

	/* 2. + 3. Lock and poll. */
	sellock(cases, lockorder, norder);
	struct selunlockarg ua = {cases, lockorder, norder};
	for (int k = 0; k < norder; k++) {
		int32_t i = pollorder[k];
		gx_case *cs = &cases[i];
		if (cs->op == GX_SEND) {
			int r = gx_chantrysend(cs->ch, cs->elem, selunlockf, &ua);
			if (r != -EAGAIN) {
				cs->err = r;
				ret = i;
				goto out;
			}
		} else {
			int r = gx_chantryrecv(cs->ch, cs->elem, selunlockf, &ua);
			if (r != -EAGAIN) {
				cs->ok = r == 1;
				ret = i;
				goto out;
			}
		}
	}
	bool expired = block && timed && gx_nanotime() >= deadline;
	if (!block || expired || !gp) {
		selunlock(cases, lockorder, norder);
		ret = !block ? -EAGAIN : expired ? -ETIMEDOUT : -EPERM;
		goto out;
	}
	if (norder == 0 && !timed)
		parkforever(reason);

	/* 4. Pass 2: a sudog on every channel, linked in lock order. */
	if (unlikely(gp->waiting != NULL))
		gx_fatal("selectgo: gp->waiting != NULL");
	struct gx_sudog **nextp = &gp->waiting;
	for (int k = 0; k < norder; k++) {
		gx_case *cs = &cases[lockorder[k]];
		struct gx_sudog *sg = &sgs[k];
		*sg = (struct gx_sudog){.g = gp, .elem = cs->elem, .c = cs->ch, .isselect = true};
		*nextp = sg;
		nextp = &sg->waitlink;
		gx_chanenqueue(cs->ch, cs->op, sg);
	}
	*nextp = NULL;
	gp->param = NULL;

	struct gx_rtimer timer = {.when = 0};
	struct selpark sp = {
		.cases = cases,
		.lockorder = lockorder,
		.nlock = norder,
		.timer = timed ? &timer : NULL,
		.deadline = deadline,
	};
	gx_gopark(selparkcommit, &sp, reason);

	/* 5. + 6. Woken: by one of the channels (param = its sudog) or the timer. */
	sellock(cases, lockorder, norder);
	if (timed)
		gx_deltimer(&timer);
	atomic_store_explicit(&gp->selectdone, 0, memory_order_relaxed);
	struct gx_sudog *won = gp->param;
	gp->param = NULL;
	gp->waiting = NULL;
	int casi = -1;
	bool success = false;
	for (int k = 0; k < norder; k++) {
		gx_case *cs = &cases[lockorder[k]];
		struct gx_sudog *sg = &sgs[k];
		if (sg == won) {
			casi = lockorder[k];
			success = sg->success;
		} else {
			gx_chandequeuesudog(cs->ch, cs->op, sg);
		}
		sg->waitlink = NULL;
	}
	selunlock(cases, lockorder, norder);
	if (casi < 0) {
		if (unlikely(won != NULL || !timed))
			gx_fatal("selectgo: bad wakeup");
		ret = -ETIMEDOUT;
		goto out;
	}
	if (cases[casi].op == GX_SEND)
		cases[casi].err = success ? 0 : -EPIPE;
	else
		cases[casi].ok = success; /* false: closed, elem zeroed by close */
	ret = casi;
out:
	free(mem);
	return ret;
}

int gx_select(gx_case *cases, int n, int64_t deadline)
{
	GX_ENTER();
	if (n < 0 || (n > 0 && !cases))
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		gx_case *cs = &cases[i];
		if (cs->op != GX_SEND && cs->op != GX_RECV)
			return -EINVAL;
		if (cs->op == GX_SEND && cs->ch && !cs->elem && gx_chanelemsize(cs->ch))
			return -EINVAL;
		cs->ok = false;
		cs->err = 0;
	}
	gx_preempt_point();
	/* One case, no deadline to arm: a plain send or receive (Go compiles
	 * these selects to chansend/chanrecv, and selectnb* for default). */
	if (n == 1 && cases[0].ch && (deadline == GX_NOW || deadline < 0)) {
		gx_case *cs = &cases[0];
		bool block = deadline != GX_NOW;
		int r;
		if (cs->op == GX_SEND) {
			r = gx_chansend(cs->ch, cs->elem, block);
			if (r == -EAGAIN || r == -EPERM)
				return r;
			cs->err = r;
		} else {
			r = gx_chanrecv(cs->ch, cs->elem, block);
			if (r < 0)
				return r;
			cs->ok = r == 1;
		}
		return 0;
	}
	return gx_selectgo(cases, n, deadline, n ? "select" : "select (no cases)");
}
