/* SPDX-License-Identifier: MIT */
/*
 * wakeup_latency (Boost.Fiber): a fiber started while another thread is
 * idle; how soon does it start running?
 *
 * Definition (as in tools/bench/workloads/wakeup_latency/gmpx.c, a fiber
 * per goroutine, a thread per P):
 *  - Arguments: --maxprocs=P (threads running fibers, fiber_bench.hpp; the
 *    runner uses 2), --iters=N (default 1,000), --gap_us=G (default 2,000).
 *  - For i in 0..N-1: main sleeps G us (boost::this_fiber::sleep_for:
 *    every thread idle); started = 0; main_tid = gettid(); t0 = clock;
 *    fiber_go(child); main keeps its thread busy: it spins on `started`
 *    (acquire loads, no fiber call) so the child cannot run on main's
 *    thread; only another thread can steal it. After 1 s of spinning main
 *    yields (boost::this_fiber::yield), once per further second, and
 *    counts it (spin_yields): the child then runs on main's thread and
 *    the sample shows it.
 *    child: start = clock (its first instruction), same_thread +=
 *    (gettid() == main_tid), runs += 1, then started = 1 (release).
 *    lat[i] = start - t0.
 *  - Report and verify: as the C program.
 *
 * What Boost.Fiber does (1.74): work_stealing puts a new fiber on the
 * starting thread's own queue and wakes nobody (its notify() is for fibers
 * made ready from another thread); a thread suspended with nothing to run
 * sleeps on its condition variable until then. So while main spins, nobody
 * runs the child: it starts when main yields, on main's thread (same_thread
 * and spin_yields show it). The runner gives this program few iterations.
 *
 * Output: {"workload":"wakeup_latency","maxprocs":P,"iters":N,"gap_us":G,"wall_ms":...,
 *          "wake_p50_us":...,"wake_p99_us":...,"wake_max_us":...,"wake_mean_us":...,
 *          "same_thread":...,"spin_yields":...}
 */
#include "fiber_bench.hpp"

#include <chrono>

/* SPIN_LIMIT_NS: main spins this long before it gives its thread up once. */
#define SPIN_LIMIT_NS 1000000000LL

enum { OPT_MAXPROCS, OPT_ITERS, OPT_GAP_US };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"iters", 1000},
	{"gap_us", 2000},
};

static std::atomic<int> started{0};
static std::atomic<long> same_thread{0}, runs{0};
static std::atomic<int64_t> start_ns{0};
static std::atomic<pid_t> main_tid{0};

int main(int argc, char **argv)
{
	fiber_run("wakeup_latency", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long n = opts[OPT_ITERS].value, gap_us = opts[OPT_GAP_US].value;
		if (n <= 0 || n > INT32_MAX)
			bench_usage("--iters must be in [1, %d]", INT32_MAX);
		std::vector<int64_t> lat((size_t)n);
		long spin_yields = 0;
		int64_t begin = bench_now_ns();
		for (long i = 0; i < n; i++) {
			boost::this_fiber::sleep_for(std::chrono::microseconds(gap_us));
			started.store(0, std::memory_order_relaxed);
			main_tid.store(gettid(), std::memory_order_relaxed);
			int64_t t0 = bench_now_ns();
			fiber_go([] {
				start_ns.store(bench_now_ns(), std::memory_order_relaxed);
				if (gettid() == main_tid.load(std::memory_order_relaxed))
					same_thread.fetch_add(1, std::memory_order_relaxed);
				runs.fetch_add(1, std::memory_order_relaxed);
				started.store(1, std::memory_order_release);
			});
			int64_t limit = t0 + SPIN_LIMIT_NS;
			while (!started.load(std::memory_order_acquire)) {
				if (bench_now_ns() > limit) {
					boost::this_fiber::yield();
					spin_yields++;
					limit = bench_now_ns() + SPIN_LIMIT_NS;
				}
			}
			lat[(size_t)i] = start_ns.load(std::memory_order_relaxed) - t0;
		}
		int64_t wall = bench_now_ns() - begin;
		if (runs.load() != n)
			bench_fail("%ld children ran, want %ld", runs.load(), n);
		bench_sort_int64(lat.data(), n);
		if (lat[0] < 0)
			bench_fail("a child started %" PRId64 " ns before it was spawned", -lat[0]);
		double total = 0;
		for (long i = 0; i < n; i++)
			total += (double)lat[(size_t)i];
		printf("{\"workload\":\"wakeup_latency\",\"maxprocs\":%d,\"iters\":%ld,\"gap_us\":%ld,\"wall_ms\":%.3f,"
		       "\"wake_p50_us\":%.3f,\"wake_p99_us\":%.3f,\"wake_max_us\":%.3f,\"wake_mean_us\":%.3f,"
		       "\"same_thread\":%ld,\"spin_yields\":%ld}\n",
		       maxprocs, n, gap_us, (double)wall / 1e6, (double)bench_percentile(lat.data(), n, 50) / 1e3,
		       (double)bench_percentile(lat.data(), n, 99) / 1e3, (double)lat[(size_t)n - 1] / 1e3,
		       total / (double)n / 1e3, same_thread.load(), spin_yields);
		fflush(stdout);
	});
	return 0;
}
