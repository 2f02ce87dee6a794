/* SPDX-License-Identifier: MIT */
/*
 * chan.c - channels (Go's runtime/chan.go): make, send, receive, close, and
 * the pieces select.c builds on.
 *
 * What it owns. A channel (struct gx_chan, Go's hchan) is one lock, a ring
 * buffer of dataqsiz elements of elemsize bytes (qcount used, sendx/recvx the
 * next slots), the closed flag, and two FIFO wait queues of waiter records
 * (struct gx_sudog, runtime.h): recvq for blocked receivers, sendq for
 * blocked senders. A sudog lives on its goroutine's stack (select.c: in its
 * case array) and is valid exactly while that goroutine is parked; sg->elem
 * points at the waiter's buffer: the value it sends, or where it receives.
 *
 * Invariants (c->lock held):
 *  - at least one of sendq and recvq is empty, except when both hold sudogs
 *    of selects (a select waits on sends and receives at once, and cannot be
 *    matched with itself);
 *  - buffered: qcount > 0 implies recvq is empty; qcount < dataqsiz implies
 *    sendq is empty (ignoring select sudogs as above);
 *  - unbuffered: qcount == 0 always;
 *  - closed: sendq is empty and stays empty; recvq is empty once drained.
 *
 * Sending (chansend): closed: -EPIPE. A waiting receiver: copy the value
 * straight into its buffer (sendDirect; it is parked, its stack cannot move)
 * and ready it. Room in the buffer: copy in. Else park on sendq; whoever
 * dequeues us copies the value out of our buffer before readying us.
 * Receiving (chanrecv) is the mirror image, with one twist from Go: a
 * receiver that finds a waiting sender on a full buffered channel takes the
 * head of the ring and moves the sender's value to the tail, so FIFO order
 * holds across the buffer and the queue.
 *
 * Wake-ups. The waker dequeues the sudog under c->lock, copies the data,
 * unlocks, then sets gp->param = sg and sg->success (true: a value moved;
 * false: woken by close) and readies gp. A sudog of a select (isselect)
 * belongs to a goroutine waiting on several channels and maybe a deadline
 * timer: the waker must first win CAS(gp->selectdone, 0 -> 1) or skip the
 * sudog (it stays dequeued; the select cleans up the rest). Blocking sends and
 * receives with a deadline are 1-case selects (select.c) for that reason; the
 * deadline timer is one more waker in the same race.
 *
 * Lock-free fast paths (Go's): a non-blocking send on an open channel that is
 * full, and a non-blocking receive on an empty channel, fail without taking
 * the lock (full()/empty() read qcount, closed and the queue heads
 * atomically; writers store them under the lock with release order).
 *
 * Lock order: channel locks in address order (select.c), then timer locks
 * (a select arms and stops its deadline timer with its channel locks held),
 * then sched.lock and the run queues. Goroutines are always readied after
 * the channel locks are released.
 *
 * Every public call is a cooperative preemption point. Calls work from any
 * thread (timer callbacks on g0 send with GX_NOW); only parking needs a
 * goroutine, so a call that would block elsewhere returns -EPERM.
 */
#include "runtime.h"
#include "testing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct waitq {
	_Atomic(struct gx_sudog *) first; /* read without the lock by empty()/full() */
	struct gx_sudog *last;
};

struct gx_chan {
	gx_lock_t lock;		 /* protects all below but dataqsiz, elemsize, buf */
	_Atomic uint32_t qcount; /* elements in the buffer */
	_Atomic uint32_t closed;
	uint32_t dataqsiz;     /* ring size (cap); immutable */
	uint32_t elemsize;     /* immutable */
	uint32_t sendx, recvx; /* ring indexes */
	struct waitq recvq, sendq;
	unsigned char *buf; /* dataqsiz * elemsize bytes, after the struct */
};

static inline unsigned char *chanbuf(gx_chan *c, uint32_t i)
{
	return c->buf + (size_t)i * c->elemsize;
}

/* Element copies. A NULL buffer comes only with elemsize 0 (callers check
 * for a discarding receiver's NULL themselves): nothing to copy then. */
static inline void elemcopy(void *dst, const void *src, size_t n)
{
	if (n && dst && src)
		memmove(dst, src, n);
}

static inline void elemclr(void *dst, size_t n)
{
	if (dst && n)
		memset(dst, 0, n);
}

/* ---- wait queues (c->lock held) ----------------------------------------------- */

