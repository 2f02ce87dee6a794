/* SPDX-License-Identifier: MIT */
/*
 * test_sched.c - the scheduler: spawning, runnext, the global queue's
 * fairness, stealing, GOMAXPROCS changes, and state kept across switches.
 */
#include "gx_test.h"

#include <fenv.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- 1,000,000 goroutines spawned and joined ---------------------------- */

static _Atomic long spawn_count;
static gx_waitgroup spawn_wg;

static void spawn_one(void *arg)
{
	(void)arg;
	atomic_fetch_add(&spawn_count, 1);
	gx_wg_done(&spawn_wg);
}

GX_TEST_TIMEOUT(spawn_join_million, 120)
{
	long n = gx_scale(1000000);
	ASSERT_EQ(gx_wg_add(&spawn_wg, (int)n), 0);
	for (long i = 0; i < n; i++)
		ASSERT_GT(gx_go(spawn_one, NULL), 0);
	ASSERT_EQ(gx_wg_wait(&spawn_wg), 0);
	ASSERT_EQ(atomic_load(&spawn_count), n);
	/* the workers have all finished: only main remains */
	ASSERT_EQ(gxt_settle_goroutines(1), 1);
}

/* ---- ids are unique and increasing per spawner ------------------------ */

static gx_waitgroup id_wg;
static int64_t ids_seen[1000];

static void record_id(void *arg)
{
	ids_seen[(intptr_t)arg] = gx_id();
	gx_wg_done(&id_wg);
}

GX_TEST(goroutine_ids)
{
	ASSERT_EQ(gx_id(), 1);
	int64_t ret[1000];
	gx_wg_add(&id_wg, 1000);
	for (intptr_t i = 0; i < 1000; i++) {
		ret[i] = gx_go(record_id, (void *)i);
		ASSERT_GT(ret[i], 1);
		if (i)
			ASSERT_GT(ret[i], ret[i - 1]);
	}
	gx_wg_wait(&id_wg);
	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(ids_seen[i], ret[i]);
}

/* ---- work spreads over all Ps ------------------------------------------ */

static _Atomic long ran_on[8];
static gx_waitgroup spread_wg;

static void spread_worker(void *arg)
{
	(void)arg;
	gxt_spin_ns(200000); /* 200 us of CPU: long enough that idle Ps steal */
	int p = gx_test_current_p();
	if (p >= 0 && p < 8)
		atomic_fetch_add(&ran_on[p], 1);
	gx_wg_done(&spread_wg);
}

GX_TEST_PROCS(work_spreads_over_all_ps, 2, 60)
{
	enum { N = 400 };
	gx_wg_add(&spread_wg, N);
	for (int i = 0; i < N; i++)
		ASSERT_GT(gx_go(spread_worker, NULL), 0);
	gx_wg_wait(&spread_wg);
	long p0 = atomic_load(&ran_on[0]), p1 = atomic_load(&ran_on[1]);
	TH_LOG("P0 ran %ld, P1 ran %ld", p0, p1);
	ASSERT_EQ(p0 + p1, N);
	/* Both Ps did a real share (the machine may be loaded: be lenient). */
	EXPECT_GE(p0, N / 10);
	EXPECT_GE(p1, N / 10);
	EXPECT_GT(gx_test_p_executions(1), 0);
}

/* ---- a spawned G runs next (runnext), the rest in FIFO order -------------- */

static int order[8], norder;
static gx_waitgroup order_wg;

static void note_order(void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
	gx_wg_done(&order_wg);
}

GX_TEST_PROCS(spawned_goroutine_runs_next, 1, 30)
{
	gx_wg_add(&order_wg, 4);
	gx_yield(); /* a fresh time slice: no preemption request can be pending */
	for (intptr_t i = 1; i <= 4; i++)
		gx_go(note_order, (void *)i);
	/* runnext holds 4 (the newest); 1, 2, 3 are in the ring in order */
	gx_wg_wait(&order_wg);
	ASSERT_EQ(norder, 4);
	EXPECT_EQ(order[0], 4);
	EXPECT_EQ(order[1], 1);
	EXPECT_EQ(order[2], 2);
	EXPECT_EQ(order[3], 3);
}

/* A G readied by gx_ready also goes into runnext: it runs before Gs that
 * were already queued. */
static gx_g *sleeper;
static int ready_order[3], nready;
static gx_waitgroup ready_wg;

static void park_then_note(void *arg)
{
	(void)arg;
	sleeper = gx_self();
	gx_park(NULL, NULL, "test park");
	ready_order[nready++] = 1;
	gx_wg_done(&ready_wg);
}

static void note_two(void *arg)
{
	(void)arg;
	ready_order[nready++] = 2;
	gx_wg_done(&ready_wg);
}

