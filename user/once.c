/* SPDX-License-Identifier: MIT */
/*
 * once.c - Go's sync.Once (sync/once.go): run a function exactly once.
 *
 * done is 0 until fn has returned, then 1 for ever. The fast path is one
 * acquire load of done: when it reads 1, fn's effects happened before the
 * load (fn's return is sequenced before the release store of done). The
 * slow path takes the mutex m, checks done again, and if it is still 0 runs
 * fn under m and only then stores done. So
 *  - fn runs at most once: only the holder of m runs it, and it stores done
 *    before releasing m;
 *  - no call returns before fn has returned: the callers that find done = 0
 *    queue on m (parking, as any gx_mutex waiter) until the runner releases
 *    it, and then find done = 1.
 * As in Go, done is not set with a CAS before calling fn: a second caller
 * must wait for fn to finish, not return early.
 *
 * running names the goroutine inside fn. It is written only by that
 * goroutine (under m) and read without m only to compare with the caller,
 * which cannot race with the caller's own writes: a recursive call from fn
 * returns -EDEADLK instead of parking on m for ever (Go deadlocks).
 */
#include "runtime.h"

#include <errno.h>

static inline _Atomic uint32_t *once_done(gx_once *o)
{
	return (_Atomic uint32_t *)&o->done;
}
static inline _Atomic(void *) *once_running(gx_once *o)
{
	return (_Atomic(void *) *)&o->running;
}

static __attribute__((noinline)) int once_slow(gx_once *o, void (*fn)(void *), void *arg)
{
	gx_g *self = getg();
	if (!self)
		return -EPERM;
	if (atomic_load_explicit(once_running(o), memory_order_relaxed) == self)
		return -EDEADLK; /* fn called us: waiting for ourselves */
	gx_mutex_lock(&o->m);
	if (atomic_load_explicit(once_done(o), memory_order_relaxed) == 0) {
		atomic_store_explicit(once_running(o), self, memory_order_relaxed);
		fn(arg);
		atomic_store_explicit(once_running(o), NULL, memory_order_relaxed);
		atomic_store_explicit(once_done(o), 1, memory_order_release);
	}
	gx_mutex_unlock(&o->m);
	return 0;
}

int gx_once_do(gx_once *o, void (*fn)(void *), void *arg)
{
	GX_ENTER();
	if (unlikely(!fn))
		return -EINVAL;
	if (likely(atomic_load_explicit(once_done(o), memory_order_acquire)))
		return 0;
	return once_slow(o, fn, arg);
}