static void waitq_enqueue(struct waitq *q, struct gx_sudog *sg)
{
	sg->next = NULL;
	struct gx_sudog *x = q->last;
	if (x) {
		sg->prev = x;
		x->next = sg;
		q->last = sg;
		return;
	}
	sg->prev = NULL;
	q->last = sg;
	atomic_store_explicit(&q->first, sg, memory_order_release);
}

/*
 * waitq_dequeue - unlink and return the first waiter that can be woken: a
 * plain waiter, or a select's whose wake-up we win. A select sudog whose
 * goroutine was already won by someone else (another channel, the deadline)
 * is dropped from the queue and skipped.
 */
static struct gx_sudog *waitq_dequeue(struct waitq *q)
{
	for (;;) {
		struct gx_sudog *sg = atomic_load_explicit(&q->first, memory_order_relaxed);
		if (!sg)
			return NULL;
		struct gx_sudog *y = sg->next;
		if (!y) {
			q->last = NULL;
			atomic_store_explicit(&q->first, NULL, memory_order_release);
		} else {
			y->prev = NULL;
			atomic_store_explicit(&q->first, y, memory_order_release);
			sg->next = NULL;
		}
		if (sg->isselect) {
			uint32_t zero = 0;
			if (!atomic_compare_exchange_strong_explicit(&sg->g->selectdone, &zero, 1, memory_order_acq_rel,
								     memory_order_relaxed))
				continue;
		}
		return sg;
	}
}

/* waitq_dequeuesudog - unlink sg if it is still queued (Go's dequeueSudoG):
 * a waker may already have taken it out. */
static void waitq_dequeuesudog(struct waitq *q, struct gx_sudog *sg)
{
	struct gx_sudog *x = sg->prev, *y = sg->next;
	if (x) {
		if (y) {
			x->next = y;
			y->prev = x;
			sg->next = sg->prev = NULL;
			return;
		}
		x->next = NULL; /* last in the queue */
		q->last = x;
		sg->prev = NULL;
		return;
	}
	if (y) { /* first in the queue */
		y->prev = NULL;
		atomic_store_explicit(&q->first, y, memory_order_release);
		sg->next = NULL;
		return;
	}
	/* Alone in the queue, or already dequeued. */
	if (atomic_load_explicit(&q->first, memory_order_relaxed) == sg) {
		q->last = NULL;
		atomic_store_explicit(&q->first, NULL, memory_order_release);
	}
}

/* ---- lock-free state checks (Go's full and empty) ------------------------------ */

/* full - a send would block (ignoring closed). May be stale by the time it returns. */
static inline bool full(gx_chan *c)
{
	if (c->dataqsiz == 0)
		return atomic_load_explicit(&c->recvq.first, memory_order_acquire) == NULL;
	return atomic_load_explicit(&c->qcount, memory_order_acquire) == c->dataqsiz;
}

/* empty - a receive would block (ignoring closed). */
static inline bool empty(gx_chan *c)
{
	if (c->dataqsiz == 0)
		return atomic_load_explicit(&c->sendq.first, memory_order_acquire) == NULL;
	return atomic_load_explicit(&c->qcount, memory_order_acquire) == 0;
}

/* ---- making and freeing ------------------------------------------------------------ */

int gx_chan_make(gx_chan **ch, size_t elemsize, size_t cap)
{
	if (!ch)
		return -EINVAL;
	*ch = NULL;
	if (elemsize > GX_CHAN_ELEM_MAX || cap > GX_CHAN_CAP_MAX)
		return -EINVAL;
	/* cap <= 2^30 and elemsize <= 2^16: the product cannot overflow. */
	size_t bufsz = elemsize * cap;
	size_t hdr = (sizeof(gx_chan) + 15) & ~(size_t)15;
	gx_chan *c = calloc(1, hdr + bufsz);
	if (!c)
		return -ENOMEM;
	c->dataqsiz = (uint32_t)cap;
	c->elemsize = (uint32_t)elemsize;
	c->buf = (unsigned char *)c + hdr;
	*ch = c;
	return 0;
}

int gx_chan_free(gx_chan *c)
{
	if (!c)
		return 0;
	gx_lock(&c->lock);
	bool busy = atomic_load_explicit(&c->recvq.first, memory_order_relaxed) ||
		    atomic_load_explicit(&c->sendq.first, memory_order_relaxed);
	gx_unlock(&c->lock);
	if (busy)
		return -EBUSY;
	free(c);
	return 0;
}

size_t gx_chan_len(const gx_chan *c)
{
	return c ? atomic_load_explicit(&((gx_chan *)c)->qcount, memory_order_relaxed) : 0;
}

