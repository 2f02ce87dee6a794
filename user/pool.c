/* SPDX-License-Identifier: MIT */
/*
 * pool.c - object pools with a per-P cache (Go's sync.Pool; gmpx/pool.h
 * has the API).
 *
 * What it owns. A pool (struct gx_pool) is
 *  - one cache per P (struct slot), allocated by that P on its first use
 *    and indexed by P id in slots[GX_MAXPROCS_LIMIT] (Ps are never freed
 *    and their ids are dense, so GOMAXPROCS may grow or shrink at will: a
 *    retired P's cache just stops being used, and is aged by the sweep
 *    like an idle P's). A cache is two generations of at most
 *    POOL_LOCAL_CAP objects each, cur and old, used as stacks;
 *  - one shared list of batches of up to POOL_BATCH objects, newest
 *    first, each stamped with the time of its last push, under the pool's
 *    lock;
 *  - the sweep: a one-shot runtime timer, armed while the pool may hold
 *    objects, whose callback starts a goroutine that ages what the P
 *    caches cannot age themselves.
 *
 * The fast path. The cache of P i belongs to the M that holds P i, and is
 * used by that M only, with plain loads and stores: no lock, no atomic
 * read-modify-write (ncur and nold are relaxed atomics only so that the
 * sweep may read them as a hint). While a Get or Put runs, its goroutine
 * cannot lose the P: its code is in the runtime's text (asynchronous
 * preemption never stops it there), it makes no call that could switch
 * goroutines, and GX_ENTER marks it as inside the runtime (a kernel-assist
 * revocation never takes the P of such an M). new_fn and free_fn are user
 * code that may switch: they are called only after the cache has been left
 * (objects to free are collected in struct drops on the caller's stack).
 * Get takes from cur, then old, then a batch of the shared list (refilling
 * cur), and calls new_fn last. Put pushes onto cur; a full cur moves its
 * POOL_BATCH oldest objects to the shared list in one batch (the node is
 * the cache's spare one, kept from the last refill, or malloc'd). Calls
 * with no P (a foreign thread; code between gx_syscall_enter and _exit;
 * an M whose P was taken) take or add single objects on the shared list
 * under the lock.
 *
 * Why the shared list is locked, not lock-free: it moves whole batches, so
 * a P takes the lock at most once per POOL_BATCH operations, and only when
 * its own cache over- or underflows; the sweep must cut off the list's
 * old tail at once; and a lock-free stack of nodes that are freed and
 * reused needs ABA protection (Go's poolChain relies on its GC for that).
 *
 * Trimming: generations instead of a GC. Time is cut into sweep intervals
 * (sweep_ns, GX_POOL_SWEEP_DEFAULT); each cache remembers when its current
 * generation began (agedat). Aging a cache at time now, after k whole
 * intervals: k == 1, old is freed and cur becomes old; k >= 2, both are
 * freed; agedat moves on by k intervals. A cache is aged before every
 * operation on it, so cur holds only objects put in the current interval,
 * and an object is freed between one and two intervals after its last Put,
 * unless a Get takes it first (from old too: Go's victim cache). Aging is
 * lazy: a P ages its own cache when an operation finds the interval over
 * (one load of the runtime's coarse clock, gx_coarsenow(), a millisecond or
 * so behind, per operation: late, never early). The shared list is pushed
 * to without aging, so its batches carry their own stamps (taken under the
 * lock, so the list stays sorted): the sweep frees the tail of batches
 * older than one interval, which, with a sweep every interval, is again
 * between one and two intervals after the push.
 * The sweep goroutine ages the shared list, its own P's cache, and the
 * caches of the Ps that no M holds: those on the idle list or retired
 * (Pdead), which, with sched.lock held, no M can take (pidleget and
 * procresize need that lock), while the M that last held them published
 * their contents by taking sched.lock to put them there. A P that stays
 * busy with goroutines that never touch the pool is never aged (its at
 * most 2 * POOL_LOCAL_CAP objects wait for gx_pool_free or its next idle
 * spell). The sweep re-arms the timer while anything is cached anywhere;
 * a Put re-arms it when it finds it unarmed. (A Put racing with the sweep's
 * last look may leave the timer unarmed with objects cached on a busy P;
 * they age at that P's next operation, and the next Put anywhere re-arms.)
 *
 * Sweep lifetime: the callback counts itself in nsweepers before it looks
 * at closing, and the sweep goroutine leaves nsweepers as its last touch of
 * the pool; gx_pool_free sets closing, stops the timer, waits for
 * nsweepers to reach 0 and stops the timer again (a sweep that had looked
 * at closing before it was set may have re-armed it).
 *
 * Lock order: sched.lock (the sweep, with no pool lock held), then the
 * pool's lock; timer locks after both (arming happens with neither held).
 */
