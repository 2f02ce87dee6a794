/* SPDX-License-Identifier: MIT */
/*
 * yield_switch (Boost.Fiber): the cost of one fiber switch on one thread.
 *
 * Definition (as in tools/bench/workloads/yield_switch/gmpx.c, a fiber per
 * goroutine):
 *  - Arguments: --maxprocs=P (the runner uses 1: one thread, round_robin),
 *    --iters=I (yields per fiber; default 5,000,000).
 *  - Timed region: main starts two fibers sharing {iters, a fiber_wg with
 *    counter 2}; each calls boost::this_fiber::yield() I times, then
 *    wg.done(); main waits on the waitgroup (it is parked, so the two
 *    yielders alternate).
 *  - Report: switches = 2*I, ns_per_switch = wall time of the timed
 *    region / switches.
 *  - Verify: each yielder counted exactly I yields (a shared atomic sum == 2*I).
 *
 * Output: {"workload":"yield_switch","maxprocs":P,"iters":I,"switches":2I,"wall_ns":...,"ns_per_switch":...}
 */
#include "fiber_bench.hpp"

/* DEFAULT_ITERS is the number of yields per fiber of a full run. */
#define DEFAULT_ITERS 5000000

enum { OPT_MAXPROCS, OPT_ITERS };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"iters", DEFAULT_ITERS},
};

int main(int argc, char **argv)
{
	fiber_run("yield_switch", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long iters = opts[OPT_ITERS].value;
		fiber_wg wg;
		std::atomic<int64_t> sum{0};
		int64_t start = bench_now_ns();
		wg.add(2);
		for (int k = 0; k < 2; k++)
			fiber_go([&] {
				int64_t n = 0;
				for (long i = 0; i < iters; i++, n++)
					boost::this_fiber::yield();
				sum += n;
				wg.done();
			});
		wg.wait();
		int64_t wall = bench_now_ns() - start;
		int64_t switches = 2 * (int64_t)iters;
		if (sum.load() != switches)
			bench_fail("yielders counted %" PRId64 ", want %" PRId64, sum.load(), switches);
		printf("{\"workload\":\"yield_switch\",\"maxprocs\":%d,\"iters\":%ld,"
		       "\"switches\":%" PRId64 ",\"wall_ns\":%" PRId64 ",\"ns_per_switch\":%.3f}\n",
		       maxprocs, iters, switches, wall, (double)wall / (double)switches);
		fflush(stdout);
	});
	return 0;
}
