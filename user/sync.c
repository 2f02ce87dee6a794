/* SPDX-License-Identifier: MIT */
/*
 * sync.c - WaitGroup and Mutex with Go's semantics (sync/waitgroup.go,
 * sync/mutex.go), parking goroutines on the semaphore table (sema.c).
 *
 * WaitGroup: state = counter << 32 | waiters. Add moves the counter; when
 * it reaches zero with waiters, it resets the state and releases each
 * waiter's semaphore. Misuse that panics in Go returns -EINVAL here and
 * leaves the state unchanged (so Add uses a CAS loop, not an atomic add).
 *
 * Mutex: state = locked | woken | starving | waiters << 3.
 *  Normal mode: waiters queue FIFO, but a woken waiter competes with new
 *  arrivals (which have the CPU and usually win); a waiter that loses
 *  re-queues at the front.
 *  Starvation mode: entered when a waiter has waited more than 1 ms. Unlock
 *  hands the mutex directly to the first waiter; arrivals do not spin or
 *  try to take it, they queue at the tail. Left when the last waiter gets
 *  it or a waiter waited less than 1 ms.
 */
#include "runtime.h"

#include <errno.h>

/* ---- WaitGroup ---------------------------------------------------------- */

int gx_wg_add(gx_waitgroup *wg, int delta)
{
	GX_ENTER();
	_Atomic uint64_t *state = (_Atomic uint64_t *)&wg->state;
	/* Add(0) changes nothing. It must not go on: racing with the Add that
	 * took the counter to 0, it would see the same "0 with waiters" state
	 * and release the waiters a second time, leaving stray semaphore
	 * counts that let a later Wait return early. */
	if (delta == 0)
		return 0;
	uint64_t old = atomic_load(state), new;
	int32_t v;
	uint32_t w;
	do {
		v = (int32_t)(old >> 32);
		w = (uint32_t)old;
		int64_t nv = (int64_t)v + delta;
		if (nv < 0 || nv > INT32_MAX)
			return -EINVAL; /* Go: "sync: negative WaitGroup counter" */
		if (w != 0 && delta > 0 && v == 0)
			return -EINVAL; /* Go: "WaitGroup misuse: Add called concurrently with Wait" */
		new = ((uint64_t)(uint32_t)nv << 32) | w;
	} while (!atomic_compare_exchange_weak(state, &old, new));
	v = (int32_t)(new >> 32);
	w = (uint32_t) new;
	if (v > 0 || w == 0)
		return 0;
	/* Counter is 0 and there are waiters: no Add or Wait can change the
	 * state now without misuse. Reset it and wake them all. */
	atomic_store(state, 0);
	for (; w != 0; w--)
		gx_semrelease(&wg->sema, false);
	return 0;
}

int gx_wg_done(gx_waitgroup *wg)
{
	GX_ENTER();
	return gx_wg_add(wg, -1);
}

int gx_wg_wait(gx_waitgroup *wg)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	_Atomic uint64_t *state = (_Atomic uint64_t *)&wg->state;
	uint64_t old = atomic_load(state);
	for (;;) {
		if ((old >> 32) == 0)
			return 0;
		if (atomic_compare_exchange_weak(state, &old, old + 1)) {
			gx_semacquire(&wg->sema, false, "sync.WaitGroup.Wait");
			return 0;
		}
	}
}

/* ---- Mutex ---------------------------------------------------------------- */

enum {
	MUTEX_LOCKED = 1,
	MUTEX_WOKEN = 2,
	MUTEX_STARVING = 4,
	MUTEX_WAITER_SHIFT = 3,
};
/* Go's threshold: a waiter that waited this long switches to starvation mode. */
#define STARVATION_THRESHOLD_NS 1000000

