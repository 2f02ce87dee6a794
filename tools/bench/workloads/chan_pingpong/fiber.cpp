/* SPDX-License-Identifier: MIT */
/*
 * chan_pingpong (Boost.Fiber): the round-trip cost of two unbuffered
 * channels between two fibers.
 *
 * Definition (as in tools/bench/workloads/chan_pingpong/gmpx.c, a fiber per
 * goroutine, boost::fibers::unbuffered_channel for each channel):
 *  - Arguments: --maxprocs=P (the runner uses 1 and 2), --trips=T (round
 *    trips; default 1,000,000).
 *  - Two unbuffered channels of int64, ping and pong, made before the
 *    timed region.
 *  - Timed region: main starts the pinger A, then the ponger B, and waits
 *    on a fiber_wg of 2. For i in 0..T-1: A pushes i on ping, B pops v from
 *    ping and pushes v + 1 on pong, A pops w from pong and counts an error
 *    unless w == i + 1. Each then calls wg.done().
 *  - Report: ns_per_roundtrip = wall time of the timed region / T.
 *  - Verify: every push and pop succeeded and every reply was right
 *    (errors == 0).
 *
 * Output: {"workload":"chan_pingpong","maxprocs":P,"trips":T,"wall_ns":...,"ns_per_roundtrip":...}
 */
#include "fiber_bench.hpp"

/* DEFAULT_TRIPS is the number of round trips of a full run. */
#define DEFAULT_TRIPS 1000000

enum { OPT_MAXPROCS, OPT_TRIPS };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"trips", DEFAULT_TRIPS},
};

using chan = boost::fibers::unbuffered_channel<int64_t>;
using boost::fibers::channel_op_status;

int main(int argc, char **argv)
{
	fiber_run("chan_pingpong", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long trips = opts[OPT_TRIPS].value;
		chan ping, pong;
		fiber_wg wg;
		std::atomic<int64_t> errors{0};
		int64_t start = bench_now_ns();
		wg.add(2);
		fiber_go([&] {
			for (int64_t i = 0; i < trips; i++) {
				int64_t w = -1;
				if (ping.push(i) != channel_op_status::success ||
				    pong.pop(w) != channel_op_status::success || w != i + 1)
					errors++;
			}
			wg.done();
		});
		fiber_go([&] {
			for (int64_t i = 0; i < trips; i++) {
				int64_t v;
				if (ping.pop(v) != channel_op_status::success ||
				    pong.push(v + 1) != channel_op_status::success)
					errors++;
			}
			wg.done();
		});
		wg.wait();
		int64_t wall = bench_now_ns() - start;
		if (errors.load())
			bench_fail("%" PRId64 " errors", errors.load());
		printf("{\"workload\":\"chan_pingpong\",\"maxprocs\":%d,\"trips\":%ld,"
		       "\"wall_ns\":%" PRId64 ",\"ns_per_roundtrip\":%.3f}\n",
		       maxprocs, trips, wall, (double)wall / (double)trips);
		fflush(stdout);
	});
	return 0;
}
