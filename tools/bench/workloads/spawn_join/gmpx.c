/* SPDX-License-Identifier: MIT */
/*
 * spawn_join: the cost of starting, running and joining a tiny goroutine.
 *
 * Definition (identical in tools/bench/workloads/spawn_join/go/main.go):
 *  - Arguments: --maxprocs=P (gx_maxprocs), --n=N (goroutines; default 1,000,000).
 *  - One shared struct holds an atomic int64 counter and a gx_waitgroup.
 *  - Timed region: gx_wg_add(&wg, N) once, then a loop starting N goroutines,
 *    each gx_go(worker, s) with s a pointer to the shared struct; worker does
 *    one atomic add of 1 to the counter and gx_wg_done; then main does
 *    gx_wg_wait.
 *  - Report: ns_per_goroutine = wall time of the timed region / N.
 *  - Verify: counter == N after the wait.
 *
 * Output: {"workload":"spawn_join","maxprocs":P,"n":N,"wall_ns":...,"ns_per_goroutine":...}
 */
#include "bench.h"

/* DEFAULT_N is the number of goroutines of a full run. */
#define DEFAULT_N 1000000

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", DEFAULT_N},
};

struct shared {
	int64_t counter;
	gx_waitgroup wg;
};

static struct shared s = {0, GX_WAITGROUP_INIT};

static void worker(void *arg)
{
	struct shared *sh = arg;

	__atomic_fetch_add(&sh->counter, 1, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	long n = opts[OPT_N].value;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	int64_t start = bench_now_ns();
	int rc = gx_wg_add(&s.wg, (int)n);
	if (rc < 0)
		bench_fail("gx_wg_add: %d", rc);
	for (long i = 0; i < n; i++) {
		int64_t id = gx_go(worker, &s);
		if (id < 0)
			bench_fail("gx_go #%ld: %" PRId64, i, id);
	}
	gx_wg_wait(&s.wg);
	int64_t wall = bench_now_ns() - start;

	int64_t got = __atomic_load_n(&s.counter, __ATOMIC_SEQ_CST);
	if (got != n)
		bench_fail("counter is %" PRId64 ", want %ld", got, n);
	printf("{\"workload\":\"spawn_join\",\"maxprocs\":%d,\"n\":%ld,"
	       "\"wall_ns\":%" PRId64 ",\"ns_per_goroutine\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, n, wall, (double)wall / (double)n, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("spawn_join", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_N].value <= 0 || opts[OPT_N].value > INT32_MAX)
		bench_usage("--n must be in [1, %d]", INT32_MAX);
	gx_main(bench_main, argc, argv);
}