size_t gx_chan_cap(const gx_chan *c)
{
	return c ? c->dataqsiz : 0;
}

/* ---- the hand-offs -------------------------------------------------------------------- */

static void unlockchan(void *arg)
{
	gx_unlock(&((gx_chan *)arg)->lock);
}

/* wakeup - the tail of every hand-off: tell gp which sudog won and how. The
 * channel locks are released: gp cannot run before gx_ready_g. */
static inline void wakeup(struct gx_sudog *sg, bool success)
{
	gx_g *gp = sg->g;
	gp->param = sg;
	sg->success = success;
	gx_ready_g(gp, true);
}

/*
 * chansendto - hand ep to the receiver sg dequeued from c->recvq (empty buffer, or
 * unbuffered). c->lock held; unlockf(arg) releases it (select: all of its
 * locks) before the receiver is readied. Go's send + sendDirect.
 */
static void chansendto(gx_chan *c, struct gx_sudog *sg, const void *ep, void (*unlockf)(void *), void *arg)
{
	if (sg->elem) {
		elemcopy(sg->elem, ep, c->elemsize); /* into the parked receiver's buffer */
		sg->elem = NULL;
	}
	unlockf(arg);
	wakeup(sg, true);
}

/*
 * chanrecvfrom - take a value for ep from the sender sg dequeued from c->sendq.
 * Unbuffered: straight from the sender's buffer (recvDirect). Full buffer:
 * the head of the ring for us, the sender's value to the tail (the same
 * slot, since the ring is full). c->lock held; released by unlockf(arg).
 */
static void chanrecvfrom(gx_chan *c, struct gx_sudog *sg, void *ep, void (*unlockf)(void *), void *arg)
{
	size_t sz = c->elemsize;
	if (c->dataqsiz == 0) {
		if (ep)
			elemcopy(ep, sg->elem, sz);
	} else {
		unsigned char *qp = chanbuf(c, c->recvx);
		if (ep)
			elemcopy(ep, qp, sz);
		elemcopy(qp, sg->elem, sz);
		if (++c->recvx == c->dataqsiz)
			c->recvx = 0;
		c->sendx = c->recvx; /* still full */
	}
	sg->elem = NULL;
	unlockf(arg);
	wakeup(sg, true);
}

/*
 * gx_chantrysend - do a send on c if it can proceed now. c->lock held.
 * Returns 0 (sent) or -EPIPE (closed), in both cases after unlockf(arg) has
 * released the lock; or -EAGAIN: it would block, the lock is still held.
 */
int gx_chantrysend(gx_chan *c, const void *ep, void (*unlockf)(void *), void *arg)
{
	GX_ASSERT_LOCK_HELD(&c->lock);
	if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
		unlockf(arg);
		return -EPIPE;
	}
	struct gx_sudog *sg = waitq_dequeue(&c->recvq);
	if (sg) {
		chansendto(c, sg, ep, unlockf, arg);
		return 0;
	}
	uint32_t qcount = atomic_load_explicit(&c->qcount, memory_order_relaxed);
	if (qcount < c->dataqsiz) {
		elemcopy(chanbuf(c, c->sendx), ep, c->elemsize);
		if (++c->sendx == c->dataqsiz)
			c->sendx = 0;
		atomic_store_explicit(&c->qcount, qcount + 1, memory_order_release);
		unlockf(arg);
		return 0;
	}
	return -EAGAIN;
}

/*
 * gx_chantryrecv - do a receive on c if it can proceed now. c->lock held.
 * Returns 1 (a value) or 0 (closed and drained: *ep zeroed) after
 * unlockf(arg) released the lock; or -EAGAIN with the lock still held.
 */
int gx_chantryrecv(gx_chan *c, void *ep, void (*unlockf)(void *), void *arg)
{
	GX_ASSERT_LOCK_HELD(&c->lock);
	size_t sz = c->elemsize;
	uint32_t qcount = atomic_load_explicit(&c->qcount, memory_order_relaxed);
	if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
		if (qcount == 0) {
			unlockf(arg);
			elemclr(ep, sz);
			return 0;
		}
		/* closed with values left: drain them (sendq is empty) */
	} else {
		struct gx_sudog *sg = waitq_dequeue(&c->sendq);
		if (sg) {
			chanrecvfrom(c, sg, ep, unlockf, arg);
			return 1;
		}
	}
	if (qcount > 0) {
		unsigned char *qp = chanbuf(c, c->recvx);
		if (ep)
			elemcopy(ep, qp, sz);
		if (++c->recvx == c->dataqsiz)
			c->recvx = 0;
		atomic_store_explicit(&c->qcount, qcount - 1, memory_order_release);
		unlockf(arg);
		return 1;
	}
	return -EAGAIN;
}

