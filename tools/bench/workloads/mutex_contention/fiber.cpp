/* SPDX-License-Identifier: MIT */
/*
 * mutex_contention (Boost.Fiber): lock/unlock of one contended fiber mutex.
 *
 * Definition (as in tools/bench/workloads/mutex_contention/gmpx.c, a fiber
 * per goroutine, boost::fibers::mutex, which parks the fiber as gx_mutex
 * parks the goroutine):
 *  - Arguments: --maxprocs=P (the runner uses 2), --workers=W (fibers;
 *    default 4), --iters=I (lock/unlock pairs per fiber; default 1,000,000).
 *  - One shared struct holds a boost::fibers::mutex, a plain int64 counter
 *    guarded by it, and a fiber_wg.
 *  - Timed region: wg.add(W), then main starts W fibers; each does I times
 *    { lock; counter += 1; unlock } and then wg.done(); main waits.
 *  - Report: pairs = W*I, ns_per_pair = wall time of the timed region / pairs.
 *  - Verify: counter == W*I.
 *
 * Output: {"workload":"mutex_contention","maxprocs":P,"workers":W,"iters":I,"pairs":W*I,
 *          "wall_ns":...,"ns_per_pair":...}
 */
#include "fiber_bench.hpp"

/* DEFAULT_WORKERS, DEFAULT_ITERS: fibers and pairs per fiber of a full run. */
#define DEFAULT_WORKERS 4
#define DEFAULT_ITERS	1000000

enum { OPT_MAXPROCS, OPT_WORKERS, OPT_ITERS };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"workers", DEFAULT_WORKERS},
	{"iters", DEFAULT_ITERS},
};

int main(int argc, char **argv)
{
	fiber_run("mutex_contention", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long workers = opts[OPT_WORKERS].value, iters = opts[OPT_ITERS].value;
		boost::fibers::mutex mu;
		int64_t counter = 0;
		fiber_wg wg;
		int64_t start = bench_now_ns();
		wg.add(workers);
		for (long k = 0; k < workers; k++)
			fiber_go([&] {
				for (long i = 0; i < iters; i++) {
					mu.lock();
					counter++;
					mu.unlock();
				}
				wg.done();
			});
		wg.wait();
		int64_t wall = bench_now_ns() - start;
		int64_t pairs = (int64_t)workers * iters;
		if (counter != pairs)
			bench_fail("counter is %" PRId64 ", want %" PRId64, counter, pairs);
		printf("{\"workload\":\"mutex_contention\",\"maxprocs\":%d,\"workers\":%ld,\"iters\":%ld,"
		       "\"pairs\":%" PRId64 ",\"wall_ns\":%" PRId64 ",\"ns_per_pair\":%.3f}\n",
		       maxprocs, workers, iters, pairs, wall, (double)wall / (double)pairs);
		fflush(stdout);
	});
	return 0;
}
