/* SPDX-License-Identifier: MIT */
/*
 * gmpx/pool.h - a cache of reusable objects with a per-P fast path (Go's
 * sync.Pool). Included by gmpx.h; see there for the conventions.
 *
 * A pool holds objects nobody uses at the moment (buffers, request
 * structs) so that the next user takes one instead of allocating. Get
 * returns a cached object if there is one, else a new one from new_fn;
 * Put gives one back. Like Go's, a pool is a cache, not a free list: what
 * it holds may be freed (with free_fn) at any time, and Get may make a
 * new object while others sit in another P's cache. Objects are opaque
 * pointers; a pool never touches their memory, and does not reset them
 * (the user does, on Get or before Put).
 *
 * Speed. Each P keeps its own small cache, used with no lock and no
 * atomic read-modify-write: a Get and a Put on the same P cost a few loads
 * and stores. P caches overflow into, and refill from, one shared list in
 * batches. Calls outside the runtime (a foreign thread, code between
 * gx_syscall_enter and _exit) use the shared list under its lock.
 *
 * Trimming (Go frees pooled objects at garbage collection; gmpx has none).
 * An object that stays in the pool through two sweep intervals unused
 * (default 1 s, gx_pool_sweep_interval) is freed with free_fn: between one
 * and two intervals after it was put (as the runtime's coarse clock tells,
 * which may be a few ms behind). A P's cache is aged by the P itself
 * at its next Get or Put, and, while that P is idle, by a sweep goroutine
 * the pool starts from a runtime timer while it holds objects; the shared
 * list by that sweep. An object got back before it is freed is reused as
 * any other (Go's victim cache). A P that keeps running goroutines that
 * never touch the pool keeps what its cache holds (at most 64 objects)
 * until it goes idle or the pool is freed.
 *
 * Any thread may call Get and Put. The pool itself must not be freed while
 * other calls on it may still run.
 */
#ifndef GMPX_POOL_H
#define GMPX_POOL_H

#include <gmpx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gx_pool gx_pool;

/* The default sweep interval of a pool, and the shortest it accepts (the
 * runtime's coarse clock ticks once a millisecond). */
#define GX_POOL_SWEEP_DEFAULT ((int64_t)1000000000)
#define GX_POOL_SWEEP_MIN     ((int64_t)1000000)

/*
 * gx_pool_make - make a pool. new_fn(arg) makes an object for a Get that
 * finds none (NULL: such a Get returns NULL, as Go's Pool without New);
 * free_fn(obj, arg) frees one the pool drops (NULL: free(3)). Both run in
 * the caller of Get, Put, gx_pool_free or in the pool's sweep goroutine,
 * never under a runtime lock; they may use any gx_ call. Returns 0 and
 * *out, or -EINVAL (out NULL), -ENOMEM.
 */
int gx_pool_make(gx_pool **out, void *(*new_fn)(void *arg), void (*free_fn)(void *obj, void *arg), void *arg);

/*
 * gx_pool_free - free every object the pool holds (with free_fn) and the
 * pool. Waits for a sweep in progress. Objects handed out by Get and not
 * put back are the caller's. Returns 0 (also for NULL). No other call on
 * the pool may run or follow.
 */
int gx_pool_free(gx_pool *p);

/* gx_pool_get - an object from the pool (the one this P put last, if any),
 * or new_fn(arg) if it holds none (Go's Get); NULL if new_fn is NULL or
 * returns NULL, or p is NULL. Any thread. */
void *gx_pool_get(gx_pool *p);

/* gx_pool_put - give obj back (Go's Put). NULL obj or p: nothing. The
 * caller must not use obj afterwards. Any thread. */
void gx_pool_put(gx_pool *p, void *obj);

/* gx_pool_sweep_interval - with ns > 0, set p's sweep interval (at least
 * GX_POOL_SWEEP_MIN: smaller values are raised to it) and return the
 * previous one; ns == 0 queries. -EINVAL for p NULL or ns < 0. */
int64_t gx_pool_sweep_interval(gx_pool *p, int64_t ns);

#ifdef __cplusplus
}
#endif
#endif /* GMPX_POOL_H */
