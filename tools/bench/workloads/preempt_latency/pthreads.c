/* SPDX-License-Identifier: MIT */
/*
 * preempt_latency (pthreads): a thread spins on the only CPU; how late does
 * a 1 ms sleeper wake? The analogue of tools/bench/workloads/preempt_latency/gmpx.c:
 * the spinner and the sleeping main thread share one CPU (--maxprocs=1),
 * clock_nanosleep(2) for gx_sleep, and the kernel's own preemption (the
 * fair class's wake-up preemption and its time slice) for gmpx's sysmon
 * and SIGURG.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 1), --iters=N (default
 *    500), --sleep_us=S (default 1,000).
 *  - Timed region: main creates the spinner thread (`while (!stop)
 *    counter++`, stop read with a relaxed atomic load, counter a volatile
 *    local) and then sleeps N times: t0 = clock, clock_nanosleep(S us),
 *    t1 = clock, lateness[i] = (t1 - t0) - S us. Then stop = 1 and join.
 *  - Report: wall_ms; late_p50_us, late_p99_us, late_max_us, late_mean_us
 *    (nearest rank); spins.
 *  - Verify: every sleep returned 0 and none was early; spins > 0.
 *
 * Output: {"workload":"preempt_latency","maxprocs":P,"iters":N,"sleep_us":S,"wall_ms":...,
 *          "late_p50_us":...,"late_p99_us":...,"late_max_us":...,"late_mean_us":...,"spins":...}
 */
#include "pt_bench.h"

#include <stdatomic.h>

enum { OPT_MAXPROCS, OPT_ITERS, OPT_SLEEP_US };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_ITERS] = {"iters", 500},
	[OPT_SLEEP_US] = {"sleep_us", 1000},
};

static atomic_int stop;
static uint64_t spins;

static void *spinner(void *arg)
{
	(void)arg;
	volatile uint64_t counter = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		counter++;
	spins = counter;
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("preempt_latency", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long n = opts[OPT_ITERS].value;
	int64_t sleep_ns = opts[OPT_SLEEP_US].value * 1000;
	if (n <= 0 || n > INT32_MAX)
		bench_usage("--iters must be in [1, %d]", INT32_MAX);
	if (sleep_ns <= 0)
		bench_usage("--sleep_us must be > 0");
	int64_t *late_ns = calloc((size_t)n, sizeof(int64_t));
	if (!late_ns)
		bench_fail("out of memory");

	pthread_t th;
	long errors = 0;
	int64_t start = bench_now_ns();
	pt_start(&th, spinner, NULL, 0, false, NULL);
	for (long i = 0; i < n; i++) {
		int64_t t0 = bench_now_ns();
		if (pt_sleep_ns(sleep_ns) != 0)
			errors++;
		late_ns[i] = (bench_now_ns() - t0) - sleep_ns;
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	pthread_join(th, NULL);
	int64_t wall = bench_now_ns() - start;

	if (errors)
		bench_fail("%ld sleeps failed", errors);
	if (spins == 0)
		bench_fail("the spinner never ran");
	bench_sort_int64(late_ns, n);
	if (late_ns[0] < 0)
		bench_fail("a sleep returned %" PRId64 " ns early", -late_ns[0]);
	double total = 0;
	for (long i = 0; i < n; i++)
		total += (double)late_ns[i];
	printf("{\"workload\":\"preempt_latency\",\"maxprocs\":%d,\"iters\":%ld,\"sleep_us\":%ld,"
	       "\"wall_ms\":%.6f,\"late_p50_us\":%.3f,\"late_p99_us\":%.3f,\"late_max_us\":%.3f,"
	       "\"late_mean_us\":%.3f,\"spins\":%" PRIu64 "}\n",
	       cpus, n, opts[OPT_SLEEP_US].value, (double)wall / 1e6, (double)bench_percentile(late_ns, n, 50) / 1e3,
	       (double)bench_percentile(late_ns, n, 99) / 1e3, (double)late_ns[n - 1] / 1e3, total / (double)n / 1e3,
	       spins);
	return 0;
}
