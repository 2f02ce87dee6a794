/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - object pools (gmpx/pool.h): Get makes objects with new_fn
 * and hands back what Put gave, LIFO on one P; each P keeps its own;
 * concurrent Gets never hand out one object twice (many goroutines on every
 * P with random yields, and a foreign thread on the shared list); the
 * sweep frees objects unused for two intervals (counted in free_fn), also
 * from idle and retired Ps, and keeps those in use; gx_pool_free frees
 * everything; misuse with NULL.
 */
#define _GNU_SOURCE
#include "gx_test.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_MAGIC 0x600dcafe
#define OBJ_DEAD  0xdeadbeef

struct obj {
	uint32_t magic;
	_Atomic int inuse; /* 1 while a Get's caller holds it */
	int tag;	   /* the test's: who put it last */
	char pad[40];
};

struct counts {
	_Atomic long made, freed;
	_Atomic int badfree; /* freed while in use, or twice */
};

static void *obj_new(void *arg)
{
	struct counts *c = arg;
	struct obj *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->magic = OBJ_MAGIC;
	atomic_fetch_add(&c->made, 1);
	return o;
}

static void obj_free(void *p, void *arg)
{
	struct counts *c = arg;
	struct obj *o = p;
	if (o->magic != OBJ_MAGIC || atomic_load(&o->inuse))
		atomic_fetch_add(&c->badfree, 1);
	o->magic = OBJ_DEAD;
	atomic_fetch_add(&c->freed, 1);
	free(o);
}

static gx_pool *mkpool(struct counts *c)
{
	gx_pool *p = NULL;
	ASSERT_EQ(gx_pool_make(&p, obj_new, obj_free, c), 0);
	ASSERT_NOT_NULL(p);
	return p;
}

/* take - a Get that marks the object in use (and checks nobody else has it). */
static struct obj *take(gx_pool *p)
{
	struct obj *o = gx_pool_get(p);
	ASSERT_NOT_NULL(o);
	ASSERT_EQ(o->magic, OBJ_MAGIC);
	int was = atomic_exchange(&o->inuse, 1);
	ASSERT_EQ(was, 0);
	return o;
}

static void give(gx_pool *p, struct obj *o, int tag)
{
	o->tag = tag;
	atomic_store(&o->inuse, 0);
	gx_pool_put(p, o);
}

/* wait_freed - poll (sleeping) until c->freed reaches want or the deadline. */
static long wait_freed(struct counts *c, long want, int64_t within)
{
	int64_t until = gx_now() + gxt_slack(within);
	long f;
	while ((f = atomic_load(&c->freed)) < want && gx_now() < until)
		gx_sleep(2 * GX_MS);
	return f;
}

/* ---- arguments ------------------------------------------------------------------------------ */

GX_TEST(pool_make_args_and_null)
{
	gx_pool *p = (gx_pool *)1;
	EXPECT_EQ(gx_pool_make(NULL, obj_new, obj_free, NULL), -EINVAL);
	EXPECT_EQ(gx_pool_free(NULL), 0);
	EXPECT_NULL(gx_pool_get(NULL));
	gx_pool_put(NULL, &p);
	EXPECT_EQ(gx_pool_sweep_interval(NULL, 0), -EINVAL);

	struct counts c = {0};
	p = mkpool(&c);
	EXPECT_EQ(gx_pool_sweep_interval(p, -1), -EINVAL);
	EXPECT_EQ(gx_pool_sweep_interval(p, 0), GX_POOL_SWEEP_DEFAULT);
	EXPECT_EQ(gx_pool_sweep_interval(p, 5), GX_POOL_SWEEP_DEFAULT);
	EXPECT_EQ(gx_pool_sweep_interval(p, 0), GX_POOL_SWEEP_MIN); /* raised to the minimum */
	EXPECT_EQ(gx_pool_sweep_interval(p, 3 * GX_SEC), GX_POOL_SWEEP_MIN);
	EXPECT_EQ(gx_pool_sweep_interval(p, 0), 3 * GX_SEC);
	gx_pool_put(p, NULL); /* nothing */
	EXPECT_EQ(atomic_load(&c.made), 0);
	EXPECT_EQ(gx_pool_free(p), 0);
	EXPECT_EQ(atomic_load(&c.freed), 0);

	/* no new_fn: a Get of an empty pool is NULL (Go's Pool without New);
	 * no free_fn: free(3) (ASan's leak check sees to that) */
	ASSERT_EQ(gx_pool_make(&p, NULL, NULL, NULL), 0);
	EXPECT_NULL(gx_pool_get(p));
	void *m = malloc(64);
	gx_pool_put(p, m);
	EXPECT_EQ(gx_pool_get(p), m);
	EXPECT_NULL(gx_pool_get(p));
	for (int i = 0; i < 100; i++)
		gx_pool_put(p, malloc(32));
	gx_pool_put(p, m);
	EXPECT_EQ(gx_pool_free(p), 0);
}

