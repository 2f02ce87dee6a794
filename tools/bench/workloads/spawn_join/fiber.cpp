/* SPDX-License-Identifier: MIT */
/*
 * spawn_join (Boost.Fiber): the cost of starting, running and joining a
 * tiny fiber.
 *
 * Definition (as in tools/bench/workloads/spawn_join/gmpx.c, a fiber per
 * goroutine):
 *  - Arguments: --maxprocs=P (threads running fibers, fiber_bench.hpp),
 *    --n=N (fibers; default 1,000,000).
 *  - One shared struct holds an atomic int64 counter and a fiber_wg.
 *  - Timed region: wg.add(N) once, then a loop starting N detached fibers
 *    (fiber_go), each doing one atomic add of 1 to the counter and
 *    wg.done(); then main does wg.wait().
 *  - Report: ns_per_goroutine = wall time of the timed region / N.
 *  - Verify: counter == N after the wait.
 *
 * Output: {"workload":"spawn_join","maxprocs":P,"n":N,"wall_ns":...,"ns_per_goroutine":...}
 */
#include "fiber_bench.hpp"

/* DEFAULT_N is the number of fibers of a full run. */
#define DEFAULT_N 1000000

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"n", DEFAULT_N},
};

struct shared {
	std::atomic<int64_t> counter{0};
	fiber_wg wg;
};

int main(int argc, char **argv)
{
	fiber_run("spawn_join", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long n = opts[OPT_N].value;
		if (n <= 0 || n > INT32_MAX)
			bench_usage("--n must be in [1, %d]", INT32_MAX);
		static shared s;
		int64_t start = bench_now_ns();
		s.wg.add(n);
		for (long i = 0; i < n; i++)
			fiber_go([] {
				s.counter.fetch_add(1);
				s.wg.done();
			});
		s.wg.wait();
		int64_t wall = bench_now_ns() - start;
		int64_t got = s.counter.load();
		if (got != n)
			bench_fail("counter is %" PRId64 ", want %ld", got, n);
		printf("{\"workload\":\"spawn_join\",\"maxprocs\":%d,\"n\":%ld,"
		       "\"wall_ns\":%" PRId64 ",\"ns_per_goroutine\":%.3f}\n",
		       maxprocs, n, wall, (double)wall / (double)n);
		fflush(stdout);
	});
	return 0;
}
