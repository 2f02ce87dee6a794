/* SPDX-License-Identifier: MIT */
/*
 * sema.c - the runtime semaphore table (Go's sema.go), on which the sync
 * primitives park goroutines.
 *
 * A semaphore is any uint32_t in user memory. semacquire decrements it if
 * it is positive, else parks the goroutine; semrelease increments it and
 * wakes one waiter. Waiters live in a table of SEMTABSZ buckets hashed by
 * address; each bucket is a lock, a count of waiters (so semrelease can skip
 * the lock when nobody waits) and a doubly linked list of waiter records
 * (Go's sudog), FIFO per address (see SEMTABSZ). A waiter that has already waited once
 * (Mutex in normal mode) re-queues at the head of its address (lifo), so
 * Go's fairness rules carry over.
 *
 * The waiter record lives on the parked goroutine's stack: the stack cannot
 * go away while it is parked.
 *
 * Ordering: semrelease adds to the count and only then reads nwait;
 * semacquire raises nwait (under the bucket lock) and only then re-checks
 * the count. Both are sequentially consistent, so one of them sees the
 * other: no wake-up is lost.
 *
 * Handoff (Mutex starvation mode): semrelease gives the count straight to
 * the first waiter (ticket) and yields to it, so a new arrival cannot barge
 * in.
 */
#include "runtime.h"

/* Go hashes into 251 buckets, each a treap keyed by address. We keep a
 * plain list per bucket and make buckets plentiful instead: 4096 (256 KiB of
 * BSS, touched only where used), indexed by a multiplicative hash, so a
 * bucket holds a handful of waiters even with tens of thousands parked on
 * distinct addresses (fork-join code parks one per WaitGroup). */
#define SEMTAB_SHIFT 12
#define SEMTABSZ     (1u << SEMTAB_SHIFT)

struct semroot {
	_Alignas(GX_CACHELINE) gx_lock_t lock;
	_Atomic uint32_t nwait;
	struct gx_sudog *head, *tail;
};

static struct semroot semtable[SEMTABSZ];

static struct semroot *semroot(uint32_t *addr)
{
	uint64_t h = ((uint64_t)(uintptr_t)addr >> 2) * 0x9E3779B97F4A7C15ULL; /* Fibonacci hashing */
	return &semtable[h >> (64 - SEMTAB_SHIFT)];
}

static bool cansemacquire(uint32_t *addr)
{
	_Atomic uint32_t *a = (_Atomic uint32_t *)addr;
	uint32_t v = atomic_load(a);
	while (v > 0)
		if (atomic_compare_exchange_weak(a, &v, v - 1))
			return true;
	return false;
}

/* queue s for addr: at the tail, or before the first waiter for the same
 * address (lifo). root->lock held. */
static void semqueue(struct semroot *root, struct gx_sudog *s, bool lifo)
{
	GX_ASSERT_LOCK_HELD(&root->lock);
	struct gx_sudog *at = NULL;
	if (lifo)
		for (at = root->head; at && at->c != s->c; at = at->next)
			;
	if (at) {
		s->next = at;
		s->prev = at->prev;
		if (at->prev)
			at->prev->next = s;
		else
			root->head = s;
		at->prev = s;
		return;
	}
	s->next = NULL;
	s->prev = root->tail;
	if (root->tail)
		root->tail->next = s;
	else
		root->head = s;
	root->tail = s;
}

/* the first waiter for addr, unlinked, or NULL. root->lock held. */
static struct gx_sudog *semdequeue(struct semroot *root, uint32_t *addr)
{
	GX_ASSERT_LOCK_HELD(&root->lock);
	struct gx_sudog *s = root->head;
	while (s && s->c != (void *)addr)
		s = s->next;
	if (!s)
		return NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		root->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		root->tail = s->prev;
	s->next = s->prev = NULL;
	return s;
}

static bool semunlock(gx_g *gp, void *lock)
{
	(void)gp;
	gx_unlock(&((struct semroot *)lock)->lock);
	return true;
}

/* gx_semacquire - wait until *addr > 0, then decrement it. [G] */
void gx_semacquire(uint32_t *addr, bool lifo, const char *reason)
{
	if (cansemacquire(addr))
		return;
	struct semroot *root = semroot(addr);
	struct gx_sudog s = {.g = getg(), .c = addr};
	for (;;) {
		gx_lock(&root->lock);
		atomic_fetch_add(&root->nwait, 1);
		if (cansemacquire(addr)) {
			atomic_fetch_sub(&root->nwait, 1);
			gx_unlock(&root->lock);
			return;
		}
		atomic_store_explicit(&s.ticket, 0, memory_order_relaxed);
		semqueue(root, &s, lifo);
		gx_gopark(semunlock, root, reason);
		if (atomic_load_explicit(&s.ticket, memory_order_acquire) != 0 || cansemacquire(addr))
			return;
		lifo = true; /* woken but beaten to it: keep our place in line */
	}
}

/* gx_semrelease - increment *addr and wake one waiter. With handoff, the
 * count goes straight to the waiter and the caller yields to it. */
void gx_semrelease(uint32_t *addr, bool handoff)
{
	struct semroot *root = semroot(addr);
	atomic_fetch_add((_Atomic uint32_t *)addr, 1);
	if (atomic_load(&root->nwait) == 0)
		return;
	gx_lock(&root->lock);
	if (atomic_load(&root->nwait) == 0) {
		gx_unlock(&root->lock);
		return;
	}
	struct gx_sudog *s = semdequeue(root, addr);
	if (s)
		atomic_fetch_sub(&root->nwait, 1);
	gx_unlock(&root->lock);
	if (!s)
		return;
	bool handed = handoff && cansemacquire(addr);
	if (handed)
		atomic_store_explicit(&s->ticket, 1, memory_order_release);
	gx_ready_g(s->g, true);
	if (handed && getg())
		gx_yield(); /* let the waiter (now in runnext... or on the queue) run */
}

/* gx_canspin - may a sync primitive spin (Go's sync_runtime_canSpin)?
 * Only briefly, only with other Ps running (the holder may be running),
 * and only if this P has no other work. */
bool gx_canspin(int iter)
{
	enum { ACTIVE_SPIN = 4 };
	if (iter >= ACTIVE_SPIN)
		return false;
	int32_t procs = atomic_load_explicit(&gx_sched.gomaxprocs, memory_order_relaxed);
	if (procs <= 1 || procs <= atomic_load_explicit(&gx_sched.npidle, memory_order_relaxed) +
					   atomic_load_explicit(&gx_sched.nmspinning, memory_order_relaxed) + 1)
		return false;
	struct gx_m *mp = getm();
	return mp && mp->p && gx_runqempty(mp->p);
}