/* ---- get, put, reuse, locality ------------------------------------------------------------------- */

GX_TEST_PROCS(pool_get_makes_put_reuses, 1, 60)
{
	struct counts c = {0};
	gx_pool *p = mkpool(&c);
	struct obj *a = take(p), *b = take(p);
	EXPECT_NE(a, b);
	EXPECT_EQ(atomic_load(&c.made), 2);
	give(p, a, 1);
	give(p, b, 2);
	/* LIFO on one P: the last put comes back first */
	EXPECT_EQ(take(p), b);
	EXPECT_EQ(take(p), a);
	EXPECT_EQ(atomic_load(&c.made), 2);
	give(p, a, 1);
	give(p, b, 2);
	/* many: through the cache's overflow into the shared list and back */
	enum { N = 1000 };
	struct obj **v = calloc(N, sizeof(*v));
	ASSERT_NOT_NULL(v);
	for (int i = 0; i < N; i++)
		v[i] = take(p);
	EXPECT_EQ(atomic_load(&c.made), N);
	for (int i = 0; i < N; i++)
		give(p, v[i], i);
	for (int i = 0; i < N; i++)
		v[i] = take(p); /* all reused: one P, nothing lost */
	EXPECT_EQ(atomic_load(&c.made), N);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < i + 3 && j < N; j++)
			EXPECT_NE(v[i], v[j]);
	for (int i = 0; i < N; i++)
		give(p, v[i], i);
	EXPECT_EQ(atomic_load(&c.freed), 0);
	EXPECT_EQ(gx_pool_free(p), 0);
	EXPECT_EQ(atomic_load(&c.freed), N);
	EXPECT_EQ(atomic_load(&c.badfree), 0);
	free(v);
}

struct local {
	gx_pool *p;
	gx_waitgroup wg;
	_Atomic long same, other;
	long iters;
};

static void local_main(void *arg)
{
	struct local *l = arg;
	for (long i = 0; i < l->iters; i++) {
		/* pinned: Put and Get run on one P, whose cache answers */
		gx_nopreempt_begin();
		int pid = gx_test_current_p();
		struct obj *o = take(l->p);
		give(l->p, o, pid);
		struct obj *again = take(l->p);
		if (again == o && again->tag == pid)
			atomic_fetch_add(&l->same, 1);
		else
			atomic_fetch_add(&l->other, 1);
		give(l->p, again, pid);
		gx_nopreempt_end();
		gx_yield(); /* maybe to another P */
	}
	gx_wg_done(&l->wg);
}

GX_TEST_PROCS(pool_per_p_locality, 2, 60)
{
	struct counts c = {0};
	struct local l = {.p = mkpool(&c), .wg = GX_WAITGROUP_INIT, .iters = gx_scale(20000)};
	int n = 4;
	gx_wg_add(&l.wg, n);
	for (int i = 0; i < n; i++)
		ASSERT_GT(gx_go(local_main, &l), 0);
	gx_wg_wait(&l.wg);
	EXPECT_EQ(atomic_load(&l.other), 0);
	EXPECT_EQ(atomic_load(&l.same), n * l.iters);
	/* each P made its own few, and kept reusing them */
	TH_LOG("%ld objects made for %ld get/put pairs", atomic_load(&c.made), 2 * n * l.iters);
	EXPECT_LE(atomic_load(&c.made), 2 * 2 * n);
	EXPECT_EQ(gx_pool_free(l.p), 0);
	EXPECT_EQ(atomic_load(&c.freed), atomic_load(&c.made));
}

