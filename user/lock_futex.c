/* SPDX-License-Identifier: MIT */
/*
 * lock_futex.c - runtime locks and notes on Linux futexes (Go's
 * lock_futex.go).
 *
 * gx_lock_t is a three-state mutex: 0 unlocked, 1 locked, 2 locked with
 * possible sleepers. gx_lock spins briefly (active, then sched_yield)
 * before sleeping, because runtime critical sections are a few dozen
 * instructions. m->locks counts the locks an M holds: while it is non-zero
 * the M must not switch goroutines (asserted) and is never preempted
 * asynchronously (preempt.c: a safe point needs m->locks == 0).
 *
 * gx_note is a one-shot event used to park an idle M: notesleep blocks
 * while key == 0, notewakeup sets it to 1 (exactly once per clear).
 */
#include "runtime.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { MUTEX_UNLOCKED = 0, MUTEX_LOCKED = 1, MUTEX_SLEEPING = 2 };

/* Spin counts, Go's values: 4 rounds of 30 PAUSEs, then 1 sched_yield. */
#define ACTIVE_SPIN	4
#define ACTIVE_SPIN_CNT 30
#define PASSIVE_SPIN	1

int64_t gx_nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void gx_procyield(int n)
{
	for (int i = 0; i < n; i++)
		__builtin_ia32_pause();
}

void gx_osyield(void)
{
	sched_yield();
}

void gx_futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns)
{
	struct timespec ts, *tsp = NULL;
	if (ns >= 0) {
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		tsp = &ts;
	}
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0);
}

void gx_futexwakeup(_Atomic uint32_t *addr, uint32_t cnt)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, cnt, NULL, NULL, 0);
}

#if GX_LOCK_CHECKS
/* gx_lockself - this thread's identity for lock ownership: the address of
 * a thread-local byte (every thread has one, Ms and foreign threads). */
static __thread char lockself;
#define gx_lockself() ((const void *)&lockself)

void gx_assert_lock_held(gx_lock_t *l, const char *lockname, const char *where)
{
	if (unlikely(atomic_load_explicit(&l->owner, memory_order_relaxed) != gx_lockself()))
		gx_fatal("%s: lock %s not held", where, lockname);
}
#endif

static void lock_slow(gx_lock_t *l);

void gx_lock(gx_lock_t *l)
{
	struct gx_m *mp = getm();
	if (mp)
		mp->locks++;
	uint32_t v = MUTEX_UNLOCKED;
	if (unlikely(!atomic_compare_exchange_strong_explicit(&l->key, &v, MUTEX_LOCKED, memory_order_acquire,
							      memory_order_relaxed)))
		lock_slow(l);
#if GX_LOCK_CHECKS
	atomic_store_explicit(&l->owner, gx_lockself(), memory_order_relaxed);
#endif
}

static void lock_slow(gx_lock_t *l)
{
	uint32_t v;
	/* Whoever takes it from here on must leave SLEEPING behind, as we
	 * cannot know whether someone else is asleep. */
	uint32_t wait = MUTEX_LOCKED;
	for (;;) {
		for (int i = 0; i < ACTIVE_SPIN; i++) {
			while (atomic_load_explicit(&l->key, memory_order_relaxed) == MUTEX_UNLOCKED) {
				v = MUTEX_UNLOCKED;
				if (atomic_compare_exchange_weak_explicit(&l->key, &v, wait, memory_order_acquire,
									  memory_order_relaxed))
					return;
			}
			gx_procyield(ACTIVE_SPIN_CNT);
		}
		for (int i = 0; i < PASSIVE_SPIN; i++) {
			while (atomic_load_explicit(&l->key, memory_order_relaxed) == MUTEX_UNLOCKED) {
				v = MUTEX_UNLOCKED;
				if (atomic_compare_exchange_weak_explicit(&l->key, &v, wait, memory_order_acquire,
									  memory_order_relaxed))
					return;
			}
			gx_osyield();
		}
		v = atomic_exchange_explicit(&l->key, MUTEX_SLEEPING, memory_order_acquire);
		if (v == MUTEX_UNLOCKED)
			return;
		wait = MUTEX_SLEEPING;
		gx_futexsleep(&l->key, MUTEX_SLEEPING, -1);
	}
}

void gx_unlock(gx_lock_t *l)
{
#if GX_LOCK_CHECKS
	if (unlikely(atomic_load_explicit(&l->owner, memory_order_relaxed) != gx_lockself()))
		gx_fatal("unlock of a runtime lock %s",
			 atomic_load(&l->owner) ? "another thread holds" : "nobody holds");
	atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
#endif
	uint32_t v = atomic_exchange_explicit(&l->key, MUTEX_UNLOCKED, memory_order_release);
	if (unlikely(v == MUTEX_UNLOCKED))
		gx_fatal("unlock of unlocked runtime lock");
	if (v == MUTEX_SLEEPING)
		gx_futexwakeup(&l->key, 1);
	struct gx_m *mp = getm();
	if (mp)
		mp->locks--;
}

void gx_noteclear(gx_note *n)
{
	atomic_store_explicit(&n->key, 0, memory_order_relaxed);
}

void gx_notewakeup(gx_note *n)
{
	uint32_t old = atomic_exchange_explicit(&n->key, 1, memory_order_release);
	if (unlikely(old != 0))
		gx_fatal("notewakeup: double wakeup (key %u)", old);
	gx_futexwakeup(&n->key, 1);
}

void gx_notesleep(gx_note *n)
{
	while (atomic_load_explicit(&n->key, memory_order_acquire) == 0)
		gx_futexsleep(&n->key, 0, -1);
}

bool gx_notetsleep(gx_note *n, int64_t ns)
{
	if (ns < 0) {
		gx_notesleep(n);
		return true;
	}
	int64_t deadline = gx_nanotime() + ns;
	while (atomic_load_explicit(&n->key, memory_order_acquire) == 0) {
		int64_t left = deadline - gx_nanotime();
		if (left <= 0)
			return false;
		gx_futexsleep(&n->key, 0, left);
	}
	return true;
}

int64_t gx_now(void)
{
	return gx_nanotime();
}
