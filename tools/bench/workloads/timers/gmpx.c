/* SPDX-License-Identifier: MIT */
/*
 * timers: many goroutines sleeping at once; how late do they wake?
 *
 * Definition (identical in tools/bench/workloads/timers/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 2), --n=N (sleeping
 *    goroutines; default 100,000).
 *  - Durations (untimed, before the timed region): d[i] for i in 0..N-1,
 *    in whole microseconds, d[i] = MIN_US + (r >> 32) % (MAX_US - MIN_US + 1)
 *    with MIN_US 1000 and MAX_US 10000 (so 1 to 10 ms), where r is the i-th
 *    output of xorshift64* (x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
 *    r = x * 0x2545F4914F6CDD1D) started from x = SEED (0x9E3779B97F4A7C15).
 *    Both languages compute the same sequence; requested_sum_us, the sum of
 *    all d[i], shows it.
 *  - Timed region: gx_wg_add(N), then a loop starting N goroutines, the i-th
 *    gx_go(sleeper, i); sleeper i reads the clock (t0), gx_sleep(d[i] us),
 *    reads the clock (t1), stores oversleep[i] = (t1 - t0) - d[i] in ns
 *    (a slot of its own), and calls gx_wg_done; main waits on the waitgroup.
 *  - Report: wall_ms of the timed region; oversleep percentiles over all N
 *    (nearest rank on the sorted values: the k-th percentile is element
 *    ceil(k/100 * N) - 1): oversleep_p50_us, oversleep_p99_us, and
 *    oversleep_max_us, oversleep_mean_us.
 *  - Verify: every sleep returned 0 and no goroutine woke early (every
 *    oversleep >= 0).
 *
 * Clock: bench_now_ns (CLOCK_MONOTONIC), the clock of gx_now; Go reads the
 * same clock.
 *
 * Output: {"workload":"timers","maxprocs":P,"n":N,"requested_sum_us":...,"wall_ms":...,
 *          "oversleep_p50_us":...,"oversleep_p99_us":...,"oversleep_max_us":...,
 *          "oversleep_mean_us":...}
 */
#include "bench.h"

/* DEFAULT_N is the number of sleeping goroutines of a full run. */
#define DEFAULT_N 100000

/* MIN_US and MAX_US bound the sleep durations (inclusive, microseconds). */
#define MIN_US 1000
#define MAX_US 10000

/* SEED starts the xorshift64* sequence of durations. */
#define SEED UINT64_C(0x9E3779B97F4A7C15)

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", DEFAULT_N},
};

static int64_t *durations_us; /* d[i] */
static int64_t *oversleep_ns; /* written by sleeper i only */
static int64_t errors;	      /* failed sleeps */
static gx_waitgroup wg = GX_WAITGROUP_INIT;

/* xorshift64star - the next output of xorshift64* with state *x. */
static uint64_t xorshift64star(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * UINT64_C(0x2545F4914F6CDD1D);
}

static void sleeper(void *arg)
{
	long i = (long)(intptr_t)arg;
	int64_t d = durations_us[i] * 1000;

	int64_t t0 = bench_now_ns();
	if (gx_sleep(d) != 0)
		__atomic_fetch_add(&errors, 1, __ATOMIC_SEQ_CST);
	int64_t t1 = bench_now_ns();
	oversleep_ns[i] = (t1 - t0) - d;
	gx_wg_done(&wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	long n = opts[OPT_N].value;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	durations_us = calloc((size_t)n, sizeof(int64_t));
	oversleep_ns = calloc((size_t)n, sizeof(int64_t));
	if (!durations_us || !oversleep_ns)
		bench_fail("out of memory");
	uint64_t x = SEED;
	int64_t requested_sum_us = 0;
	for (long i = 0; i < n; i++) {
		durations_us[i] = MIN_US + (int64_t)((xorshift64star(&x) >> 32) % (MAX_US - MIN_US + 1));
		requested_sum_us += durations_us[i];
	}

	int64_t start = bench_now_ns();
	gx_wg_add(&wg, (int)n);
	for (long i = 0; i < n; i++) {
		int64_t id = gx_go(sleeper, (void *)(intptr_t)i);
		if (id < 0)
			bench_fail("gx_go #%ld: %" PRId64, i, id);
	}
	gx_wg_wait(&wg);
	int64_t wall = bench_now_ns() - start;

	if (__atomic_load_n(&errors, __ATOMIC_SEQ_CST) != 0)
		bench_fail("%" PRId64 " gx_sleep calls failed", errors);
	bench_sort_int64(oversleep_ns, n);
	if (oversleep_ns[0] < 0)
		bench_fail("a goroutine woke %" PRId64 " ns early", -oversleep_ns[0]);
	double total = 0;
	for (long i = 0; i < n; i++)
		total += (double)oversleep_ns[i];
	printf("{\"workload\":\"timers\",\"maxprocs\":%d,\"n\":%ld,\"requested_sum_us\":%" PRId64
	       ",\"wall_ms\":%.6f,\"oversleep_p50_us\":%.3f,\"oversleep_p99_us\":%.3f,"
	       "\"oversleep_max_us\":%.3f,\"oversleep_mean_us\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, n, requested_sum_us, (double)wall / 1e6, (double)bench_percentile(oversleep_ns, n, 50) / 1e3,
	       (double)bench_percentile(oversleep_ns, n, 99) / 1e3, (double)oversleep_ns[n - 1] / 1e3,
	       total / (double)n / 1e3, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("timers", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_N].value <= 0 || opts[OPT_N].value > INT32_MAX)
		bench_usage("--n must be in [1, %d]", INT32_MAX);
	gx_main(bench_main, argc, argv);
}