/* ---- concurrency ------------------------------------------------------------------------------------ */

struct stress {
	gx_pool *p;
	long iters;
	gx_waitgroup wg;
	_Atomic int stop; /* the foreign thread's */
	_Atomic long foreign_ops;
};

static void stress_main(void *arg)
{
	struct stress *s = arg;
	uint64_t seed = (uint64_t)gx_id() * 0x9E3779B97F4A7C15ULL | 1;
	struct obj *held[8];
	for (long i = 0; i < s->iters; i++) {
		uint32_t r = trand(&seed);
		int k = 1 + (int)(r % 8); /* hold 1..8 at once */
		for (int j = 0; j < k; j++)
			held[j] = take(s->p);
		if (r & 0x100)
			gx_yield();
		if ((r & 0x3e00) == 0) /* now and then a little longer */
			gxt_spin_ns(2000);
		for (int j = k - 1; j >= 0; j--)
			give(s->p, held[j], (int)gx_id());
	}
	gx_wg_done(&s->wg);
}

static void *foreign_main(void *arg)
{
	struct stress *s = arg;
	struct obj *held[4];
	long ops = 0;
	while (!atomic_load(&s->stop) || ops < 1000) {
		for (int j = 0; j < 4; j++) {
			held[j] = gx_pool_get(s->p);
			if (!held[j] || held[j]->magic != OBJ_MAGIC || atomic_exchange(&held[j]->inuse, 1) != 0)
				abort(); /* no harness ASSERT off the runtime's threads */
		}
		for (int j = 0; j < 4; j++) {
			atomic_store(&held[j]->inuse, 0);
			gx_pool_put(s->p, held[j]);
		}
		ops += 8;
		if (ops % 64 == 0)
			sched_yield();
	}
	atomic_store(&s->foreign_ops, ops);
	return NULL;
}

GX_TEST_PROCS(pool_concurrent_stress, 4, 120)
{
	struct counts c = {0};
	struct stress s = {.p = mkpool(&c), .iters = gx_scale(20000), .wg = GX_WAITGROUP_INIT};
	gx_pool_sweep_interval(s.p, 5 * GX_MS); /* sweeps race with everything too */
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, foreign_main, &s), 0);
	int n = 32;
	gx_wg_add(&s.wg, n);
	for (int i = 0; i < n; i++)
		ASSERT_GT(gx_go(stress_main, &s), 0);
	gx_wg_wait(&s.wg);
	atomic_store(&s.stop, 1);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	TH_LOG("%ld objects made, %ld freed by sweeps, %ld foreign get/puts", atomic_load(&c.made),
	       atomic_load(&c.freed), atomic_load(&s.foreign_ops));
	EXPECT_GT(atomic_load(&s.foreign_ops), 0);
	EXPECT_EQ(gx_pool_free(s.p), 0);
	EXPECT_EQ(atomic_load(&c.freed), atomic_load(&c.made)); /* nothing lost, nothing freed twice */
	EXPECT_EQ(atomic_load(&c.badfree), 0);
}

/* ---- foreign threads ------------------------------------------------------------------------------- */

struct fth {
	gx_pool *p;
	struct obj *got[100];
	int n;
};

static void *foreign_puts(void *arg)
{
	struct fth *f = arg;
	for (int i = 0; i < f->n; i++) {
		struct obj *o = gx_pool_get(f->p); /* new ones: made on this thread */
		if (!o || o->magic != OBJ_MAGIC)
			abort();
		f->got[i] = o;
	}
	for (int i = 0; i < f->n; i++)
		gx_pool_put(f->p, f->got[i]); /* onto the shared list */
	return NULL;
}