#include "runtime.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <gmpx/pool.h>

/* Tuning. POOL_LOCAL_CAP: objects a P's cache keeps in its current
 * generation before spilling; POOL_BATCH: objects moved between a cache
 * and the shared list at once (half a cache, so that a P that puts and gets
 * around the boundary does not move a batch every time). */
#define POOL_LOCAL_CAP 32
#define POOL_BATCH     16
/* Objects one operation can have to free: an aged cache (both
 * generations) and a spill whose batch could not be allocated. */
#define POOL_DROP_MAX (2 * POOL_LOCAL_CAP + POOL_BATCH)
/* ... of which aging one cache: both generations. */
#define POOL_SLOT_DROP ((int64_t)2 * POOL_LOCAL_CAP)

struct batch {
	struct batch *next;
	int64_t when; /* gx_nanotime() of its last push (the pool's lock) */
	int32_t n;
	void *obj[POOL_BATCH];
};

/* A P's cache: the M holding the P only, or the sweep while no M does. */
struct slot {
	void *cur[POOL_LOCAL_CAP];
	void *old[POOL_LOCAL_CAP];
	_Atomic int32_t ncur, nold; /* relaxed: written by the owner, read by the sweep as a hint */
	int64_t agedat;		    /* when cur began */
	struct batch *spare;	    /* an empty node for the next spill */
};

struct gx_pool {
	/* read-mostly: every operation reads these */
	void *(*new_fn)(void *);
	void (*free_fn)(void *, void *);
	void *arg;
	_Atomic int64_t sweep_ns;
	_Atomic uint32_t armed;	   /* the timer is armed or its sweep is running */
	_Atomic uint32_t closing;  /* gx_pool_free has begun */
	_Atomic int32_t nsweepers; /* timer callbacks and sweep goroutines in flight */
	_Atomic uint32_t sweeping; /* a sweep is running (only one at a time) */
	struct gx_rtimer timer;

	/* the shared list */
	_Alignas(GX_CACHELINE) gx_lock_t lock;
	struct batch *shared;	 /* lock; newest first */
	_Atomic int64_t nshared; /* objects in it (written under the lock, read as a hint) */

	_Alignas(GX_CACHELINE) _Atomic(struct slot *) slots[GX_MAXPROCS_LIMIT];
};

/* Objects to free once the operation has left the cache. */
struct drops {
	int32_t n;
	void *obj[POOL_DROP_MAX];
};

static void freeobj(gx_pool *p, void *obj)
{
	if (p->free_fn)
		p->free_fn(obj, p->arg);
	else
		free(obj);
}

static void freedrops(gx_pool *p, const struct drops *d)
{
	for (int32_t i = 0; i < d->n; i++)
		freeobj(p, d->obj[i]);
}

/* freebatches - free the objects of a detached list of batches, and its nodes. */
static void freebatches(gx_pool *p, struct batch *b)
{
	while (b) {
		struct batch *next = b->next;
		for (int32_t i = 0; i < b->n; i++)
			freeobj(p, b->obj[i]);
		free(b);
		b = next;
	}
}

