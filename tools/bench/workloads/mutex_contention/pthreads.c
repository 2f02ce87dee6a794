/* SPDX-License-Identifier: MIT */
/*
 * mutex_contention (pthreads): one pthread_mutex hammered by several
 * threads. The analogue of tools/bench/workloads/mutex_contention/gmpx.c: W threads on
 * --maxprocs CPUs, a default (non-recursive, non-adaptive) pthread_mutex_t
 * for the gx_mutex: glibc's futex mutex spins not at all and sleeps in the
 * kernel when it is taken, where gx_mutex spins briefly and then parks the
 * goroutine.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 2), --workers=W
 *    (threads; default 4), --iters=I (pairs per thread; default 1,000,000).
 *  - Timed region: main creates W threads; each does I times {
 *    pthread_mutex_lock; counter += 1; pthread_mutex_unlock }; main joins
 *    them.
 *  - Report: pairs = W*I, ns_per_pair = wall time / pairs.
 *  - Verify: counter == W*I and no lock or unlock failed.
 *
 * Output: {"workload":"mutex_contention","maxprocs":P,"workers":W,"iters":I,"pairs":W*I,
 *          "wall_ns":...,"ns_per_pair":...}
 */
#include "pt_bench.h"

#define MAX_WORKERS 4096

enum { OPT_MAXPROCS, OPT_WORKERS, OPT_ITERS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_WORKERS] = {"workers", 4},
	[OPT_ITERS] = {"iters", 1000000},
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t counter; /* guarded by mu */
static int64_t errors;

static void *worker(void *arg)
{
	long iters = (long)(intptr_t)arg;
	int64_t bad = 0;
	for (long i = 0; i < iters; i++) {
		if (pthread_mutex_lock(&mu) != 0)
			bad++;
		counter++;
		if (pthread_mutex_unlock(&mu) != 0)
			bad++;
	}
	__atomic_fetch_add(&errors, bad, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("mutex_contention", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long workers = opts[OPT_WORKERS].value, iters = opts[OPT_ITERS].value;
	if (workers <= 0 || workers > MAX_WORKERS)
		bench_usage("--workers must be in [1, %d]", MAX_WORKERS);
	if (iters <= 0)
		bench_usage("--iters must be > 0");
	pthread_t *th = calloc((size_t)workers, sizeof(*th));
	if (!th)
		bench_fail("out of memory");

	int64_t start = bench_now_ns();
	for (long i = 0; i < workers; i++)
		pt_start(&th[i], worker, (void *)(intptr_t)iters, 0, false, NULL);
	for (long i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	int64_t wall = bench_now_ns() - start;

	int64_t pairs = (int64_t)workers * iters;
	if (errors)
		bench_fail("%" PRId64 " failed locks or unlocks", errors);
	if (counter != pairs)
		bench_fail("counter is %" PRId64 ", want %" PRId64, counter, pairs);
	printf("{\"workload\":\"mutex_contention\",\"maxprocs\":%d,\"workers\":%ld,\"iters\":%ld,\"pairs\":%" PRId64
	       ",\"wall_ns\":%" PRId64 ",\"ns_per_pair\":%.3f}\n",
	       cpus, workers, iters, pairs, wall, (double)wall / (double)pairs);
	return 0;
}
