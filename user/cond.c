/* SPDX-License-Identifier: MIT */
/*
 * cond.c - Go's sync.Cond (sync/cond.go) on a ticket-based notify list
 * (runtime/sema.go: notifyListAdd, notifyListWait, notifyListNotifyOne,
 * notifyListNotifyAll).
 *
 * A waiter first takes a ticket (notifyListAdd: an atomic increment of
 * wait) while it still holds the user's mutex, then unlocks the mutex, then
 * parks until its ticket has been notified (notifyListWait). Signal wakes
 * the waiter holding ticket notify and advances notify by one; Broadcast
 * advances notify to wait and wakes everyone in the list. So:
 *  - Tickets below notify have been notified; wait - notify are pending.
 *  - Taking the ticket before unlocking the mutex is what makes Wait atomic
 *    with respect to the condition: a Signal issued after the waiter checked
 *    the condition (under the mutex) is for a ticket the waiter already has,
 *    even if the waiter has not parked yet. A waiter that reaches
 *    notifyListWait with an already notified ticket returns at once.
 *  - Signal wakes strictly in ticket order (FIFO): it looks for the exact
 *    ticket notify. If that waiter is between its unlock and its park, it is
 *    not in the list yet; notify still moves past it, and it will not park.
 *  - Tickets are uint32 and compared modulo 2^32 (less: the signed
 *    difference is negative), so they may wrap; at most 2^31 waiters.
 *
 * The list (head/tail, singly linked through gx_sudog.next, in arrival
 * order, which may differ from ticket order) and writes of notify are
 * protected by lock, a runtime lock (gx_lock_t). Each waiter's gx_sudog
 * lives on its own stack: it stays valid while the waiter is parked, and a
 * waker reads everything it needs from it (g, next) before readying it. The
 * waiter is in the list only while parked: it is appended under lock, and
 * gx_gopark releases lock only once the goroutine is off its M.
 *
 * Signal and Broadcast first compare wait and notify without the lock (no
 * waiter: nothing to do), as Go does. They never block, so any thread may
 * call them.
 */
#include "runtime.h"

#include <errno.h>

/* gx_cond.lock and .lockholder hold a gx_lock_t (the holder: only in
 * builds that check lock preconditions; the layout is the same in all). */
_Static_assert(offsetof(gx_lock_t, key) == 0 && sizeof(((gx_lock_t *)0)->key) == sizeof(uint32_t),
	       "gx_cond.lock holds a gx_lock_t's key");
#if GX_LOCK_CHECKS
_Static_assert(offsetof(gx_lock_t, owner) == offsetof(gx_cond, lockholder) - offsetof(gx_cond, lock) &&
		       sizeof(gx_lock_t) <= offsetof(gx_cond, head) - offsetof(gx_cond, lock),
	       "gx_cond.lock and .lockholder hold a checked gx_lock_t");
#else
_Static_assert(sizeof(gx_lock_t) == sizeof(uint32_t), "gx_cond.lock holds a gx_lock_t");
#endif

/* sync.c's Mutex state bit: the mutex is locked */
#define MUTEX_LOCKED 1

static inline _Atomic uint32_t *cond_wait_ticket(gx_cond *c)
{
	return (_Atomic uint32_t *)&c->wait;
}
static inline _Atomic uint32_t *cond_notify_ticket(gx_cond *c)
{
	return (_Atomic uint32_t *)&c->notify;
}
static inline gx_lock_t *cond_lock(gx_cond *c)
{
	return (gx_lock_t *)&c->lock;
}

/* less - a < b modulo 2^32 (tickets wrap). */
static inline bool less(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* notifyListAdd - take the next ticket. Called with the user's mutex held. */
static uint32_t notify_list_add(gx_cond *c)
{
	return atomic_fetch_add(cond_wait_ticket(c), 1);
}

static bool notify_list_unlock(gx_g *gp, void *lock)
{
	(void)gp;
	gx_unlock(lock);
	return true;
}

/* Append s to the list. lock held. */
static void notify_list_append(gx_cond *c, struct gx_sudog *s)
{
	struct gx_sudog *tail = c->tail;
	s->next = NULL;
	if (tail)
		tail->next = s;
	else
		c->head = s;
	c->tail = s;
}

/* notifyListWait - park until ticket t has been notified. */
static void notify_list_wait(gx_cond *c, uint32_t t)
{
	gx_lock(cond_lock(c));
	if (less(t, atomic_load_explicit(cond_notify_ticket(c), memory_order_relaxed))) {
		/* notified between notify_list_add and now */
		gx_unlock(cond_lock(c));
		return;
	}
	struct gx_sudog s = {.g = getg(), .c = c};
	atomic_store_explicit(&s.ticket, t, memory_order_relaxed);
	notify_list_append(c, &s);
	gx_gopark(notify_list_unlock, cond_lock(c), "sync.Cond.Wait");
}

int gx_cond_wait(gx_cond *c, gx_mutex *mu)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	/* Check before taking a ticket: a ticket nobody waits on would
	 * swallow a later Signal. */
	if (!(atomic_load((_Atomic int32_t *)&mu->state) & MUTEX_LOCKED))
		return -EPERM;
	uint32_t t = notify_list_add(c);
	if (gx_mutex_unlock(mu) != 0)
		return -EPERM; /* someone else unlocked it meanwhile: misuse */
	notify_list_wait(c, t);
	gx_mutex_lock(mu);
	return 0;
}

/* notifyListNotifyOne */
void gx_cond_signal(gx_cond *c)
{
	GX_ENTER();
	/* Fast path: no waiter since the last notification. */
	if (atomic_load(cond_wait_ticket(c)) == atomic_load(cond_notify_ticket(c)))
		return;
	gx_lock(cond_lock(c));
	uint32_t t = atomic_load_explicit(cond_notify_ticket(c), memory_order_relaxed);
	if (t == atomic_load(cond_wait_ticket(c))) {
		gx_unlock(cond_lock(c));
		return;
	}
	atomic_store(cond_notify_ticket(c), t + 1);
	struct gx_sudog *prev = NULL;
	for (struct gx_sudog *s = c->head; s; prev = s, s = s->next) {
		if (atomic_load_explicit(&s->ticket, memory_order_relaxed) != t)
			continue;
		if (prev)
			prev->next = s->next;
		else
			c->head = s->next;
		if (!s->next)
			c->tail = prev;
		gx_g *gp = s->g;
		gx_unlock(cond_lock(c));
		gx_ready_g(gp, true);
		return;
	}
	/* Ticket t is between its Add and its Wait: it will see notify > t. */
	gx_unlock(cond_lock(c));
}

/* notifyListNotifyAll */
void gx_cond_broadcast(gx_cond *c)
{
	GX_ENTER();
	if (atomic_load(cond_wait_ticket(c)) == atomic_load(cond_notify_ticket(c)))
		return;
	gx_lock(cond_lock(c));
	struct gx_sudog *s = c->head;
	c->head = c->tail = NULL;
	atomic_store(cond_notify_ticket(c), atomic_load(cond_wait_ticket(c)));
	gx_unlock(cond_lock(c));
	while (s) {
		/* s is on its goroutine's stack: read it before readying it. */
		struct gx_sudog *next = s->next;
		gx_g *gp = s->g;
		gx_ready_g(gp, true);
		s = next;
	}
}