static int32_t countbatches(const struct batch *b)
{
	int32_t n = 0;
	for (; b; b = b->next)
		n += b->n;
	return n;
}

/* ---- aging ------------------------------------------------------------------------------ */

/* ageslot - bring s's generations up to now (top of the file); what is
 * dropped goes into drop[] (room for 2 * POOL_LOCAL_CAP). Returns how many. */
static int32_t ageslot(struct slot *s, int64_t now, int64_t sweep, void **drop)
{
	if (now - s->agedat < sweep)
		return 0;
	int64_t k = (now - s->agedat) / sweep;
	int32_t ncur = atomic_load_explicit(&s->ncur, memory_order_relaxed);
	int32_t nold = atomic_load_explicit(&s->nold, memory_order_relaxed);
	int32_t n = nold;
	memcpy(drop, s->old, (size_t)nold * sizeof(void *));
	if (k >= 2) {
		memcpy(drop + n, s->cur, (size_t)ncur * sizeof(void *));
		n += ncur;
		nold = 0;
	} else {
		memcpy(s->old, s->cur, (size_t)ncur * sizeof(void *));
		nold = ncur;
	}
	atomic_store_explicit(&s->ncur, 0, memory_order_relaxed);
	atomic_store_explicit(&s->nold, nold, memory_order_relaxed);
	s->agedat += k * sweep;
	return n;
}

/* ageshared - cut the shared list's batches pushed a whole interval ago
 * or earlier (the list is sorted: newest first); returns them. */
static struct batch *ageshared(gx_pool *p, int64_t now, int64_t sweep)
{
	gx_lock(&p->lock);
	struct batch **pp = &p->shared;
	while (*pp && now - (*pp)->when < sweep)
		pp = &(*pp)->next;
	struct batch *drop = *pp;
	*pp = NULL;
	atomic_store_explicit(&p->nshared, atomic_load_explicit(&p->nshared, memory_order_relaxed) - countbatches(drop),
			      memory_order_relaxed);
	gx_unlock(&p->lock);
	return drop;
}

/* ---- the shared list --------------------------------------------------------------------- */

/* sharedpush - a batch onto the shared list. */
static void sharedpush(gx_pool *p, struct batch *b)
{
	gx_lock(&p->lock);
	b->when = gx_nanotime();
	b->next = p->shared;
	p->shared = b;
	atomic_store_explicit(&p->nshared, atomic_load_explicit(&p->nshared, memory_order_relaxed) + b->n,
			      memory_order_relaxed);
	gx_unlock(&p->lock);
}

/* sharedpop - a whole batch, the newest first (NULL: none). */
static struct batch *sharedpop(gx_pool *p)
{
	if (atomic_load_explicit(&p->nshared, memory_order_relaxed) == 0)
		return NULL; /* a hint: a batch pushed just now is missed, as if we had come first */
	gx_lock(&p->lock);
	struct batch *b = p->shared;
	if (b) {
		p->shared = b->next;
		b->next = NULL;
		atomic_store_explicit(&p->nshared, atomic_load_explicit(&p->nshared, memory_order_relaxed) - b->n,
				      memory_order_relaxed);
	}
	gx_unlock(&p->lock);
	return b;
}

/* getshared - one object from the shared list, for a caller with no P. */
static bool getshared(gx_pool *p, void **objp)
{
	if (atomic_load_explicit(&p->nshared, memory_order_relaxed) == 0)
		return false;
	gx_lock(&p->lock);
	struct batch *b = p->shared, *empty = NULL;
	if (b) {
		*objp = b->obj[--b->n];
		if (b->n == 0) {
			p->shared = b->next;
			empty = b;
		}
		atomic_store_explicit(&p->nshared, atomic_load_explicit(&p->nshared, memory_order_relaxed) - 1,
				      memory_order_relaxed);
	}
	gx_unlock(&p->lock);
	free(empty);
	return b != NULL;
}

