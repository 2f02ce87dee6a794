/* SPDX-License-Identifier: MIT */
/*
 * rwmutex.c - reader/writer mutual exclusion with Go's semantics
 * (sync/rwmutex.go), parking goroutines on the semaphore table (sema.c).
 *
 * The lock is held by any number of readers or by one writer. It prefers
 * writers: once a writer is waiting, arriving readers wait too, so a stream
 * of readers cannot starve a writer, and a goroutine holding a read lock
 * must not take another (a writer arriving in between deadlocks both).
 *
 * State (all atomic):
 *   w            a gx_mutex: writers queue on it, so at most one writer is
 *                ever past it (pending or active) and writers keep the
 *                Mutex's fairness, starvation mode included.
 *   reader_count readers that hold the lock or wait for it. A writer that
 *                got past w subtracts MAX_READERS (2^30): the count goes
 *                negative, which tells arriving readers to park on
 *                reader_sem, while still counting them.
 *   reader_wait  readers the pending writer waits for: those that held the
 *                lock when it subtracted MAX_READERS. Each of them, leaving,
 *                decrements it; the one that takes it to 0 releases
 *                writer_sem, on which the writer parks.
 *   writer_sem   the writer waits here for the departing readers.
 *   reader_sem   readers wait here for the writer; Unlock releases it once
 *                per reader that arrived while the writer was in.
 *
 * RLock:   reader_count++; if it went negative, a writer is in: park on
 *          reader_sem (the writer's Unlock counts us and wakes us).
 * RUnlock: reader_count--; if it went negative, a writer is pending: count
 *          down reader_wait and wake the writer if we were the last.
 * Lock:    take w; r = reader_count, reader_count -= MAX_READERS atomically;
 *          r readers still hold the lock: reader_wait += r, and park on
 *          writer_sem unless they all left already (reader_wait back to 0;
 *          departing readers may have run reader_wait below 0 in between).
 * Unlock:  reader_count += MAX_READERS; the result r is the number of
 *          readers that parked meanwhile: release reader_sem r times, then
 *          release w (readers queued behind this writer go before the next
 *          writer).
 *
 * Misuse that is fatal in Go ("RUnlock of unlocked RWMutex", "Unlock of
 * unlocked RWMutex") returns -EPERM here and leaves the state unchanged, so
 * RUnlock and Unlock use CAS loops where Go adds and then checks. As in Go,
 * only misuse visible in the counts is caught: an RUnlock by a goroutine
 * that holds no read lock while others do, or an Unlock by a goroutine other
 * than the writer, corrupts the state.
 *
 * Memory order: every operation on reader_count, reader_wait and the
 * semaphores is sequentially consistent (and so are w's), which gives the
 * happens-before edges Go's memory model promises: the n'th Unlock before
 * the (n+1)'th Lock and before any RLock that follows it, and every RUnlock
 * before the Lock that waited for it.
 */
#include "runtime.h"

#include <errno.h>

#define RWMUTEX_MAX_READERS (1 << 30) /* Go's rwmutexMaxReaders */

static inline _Atomic int32_t *reader_count(gx_rwmutex *rw)
{
	return (_Atomic int32_t *)&rw->reader_count;
}
static inline _Atomic int32_t *reader_wait(gx_rwmutex *rw)
{
	return (_Atomic int32_t *)&rw->reader_wait;
}

int gx_rwmutex_rlock(gx_rwmutex *rw)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	if (atomic_fetch_add(reader_count(rw), 1) + 1 < 0) {
		/* A writer is pending or active: wait for its Unlock. */
		gx_semacquire(&rw->reader_sem, false, "sync.RWMutex.RLock");
	}
	return 0;
}

int gx_rwmutex_tryrlock(gx_rwmutex *rw)
{
	int32_t c = atomic_load(reader_count(rw));
	for (;;) {
		if (c < 0)
			return -EBUSY; /* a writer is pending or active */
		if (atomic_compare_exchange_weak(reader_count(rw), &c, c + 1))
			return 0;
	}
}

int gx_rwmutex_runlock(gx_rwmutex *rw)
{
	GX_ENTER();
	int32_t c = atomic_load(reader_count(rw));
	do {
		/* 0: nobody holds it; -MAX_READERS: only a writer does. */
		if (c == 0 || c == -RWMUTEX_MAX_READERS)
			return -EPERM; /* Go: fatal "sync: RUnlock of unlocked RWMutex" */
	} while (!atomic_compare_exchange_weak(reader_count(rw), &c, c - 1));
	if (c - 1 < 0) {
		/* rUnlockSlow: a writer is pending and may be waiting for us. */
		if (atomic_fetch_sub(reader_wait(rw), 1) - 1 == 0)
			gx_semrelease(&rw->writer_sem, false);
	}
	return 0;
}

int gx_rwmutex_lock(gx_rwmutex *rw)
{
	GX_ENTER();
	if (!getg())
		return -EPERM;
	gx_mutex_lock(&rw->w); /* no other writer past this point */
	/* Announce the writer; r readers hold the lock now. */
	int32_t r = atomic_fetch_sub(reader_count(rw), RWMUTEX_MAX_READERS);
	if (r != 0 && atomic_fetch_add(reader_wait(rw), r) + r != 0)
		gx_semacquire(&rw->writer_sem, false, "sync.RWMutex.Lock");
	return 0;
}

int gx_rwmutex_trylock(gx_rwmutex *rw)
{
	if (gx_mutex_trylock(&rw->w) != 0)
		return -EBUSY;
	int32_t zero = 0;
	if (!atomic_compare_exchange_strong(reader_count(rw), &zero, -RWMUTEX_MAX_READERS)) {
		gx_mutex_unlock(&rw->w);
		return -EBUSY;
	}
	return 0;
}

int gx_rwmutex_unlock(gx_rwmutex *rw)
{
	GX_ENTER();
	int32_t c = atomic_load(reader_count(rw));
	do {
		if (c >= 0)
			return -EPERM; /* Go: fatal "sync: Unlock of unlocked RWMutex" */
	} while (!atomic_compare_exchange_weak(reader_count(rw), &c, c + RWMUTEX_MAX_READERS));
	/* Announce to readers there is no active writer; wake those that
	 * parked while it was in. */
	for (int32_t r = c + RWMUTEX_MAX_READERS; r > 0; r--)
		gx_semrelease(&rw->reader_sem, false);
	gx_mutex_unlock(&rw->w);
	return 0;
}
