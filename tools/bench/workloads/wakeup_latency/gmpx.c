/* SPDX-License-Identifier: MIT */
/*
 * wakeup_latency: a goroutine spawned while another P is idle; how soon
 * does it start running there?
 *
 * Definition (identical in tools/bench/workloads/wakeup_latency/go/main.go; the
 * pthreads analogue is tools/bench/workloads/wakeup_latency/pthreads.c):
 *  - Arguments: --maxprocs=P (the runner uses 2), --iters=N (default
 *    1,000), --gap_us=G (the idle gap before each spawn; default 2,000).
 *  - For i in 0..N-1:
 *     1. main sleeps G us (gx_sleep): nothing is runnable, every P goes
 *        idle and every M but the one waiting for the timer parks (off
 *        mode: on its futex; trace: the standby in epoll; scx: as a
 *        standby M held by the BPF scheduler). main wakes on some P; the
 *        other P is idle and its M parked.
 *     2. started = 0; main_tid = gettid(); t0 = clock; gx_go(child, i):
 *        the G goes to runnext of main's P and, as a P is idle and no M
 *        spins, gx_go calls wakep, which starts a parked M on the idle P.
 *     3. main keeps its own P busy: it spins on `started` (acquire loads,
 *        no runtime call) so the child cannot run on main's P; only the
 *        woken M can take it (stealing main's runnext). After 1 s of
 *        spinning (a wake-up that never came) main gx_yield()s, once per
 *        further second, and counts it (spin_yields): the child then runs
 *        on main's P and the sample shows it.
 *     child: start[i] = clock (its first instruction), same[i] =
 *        (gettid() == main_tid), then started = 1 (release).
 *     lat[i] = start[i] - t0.
 *  - Report: wake_p50_us, wake_p99_us, wake_max_us, wake_mean_us over all
 *    N (nearest rank, as the other latency workloads); same_thread = the
 *    iterations whose child ran on main's own thread (main was preempted
 *    first: not a wake of the idle P); spin_yields; wall_ms of the loop.
 *  - Verify: every child ran exactly once (a count); every lat >= 0.
 *
 * What it measures: spawn to first instruction of the G, i.e. gx_go plus
 * wakep's wake-up of a parked M, that M's start on a CPU, acquiring the
 * idle P, and stealing the G. In off mode that wake is a futex wake of a
 * sleeping thread; in scx mode a BPF dispatch of a standby M.
 *
 * Clock: bench_now_ns (CLOCK_MONOTONIC), as Go's bench.Now.
 *
 * Output: {"workload":"wakeup_latency","maxprocs":P,"iters":N,"gap_us":G,"wall_ms":...,
 *          "wake_p50_us":...,"wake_p99_us":...,"wake_max_us":...,"wake_mean_us":...,
 *          "same_thread":...,"spin_yields":...,"kassist":"off"|"trace"|"scx"}
 */
#define _GNU_SOURCE /* gettid */
#include "bench.h"

#include <stdatomic.h>

/* SPIN_LIMIT_NS: main spins this long before it gives its P up once. */
#define SPIN_LIMIT_NS 1000000000LL

enum { OPT_MAXPROCS, OPT_ITERS, OPT_GAP_US };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_ITERS] = {"iters", 1000},
	[OPT_GAP_US] = {"gap_us", 2000},
};

static int64_t *start_ns;
static long same_thread, runs;
static atomic_int started;
static pid_t main_tid;

static void child(void *arg)
{
	long i = (long)(intptr_t)arg;
	start_ns[i] = bench_now_ns();
	if (gettid() == main_tid)
		same_thread++;
	runs++;
	atomic_store_explicit(&started, 1, memory_order_release);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	long n = opts[OPT_ITERS].value;
	int64_t gap_ns = opts[OPT_GAP_US].value * 1000;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);
	int64_t *lat = calloc((size_t)n, sizeof(int64_t));
	start_ns = calloc((size_t)n, sizeof(int64_t));
	if (!lat || !start_ns)
		bench_fail("out of memory");
	long spin_yields = 0;

	int64_t begin = bench_now_ns();
	for (long i = 0; i < n; i++) {
		if (gx_sleep(gap_ns) != 0)
			bench_fail("gx_sleep failed");
		atomic_store_explicit(&started, 0, memory_order_relaxed);
		main_tid = gettid();
		int64_t t0 = bench_now_ns();
		int64_t id = gx_go(child, (void *)(intptr_t)i);
		if (id < 0)
			bench_fail("gx_go: %" PRId64, id);
		int64_t limit = t0 + SPIN_LIMIT_NS;
		while (!atomic_load_explicit(&started, memory_order_acquire)) {
			if (bench_now_ns() > limit) {
				gx_yield();
				spin_yields++;
				limit = bench_now_ns() + SPIN_LIMIT_NS;
			}
		}
		lat[i] = start_ns[i] - t0;
	}
	int64_t wall = bench_now_ns() - begin;

	if (runs != n)
		bench_fail("%ld children ran, want %ld", runs, n);
	bench_sort_int64(lat, n);
	if (lat[0] < 0)
		bench_fail("a child started %" PRId64 " ns before it was spawned", -lat[0]);
	double total = 0;
	for (long i = 0; i < n; i++)
		total += (double)lat[i];
	printf("{\"workload\":\"wakeup_latency\",\"maxprocs\":%d,\"iters\":%ld,\"gap_us\":%ld,\"wall_ms\":%.3f,"
	       "\"wake_p50_us\":%.3f,\"wake_p99_us\":%.3f,\"wake_max_us\":%.3f,\"wake_mean_us\":%.3f,"
	       "\"same_thread\":%ld,\"spin_yields\":%ld,\"kassist\":\"%s\"}\n",
	       maxprocs, n, opts[OPT_GAP_US].value, (double)wall / 1e6, (double)bench_percentile(lat, n, 50) / 1e3,
	       (double)bench_percentile(lat, n, 99) / 1e3, (double)lat[n - 1] / 1e3, total / (double)n / 1e3,
	       same_thread, spin_yields, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("wakeup_latency", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_ITERS].value <= 0 || opts[OPT_ITERS].value > INT32_MAX)
		bench_usage("--iters must be in [1, %d]", INT32_MAX);
	gx_main(bench_main, argc, argv);
}
