/* SPDX-License-Identifier: MIT */
/*
 * parked_memory: memory and creation cost of goroutines that block forever.
 *
 * Definition (identical in tools/bench/workloads/parked_memory/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 2), --n=N (default 1,000,000).
 *  - A gx_waitgroup `block` gets gx_wg_add(1) and never gx_wg_done: waiting
 *    on it blocks forever. A global atomic counter `started` starts at 0.
 *  - rss_before = RSS from /proc/self/statm, read just before the spawn loop.
 *  - Timed region: a loop starting N goroutines gx_go(blocker, &block), each
 *    doing an atomic started += 1 then gx_wg_wait(&block); then main yields
 *    (gx_yield) until started == N.
 *  - Settle (untimed): SETTLE_YIELDS more yields and a SETTLE_SLEEP_NS sleep,
 *    so the last goroutines finish parking; then rss_after is read.
 *  - Report: bytes_per_goroutine = (rss_after - rss_before) / N,
 *    ns_per_goroutine = timed region / N.
 *  - Verify: the runtime counts at least N+1 live goroutines.
 *  - Then main returns: the process exits with the N goroutines still blocked.
 *
 * The sleep is nanosleep(2), which holds this M and P for its 20 ms (gmpx.h
 * has no goroutine sleep yet); nothing else is runnable then, so the result
 * is the same as a parking sleep.
 *
 * Output: {"workload":"parked_memory","maxprocs":P,"n":N,"rss_before":...,"rss_after":...,
 *          "bytes_per_goroutine":...,"create_ns":...,"ns_per_goroutine":...}
 */
#include "bench.h"

/* DEFAULT_N is the number of blocked goroutines of a full run. */
#define DEFAULT_N 1000000

/* SETTLE_YIELDS and SETTLE_SLEEP_NS give the last goroutines time to park
 * after they bumped `started`, before RSS is read. */
#define SETTLE_YIELDS	100
#define SETTLE_SLEEP_NS (20 * 1000 * 1000)

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", DEFAULT_N},
};

static int64_t started;
static gx_waitgroup block = GX_WAITGROUP_INIT;

static void blocker(void *arg)
{
	gx_waitgroup *wg = arg;

	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	gx_wg_wait(wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	long n = opts[OPT_N].value;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	gx_wg_add(&block, 1);

	int64_t rss_before = bench_rss_bytes();
	int64_t start = bench_now_ns();
	for (long i = 0; i < n; i++) {
		int64_t id = gx_go(blocker, &block);
		if (id < 0)
			bench_fail("gx_go #%ld: %" PRId64, i, id);
	}
	while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n)
		gx_yield();
	int64_t create = bench_now_ns() - start;

	for (int i = 0; i < SETTLE_YIELDS; i++)
		gx_yield();
	struct timespec settle = {0, SETTLE_SLEEP_NS};
	nanosleep(&settle, NULL);
	int64_t rss_after = bench_rss_bytes();

	int64_t alive = gx_num_goroutines();
	if (alive < n + 1)
		bench_fail("%" PRId64 " goroutines alive, want at least %ld", alive, n + 1);
	printf("{\"workload\":\"parked_memory\",\"maxprocs\":%d,\"n\":%ld,"
	       "\"rss_before\":%" PRId64 ",\"rss_after\":%" PRId64 ","
	       "\"bytes_per_goroutine\":%.3f,\"create_ns\":%" PRId64 ",\"ns_per_goroutine\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, n, rss_before, rss_after, (double)(rss_after - rss_before) / (double)n, create,
	       (double)create / (double)n, bench_kassist());
	fflush(stdout);
	return 0; /* exits the process with the N goroutines still blocked */
}

int main(int argc, char **argv)
{
	bench_parse_args("parked_memory", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_N].value <= 0)
		bench_usage("--n must be > 0");
	gx_main(bench_main, argc, argv);
}
