/* SPDX-License-Identifier: MIT */
/*
 * skynet (Boost.Fiber): the classic cross-runtime test; a 10-ary tree of
 * fibers, its leaves sending their ids up through channels, every inner
 * node summing.
 *
 * Definition (as in tools/bench/workloads/skynet/gmpx.c, a fiber per
 * goroutine, boost::fibers::unbuffered_channel for each channel):
 *  - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=N (leaves, a
 *    power of DIV = 10; default 1,000,000).
 *  - skynet(parent, num, size): if size == 1, push num on parent and
 *    return. Else make an unbuffered channel rc of int64, start DIV fibers
 *    skynet(rc, num + i*(size/DIV), size/DIV) for i in 0..DIV-1, pop DIV
 *    values from rc and sum them, and push the sum on parent.
 *  - Timed region: main makes an unbuffered channel c, starts the fiber
 *    skynet(c, 0, N) and pops the result from c.
 *  - Report: goroutines = (DIV*N - 1)/(DIV - 1) (every node of the tree),
 *    wall_ms, ns_per_goroutine = wall time of the timed region / goroutines.
 *  - Verify: result == N*(N-1)/2 (N = 1,000,000: 499,999,500,000) and every
 *    push and pop succeeded.
 *
 * Output: {"workload":"skynet","maxprocs":P,"n":N,"goroutines":G,"result":R,"wall_ms":...,
 *          "ns_per_goroutine":...}
 */
#include "fiber_bench.hpp"

/* DIV: children per inner node; DEFAULT_N: leaves of a full run. */
#define DIV	  10
#define DEFAULT_N 1000000

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"n", DEFAULT_N},
};

using chan = boost::fibers::unbuffered_channel<int64_t>;
using boost::fibers::channel_op_status;

static std::atomic<int64_t> errors{0}; /* failed operations, for verification */

static void skynet(chan *parent, int64_t num, int64_t size)
{
	if (size == 1) {
		if (parent->push(num) != channel_op_status::success)
			errors++;
		return;
	}
	chan rc; /* on this fiber's stack: it outlives every child's push */
	int64_t sub = size / DIV;
	for (int i = 0; i < DIV; i++)
		fiber_go([&rc, num, i, sub] { skynet(&rc, num + i * sub, sub); });
	int64_t sum = 0;
	for (int i = 0; i < DIV; i++) {
		int64_t v;
		if (rc.pop(v) != channel_op_status::success)
			errors++;
		else
			sum += v;
	}
	if (parent->push(sum) != channel_op_status::success)
		errors++;
}

int main(int argc, char **argv)
{
	fiber_run("skynet", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		int64_t n = opts[OPT_N].value, m = n;
		while (m > 1 && m % DIV == 0)
			m /= DIV;
		if (m != 1)
			bench_usage("--n must be a power of %d", DIV);
		chan c;
		int64_t start = bench_now_ns();
		fiber_go([&c, n] { skynet(&c, 0, n); });
		int64_t result = -1;
		if (c.pop(result) != channel_op_status::success)
			bench_fail("popping the result failed");
		int64_t wall = bench_now_ns() - start;
		int64_t goroutines = (DIV * n - 1) / (DIV - 1);
		if (result != n * (n - 1) / 2 || errors.load())
			bench_fail("result %" PRId64 ", want %" PRId64 "; %" PRId64 " failed operations", result,
				   n * (n - 1) / 2, errors.load());
		printf("{\"workload\":\"skynet\",\"maxprocs\":%d,\"n\":%" PRId64 ",\"goroutines\":%" PRId64
		       ",\"result\":%" PRId64 ",\"wall_ms\":%.6f,\"ns_per_goroutine\":%.3f}\n",
		       maxprocs, n, goroutines, result, (double)wall / 1e6, (double)wall / (double)goroutines);
		fflush(stdout);
	});
	return 0;
}