/* ---- blocking without a deadline ------------------------------------------------------ */

static bool chanparkcommit(gx_g *gp, void *lock)
{
	(void)gp;
	gx_unlock(lock);
	return true;
}

/* checkwakeup - after a plain (non-select) park: only the waker that
 * dequeued our sudog may have readied us, and it said so in gp->param. */
static inline void checkwakeup(gx_g *gp, const struct gx_sudog *mysg, const char *who)
{
	const void *param = gp->param;
	if (unlikely(param != (const void *)mysg))
		gx_fatal("%s: spurious wakeup", who);
	gp->waiting = NULL;
	gp->param = NULL;
}

/* parkforever - Go's gopark(nil, nil, ...) on a nil channel: nothing can
 * wake us (deadlock detection reports it if nothing else runs). */
static __attribute__((noreturn)) void parkforever(const char *reason)
{
	for (;;)
		gx_gopark(NULL, NULL, reason);
}

/*
 * chanpark - park gp on q until a partner or close dequeues it (c->lock
 * held; the park releases it). The sudog lives on this frame. Returns true
 * if woken by a value, false if by close.
 */
static bool chanpark(gx_chan *c, struct waitq *q, gx_g *gp, void *ep, const char *reason, const char *who)
{
	struct gx_sudog mysg = {.g = gp, .elem = ep, .c = c};
	/* The sudog is referenced from gp and the queue only while gp is
	 * parked in this frame; checkwakeup verifies it was dequeued. */
	// cppcheck-suppress autoVariables
	gp->waiting = &mysg;
	gp->param = NULL;
	waitq_enqueue(q, &mysg);
	gx_gopark(chanparkcommit, &c->lock, reason);
	checkwakeup(gp, &mysg, who);
	return mysg.success;
}

/*
 * gx_chansend - Go's chansend: block = false is GX_NOW, true is GX_FOREVER.
 * Returns 0, -EPIPE, -EAGAIN, -EPERM.
 */
int gx_chansend(gx_chan *c, const void *ep, bool block)
{
	if (unlikely(!c)) {
		if (!block)
			return -EAGAIN;
		if (!getg())
			return -EPERM;
		parkforever("chan send (nil chan)");
	}
	/*
	 * Fast path (Go's): a non-blocking send on an open, full channel fails
	 * without the lock. closed is read first: a closed channel cannot go
	 * from "ready for sending" back to "not ready", so open-then-full
	 * means there was a moment when it was both open and full, and the
	 * send may fail as if it had been tried then.
	 */
	if (!block && !atomic_load_explicit(&c->closed, memory_order_acquire) && full(c))
		return -EAGAIN;

	gx_lock(&c->lock);
	int r = gx_chantrysend(c, ep, unlockchan, c);
	if (r != -EAGAIN)
		return r;
	gx_g *gp = getg();
	if (!block || !gp) {
		gx_unlock(&c->lock);
		return block ? -EPERM : -EAGAIN;
	}
	/* Park on sendq; the receiver (or close) that dequeues us does the rest. */
	return chanpark(c, &c->sendq, gp, (void *)(uintptr_t)ep, "chan send", "chansend") ? 0 : -EPIPE;
}

/*
 * gx_chanrecv - Go's chanrecv: returns 1 (value), 0 (closed, *ep zeroed),
 * -EAGAIN, -EPERM.
 */
int gx_chanrecv(gx_chan *c, void *ep, bool block)
{
	if (unlikely(!c)) {
		if (!block)
			return -EAGAIN;
		if (!getg())
			return -EPERM;
		parkforever("chan receive (nil chan)");
	}
	/*
	 * Fast path (Go's): a non-blocking receive on an empty channel. If it
	 * is empty and not closed, it was empty and open at the moment of the
	 * closed load: fail. If it is closed, look again: closed channels stay
	 * closed, so empty now means closed and drained.
	 */
	if (!block && empty(c)) {
		if (!atomic_load_explicit(&c->closed, memory_order_acquire))
			return -EAGAIN;
		if (empty(c)) {
			elemclr(ep, c->elemsize);
			return 0;
		}
	}

	gx_lock(&c->lock);
	int r = gx_chantryrecv(c, ep, unlockchan, c);
	if (r != -EAGAIN)
		return r;
	gx_g *gp = getg();
	if (!block || !gp) {
		gx_unlock(&c->lock);
		return block ? -EPERM : -EAGAIN;
	}
	/* Woken by a sender (a value) or by close (*ep zeroed). */
	return chanpark(c, &c->recvq, gp, ep, "chan receive", "chanrecv") ? 1 : 0;
}

