/* SPDX-License-Identifier: MIT */
/*
 * gx_test.h - run a harness test inside the gmpx runtime.
 *
 *   GX_TEST(name) { ...body runs as goroutine 1... }
 *   GX_TEST_TIMEOUT(name, seconds) { ... }
 *   GX_TEST_PROCS(name, maxprocs, seconds) { ... }   fixed GOMAXPROCS
 *
 * The harness forks a child per test; the child calls gx_main, which runs
 * the body as the main goroutine and exits with the harness status when it
 * returns. gx_scale(n) shrinks sizes for sanitizer builds (TSan gives every
 * goroutine a fiber of its own and runs 5-15x slower).
 */
#ifndef GX_TEST_H
#define GX_TEST_H

#include "harness.h"
#include "gmpx.h"
#include "testing.h"

#include <time.h>

#define GX_TEST_PROCS(name, procs, secs)                  \
	static void gxt_body_##name(void);                \
	static int gxt_main_##name(int argc, char **argv) \
	{                                                 \
		(void)argc;                               \
		(void)argv;                               \
		if ((procs) > 0)                          \
			gx_maxprocs(procs);               \
		gxt_body_##name();                        \
		return harness_child_status();            \
	}                                                 \
	TEST_TIMEOUT(name, secs)                          \
	{                                                 \
		char *argv[] = {(char *)#name, NULL};     \
		if ((procs) > 0)                          \
			gx_maxprocs(procs);               \
		gx_main(gxt_main_##name, 1, argv);        \
	}                                                 \
	static void gxt_body_##name(void)

#define GX_TEST_TIMEOUT(name, secs) GX_TEST_PROCS(name, 0, secs)
#define GX_TEST(name)		    GX_TEST_PROCS(name, 0, 60)

/* TSan treats each live goroutine as a thread and allows 8128 in all. */
#define GXT_TSAN_LIVE_MAX 4000

static inline long gx_scale(long n)
{
	long s = gx_test_sanitized() ? (n / 20 > 0 ? n / 20 : 1) : n;
	return gx_test_sanitized() == 2 && s > GXT_TSAN_LIVE_MAX ? GXT_TSAN_LIVE_MAX : s;
}

/* gxt_slack - a "not late" bound, widened where time runs slowly: x5 in
 * sanitizer builds, and x GXT_SLACK (an integer, default 1) under an
 * emulator (tools/vmtest/scx-tests.sh runs the suite in a TCG guest with
 * GXT_SLACK=4). Bounds on design (a hand-off happens, a waiter is not
 * starved), not on speed. */
static inline int64_t gxt_slack(int64_t ns)
{
	const char *e = getenv("GXT_SLACK");
	long k = e && *e ? atol(e) : 1;
	return ns * (k > 1 ? k : 1) * (gx_test_sanitized() ? 5 : 1);
}

static inline int64_t gxt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Burn CPU for about ns nanoseconds without entering the runtime. */
static inline void gxt_spin_ns(int64_t ns)
{
	int64_t end = gxt_now_ns() + ns;
	while (gxt_now_ns() < end)
		__asm__ volatile("" ::: "memory");
}

/* Wait (yielding, up to 2 s) until gx_num_goroutines() == want: after a
 * WaitGroup wait returns, the last workers may still be between their
 * gx_wg_done and their exit. Returns the final count. */
static inline int64_t gxt_settle_goroutines(int64_t want)
{
	int64_t n = gx_num_goroutines(), deadline = gxt_now_ns() + 2000000000;
	while (n != want && gxt_now_ns() < deadline) {
		gx_yield();
		n = gx_num_goroutines();
	}
	return n;
}

#endif