GX_TEST_PROCS(readied_goroutine_runs_next, 1, 30)
{
	gx_wg_add(&ready_wg, 2);
	gx_go(park_then_note, NULL);
	gx_yield(); /* main to the global queue; the sleeper runs and parks */
	ASSERT_NE(sleeper, NULL);
	gx_yield();	       /* a fresh time slice, as above */
	gx_go(note_two, NULL); /* runnext */
	gx_ready(sleeper);     /* runnext; note_two moves to the ring */
	gx_wg_wait(&ready_wg);
	ASSERT_EQ(nready, 2);
	EXPECT_EQ(ready_order[0], 1);
	EXPECT_EQ(ready_order[1], 2);
}

/* ---- the global queue is not starved by a runnext ping-pong pair ------------- */

static _Atomic bool pp_done;
static _Atomic long pp_rounds;
static gx_g *pp_g[2];
static bool pp_exited[2];
static gx_waitgroup pp_wg;

static void pingpong(void *arg)
{
	int me = (int)(intptr_t)arg, other = 1 - me;
	pp_g[me] = gx_self();
	if (me == 0) {
		/* gx_go is a preemption point: preempted there, we would be
		 * runnable, not parked, when the partner readies us */
		gx_nopreempt_begin();
		gx_go(pingpong, (void *)(intptr_t)1);
		gx_park(NULL, NULL, "pingpong"); /* partner readies us */
		gx_nopreempt_end();
	}
	for (;;) {
		if (atomic_load(&pp_done)) {
			if (!pp_exited[other])
				gx_ready(pp_g[other]);
			pp_exited[me] = true;
			break;
		}
		atomic_fetch_add(&pp_rounds, 1);
		gx_ready(pp_g[other]); /* into runnext: inherits our time slice */
		gx_park(NULL, NULL, "pingpong");
	}
	gx_wg_done(&pp_wg);
}

static long rounds_when_yielded;
static void starving_victim(void *arg)
{
	(void)arg;
	rounds_when_yielded = atomic_load(&pp_rounds);
	gx_yield(); /* to the global queue, behind the pair */
	long waited = atomic_load(&pp_rounds) - rounds_when_yielded;
	TH_LOG("the global queue waited %ld ping-pong rounds", waited);
	EXPECT_LE(waited, 2 * 61 + 2);
	atomic_store(&pp_done, true);
	gx_wg_done(&pp_wg);
}

GX_TEST_PROCS(global_queue_not_starved_by_pingpong, 1, 30)
{
	gx_wg_add(&pp_wg, 3);
	gx_go(pingpong, (void *)(intptr_t)0);
	gx_yield(); /* let the pair start */
	gx_go(starving_victim, NULL);
	gx_wg_wait(&pp_wg);
	EXPECT_TRUE(pp_exited[0] && pp_exited[1]);
}

/* ---- stealing under imbalance ------------------------------------------------- */

static _Atomic long steal_ran_on[2];
static gx_waitgroup steal_wg;

static void steal_worker(void *arg)
{
	(void)arg;
	gxt_spin_ns(1000000);
	int p = gx_test_current_p();
	if (p == 0 || p == 1)
		atomic_fetch_add(&steal_ran_on[p], 1);
	gx_wg_done(&steal_wg);
}

static void imbalanced_spawner(void *arg)
{
	(void)arg;
	/* All 100 land on this P's queue: the other P has nothing unless it
	 * steals. */
	for (int i = 0; i < 100; i++)
		gx_go(steal_worker, NULL);
	gxt_spin_ns(1000000);
	gx_wg_done(&steal_wg);
}

GX_TEST_PROCS(stealing_under_imbalance, 2, 60)
{
	gx_wg_add(&steal_wg, 101);
	gx_go(imbalanced_spawner, NULL);
	gx_wg_wait(&steal_wg);
	long a = atomic_load(&steal_ran_on[0]), b = atomic_load(&steal_ran_on[1]);
	TH_LOG("P0 ran %ld, P1 ran %ld", a, b);
	ASSERT_EQ(a + b, 100);
	EXPECT_GE(a, 10);
	EXPECT_GE(b, 10);
}

/* ---- GOMAXPROCS changed while goroutines run -------------------------------------- */

static _Atomic bool mp_stop;
static gx_waitgroup mp_wg;

static void mp_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&mp_stop)) {
		gxt_spin_ns(50000);
		gx_yield();
	}
	gx_wg_done(&mp_wg);
}

static uint64_t execs_sum(int from, int to)
{
	uint64_t s = 0;
	for (int i = from; i < to; i++)
		s += gx_test_p_executions(i);
	return s;
}

static void sleep_ms_yielding(int ms)
{
	int64_t end = gxt_now_ns() + (int64_t)ms * 1000000;
	while (gxt_now_ns() < end)
		gx_yield();
}

