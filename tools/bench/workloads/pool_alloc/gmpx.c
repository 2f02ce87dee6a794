/* SPDX-License-Identifier: MIT */
/*
 * pool_alloc: a buffer taken from an object pool, written and put back, by
 * GOMAXPROCS goroutines at once.
 *
 * Definition (the same in tools/bench/workloads/pool_alloc/go/main.go with
 * sync.Pool; pthreads.c does malloc and free instead):
 *  - Arguments: --maxprocs=P (the runner uses 2), --workers=W (goroutines;
 *    default 0: P), --iters=I (get/put pairs per goroutine; default
 *    10,000,000), --size=S (bytes per buffer; default 256).
 *  - One gx_pool whose new_fn mallocs S bytes (and counts), free_fn frees.
 *  - Timed region: gx_wg_add(W), then main starts W goroutines; each does I
 *    times { b = gx_pool_get; b[0] = (char)i; b[S-1] = (char)i;
 *    gx_pool_put(b) } and then gx_wg_done; main waits on the waitgroup.
 *  - Report: pairs = W*I, ns_per_pair = wall time of the timed region /
 *    pairs (Go's RunParallel ns/op), made = new_fn calls.
 *  - Verify: no get returned NULL; gx_pool_free frees exactly the buffers
 *    new_fn made.
 *
 * Output: {"workload":"pool_alloc","maxprocs":P,"workers":W,"iters":I,"size":S,"pairs":W*I,
 *          "wall_ns":...,"ns_per_pair":...,"made":...,"kassist":"..."}
 */
#include "bench.h"

#include <stdlib.h>

#define DEFAULT_ITERS 10000000
#define DEFAULT_SIZE  256
/* MAX_WORKERS, MAX_SIZE bound --workers and --size. */
#define MAX_WORKERS 4096
#define MAX_SIZE    (1 << 20)

enum { OPT_MAXPROCS, OPT_WORKERS, OPT_ITERS, OPT_SIZE };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_WORKERS] = {"workers", 0},
	[OPT_ITERS] = {"iters", DEFAULT_ITERS},
	[OPT_SIZE] = {"size", DEFAULT_SIZE},
};

struct shared {
	long iters;
	size_t size;
	gx_pool *pool;
	int64_t made, freed, nulls; /* atomics */
	gx_waitgroup wg;
};

static struct shared s = {.wg = GX_WAITGROUP_INIT};

static void *buf_new(void *arg)
{
	struct shared *sh = arg;
	__atomic_fetch_add(&sh->made, 1, __ATOMIC_RELAXED);
	return malloc(sh->size);
}

static void buf_free(void *b, void *arg)
{
	struct shared *sh = arg;
	__atomic_fetch_add(&sh->freed, 1, __ATOMIC_RELAXED);
	free(b);
}

static void worker(void *arg)
{
	struct shared *sh = arg;
	gx_pool *pool = sh->pool;
	size_t last = sh->size - 1;
	int64_t nulls = 0;
	for (long i = 0; i < sh->iters; i++) {
		char *b = gx_pool_get(pool);
		if (!b) {
			nulls++;
			continue;
		}
		b[0] = (char)i;
		b[last] = (char)i;
		gx_pool_put(pool, b);
	}
	if (nulls)
		__atomic_fetch_add(&sh->nulls, nulls, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);
	long workers = opts[OPT_WORKERS].value ? opts[OPT_WORKERS].value : maxprocs;
	s.iters = opts[OPT_ITERS].value;
	s.size = (size_t)opts[OPT_SIZE].value;
	int rc = gx_pool_make(&s.pool, buf_new, buf_free, &s);
	if (rc)
		bench_fail("gx_pool_make: %d", rc);

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
	int64_t made = __atomic_load_n(&s.made, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s.nulls, __ATOMIC_SEQ_CST))
		bench_fail("%" PRId64 " gets returned NULL", s.nulls);
	gx_pool_free(s.pool);
	if (__atomic_load_n(&s.freed, __ATOMIC_SEQ_CST) != made)
		bench_fail("gx_pool_free freed %" PRId64 " buffers, new_fn made %" PRId64, s.freed, made);
	printf("{\"workload\":\"pool_alloc\",\"maxprocs\":%d,\"workers\":%ld,\"iters\":%ld,\"size\":%zu,"
	       "\"pairs\":%" PRId64 ",\"wall_ns\":%" PRId64 ",\"ns_per_pair\":%.3f,\"made\":%" PRId64
	       ",\"kassist\":\"%s\"}\n",
	       maxprocs, workers, s.iters, s.size, pairs, wall, (double)wall / (double)pairs, made, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("pool_alloc", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_WORKERS].value < 0 || opts[OPT_WORKERS].value > MAX_WORKERS)
		bench_usage("--workers must be in [0, %d]", MAX_WORKERS);
	if (opts[OPT_ITERS].value <= 0)
		bench_usage("--iters must be > 0");
	if (opts[OPT_SIZE].value <= 0 || opts[OPT_SIZE].value > MAX_SIZE)
		bench_usage("--size must be in [1, %d]", MAX_SIZE);
	gx_main(bench_main, argc, argv);
}