/* ---- the public calls (each a cooperative preemption point) -------------------------------- */

int gx_chan_send(gx_chan *c, const void *ep, int64_t deadline)
{
	GX_ENTER();
	if (c && !ep && c->elemsize)
		return -EINVAL;
	gx_preempt_point();
	if (deadline == GX_NOW)
		return gx_chansend(c, ep, false);
	if (deadline < 0)
		return gx_chansend(c, ep, true);
	gx_case cs = {.ch = c, .op = GX_SEND, .elem = (void *)(uintptr_t)ep};
	int r = gx_selectgo(&cs, 1, deadline, c ? "chan send" : "chan send (nil chan)");
	return r < 0 ? r : cs.err;
}

int gx_chan_recv(gx_chan *c, void *ep, int64_t deadline)
{
	GX_ENTER();
	gx_preempt_point();
	if (deadline == GX_NOW)
		return gx_chanrecv(c, ep, false);
	if (deadline < 0)
		return gx_chanrecv(c, ep, true);
	gx_case cs = {.ch = c, .op = GX_RECV, .elem = ep};
	int r = gx_selectgo(&cs, 1, deadline, c ? "chan receive" : "chan receive (nil chan)");
	return r < 0 ? r : cs.ok;
}

/*
 * gx_chan_close - Go's closechan. Every waiter is dequeued under the lock
 * (receivers get a zeroed element, success = false) and readied after it is
 * released, so they run in the order they waited.
 */
int gx_chan_close(gx_chan *c)
{
	GX_ENTER();
	if (!c)
		return -EINVAL;
	gx_preempt_point();
	gx_lock(&c->lock);
	if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
		gx_unlock(&c->lock);
		return -EPIPE;
	}
	atomic_store_explicit(&c->closed, 1, memory_order_release);

	/* Collect the goroutines through schedlink (unused while they wait). */
	gx_g *head = NULL, **tail = &head;
	struct gx_sudog *sg;
	while ((sg = waitq_dequeue(&c->recvq)) != NULL) {
		if (sg->elem) {
			elemclr(sg->elem, c->elemsize);
			sg->elem = NULL;
		}
		sg->g->param = sg;
		sg->success = false;
		*tail = sg->g;
		tail = &sg->g->schedlink;
	}
	while ((sg = waitq_dequeue(&c->sendq)) != NULL) {
		sg->elem = NULL;
		sg->g->param = sg;
		sg->success = false;
		*tail = sg->g;
		tail = &sg->g->schedlink;
	}
	*tail = NULL;
	gx_unlock(&c->lock);
	while (head) {
		gx_g *gp = head;
		head = gp->schedlink;
		gp->schedlink = NULL;
		gx_ready_g(gp, true);
	}
	return 0;
}

/* ---- for select.c --------------------------------------------------------------------- */

void gx_chanlock(gx_chan *c)
{
	gx_lock(&c->lock);
}
void gx_chanunlock(gx_chan *c)
{
	gx_unlock(&c->lock);
}
size_t gx_chanelemsize(const gx_chan *c)
{
	return c->elemsize;
}

void gx_chanenqueue(gx_chan *c, int op, struct gx_sudog *sg)
{
	waitq_enqueue(op == GX_SEND ? &c->sendq : &c->recvq, sg);
}

void gx_chandequeuesudog(gx_chan *c, int op, struct gx_sudog *sg)
{
	waitq_dequeuesudog(op == GX_SEND ? &c->sendq : &c->recvq, sg);
}

/* gx_channwaiters - how many sudogs wait in each queue (for the tests'
 * gx_chanwaiters, testing.c). */
void gx_channwaiters(gx_chan *c, int *nsend, int *nrecv)
{
	int ns = 0, nr = 0;
	gx_lock(&c->lock);
	for (struct gx_sudog *s = atomic_load_explicit(&c->sendq.first, memory_order_relaxed); s; s = s->next)
		ns++;
	for (struct gx_sudog *s = atomic_load_explicit(&c->recvq.first, memory_order_relaxed); s; s = s->next)
		nr++;
	gx_unlock(&c->lock);
	*nsend = ns;
	*nrecv = nr;
}