GX_TEST_PROCS(pool_foreign_thread, 1, 60)
{
	struct counts c = {0};
	struct fth f = {.p = mkpool(&c), .n = 100};
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, foreign_puts, &f), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	EXPECT_EQ(atomic_load(&c.made), 100);
	/* a goroutine takes them from the shared list: no new ones */
	struct obj *v[100];
	for (int i = 0; i < 100; i++)
		v[i] = take(f.p);
	EXPECT_EQ(atomic_load(&c.made), 100);
	for (int i = 0; i < 100; i++) {
		bool found = false;
		for (int j = 0; j < 100 && !found; j++)
			found = v[i] == f.got[j];
		EXPECT_TRUE(found);
	}
	for (int i = 0; i < 100; i++)
		give(f.p, v[i], 0);
	/* and back: what a goroutine's cache spilled, a foreign thread gets */
	ASSERT_EQ(pthread_create(&th, NULL, foreign_puts, &f), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	EXPECT_LT(atomic_load(&c.made), 200);
	EXPECT_EQ(gx_pool_free(f.p), 0);
	EXPECT_EQ(atomic_load(&c.freed), atomic_load(&c.made));
}

TEST(pool_outside_the_runtime)
{
	/* No gx_main in this child: the shared list only, no sweep timer. */
	struct counts c = {0};
	gx_pool *p = NULL;
	ASSERT_EQ(gx_pool_make(&p, obj_new, obj_free, &c), 0);
	struct obj *v[50];
	for (int i = 0; i < 50; i++)
		v[i] = gx_pool_get(p);
	for (int i = 0; i < 50; i++)
		gx_pool_put(p, v[i]);
	EXPECT_EQ(gx_pool_get(p), v[49]);
	gx_pool_put(p, v[49]);
	EXPECT_EQ(atomic_load(&c.made), 50);
	EXPECT_EQ(gx_pool_free(p), 0);
	EXPECT_EQ(atomic_load(&c.freed), 50);
}

/* ---- the sweep --------------------------------------------------------------------------------------------- */

GX_TEST_PROCS(pool_victim_clearing_frees, 2, 60)
{
	struct counts c = {0};
	gx_pool *p = mkpool(&c);
	int64_t iv = 20 * GX_MS;
	gx_pool_sweep_interval(p, iv);
	enum { N = 100 };
	struct obj *v[N];
	for (int i = 0; i < N; i++)
		v[i] = take(p);
	int64_t t0 = gx_now();
	for (int i = 0; i < N; i++)
		give(p, v[i], i);
	/* Nothing is freed within one interval of its put. */
	gx_sleep(iv / 4);
	if (gx_now() - t0 < iv)
		EXPECT_EQ(atomic_load(&c.freed), 0);
	/* Unused, all are freed after two intervals (some slack for the
	 * sweep's timer and goroutine), while this goroutine sleeps: its P,
	 * idle, is swept by the sweep goroutine, as is the shared list. */
	long f = wait_freed(&c, N, 2 * GX_SEC);
	int64_t took = gx_now() - t0;
	EXPECT_EQ(f, N);
	EXPECT_GE(took, iv);
	TH_LOG("%ld objects freed %.1f ms after their put (interval %.0f ms)", f, (double)took / 1e6, (double)iv / 1e6);
	EXPECT_EQ(atomic_load(&c.badfree), 0);
	/* the pool is empty: a Get makes a new one */
	long made = atomic_load(&c.made);
	struct obj *o = take(p);
	EXPECT_EQ(atomic_load(&c.made), made + 1);
	give(p, o, 0);
	EXPECT_EQ(gx_pool_free(p), 0);
	EXPECT_EQ(atomic_load(&c.freed), N + 1);
}

