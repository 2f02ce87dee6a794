/* SPDX-License-Identifier: MIT */
/*
 * preempt_latency: a goroutine spins without a single call on the only P;
 * how late does a 1 ms sleeper wake?
 *
 * Definition (identical in tools/bench/workloads/preempt_latency/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 1), --iters=N (sleeps;
 *    default 500), --sleep_us=S (default 1,000).
 *  - Timed region: main starts the spinner (gx_go) and then itself sleeps
 *    N times: t0 = clock, gx_sleep(S us), t1 = clock,
 *    lateness[i] = (t1 - t0) - S us. Then main sets stop = 1 (atomic,
 *    relaxed) and waits on a waitgroup for the spinner.
 *    The spinner: `while (!stop) counter++` where stop is read with a
 *    relaxed atomic load and counter is a volatile local: a loop with no
 *    call, not even a cooperative preemption check, so only asynchronous
 *    preemption (SIGURG at a safe point, after the quantum: GX_QUANTUM,
 *    default 10 ms) gives the P back to the sleeper once its timer has
 *    expired. Then spins = counter, and gx_wg_done.
 *  - Report: wall_ms of the timed region; lateness percentiles over all N
 *    (nearest rank on the sorted values: the k-th percentile is element
 *    ceil(k/100 * N) - 1): late_p50_us, late_p99_us, and late_max_us,
 *    late_mean_us; spins.
 *  - Verify: every sleep returned 0; no sleep returned early (every
 *    lateness >= 0); the spinner ran (spins > 0).
 *  - With GX_DEBUG=asyncpreemptoff=1 the spinner is never preempted and the
 *    program does not finish (Go, with GODEBUG=asyncpreemptoff=1, neither).
 *
 * Clock: bench_now_ns (CLOCK_MONOTONIC), the clock of gx_now; Go reads the
 * same clock.
 *
 * Output: {"workload":"preempt_latency","maxprocs":P,"iters":N,"sleep_us":S,"wall_ms":...,
 *          "late_p50_us":...,"late_p99_us":...,"late_max_us":...,"late_mean_us":...,
 *          "spins":...}
 */
#include "bench.h"

#include <stdatomic.h>

/* DEFAULT_ITERS is the number of sleeps of a full run. */
#define DEFAULT_ITERS 500
/* DEFAULT_SLEEP_US is the length of each sleep. */
#define DEFAULT_SLEEP_US 1000

enum { OPT_MAXPROCS, OPT_ITERS, OPT_SLEEP_US };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_ITERS] = {"iters", DEFAULT_ITERS},
	[OPT_SLEEP_US] = {"sleep_us", DEFAULT_SLEEP_US},
};

static atomic_int stop;
static uint64_t spins;
static gx_waitgroup wg = GX_WAITGROUP_INIT;

static void spinner(void *arg)
{
	(void)arg;
	volatile uint64_t counter = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		counter++;
	spins = counter;
	gx_wg_done(&wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	long n = opts[OPT_ITERS].value;
	int64_t sleep_ns = opts[OPT_SLEEP_US].value * 1000;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	int64_t *late_ns = calloc((size_t)n, sizeof(int64_t));
	if (!late_ns)
		bench_fail("out of memory");

	int64_t start = bench_now_ns();
	gx_wg_add(&wg, 1);
	int64_t id = gx_go(spinner, NULL);
	if (id < 0)
		bench_fail("gx_go: %" PRId64, id);
	long errors = 0;
	for (long i = 0; i < n; i++) {
		int64_t t0 = bench_now_ns();
		if (gx_sleep(sleep_ns) != 0)
			errors++;
		int64_t t1 = bench_now_ns();
		late_ns[i] = (t1 - t0) - sleep_ns;
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	gx_wg_wait(&wg);
	int64_t wall = bench_now_ns() - start;

	if (errors)
		bench_fail("%ld gx_sleep calls failed", errors);
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
	       "\"late_mean_us\":%.3f,\"spins\":%" PRIu64 ",\"kassist\":\"%s\"}\n",
	       maxprocs, n, opts[OPT_SLEEP_US].value, (double)wall / 1e6,
	       (double)bench_percentile(late_ns, n, 50) / 1e3, (double)bench_percentile(late_ns, n, 99) / 1e3,
	       (double)late_ns[n - 1] / 1e3, total / (double)n / 1e3, spins, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("preempt_latency", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_ITERS].value <= 0 || opts[OPT_ITERS].value > INT32_MAX)
		bench_usage("--iters must be in [1, %d]", INT32_MAX);
	if (opts[OPT_SLEEP_US].value <= 0)
		bench_usage("--sleep_us must be > 0");
	gx_main(bench_main, argc, argv);
}
