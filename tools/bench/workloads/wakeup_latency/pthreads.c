/* SPDX-License-Identifier: MIT */
/*
 * wakeup_latency (pthreads): a thread parked on a condition variable is
 * signalled while another CPU is idle; how soon does it run? The analogue
 * of tools/bench/workloads/wakeup_latency/gmpx.c: the spawned goroutine becomes a
 * worker thread parked in pthread_cond_wait (a futex sleep), "spawn"
 * becomes setting a flag and pthread_cond_signal (a futex wake), and the
 * idle P is the second CPU of --maxprocs=2, onto which the kernel places
 * the woken thread because main keeps its own CPU busy.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 2), --iters=N (default
 *    1,000), --gap_us=G (default 2,000).
 *  - Setup: the worker thread, parked: it loops { lock; while (!go &&
 *    !quit) pthread_cond_wait; go = 0; unlock; if quit: exit;
 *    start[i] = clock; same[i] = (gettid() == main_tid); started = 1
 *    (release) }.
 *  - For i in 0..N-1: main sleeps G us (clock_nanosleep: both CPUs idle,
 *    the worker parked); started = 0; main_tid = gettid(); t0 = clock;
 *    lock; go = 1, index = i; pthread_cond_signal; unlock; main spins on
 *    started (acquire loads; after 1 s a sched_yield per further second,
 *    counted as spin_yields); lat[i] = start[i] - t0.
 *  - Report and verify: as the C program (same_thread is always 0: the
 *    worker is its own thread).
 *
 * Output: {"workload":"wakeup_latency","maxprocs":P,"iters":N,"gap_us":G,"wall_ms":...,
 *          "wake_p50_us":...,"wake_p99_us":...,"wake_max_us":...,"wake_mean_us":...,
 *          "same_thread":...,"spin_yields":...}
 */
#include "pt_bench.h"

#include <stdatomic.h>

#define SPIN_LIMIT_NS 1000000000LL

enum { OPT_MAXPROCS, OPT_ITERS, OPT_GAP_US };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_ITERS] = {"iters", 1000},
	[OPT_GAP_US] = {"gap_us", 2000},
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool go, quit; /* guarded by mu */
static long index_;   /* guarded by mu */
static int64_t *start_ns;
static long same_thread, runs;
static atomic_int started;
static pid_t main_tid;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!go && !quit)
			pthread_cond_wait(&cv, &mu);
		bool q = quit && !go;
		long i = index_;
		go = false;
		pthread_mutex_unlock(&mu);
		if (q)
			return NULL;
		start_ns[i] = bench_now_ns();
		if (gettid() == main_tid)
			same_thread++;
		runs++;
		atomic_store_explicit(&started, 1, memory_order_release);
	}
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("wakeup_latency", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long n = opts[OPT_ITERS].value;
	int64_t gap_ns = opts[OPT_GAP_US].value * 1000;
	if (n <= 0 || n > INT32_MAX)
		bench_usage("--iters must be in [1, %d]", INT32_MAX);
	int64_t *lat = calloc((size_t)n, sizeof(int64_t));
	start_ns = calloc((size_t)n, sizeof(int64_t));
	if (!lat || !start_ns)
		bench_fail("out of memory");
	pthread_t th;
	pt_start(&th, worker, NULL, 0, false, NULL);
	long spin_yields = 0;

	int64_t begin = bench_now_ns();
	for (long i = 0; i < n; i++) {
		if (pt_sleep_ns(gap_ns) != 0)
			bench_fail("clock_nanosleep failed");
		atomic_store_explicit(&started, 0, memory_order_relaxed);
		main_tid = gettid();
		int64_t t0 = bench_now_ns();
		pthread_mutex_lock(&mu);
		go = true;
		index_ = i;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
		int64_t limit = t0 + SPIN_LIMIT_NS;
		while (!atomic_load_explicit(&started, memory_order_acquire)) {
			if (bench_now_ns() > limit) {
				sched_yield();
				spin_yields++;
				limit = bench_now_ns() + SPIN_LIMIT_NS;
			}
		}
		lat[i] = start_ns[i] - t0;
	}
	int64_t wall = bench_now_ns() - begin;
	pthread_mutex_lock(&mu);
	quit = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);

	if (runs != n)
		bench_fail("the worker ran %ld times, want %ld", runs, n);
	bench_sort_int64(lat, n);
	if (lat[0] < 0)
		bench_fail("the worker started %" PRId64 " ns before it was signalled", -lat[0]);
	double total = 0;
	for (long i = 0; i < n; i++)
		total += (double)lat[i];
	printf("{\"workload\":\"wakeup_latency\",\"maxprocs\":%d,\"iters\":%ld,\"gap_us\":%ld,\"wall_ms\":%.3f,"
	       "\"wake_p50_us\":%.3f,\"wake_p99_us\":%.3f,\"wake_max_us\":%.3f,\"wake_mean_us\":%.3f,"
	       "\"same_thread\":%ld,\"spin_yields\":%ld}\n",
	       cpus, n, opts[OPT_GAP_US].value, (double)wall / 1e6, (double)bench_percentile(lat, n, 50) / 1e3,
	       (double)bench_percentile(lat, n, 99) / 1e3, (double)lat[n - 1] / 1e3, total / (double)n / 1e3,
	       same_thread, spin_yields);
	return 0;
}
