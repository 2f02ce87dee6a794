/* SPDX-License-Identifier: MIT */
/*
 * mutex_contention: one mutex hammered by several goroutines.
 *
 * Definition (identical in tools/bench/workloads/mutex_contention/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 2), --workers=W (goroutines;
 *    default 4), --iters=I (lock/unlock pairs per goroutine; default
 *    1,000,000).
 *  - One shared struct holds a gx_mutex, a plain int64 counter guarded by
 *    it, and a gx_waitgroup.
 *  - Timed region: gx_wg_add(W), then main starts W goroutines
 *    gx_go(worker, s); each does I times { gx_mutex_lock; counter += 1;
 *    gx_mutex_unlock } and then gx_wg_done; main waits on the waitgroup.
 *  - Report: pairs = W*I, ns_per_pair = wall time of the timed region / pairs.
 *  - Verify: counter == W*I and no lock or unlock failed.
 *
 * Output: {"workload":"mutex_contention","maxprocs":P,"workers":W,"iters":I,"pairs":W*I,
 *          "wall_ns":...,"ns_per_pair":...}
 */
#include "bench.h"

/* DEFAULT_WORKERS goroutines contend; each makes DEFAULT_ITERS pairs. */
#define DEFAULT_WORKERS 4
#define DEFAULT_ITERS	1000000

/* MAX_WORKERS bounds --workers. */
#define MAX_WORKERS 4096

enum { OPT_MAXPROCS, OPT_WORKERS, OPT_ITERS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_WORKERS] = {"workers", DEFAULT_WORKERS},
	[OPT_ITERS] = {"iters", DEFAULT_ITERS},
};

struct shared {
	long iters;
	gx_mutex mu;
	int64_t counter; /* guarded by mu */
	int64_t errors;	 /* failed locks and unlocks */
	gx_waitgroup wg;
};

static struct shared s = {0, GX_MUTEX_INIT, 0, 0, GX_WAITGROUP_INIT};

static void worker(void *arg)
{
	struct shared *sh = arg;
	int64_t errors = 0;

	for (long i = 0; i < sh->iters; i++) {
		if (gx_mutex_lock(&sh->mu) != 0)
			errors++;
		sh->counter++;
		if (gx_mutex_unlock(&sh->mu) != 0)
			errors++;
	}
	if (errors)
		__atomic_fetch_add(&sh->errors, errors, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);
	long workers = opts[OPT_WORKERS].value;
	s.iters = opts[OPT_ITERS].value;

	int64_t start = bench_now_ns();
	gx_wg_add(&s.wg, (int)workers);
	for (long i = 0; i < workers; i++) {
		int64_t id = gx_go(worker, &s);
		if (id < 0)
			bench_fail("gx_go: %" PRId64, id);
	}
	gx_wg_wait(&s.wg);
	int64_t wall = bench_now_ns() - start;

	int64_t pairs = (int64_t)workers * s.iters;
	int64_t errors = __atomic_load_n(&s.errors, __ATOMIC_SEQ_CST);
	if (errors != 0)
		bench_fail("%" PRId64 " failed locks or unlocks", errors);
	gx_mutex_lock(&s.mu);
	int64_t counter = s.counter;
	gx_mutex_unlock(&s.mu);
	if (counter != pairs)
		bench_fail("counter is %" PRId64 ", want %" PRId64, counter, pairs);
	printf("{\"workload\":\"mutex_contention\",\"maxprocs\":%d,\"workers\":%ld,\"iters\":%ld,"
	       "\"pairs\":%" PRId64 ",\"wall_ns\":%" PRId64 ",\"ns_per_pair\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, workers, s.iters, pairs, wall, (double)wall / (double)pairs, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("mutex_contention", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_WORKERS].value <= 0 || opts[OPT_WORKERS].value > MAX_WORKERS)
		bench_usage("--workers must be in [1, %d]", MAX_WORKERS);
	if (opts[OPT_ITERS].value <= 0)
		bench_usage("--iters must be > 0");
	gx_main(bench_main, argc, argv);
}
