/* SPDX-License-Identifier: MIT */
/*
 * pool_alloc (pthreads): what a C program does without a pool: malloc and
 * free a buffer, by P threads at once. The analogue of
 * tools/bench/workloads/pool_alloc/gmpx.c: W threads on --maxprocs CPUs,
 * glibc's malloc (its per-thread tcache is the per-CPU cache here) for
 * gx_pool_get and free for gx_pool_put.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 2), --workers=W
 *    (threads; default 0: P), --iters=I (malloc/free pairs per thread;
 *    default 10,000,000), --size=S (bytes; default 256).
 *  - Timed region: main creates W threads; each does I times { b =
 *    malloc(S); b[0] = (char)i; b[S-1] = (char)i; free(b) }; main joins
 *    them.
 *  - Report: pairs = W*I, ns_per_pair = wall time / pairs.
 *  - Verify: no malloc returned NULL.
 *
 * Output: {"workload":"pool_alloc","maxprocs":P,"workers":W,"iters":I,"size":S,"pairs":W*I,
 *          "wall_ns":...,"ns_per_pair":...}
 */
#include "pt_bench.h"

#include <stdlib.h>

#define MAX_WORKERS 4096
#define MAX_SIZE    (1 << 20)

enum { OPT_MAXPROCS, OPT_WORKERS, OPT_ITERS, OPT_SIZE };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_WORKERS] = {"workers", 0},
	[OPT_ITERS] = {"iters", 10000000},
	[OPT_SIZE] = {"size", 256},
};

static long iters;
static size_t size;
static int64_t nulls;

static void *worker(void *arg)
{
	(void)arg;
	size_t last = size - 1;
	int64_t bad = 0;
	for (long i = 0; i < iters; i++) {
		/* volatile: the compiler may not pair the malloc with the free away */
		char *volatile b = malloc(size);
		if (!b) {
			bad++;
			continue;
		}
		b[0] = (char)i;
		b[last] = (char)i;
		free(b);
	}
	__atomic_fetch_add(&nulls, bad, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("pool_alloc", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long workers = opts[OPT_WORKERS].value ? opts[OPT_WORKERS].value : cpus;
	iters = opts[OPT_ITERS].value;
	if (workers <= 0 || workers > MAX_WORKERS)
		bench_usage("--workers must be in [0, %d]", MAX_WORKERS);
	if (iters <= 0)
		bench_usage("--iters must be > 0");
	if (opts[OPT_SIZE].value <= 0 || opts[OPT_SIZE].value > MAX_SIZE)
		bench_usage("--size must be in [1, %d]", MAX_SIZE);
	size = (size_t)opts[OPT_SIZE].value;
	pthread_t *th = calloc((size_t)workers, sizeof(*th));
	if (!th)
		bench_fail("out of memory");

	int64_t start = bench_now_ns();
	for (long i = 0; i < workers; i++)
		pt_start(&th[i], worker, NULL, 0, false, NULL);
	for (long i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	int64_t wall = bench_now_ns() - start;

	int64_t pairs = (int64_t)workers * iters;
	if (nulls)
		bench_fail("%" PRId64 " mallocs returned NULL", nulls);
	printf("{\"workload\":\"pool_alloc\",\"maxprocs\":%d,\"workers\":%ld,\"iters\":%ld,\"size\":%zu,\"pairs\":"
	       "%" PRId64 ",\"wall_ns\":%" PRId64 ",\"ns_per_pair\":%.3f}\n",
	       cpus, workers, iters, size, pairs, wall, (double)wall / (double)pairs);
	free(th);
	return 0;
}
