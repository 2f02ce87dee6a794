/* SPDX-License-Identifier: MIT */
/*
 * test_time.c - sleeping, runtime timers and the public timers (Go's
 * time.Timer, Ticker, After, AfterFunc), and that an idle runtime sleeps
 * instead of polling.
 */
#define _GNU_SOURCE
#include "gx_test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>

/* ---- many sleepers: all wake, none early ------------------------------- */

static gx_waitgroup sl_wg;
static _Atomic long sl_early, sl_woke;

static void sleeper(void *arg)
{
	int64_t ns = (int64_t)(intptr_t)arg;
	int64_t t0 = gx_now();
	ASSERT_EQ(gx_sleep(ns), 0);
	if (gx_now() - t0 < ns)
		atomic_fetch_add(&sl_early, 1);
	atomic_fetch_add(&sl_woke, 1);
	gx_wg_done(&sl_wg);
}

GX_TEST_TIMEOUT(many_sleepers_wake_none_early, 120)
{
	long n = gx_scale(100000);
	unsigned seed = 1;
	gx_wg_add(&sl_wg, (int)n);
	for (long i = 0; i < n; i++) {
		int64_t ns = GX_MS + (int64_t)(rand_r(&seed) % 9000) * GX_US; /* 1-10 ms */
		ASSERT_GT(gx_go(sleeper, (void *)(intptr_t)ns), 0);
	}
	gx_wg_wait(&sl_wg);
	EXPECT_EQ(atomic_load(&sl_woke), n);
	EXPECT_EQ(atomic_load(&sl_early), 0);
}

GX_TEST(sleep_edge_cases)
{
	EXPECT_EQ(gx_sleep(0), 0);
	EXPECT_EQ(gx_sleep(-5), 0);
	EXPECT_EQ(gx_sleep_until(-1), -EINVAL);
	EXPECT_EQ(gx_sleep_until(gx_now() - GX_SEC), 0); /* in the past */
	int64_t t0 = gx_now();
	EXPECT_EQ(gx_sleep_until(t0 + 20 * GX_MS), 0);
	EXPECT_GE(gx_now() - t0, 20 * GX_MS);
}

/* ---- an idle runtime sleeps until its next timer --------------------------- */

static int64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * GX_SEC +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * GX_US;
}

GX_TEST_PROCS(idle_runtime_does_not_poll, 2, 30)
{
	gx_sleep(10 * GX_MS); /* let the other M settle */
	int64_t c0 = cpu_ns(), t0 = gx_now();
	gx_sleep(300 * GX_MS);
	int64_t cpu = cpu_ns() - c0, wall = gx_now() - t0;
	TH_LOG("300 ms asleep: %lld us of CPU", (long long)(cpu / GX_US));
	EXPECT_GE(wall, 300 * GX_MS);
	/* A poller waking every 20 us would burn well over 10% here. */
	EXPECT_LT(cpu, 30 * GX_MS);
}

/* ---- timers move with a retired P ---------------------------------------------- */

static gx_waitgroup mv_wg;
static _Atomic int mv_p = -1;

static void sleep_on_p1(void *arg)
{
	(void)arg;
	while (gx_test_current_p() != 1)
		gx_yield(); /* get onto P1 (stolen eventually) */
	atomic_store(&mv_p, 1);
	gx_sleep(100 * GX_MS); /* the timer lives in P1's heap */
	gx_wg_done(&mv_wg);
}

static void busy_p0(void *arg)
{
	(void)arg;
	while (atomic_load(&mv_p) != 1)
		gx_yield();
	gx_wg_done(&mv_wg);
}

GX_TEST_PROCS(timers_move_with_retired_p, 2, 30)
{
	gx_wg_add(&mv_wg, 2);
	gx_go(sleep_on_p1, NULL);
	gx_go(busy_p0, NULL);
	while (atomic_load(&mv_p) != 1)
		gx_yield();
	gx_sleep(10 * GX_MS);
	ASSERT_EQ(gx_maxprocs(1), 2); /* P1 retires; its timer must move */
	gx_wg_wait(&mv_wg);
}

/* ---- public timers --------------------------------------------------------------- */

GX_TEST(timer_fires_once_with_its_time)
{
	gx_timer *t;
	int64_t t0 = gx_now(), when = 0;
	ASSERT_EQ(gx_timer_make(&t, 20 * GX_MS), 0);
	gx_chan *c = gx_timer_chan(t);
	ASSERT_NE(c, NULL);
	EXPECT_EQ(gx_chan_recv(c, &when, GX_FOREVER), 1);
	EXPECT_GE(when - t0, 20 * GX_MS);
	EXPECT_GE(gx_now() - t0, 20 * GX_MS);
	/* only once */
	EXPECT_EQ(gx_chan_recv(c, &when, gx_now() + 50 * GX_MS), -ETIMEDOUT);
	EXPECT_EQ(gx_timer_stop(t), 0); /* already fired */
	gx_timer_free(t);
}

GX_TEST(timer_stop_and_reset)
{
	gx_timer *t;
	ASSERT_EQ(gx_timer_make(&t, 50 * GX_MS), 0);
	EXPECT_EQ(gx_timer_stop(t), 1); /* stopped before it fired */
	EXPECT_EQ(gx_chan_recv(gx_timer_chan(t), NULL, gx_now() + 100 * GX_MS), -ETIMEDOUT);
	int64_t t0 = gx_now();
	EXPECT_EQ(gx_timer_reset(t, 10 * GX_MS), 0); /* was inactive */
	EXPECT_EQ(gx_chan_recv(gx_timer_chan(t), NULL, GX_FOREVER), 1);
	EXPECT_GE(gx_now() - t0, 10 * GX_MS);
	/* Go 1.23: a value that fired before Reset is not received after it */
	EXPECT_EQ(gx_timer_reset(t, 1 * GX_MS), 0);
	gx_sleep(20 * GX_MS); /* it has fired, unread */
	t0 = gx_now();
	EXPECT_EQ(gx_timer_reset(t, 30 * GX_MS), 0);
	int64_t when;
	EXPECT_EQ(gx_chan_recv(gx_timer_chan(t), &when, GX_FOREVER), 1);
	EXPECT_GE(when - t0, 30 * GX_MS); /* the new firing, not the stale one */
	gx_timer_free(t);
	EXPECT_EQ(gx_timer_stop(NULL), -EINVAL);
}

