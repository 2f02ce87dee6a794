/* SPDX-License-Identifier: MIT */
/*
 * gmpx/sync.h - sync primitives with Go's semantics. They park goroutines,
 * never OS threads. Included by gmpx.h; see there for the conventions.
 * Zero-initialized values (or the _INIT macros) are ready to use.
 */
#ifndef GMPX_SYNC_H
#define GMPX_SYNC_H

#include <gmpx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gx_waitgroup {
	uint64_t state __attribute__((aligned(8))); /* counter (high 32) | waiters (low 32) */
	uint32_t sema;
} gx_waitgroup;
#define GX_WAITGROUP_INIT \
	{                 \
		0, 0      \
	}

/* gx_wg_add - add delta to the counter. Returns 0, or -EINVAL if the counter
 * would go negative (it is left unchanged) or if Add with a positive delta
 * races with Wait on a zero counter. Waking waiters when it reaches 0. */
int gx_wg_add(gx_waitgroup *wg, int delta);
/* gx_wg_done - gx_wg_add(wg, -1). */
int gx_wg_done(gx_waitgroup *wg);
/* gx_wg_wait - park until the counter is 0. [G] Returns 0 or -EPERM. */
int gx_wg_wait(gx_waitgroup *wg);

typedef struct gx_mutex {
	int32_t state; /* locked | woken | starving | waiters << 3 */
	uint32_t sema;
} gx_mutex;
#define GX_MUTEX_INIT \
	{             \
		0, 0  \
	}

/* gx_mutex_lock - Go's sync.Mutex: spin briefly, then park; a waiter that
 * has waited over 1 ms switches the mutex to starvation mode (direct
 * hand-off in FIFO order). [G] Returns 0 or -EPERM. */
int gx_mutex_lock(gx_mutex *mu);
/* gx_mutex_trylock - 0 if acquired, -EBUSY if not. */
int gx_mutex_trylock(gx_mutex *mu);
/* gx_mutex_unlock - 0, or -EPERM if the mutex is not locked (Go: fatal
 * "sync: unlock of unlocked mutex"; here an error, and the state is unchanged). */
int gx_mutex_unlock(gx_mutex *mu);

/*
 * gx_rwmutex - Go's sync.RWMutex: any number of readers or one writer.
 * Writer-preferring: once a writer waits in gx_rwmutex_lock, new readers
 * block until it has had the lock, so a goroutine must not take a read lock
 * recursively (a writer arriving in between deadlocks it). At most 2^30 - 1
 * readers at once. The fields are the runtime's; do not touch them.
 */
typedef struct gx_rwmutex {
	gx_mutex w;	      /* held by a writer (pending or active) */
	uint32_t writer_sem;  /* the writer waits here for departing readers */
	uint32_t reader_sem;  /* readers wait here for the writer */
	int32_t reader_count; /* readers (active or blocked); - 2^30 while a writer is in */
	int32_t reader_wait;  /* readers the pending writer still waits for */
} gx_rwmutex;
#define GX_RWMUTEX_INIT                   \
	{                                 \
		GX_MUTEX_INIT, 0, 0, 0, 0 \
	}

/* gx_rwmutex_rlock - lock for reading: park while a writer holds the lock or
 * waits for it. [G] Returns 0 or -EPERM. */
int gx_rwmutex_rlock(gx_rwmutex *rw);
/* gx_rwmutex_tryrlock - 0 if read-locked, -EBUSY if a writer holds the lock
 * or waits for it. Never blocks (any thread). */
int gx_rwmutex_tryrlock(gx_rwmutex *rw);
/* gx_rwmutex_runlock - undo one gx_rwmutex_rlock; the last reader out lets a
 * waiting writer in. Returns 0, or -EPERM if no reader holds the lock (Go:
 * fatal "sync: RUnlock of unlocked RWMutex"; here the state is unchanged).
 * Any thread may call it. */
int gx_rwmutex_runlock(gx_rwmutex *rw);
/* gx_rwmutex_lock - lock for writing: park until no writer and no reader
 * holds it; from the moment it waits, new readers wait behind it. [G]
 * Returns 0 or -EPERM. */
int gx_rwmutex_lock(gx_rwmutex *rw);
/* gx_rwmutex_trylock - 0 if write-locked, -EBUSY if anyone holds the lock
 * or a writer waits for it. Never blocks (any thread). */
int gx_rwmutex_trylock(gx_rwmutex *rw);
/* gx_rwmutex_unlock - release the write lock, letting in first every reader
 * that queued behind it. Returns 0, or -EPERM if it is not write-locked (Go:
 * fatal "sync: Unlock of unlocked RWMutex"; here the state is unchanged).
 * Any thread may call it. */
int gx_rwmutex_unlock(gx_rwmutex *rw);

/*
 * gx_once - Go's sync.Once: run a function exactly once, however many
 * goroutines ask at the same time.
 */
typedef struct gx_once {
	uint32_t done; /* 1 once fn has returned */
	gx_mutex m;    /* serializes the first callers */
	void *running; /* the goroutine inside fn (recursion check) */
} gx_once;
#define GX_ONCE_INIT                   \
	{                              \
		0, GX_MUTEX_INIT, NULL \
	}

/*
 * gx_once_do - call fn(arg) if no call of gx_once_do on o has done so yet.
 * Every call returns only after fn has returned: concurrent callers park
 * until the one running fn is done (Go's Once.Do). Once fn has run, this is
 * one atomic load and returns 0 from any thread; otherwise it is [G].
 * Returns 0 (whether or not this call ran fn), -EINVAL (fn NULL), -EPERM
 * (fn has not run yet and the caller is not a goroutine) or -EDEADLK (called
 * from inside fn for the same o: Go deadlocks; fn keeps running).
 */
int gx_once_do(gx_once *o, void (*fn)(void *arg), void *arg);

/*
 * gx_cond - Go's sync.Cond: goroutines wait for a condition guarded by a
 * gx_mutex. Waiters are woken in the order they started waiting (Go's
 * ticket-based notify list); there are no spurious wake-ups, but the
 * condition may have changed again before the waiter relocks, so always
 * wait in a loop. Must not be copied after first use.
 */
typedef struct gx_cond {
	uint32_t wait;	   /* ticket of the next waiter */
	uint32_t notify;   /* ticket of the next waiter to wake */
	uint32_t lock;	   /* runtime lock protecting the list */
	void *lockholder;  /* its holder, in the runtime's checked builds */
	void *head, *tail; /* parked waiters (runtime records) */
} gx_cond;
#define GX_COND_INIT                      \
	{                                 \
		0, 0, 0, NULL, NULL, NULL \
	}

/*
 * gx_cond_wait - unlock mu, park until woken by gx_cond_signal or
 * gx_cond_broadcast, lock mu again (Go's Cond.Wait). The caller must hold
 * mu: waiting with mu unlocked returns -EPERM (Go: fatal "sync: unlock of
 * unlocked mutex") without waiting and without touching c. (Only if another
 * goroutine unlocks mu in the middle of the call can the misuse pass the
 * check and then cost a later gx_cond_signal its effect.) [G] Returns 0 or
 * -EPERM.
 */
int gx_cond_wait(gx_cond *c, gx_mutex *mu);
/* gx_cond_signal - wake the goroutine that has waited longest, if any.
 * The caller may but need not hold the mutex. Any thread may call it. */
void gx_cond_signal(gx_cond *c);
/* gx_cond_broadcast - wake every goroutine waiting on c. Any thread. */
void gx_cond_broadcast(gx_cond *c);

#ifdef __cplusplus
}
#endif
#endif /* GMPX_SYNC_H */