/* putshared - one object onto the shared list, for a caller with no P:
 * into the newest batch if it has room, else into a new one. false: no
 * memory for a batch (the caller frees obj). */
static bool putshared(gx_pool *p, void *obj)
{
	gx_lock(&p->lock);
	struct batch *b = p->shared;
	if (b && b->n < POOL_BATCH) {
		b->obj[b->n++] = obj;
		b->when = gx_nanotime(); /* still the newest: the list stays sorted */
		atomic_store_explicit(&p->nshared, atomic_load_explicit(&p->nshared, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		gx_unlock(&p->lock);
		return true;
	}
	gx_unlock(&p->lock);
	b = malloc(sizeof(*b));
	if (!b)
		return false;
	b->n = 1;
	b->obj[0] = obj;
	sharedpush(p, b);
	return true;
}

/* ---- the sweep timer ---------------------------------------------------------------------- */

static void sweeper(void *arg);

/* pooltimer - the timer's callback (g0): start the sweep goroutine. */
static void pooltimer(void *arg, uintptr_t seq)
{
	(void)seq;
	gx_pool *p = arg;
	atomic_fetch_add(&p->nsweepers, 1);
	if (!atomic_load(&p->closing)) {
		gx_attr a = {.name = "gx_pool sweep"};
		if (gx_newproc(&a, sweeper, p, 0) > 0)
			return; /* the goroutine leaves nsweepers */
	}
	atomic_store(&p->armed, 0); /* out of memory: the next Put re-arms */
	atomic_fetch_sub(&p->nsweepers, 1);
}

/* arm - arm the timer unless it is armed (or its sweep runs). With no lock
 * held; from any thread once the runtime runs. */
static void arm(gx_pool *p)
{
	if (atomic_load_explicit(&p->closing, memory_order_relaxed) || !gx_runtime_ready())
		return;
	uint32_t zero = 0;
	if (!atomic_compare_exchange_strong(&p->armed, &zero, 1))
		return;
	gx_addtimer(&p->timer, gx_when(atomic_load_explicit(&p->sweep_ns, memory_order_relaxed)), 0, pooltimer, p, 0);
}

/* ---- the P caches -------------------------------------------------------------------------- */

static struct slot *newslot(_Atomic(struct slot *) *sp)
{
	size_t sz = (sizeof(struct slot) + GX_CACHELINE - 1) & ~(size_t)(GX_CACHELINE - 1);
	struct slot *s = aligned_alloc(GX_CACHELINE, sz);
	if (!s)
		return NULL;
	memset(s, 0, sz);
	s->agedat = gx_coarsenow();
	atomic_store_explicit(sp, s, memory_order_release);
	return s;
}

/* myslot - the calling M's P's cache, aged if its interval is over (what
 * that drops goes to d); NULL if the M has no P (or no memory for a new
 * cache). The caller is GX_ENTER'd and makes no switching call until it
 * is done with the cache. */
static inline struct slot *myslot(gx_pool *p, struct drops *d)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp ? mp->p : NULL;
	if (unlikely(!pp))
		return NULL;
	_Atomic(struct slot *) *sp = &p->slots[pp->id];
	struct slot *s = atomic_load_explicit(sp, memory_order_relaxed); /* written by this P only */
	if (unlikely(!s) && !(s = newslot(sp)))
		return NULL;
	int64_t sweep = atomic_load_explicit(&p->sweep_ns, memory_order_relaxed);
	int64_t now = gx_coarsenow();
	if (unlikely(now - s->agedat >= sweep))
		d->n += ageslot(s, now, sweep, d->obj + d->n);
	return s;
}

/* refill - cur and old are empty: a batch from the shared list into cur,
 * one object of it for the caller. */
static bool refill(gx_pool *p, struct slot *s, void **objp)
{
	struct batch *b = sharedpop(p);
	if (!b)
		return false;
	int32_t n = b->n - 1;
	*objp = b->obj[n];
	memcpy(s->cur, b->obj, (size_t)n * sizeof(void *));
	atomic_store_explicit(&s->ncur, n, memory_order_relaxed);
	b->n = 0;
	if (!s->spare)
		s->spare = b;
	else
		free(b);
	return true;
}

/* spill - cur is full: its POOL_BATCH oldest objects to the shared list
 * (or, with no memory for a batch, to d to be freed). */
static void spill(gx_pool *p, struct slot *s, struct drops *d)
{
	struct batch *b = s->spare;
	s->spare = NULL;
	if (!b)
		b = malloc(sizeof(*b));
	if (b) {
		memcpy(b->obj, s->cur, POOL_BATCH * sizeof(void *));
		b->n = POOL_BATCH;
	} else {
		memcpy(d->obj + d->n, s->cur, POOL_BATCH * sizeof(void *));
		d->n += POOL_BATCH;
	}
	memmove(s->cur, s->cur + POOL_BATCH, (POOL_LOCAL_CAP - POOL_BATCH) * sizeof(void *));
	atomic_store_explicit(&s->ncur, POOL_LOCAL_CAP - POOL_BATCH, memory_order_relaxed);
	if (b)
		sharedpush(p, b);
}

/* getcached - a cached object, or false; the runtime part of gx_pool_get. */
static bool getcached(gx_pool *p, void **objp, struct drops *d)
{
	GX_ENTER();
	struct slot *s = myslot(p, d);
	if (unlikely(!s))
		return getshared(p, objp);
	int32_t n = atomic_load_explicit(&s->ncur, memory_order_relaxed);
	if (likely(n > 0)) {
		*objp = s->cur[n - 1];
		atomic_store_explicit(&s->ncur, n - 1, memory_order_relaxed);
		return true;
	}
	n = atomic_load_explicit(&s->nold, memory_order_relaxed);
	if (n > 0) {
		*objp = s->old[n - 1];
		atomic_store_explicit(&s->nold, n - 1, memory_order_relaxed);
		return true;
	}
	return refill(p, s, objp);
}

/* putcached - the runtime part of gx_pool_put. */
static void putcached(gx_pool *p, void *obj, struct drops *d)
{
	GX_ENTER();
	struct slot *s = myslot(p, d);
	if (unlikely(!s)) {
		if (!putshared(p, obj))
			d->obj[d->n++] = obj;
	} else {
		int32_t n = atomic_load_explicit(&s->ncur, memory_order_relaxed);
		if (unlikely(n == POOL_LOCAL_CAP)) {
			spill(p, s, d);
			n = POOL_LOCAL_CAP - POOL_BATCH;
		}
		s->cur[n] = obj;
		atomic_store_explicit(&s->ncur, n + 1, memory_order_relaxed);
	}
	if (unlikely(!atomic_load_explicit(&p->armed, memory_order_relaxed)))
		arm(p);
}

/*
 * fastslot - the common case of both calls, with no frame to speak of: the
 * calling M's P's cache, if it exists and its interval is not over; NULL
 * sends the caller to the full path (getcached, putcached). The caller is
 * GX_ENTER'd.
 */
static inline struct slot *fastslot(gx_pool *p)
{
	struct gx_m *mp = getm();
	struct gx_p *pp = mp ? mp->p : NULL;
	if (unlikely(!pp))
		return NULL;
	struct slot *s = atomic_load_explicit(&p->slots[pp->id], memory_order_relaxed);
	if (unlikely(!s) ||
	    unlikely(gx_coarsenow() - s->agedat >= atomic_load_explicit(&p->sweep_ns, memory_order_relaxed)))
		return NULL;
	return s;
}

static inline bool getfast(gx_pool *p, void **objp)
{
	GX_ENTER();
	struct slot *s = fastslot(p);
	if (unlikely(!s))
		return false;
	int32_t n = atomic_load_explicit(&s->ncur, memory_order_relaxed);
	if (unlikely(n <= 0))
		return false;
	*objp = s->cur[n - 1];
	atomic_store_explicit(&s->ncur, n - 1, memory_order_relaxed);
	return true;
}

static inline bool putfast(gx_pool *p, void *obj)
{
	GX_ENTER();
	struct slot *s = fastslot(p);
	if (unlikely(!s) || unlikely(!atomic_load_explicit(&p->armed, memory_order_relaxed)))
		return false;
	int32_t n = atomic_load_explicit(&s->ncur, memory_order_relaxed);
	if (unlikely(n >= POOL_LOCAL_CAP))
		return false;
	s->cur[n] = obj;
	atomic_store_explicit(&s->ncur, n + 1, memory_order_relaxed);
	return true;
}

static __attribute__((noinline)) void *getslow(gx_pool *p)
{
	struct drops d;
	d.n = 0;
	void *obj = NULL;
	bool got = getcached(p, &obj, &d);
	if (unlikely(d.n))
		freedrops(p, &d);
	if (got)
		return obj;
	return p->new_fn ? p->new_fn(p->arg) : NULL;
}

static __attribute__((noinline)) void putslow(gx_pool *p, void *obj)
{
	struct drops d;
	d.n = 0;
	putcached(p, obj, &d);
	if (unlikely(d.n))
		freedrops(p, &d);
}

void *gx_pool_get(gx_pool *p)
{
	void *obj;
	if (unlikely(!p))
		return NULL;
	if (likely(getfast(p, &obj)))
		return obj;
	return getslow(p);
}

void gx_pool_put(gx_pool *p, void *obj)
{
	if (unlikely(!p || !obj))
		return;
	if (likely(putfast(p, obj)))
		return;
	putslow(p, obj);
}

/* ---- the sweep ------------------------------------------------------------------------------- */

/* holds - whether the pool may hold objects (hints, no lock). */
static bool holds(gx_pool *p)
{
	if (atomic_load(&p->nshared))
		return true;
	int32_t np = atomic_load(&gx_sched.nallp);
	for (int32_t i = 0; i < np; i++) {
		struct slot *s = atomic_load_explicit(&p->slots[i], memory_order_acquire);
		if (s && (atomic_load_explicit(&s->ncur, memory_order_relaxed) ||
			  atomic_load_explicit(&s->nold, memory_order_relaxed)))
			return true;
	}
	return false;
}

struct sweepout {
	struct batch *batches; /* dropped from the shared list */
	void **obj;	       /* dropped from caches */
	int64_t n, cap;
};

/* sweepone - age one cache (if it exists) into out, if out has room for
 * all it could drop. */
static void sweepone(struct slot *s, int64_t now, int64_t sweep, struct sweepout *out)
{
	if (s && out->cap - out->n >= POOL_SLOT_DROP)
		out->n += ageslot(s, now, sweep, out->obj + out->n);
}

/* sweepcaches - age this goroutine's own P's cache and those of the Ps no
 * M holds (top of the file), into out. */
static void sweepcaches(gx_pool *p, int64_t now, int64_t sweep, struct sweepout *out)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (mp && mp->p)
		sweepone(atomic_load_explicit(&p->slots[mp->p->id], memory_order_relaxed), now, sweep, out);
	gx_lock(&gx_sched.lock);
	int32_t np = atomic_load(&gx_sched.nallp);
	for (struct gx_p *pp = gx_sched.pidle; pp; pp = pp->link)
		sweepone(atomic_load_explicit(&p->slots[pp->id], memory_order_acquire), now, sweep, out);
	for (int32_t i = 0; i < np; i++) {
		struct gx_p *pp = gx_allp[i];
		if (!pp || atomic_load_explicit(&pp->status, memory_order_relaxed) != Pdead)
			continue;
		sweepone(atomic_load_explicit(&p->slots[i], memory_order_acquire), now, sweep, out);
	}
	gx_unlock(&gx_sched.lock);
}