/* Out of line so the fast path stays a CAS without register spills. */
static __attribute__((noinline)) void mutex_lockslow(gx_mutex *mu)
{
	_Atomic int32_t *state = (_Atomic int32_t *)&mu->state;
	int64_t waitstart = 0;
	bool starving = false, awoke = false;
	int iter = 0;
	int32_t old = atomic_load(state);
	for (;;) {
		/* Spin only in normal mode while locked: in starvation mode the
		 * owner hands off to a waiter, so spinning cannot win. */
		if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED && gx_canspin(iter)) {
			/* Set woken so Unlock does not wake another waiter. */
			if (!awoke && !(old & MUTEX_WOKEN) && (old >> MUTEX_WAITER_SHIFT) != 0 &&
			    atomic_compare_exchange_strong(state, &old, old | MUTEX_WOKEN))
				awoke = true;
			gx_procyield(30);
			iter++;
			old = atomic_load(state);
			continue;
		}
		int32_t new = old;
		if (!(old & MUTEX_STARVING))
			new |= MUTEX_LOCKED; /* do not grab a starving mutex: queue */
		if (old & (MUTEX_LOCKED | MUTEX_STARVING))
			new += 1 << MUTEX_WAITER_SHIFT;
		if (starving && (old & MUTEX_LOCKED))
			new |= MUTEX_STARVING;
		if (awoke) {
			if (!(new &MUTEX_WOKEN))
				gx_fatal("sync: inconsistent mutex state");
			new &= ~MUTEX_WOKEN;
		}
		if (!atomic_compare_exchange_strong(state, &old, new))
			continue;
		if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
			return; /* locked it */
		bool lifo = waitstart != 0;
		if (!waitstart)
			waitstart = gx_nanotime();
		gx_semacquire(&mu->sema, lifo, "sync.Mutex.Lock");
		starving = starving || gx_nanotime() - waitstart > STARVATION_THRESHOLD_NS;
		old = atomic_load(state);
		if (old & MUTEX_STARVING) {
			/* Handed off to us: the mutex is ours, fix the state. */
			if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) || (old >> MUTEX_WAITER_SHIFT) == 0)
				gx_fatal("sync: inconsistent mutex state");
			int32_t delta = MUTEX_LOCKED - (1 << MUTEX_WAITER_SHIFT);
			if (!starving || (old >> MUTEX_WAITER_SHIFT) == 1)
				delta -= MUTEX_STARVING; /* leave starvation mode */
			atomic_fetch_add(state, delta);
			return;
		}
		awoke = true;
		iter = 0;
	}
}

int gx_mutex_lock(gx_mutex *mu)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	int32_t zero = 0;
	if (likely(atomic_compare_exchange_strong((_Atomic int32_t *)&mu->state, &zero, MUTEX_LOCKED)))
		return 0;
	mutex_lockslow(mu);
	return 0;
}

int gx_mutex_trylock(gx_mutex *mu)
{
	_Atomic int32_t *state = (_Atomic int32_t *)&mu->state;
	int32_t old = atomic_load(state);
	for (;;) {
		if (old & (MUTEX_LOCKED | MUTEX_STARVING))
			return -EBUSY;
		if (atomic_compare_exchange_weak(state, &old, old | MUTEX_LOCKED))
			return 0;
	}
}

/* mutex_unlockslow - waiters or flags remain after releasing (Go's unlockSlow). */
static __attribute__((noinline)) void mutex_unlockslow(gx_mutex *mu, int32_t new)
{
	_Atomic int32_t *state = (_Atomic int32_t *)&mu->state;
	if (new &MUTEX_STARVING) {
		/* Hand off to the first waiter and let it run now. */
		gx_semrelease(&mu->sema, true);
		return;
	}
	int32_t old = new;
	for (;;) {
		/* Nobody to wake, or someone already woken/locked it. */
		if ((old >> MUTEX_WAITER_SHIFT) == 0 || (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
			return;
		new = (old - (1 << MUTEX_WAITER_SHIFT)) | MUTEX_WOKEN;
		if (atomic_compare_exchange_weak(state, &old, new)) {
			gx_semrelease(&mu->sema, false);
			return;
		}
	}
}

int gx_mutex_unlock(gx_mutex *mu)
{
	GX_ENTER();
	_Atomic int32_t *state = (_Atomic int32_t *)&mu->state;
	/* Only the holder clears the locked bit, so once we have seen it set
	 * it stays set until our subtraction: one load, one atomic add, as
	 * Go's Unlock. An unlocked mutex is reported and left unchanged. (Two
	 * goroutines unlocking one lock at once remains undefined, as it is
	 * fatal in Go.) */
	int32_t old = atomic_load_explicit(state, memory_order_relaxed);
	if (unlikely(!(old & MUTEX_LOCKED)))
		return -EPERM; /* Go: "sync: unlock of unlocked mutex" */
	int32_t new = atomic_fetch_sub_explicit(state, MUTEX_LOCKED, memory_order_release) - MUTEX_LOCKED;
	if (likely(new == 0))
		return 0;
	mutex_unlockslow(mu, new);
	return 0;
}
