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
#include <gmpx/debug.h>

#include <time.h>

/* gxt_leaks - the leak check after every GX_TEST body (gmpx/debug.h):
 * the goroutines it started must have finished (within GXT_LEAK_WAIT_NS,
 * widened by gxt_slack, as goleak waits), or the test fails; they are
 * printed with their stacks. A test whose goroutines outlive it by design
 * says so with GXT_LEAKS_EXPECTED("why"). */
#define GXT_LEAK_WAIT_NS (2LL * 1000 * 1000 * 1000)
static bool gxt_leaks_expected;
#define GXT_LEAKS_EXPECTED(why)                                                            \
	do {                                                                               \
		gxt_leaks_expected = true;                                                 \
		TH_LOG("goroutines outlive this test by design (no leak check): %s", why); \
	} while (0)
static inline int64_t gxt_slack(int64_t ns);
static inline void gxt_leaks(gx_leakmark *m)
{
	if (!m)
		return;
	if (gxt_leaks_expected) {
		free(m); /* unchecked: a mark is plain malloc'd memory */
		return;
	}
	int n = gx_leakcheck_end(m, gx_now() + gxt_slack(GXT_LEAK_WAIT_NS));
	EXPECT_EQ(n, 0);
}

#define GX_TEST_PROCS(name, procs, secs)                   \
	static void gxt_body_##name(void);                 \
	static int gxt_main_##name(int argc, char **argv)  \
	{                                                  \
		(void)argc;                                \
		(void)argv;                                \
		if ((procs) > 0)                           \
			gx_maxprocs(procs);                \
		gx_leakmark *gxt_m = gx_leakcheck_begin(); \
		gxt_body_##name();                         \
		gxt_leaks(gxt_m);                          \
		return harness_child_status();             \
	}                                                  \
	TEST_TIMEOUT(name, secs)                           \
	{                                                  \
		char *argv[] = {(char *)#name, NULL};      \
		if ((procs) > 0)                           \
			gx_maxprocs(procs);                \
		gx_main(gxt_main_##name, 1, argv);         \
	}                                                  \
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

/* trand - xorshift64 for the tests' own randomness (state per goroutine:
 * seed it non-zero). */
static inline uint32_t trand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return (uint32_t)(x >> 32);
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

/* gxt_exit_status - a wait status as a shell shows it: the exit status, or
 * 128 + N if killed by signal N. */
static inline int gxt_exit_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* gxt_capture_main - run main_fn under a fresh runtime (gx_main, argv
 * {"child"}) in a grandchild, after putenv of each "NAME=value" in env
 * (NULL-terminated; NULL: none); its output goes to out and its wait
 * status to *status (harness_run_capture: 0, -ETIMEDOUT or -errno). */
struct gxt_mainspec {
	int (*main_fn)(int, char **);
	const char *const *env;
};

static inline void gxt__run_main(void *arg)
{
	const struct gxt_mainspec *ms = (const struct gxt_mainspec *)arg;
	for (int i = 0; ms->env && ms->env[i]; i++)
		putenv((char *)ms->env[i]);
	char *argv[] = {(char *)"child", NULL};
	gx_main(ms->main_fn, 1, argv);
}

static inline int gxt_capture_main(int (*main_fn)(int, char **), const char *const *env, char *out, size_t n,
				   int *status, int timeout_s)
{
	struct gxt_mainspec ms = {main_fn, env};
	return harness_run_capture(gxt__run_main, &ms, out, n, status, timeout_s);
}

#endif