GX_TEST_PROCS(maxprocs_changed_while_running, 2, 60)
{
	enum { W = 8 };
	gx_wg_add(&mp_wg, W);
	for (int i = 0; i < W; i++)
		gx_go(mp_worker, NULL);
	sleep_ms_yielding(50);
	EXPECT_GT(gx_test_p_executions(1), 0);

	ASSERT_EQ(gx_maxprocs(4), 2);
	ASSERT_EQ(gx_maxprocs(0), 4);
	sleep_ms_yielding(100);
	EXPECT_GT(execs_sum(2, 4), 0); /* the new Ps ran goroutines */

	ASSERT_EQ(gx_maxprocs(1), 4);
	ASSERT_EQ(gx_maxprocs(0), 1);
	/* Retiring Ps notice at their next schedule: wait until their counts
	 * stand still for 100 ms (x GXT_SLACK: an emulated guest may not run a
	 * vCPU for 100 ms), at most 5 s; a P that never stops still fails
	 * below. */
	int64_t quiet = gxt_slack(100 * 1000000LL), still = 0;
	uint64_t before = execs_sum(1, 4);
	for (int i = 0; i < 250 && still < quiet; i++) {
		sleep_ms_yielding(20);
		uint64_t now = execs_sum(1, 4);
		still = now == before ? still + 20 * 1000000LL : 0;
		before = now;
	}
	sleep_ms_yielding(100);
	EXPECT_EQ(execs_sum(1, 4), before); /* only P0 runs now */
	EXPECT_EQ(gx_test_current_p(), 0);

	ASSERT_EQ(gx_maxprocs(2), 1);
	sleep_ms_yielding(50);
	atomic_store(&mp_stop, true);
	gx_wg_wait(&mp_wg);
	EXPECT_EQ(gxt_settle_goroutines(1), 1);
}

/* ---- floating-point control state is per goroutine ------------------------------ */

static gx_waitgroup fp_wg;
static _Atomic int fp_bad;

static void fp_worker(void *arg)
{
	int mode = (int)(intptr_t)arg;
	fesetround(mode);
	for (int i = 0; i < 2000; i++) {
		gx_yield();
		if (fegetround() != mode)
			atomic_fetch_add(&fp_bad, 1);
		volatile double x = 1.0, y = 3.0;
		volatile double q = x / y; /* rounding differs by mode */
		(void)q;
	}
	gx_wg_done(&fp_wg);
}

GX_TEST(fp_control_state_survives_switches)
{
	int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
	gx_wg_add(&fp_wg, 8);
	for (int i = 0; i < 8; i++)
		gx_go(fp_worker, (void *)(intptr_t)modes[i % 4]);
	gx_wg_wait(&fp_wg);
	EXPECT_EQ(atomic_load(&fp_bad), 0);
	EXPECT_EQ(fegetround(), FE_TONEAREST);
}

/* ---- arguments by value --------------------------------------------------------- */

struct argval {
	int a[8];
	char s[16];
};
static gx_waitgroup arg_wg;
static _Atomic int arg_bad;

static void check_arg(void *p)
{
	struct argval *v = p;
	int i = v->a[0];
	for (int k = 0; k < 8; k++)
		if (v->a[k] != i + k)
			atomic_fetch_add(&arg_bad, 1);
	gx_wg_done(&arg_wg);
}

GX_TEST(arguments_copied_by_value)
{
	struct argval v;
	gx_wg_add(&arg_wg, 1000);
	for (int i = 0; i < 1000; i++) {
		for (int k = 0; k < 8; k++)
			v.a[k] = i + k;
		ASSERT_GT(gx_go_copy(check_arg, &v, sizeof(v)), 0);
		memset(&v, 0xff, sizeof(v)); /* the caller's copy changes at once */
	}
	gx_wg_wait(&arg_wg);
	EXPECT_EQ(atomic_load(&arg_bad), 0);
}

/* ---- stress: random yields, parks and spawns on all Ps ----------------------------- */

static gx_mutex stress_mu = GX_MUTEX_INIT;
static long stress_counter;
static gx_waitgroup stress_wg;

static void stress_leaf(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < 50; i++) {
		seed = seed * 1103515245u + 12345u;
		if (seed & 0x100)
			gx_yield();
		gx_mutex_lock(&stress_mu);
		stress_counter++;
		if (seed & 0x200)
			gx_yield(); /* holding the mutex: others park on it */
		gx_mutex_unlock(&stress_mu);
	}
	gx_wg_done(&stress_wg);
}

static void stress_node(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < 20; i++)
		gx_go(stress_leaf, (void *)(uintptr_t)(seed * 31u + (unsigned)i));
	gx_wg_done(&stress_wg);
}

GX_TEST_PROCS(stress_random_yields, 2, 120)
{
	long nodes = gx_scale(500);
	for (int round = 0; round < 3; round++) {
		stress_counter = 0;
		gx_wg_add(&stress_wg, (int)(nodes * 21));
		for (long i = 0; i < nodes; i++)
			ASSERT_GT(gx_go(stress_node, (void *)(uintptr_t)(i + 1 + round * 100000)), 0);
		gx_wg_wait(&stress_wg);
		gx_mutex_lock(&stress_mu);
		ASSERT_EQ(stress_counter, nodes * 20 * 50);
		gx_mutex_unlock(&stress_mu);
	}
}
