/* SPDX-License-Identifier: MIT */
/*
 * parked_memory (Boost.Fiber): memory and creation cost of fibers that
 * block forever.
 *
 * Definition (as in tools/bench/workloads/parked_memory/gmpx.c, a fiber per
 * goroutine; each fiber has a FIBER_STACK_BYTES stack, fiber_bench.hpp, of
 * which only the pages it touches are resident):
 *  - Arguments: --maxprocs=P (threads running fibers, fiber_bench.hpp; the
 *    runner uses 2), --n=N (default 1,000,000).
 *  - A fiber_wg `block` gets add(1) and never done(): waiting on it blocks
 *    forever. Atomic counters `started` and `finished` start at 0.
 *  - rss_before = RSS from /proc/self/statm, read just before the spawn loop.
 *  - Timed region: a loop starting N fibers (fiber_go), each doing
 *    started += 1, then block.wait(), then finished += 1 (never reached);
 *    then main yields (boost::this_fiber::yield) until started == N.
 *  - Settle (untimed): SETTLE_YIELDS more yields and a SETTLE_SLEEP
 *    boost::this_fiber::sleep_for, so the last fibers finish parking; then
 *    rss_after is read.
 *  - Report: bytes_per_goroutine = (rss_after - rss_before) / N,
 *    ns_per_goroutine = timed region / N.
 *  - Verify: started == N and finished == 0 (Boost.Fiber has no count of
 *    live fibers).
 *  - Then the process exits (_exit) with the N fibers still blocked.
 *
 * Output: {"workload":"parked_memory","maxprocs":P,"n":N,"rss_before":...,"rss_after":...,
 *          "bytes_per_goroutine":...,"create_ns":...,"ns_per_goroutine":...}
 */
#include "fiber_bench.hpp"

#include <chrono>

/* DEFAULT_N is the number of blocked fibers of a full run. */
#define DEFAULT_N 1000000
/* SETTLE_YIELDS and SETTLE_SLEEP give the last fibers time to park after
 * they bumped `started`, before RSS is read. */
#define SETTLE_YIELDS 100
static const std::chrono::milliseconds SETTLE_SLEEP(20);

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"n", DEFAULT_N},
};

static std::atomic<long> started{0}, finished{0};
static fiber_wg block;

int main(int argc, char **argv)
{
	fiber_run("parked_memory", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long n = opts[OPT_N].value;
		if (n <= 0)
			bench_usage("--n must be > 0");
		block.add(1);
		int64_t rss_before = bench_rss_bytes();
		int64_t start = bench_now_ns();
		for (long i = 0; i < n; i++)
			fiber_go([] {
				started.fetch_add(1);
				block.wait();
				finished.fetch_add(1);
			});
		while (started.load() < n)
			boost::this_fiber::yield();
		int64_t create = bench_now_ns() - start;
		for (int i = 0; i < SETTLE_YIELDS; i++)
			boost::this_fiber::yield();
		boost::this_fiber::sleep_for(SETTLE_SLEEP);
		int64_t rss_after = bench_rss_bytes();
		if (started.load() != n || finished.load() != 0)
			bench_fail("%ld fibers started and %ld finished, want %ld and 0", started.load(),
				   finished.load(), n);
		printf("{\"workload\":\"parked_memory\",\"maxprocs\":%d,\"n\":%ld,"
		       "\"rss_before\":%" PRId64 ",\"rss_after\":%" PRId64 ","
		       "\"bytes_per_goroutine\":%.3f,\"create_ns\":%" PRId64 ",\"ns_per_goroutine\":%.3f}\n",
		       maxprocs, n, rss_before, rss_after, (double)(rss_after - rss_before) / (double)n, create,
		       (double)create / (double)n);
		fflush(stdout);
		_exit(0); /* with the N fibers still blocked */
	});
	return 0;
}