/* Stop and reset racing with expiry: whatever the interleaving, at most one
 * value arrives per arming, and none after Stop returns. */
static gx_waitgroup race_wg;
static _Atomic long race_bad;

static void racer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	gx_timer *t;
	ASSERT_EQ(gx_timer_make(&t, 1 * GX_US), 0);
	for (int i = 0; i < 200; i++) {
		int64_t d = (int64_t)(rand_r(&seed) % 50) * GX_US;
		gx_timer_reset(t, d);
		if (rand_r(&seed) & 1)
			gxt_spin_ns(rand_r(&seed) % 60000);
		int stopped = gx_timer_stop(t);
		/* after Stop, nothing may be received */
		if (gx_chan_recv(gx_timer_chan(t), NULL, GX_NOW) != -EAGAIN)
			atomic_fetch_add(&race_bad, 1);
		(void)stopped;
	}
	gx_timer_free(t);
	gx_wg_done(&race_wg);
}

GX_TEST_PROCS(timer_stop_reset_race_expiry, 2, 60)
{
	int n = (int)gx_scale(40) + 4;
	gx_wg_add(&race_wg, n);
	for (int i = 0; i < n; i++)
		gx_go(racer, (void *)(uintptr_t)(i + 1));
	gx_wg_wait(&race_wg);
	EXPECT_EQ(atomic_load(&race_bad), 0);
}

GX_TEST(ticker_ticks_and_drops)
{
	gx_timer *t;
	ASSERT_EQ(gx_ticker_make(&t, 0), -EINVAL);
	int64_t t0 = gx_now(), prev = t0;
	ASSERT_EQ(gx_ticker_make(&t, 10 * GX_MS), 0);
	for (int i = 0; i < 5; i++) {
		int64_t when;
		ASSERT_EQ(gx_chan_recv(gx_timer_chan(t), &when, GX_FOREVER), 1);
		EXPECT_GT(when, prev);
		prev = when;
	}
	EXPECT_GE(gx_now() - t0, 50 * GX_MS);
	/* a slow reader: ticks are dropped, not queued (cap 1) */
	gx_sleep(60 * GX_MS);
	EXPECT_LE(gx_chan_len(gx_timer_chan(t)), 1u);
	EXPECT_EQ(gx_timer_stop(t), 1);
	EXPECT_EQ(gx_chan_recv(gx_timer_chan(t), NULL, gx_now() + 30 * GX_MS), -ETIMEDOUT);
	gx_timer_free(t);
}

static _Atomic int64_t af_ran_at;
static gx_waitgroup af_wg;
static _Atomic int64_t af_goid;

static void after_fn(void *arg)
{
	(void)arg;
	atomic_store(&af_ran_at, gx_now());
	atomic_store(&af_goid, gx_id());
	gx_wg_done(&af_wg);
}

GX_TEST(after_func_runs_in_a_goroutine)
{
	gx_timer *t, *t2;
	int64_t t0 = gx_now();
	gx_wg_add(&af_wg, 1);
	ASSERT_EQ(gx_after_func(&t, 15 * GX_MS, after_fn, NULL), 0);
	ASSERT_EQ(gx_after_func(&t2, 15 * GX_MS, NULL, NULL), -EINVAL);
	EXPECT_EQ(gx_timer_chan(t), NULL);
	gx_wg_wait(&af_wg);
	EXPECT_GE(atomic_load(&af_ran_at) - t0, 15 * GX_MS);
	EXPECT_GT(atomic_load(&af_goid), 1);
	gx_timer_free(t);
	/* stopped before firing: never runs */
	atomic_store(&af_ran_at, 0);
	ASSERT_EQ(gx_after_func(&t, 20 * GX_MS, after_fn, NULL), 0);
	EXPECT_EQ(gx_timer_stop(t), 1);
	gx_sleep(40 * GX_MS);
	EXPECT_EQ(atomic_load(&af_ran_at), 0);
	gx_timer_free(t);
}

GX_TEST(after_channel)
{
	gx_timer *t;
	ASSERT_EQ(gx_after(&t, 5 * GX_MS), 0);
	gx_case cases[1] = {{.ch = gx_timer_chan(t), .op = GX_RECV, .elem = NULL}};
	EXPECT_EQ(gx_select(cases, 1, GX_FOREVER), 0);
	EXPECT_TRUE(cases[0].ok);
	gx_timer_free(t);
}

/* A sleeping main is not a deadlock: the timer will wake it. */
static int sleepy_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_sleep(50 * GX_MS);
	return 3;
}

static void run_sleepy(void *arg)
{
	(void)arg;
	char *argv[] = {(char *)"sleepy", NULL};
	gx_main(sleepy_main, 1, argv);
}

TEST(sleeping_is_not_deadlock)
{
	char out[4096];
	int st;
	ASSERT_EQ(harness_run_capture(run_sleepy, NULL, out, sizeof(out), &st, 30), 0);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 3);
	EXPECT_EQ(strstr(out, "deadlock"), NULL);
}