GX_TEST_PROCS(pool_sweep_keeps_what_is_used, 2, 60)
{
	/* One object taken and put back every few ms outlives many
	 * intervals; 50 left alone are freed. */
	struct counts c = {0};
	gx_pool *p = mkpool(&c);
	int64_t iv = 20 * GX_MS;
	gx_pool_sweep_interval(p, iv);
	struct obj *idle[50];
	for (int i = 0; i < 50; i++)
		idle[i] = take(p);
	struct obj *hot = take(p);
	for (int i = 0; i < 50; i++)
		give(p, idle[i], 1);
	give(p, hot, 2);
	int64_t until = gx_now() + 10 * iv;
	long reused = 0, rounds = 0;
	while (gx_now() < until) {
		rounds++;
		gx_nopreempt_begin();
		struct obj *o = take(p);
		int tag = o->tag;
		give(p, o, 2);
		gx_nopreempt_end();
		reused += tag == 2;
		gx_sleep(iv / 8);
	}
	long f = wait_freed(&c, 50, 2 * GX_SEC);
	EXPECT_GE(f, 50);
	/* The hot set stays: most rounds got back an object used before (a
	 * round on a P whose cache lost its copy, unused for two intervals
	 * while this goroutine ran elsewhere, makes a new one). */
	TH_LOG("%ld freed, %ld made, %ld of %ld rounds reused a hot object", f, atomic_load(&c.made), reused, rounds);
	EXPECT_GE(2 * reused, rounds);
	EXPECT_LE(atomic_load(&c.made), 51 + rounds - reused);
	EXPECT_EQ(atomic_load(&c.badfree), 0);
	EXPECT_EQ(gx_pool_free(p), 0);
	EXPECT_EQ(atomic_load(&c.freed), atomic_load(&c.made));
}

struct spread {
	gx_pool *p;
	gx_waitgroup wg;
};

static void spread_main(void *arg)
{
	struct spread *s = arg;
	struct obj *v[20];
	for (int i = 0; i < 20; i++)
		v[i] = take(s->p);
	for (int i = 0; i < 20; i++)
		give(s->p, v[i], gx_test_current_p());
	gx_wg_done(&s->wg);
}

GX_TEST_PROCS(pool_sweep_of_retired_ps, 4, 60)
{
	/* Objects cached on four Ps; GOMAXPROCS drops to 1: the retired
	 * Ps' caches are swept like idle ones. */
	struct counts c = {0};
	struct spread s = {.p = mkpool(&c), .wg = GX_WAITGROUP_INIT};
	gx_pool_sweep_interval(s.p, 20 * GX_MS);
	int n = 16;
	gx_wg_add(&s.wg, n);
	for (int i = 0; i < n; i++)
		ASSERT_GT(gx_go(spread_main, &s), 0);
	gx_wg_wait(&s.wg);
	long made = atomic_load(&c.made);
	EXPECT_GE(made, 20);
	EXPECT_EQ(gx_maxprocs(1), 4);
	EXPECT_EQ(wait_freed(&c, made, 2 * GX_SEC), made);
	EXPECT_EQ(gx_maxprocs(4), 1);
	EXPECT_EQ(atomic_load(&c.badfree), 0);
	EXPECT_EQ(gx_pool_free(s.p), 0);
	EXPECT_EQ(atomic_load(&c.freed), atomic_load(&c.made));
}

GX_TEST(pool_free_frees_everything)
{
	/* Objects on the caches of several Ps, on the shared list, on its
	 * old generation and on a cache's spare batch: all freed. */
	struct counts c = {0};
	struct spread s = {.p = mkpool(&c), .wg = GX_WAITGROUP_INIT};
	int n = 8;
	gx_wg_add(&s.wg, n);
	for (int i = 0; i < n; i++)
		ASSERT_GT(gx_go(spread_main, &s), 0);
	gx_wg_wait(&s.wg);
	enum { N = 300 };
	struct obj **v = calloc(N, sizeof(*v));
	ASSERT_NOT_NULL(v);
	for (int i = 0; i < N; i++)
		v[i] = take(s.p);
	for (int i = 0; i < N; i++)
		give(s.p, v[i], 0);
	struct fth f = {.p = s.p, .n = 100};
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, foreign_puts, &f), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	/* two held by the caller are not the pool's */
	struct obj *mine1 = take(s.p), *mine2 = take(s.p);
	long made = atomic_load(&c.made);
	EXPECT_EQ(atomic_load(&c.freed), 0);
	EXPECT_EQ(gx_pool_free(s.p), 0);
	EXPECT_EQ(atomic_load(&c.freed), made - 2);
	EXPECT_EQ(atomic_load(&c.badfree), 0);
	free(mine1);
	free(mine2);
	free(v);
}
