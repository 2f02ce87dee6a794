/* SPDX-License-Identifier: MIT */
/*
 * fib_fanout (Boost.Fiber): recursive fib, one fiber per call above the cutoff.
 *
 * Definition (as in tools/bench/workloads/fib_fanout/gmpx.c, a fiber per
 * goroutine):
 *  - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=F (default 32).
 *  - fib(n): if n <= CUTOFF (12), plain sequential recursion
 *    fib_seq(n) = n < 2 ? n : fib_seq(n-1) + fib_seq(n-2). Otherwise: a
 *    struct task {result, fiber_wg} lives on the caller's frame (its fiber
 *    stack); wg.add(1); fiber_go computes fib(n-1) into task.result and
 *    calls wg.done(); the caller computes fib(n-2) itself, then wg.wait(),
 *    and returns task.result + fib(n-2). So each call with n > CUTOFF
 *    starts exactly one fiber.
 *  - Timed region: the top-level call fib(F) from main.
 *  - Report: wall_ms; goroutines = number of fibers started (computed
 *    separately, outside the timed region).
 *  - Verify: result == the iteratively computed fib(F) (fib(32) = 2178309).
 *
 * Output: {"workload":"fib_fanout","maxprocs":P,"n":F,"cutoff":12,"result":...,"goroutines":...,"wall_ms":...}
 */
#include "fiber_bench.hpp"

/* CUTOFF: calls with n <= CUTOFF run sequentially; DEFAULT_N: F of a full run. */
#define CUTOFF	  12
#define DEFAULT_N 32

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"n", DEFAULT_N},
};

static int64_t fib_seq(int n)
{
	return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

static int64_t fib(int n)
{
	if (n <= CUTOFF)
		return fib_seq(n);
	struct {
		int64_t result;
		fiber_wg wg;
	} task;
	task.wg.add(1);
	fiber_go([&task, n] {
		task.result = fib(n - 1);
		task.wg.done();
	});
	int64_t b = fib(n - 2);
	task.wg.wait();
	return task.result + b;
}

static int64_t spawns(int n)
{
	return n <= CUTOFF ? 0 : 1 + spawns(n - 1) + spawns(n - 2);
}

int main(int argc, char **argv)
{
	fiber_run("fib_fanout", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		int n = (int)opts[OPT_N].value;
		if (n > 60)
			bench_usage("--n must be <= 60");
		int64_t start = bench_now_ns();
		int64_t result = fib(n);
		int64_t wall = bench_now_ns() - start;
		int64_t a = 0, b = 1;
		for (int i = 0; i < n; i++) {
			int64_t t = a + b;
			a = b;
			b = t;
		}
		if (result != a)
			bench_fail("fib(%d) = %" PRId64 ", want %" PRId64, n, result, a);
		printf("{\"workload\":\"fib_fanout\",\"maxprocs\":%d,\"n\":%d,\"cutoff\":%d,"
		       "\"result\":%" PRId64 ",\"goroutines\":%" PRId64 ",\"wall_ms\":%.6f}\n",
		       maxprocs, n, CUTOFF, result, spawns(n), (double)wall / 1e6);
		fflush(stdout);
	});
	return 0;
}
