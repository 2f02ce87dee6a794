/* SPDX-License-Identifier: MIT */
/*
 * timers (Boost.Fiber): N fibers each sleeping once for 1-10 ms; how late
 * do they wake?
 *
 * Definition (as in tools/bench/workloads/timers/gmpx.c, a fiber per
 * goroutine, boost::this_fiber::sleep_for for gx_sleep; each thread keeps
 * its own sleep queue, on std::chrono::steady_clock, CLOCK_MONOTONIC):
 *  - Arguments: --maxprocs=P (the runner uses 2), --n=N (sleeping fibers;
 *    default 100,000).
 *  - Durations (untimed, before the timed region): d[i] for i in 0..N-1,
 *    in whole microseconds, d[i] = MIN_US + (r >> 32) % (MAX_US - MIN_US + 1)
 *    with MIN_US 1000 and MAX_US 10000 (so 1 to 10 ms), where r is the i-th
 *    output of xorshift64* (x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
 *    r = x * 0x2545F4914F6CDD1D) started from x = SEED (0x9E3779B97F4A7C15).
 *    requested_sum_us, the sum of all d[i], shows the sequence is the same.
 *  - Timed region: wg.add(N), then a loop starting N fibers; fiber i reads
 *    the clock (t0), sleeps d[i] us, reads the clock (t1), stores
 *    oversleep[i] = (t1 - t0) - d[i] in ns (a slot of its own), and calls
 *    wg.done(); main waits on the waitgroup.
 *  - Report: wall_ms of the timed region; oversleep percentiles over all N
 *    (nearest rank): oversleep_p50_us, oversleep_p99_us, and
 *    oversleep_max_us, oversleep_mean_us.
 *  - Verify: no fiber woke early (every oversleep >= 0).
 *
 * Output: {"workload":"timers","maxprocs":P,"n":N,"requested_sum_us":...,"wall_ms":...,
 *          "oversleep_p50_us":...,"oversleep_p99_us":...,"oversleep_max_us":...,
 *          "oversleep_mean_us":...}
 */
#include "fiber_bench.hpp"

#include <chrono>

/* SEED starts the xorshift64* sequence; durations are in [MIN_US, MAX_US]. */
#define SEED	  0x9E3779B97F4A7C15ULL
#define MIN_US	  1000
#define MAX_US	  10000
#define DEFAULT_N 100000

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"n", DEFAULT_N},
};

static uint64_t xorshift64star(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1DULL;
}

int main(int argc, char **argv)
{
	fiber_run("timers", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long n = opts[OPT_N].value;
		if (n <= 0)
			bench_usage("--n must be > 0");
		std::vector<int64_t> d(n), over(n);
		uint64_t x = SEED;
		int64_t requested_sum_us = 0;
		for (long i = 0; i < n; i++) {
			d[i] = MIN_US + (int64_t)((xorshift64star(&x) >> 32) % (MAX_US - MIN_US + 1));
			requested_sum_us += d[i];
		}
		fiber_wg wg;
		int64_t start = bench_now_ns();
		wg.add(n);
		for (long i = 0; i < n; i++)
			fiber_go([&, i] {
				int64_t t0 = bench_now_ns();
				boost::this_fiber::sleep_for(std::chrono::microseconds(d[i]));
				over[i] = bench_now_ns() - t0 - d[i] * 1000;
				wg.done();
			});
		wg.wait();
		int64_t wall = bench_now_ns() - start;
		bench_sort_int64(over.data(), n);
		if (over[0] < 0)
			bench_fail("a fiber woke %" PRId64 " ns early", -over[0]);
		double total = 0;
		for (long i = 0; i < n; i++)
			total += (double)over[i];
		printf("{\"workload\":\"timers\",\"maxprocs\":%d,\"n\":%ld,\"requested_sum_us\":%" PRId64
		       ",\"wall_ms\":%.6f,\"oversleep_p50_us\":%.3f,\"oversleep_p99_us\":%.3f,"
		       "\"oversleep_max_us\":%.3f,\"oversleep_mean_us\":%.3f}\n",
		       maxprocs, n, requested_sum_us, (double)wall / 1e6,
		       (double)bench_percentile(over.data(), n, 50) / 1e3,
		       (double)bench_percentile(over.data(), n, 99) / 1e3, (double)over[n - 1] / 1e3,
		       total / (double)n / 1e3);
		fflush(stdout);
	});
	return 0;
}