/* sweep - age what the P caches cannot age themselves and free what that
 * drops (free_fn runs here, outside every lock). One at a time. */
static void sweep(gx_pool *p)
{
	if (atomic_exchange(&p->sweeping, 1))
		return;
	int64_t sweepns = atomic_load(&p->sweep_ns);
	int64_t now = gx_nanotime();
	struct sweepout out = {NULL, NULL, 0, 0};
	out.batches = ageshared(p, now, sweepns);
	/* Room for every cache that exists now; the +1 is this P's own,
	 * which may be seen both as its own and (if it went idle meanwhile:
	 * it cannot, but the bound costs nothing) among the idle ones. */
	int32_t np = atomic_load(&gx_sched.nallp);
	out.cap = ((int64_t)np + 1) * POOL_SLOT_DROP;
	out.obj = malloc((size_t)out.cap * sizeof(void *));
	if (out.obj)
		sweepcaches(p, now, sweepns, &out);
	else
		out.cap = 0;
	for (int64_t i = 0; i < out.n; i++)
		freeobj(p, out.obj[i]);
	free(out.obj);
	freebatches(p, out.batches);
	atomic_store(&p->sweeping, 0);
}

/* rearm - after a sweep: the timer again while anything is cached. */
static void rearm(gx_pool *p)
{
	GX_ENTER();
	atomic_store(&p->armed, 0);
	if (holds(p))
		arm(p);
}

/* sweeper - the sweep goroutine the timer starts. */
static void sweeper(void *arg)
{
	gx_pool *p = arg;
	sweep(p);
	rearm(p);
	atomic_fetch_sub(&p->nsweepers, 1); /* the last touch of p */
}

/* ---- making and freeing ------------------------------------------------------------------------ */

int gx_pool_make(gx_pool **out, void *(*new_fn)(void *arg), void (*free_fn)(void *obj, void *arg), void *arg)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	size_t sz = (sizeof(gx_pool) + GX_CACHELINE - 1) & ~(size_t)(GX_CACHELINE - 1);
	gx_pool *p = aligned_alloc(GX_CACHELINE, sz);
	if (!p)
		return -ENOMEM;
	memset(p, 0, sz);
	p->new_fn = new_fn;
	p->free_fn = free_fn;
	p->arg = arg;
	atomic_init(&p->sweep_ns, GX_POOL_SWEEP_DEFAULT);
	*out = p;
	return 0;
}

int64_t gx_pool_sweep_interval(gx_pool *p, int64_t ns)
{
	if (!p || ns < 0)
		return -EINVAL;
	if (ns == 0)
		return atomic_load(&p->sweep_ns);
	return atomic_exchange(&p->sweep_ns, ns < GX_POOL_SWEEP_MIN ? GX_POOL_SWEEP_MIN : ns);
}

/* stoptimer - gx_pool_free's part that touches the runtime. */
static void stoptimer(gx_pool *p)
{
	GX_ENTER();
	atomic_store(&p->closing, 1);
	gx_deltimer(&p->timer);
	while (atomic_load(&p->nsweepers) != 0) {
		if (getg())
			gx_yield();
		else
			sched_yield();
	}
	gx_deltimer(&p->timer);
}

int gx_pool_free(gx_pool *p)
{
	if (!p)
		return 0;
	stoptimer(p);
	for (int32_t i = 0; i < GX_MAXPROCS_LIMIT; i++) {
		struct slot *s = atomic_load_explicit(&p->slots[i], memory_order_acquire);
		if (!s)
			continue;
		int32_t ncur = atomic_load_explicit(&s->ncur, memory_order_relaxed);
		int32_t nold = atomic_load_explicit(&s->nold, memory_order_relaxed);
		for (int32_t k = 0; k < ncur; k++)
			freeobj(p, s->cur[k]);
		for (int32_t k = 0; k < nold; k++)
			freeobj(p, s->old[k]);
		free(s->spare);
		free(s);
	}
	freebatches(p, p->shared);
	free(p);
	return 0;
}
