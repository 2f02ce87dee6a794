/* SPDX-License-Identifier: MIT */
/*
 * chan_throughput (Boost.Fiber): int64s through one buffered channel, K
 * producers to C consumers.
 *
 * Definition (as in tools/bench/workloads/chan_throughput/gmpx.c, a fiber
 * per goroutine; the channel is a boost::fibers::buffered_channel, whose
 * capacity must be a power of two, so B is rounded up to one; it holds at
 * most capacity - 1 values):
 *  - Arguments: --maxprocs=P (the runner uses 2), --items=N (default
 *    10,000,000), --producers=K and --consumers=C (the runner uses 1 and 1,
 *    and 4 and 4), --cap=B (the channel's capacity; default 1024).
 *  - Timed region: main starts C consumers, then K producers; then it waits
 *    on the producers' waitgroup, closes the channel, and waits on the
 *    consumers' waitgroup. Producer p (0..K-1) pushes the values i for i in
 *    [p*N/K, (p+1)*N/K), in order, then wg.done(). A consumer pops until
 *    the channel is closed and drained, summing the values and counting
 *    them locally, then adds its sum and count to shared atomic totals and
 *    calls wg.done().
 *  - Report: ns_per_item = wall time of the timed region / N.
 *  - Verify: total count == N, total sum == N*(N-1)/2, and no push failed.
 *
 * Output: {"workload":"chan_throughput","maxprocs":P,"items":N,"producers":K,"consumers":C,
 *          "cap":B,"wall_ns":...,"ns_per_item":...}
 */
#include "fiber_bench.hpp"

#define DEFAULT_ITEMS 10000000
#define DEFAULT_CAP   1024

enum { OPT_MAXPROCS, OPT_ITEMS, OPT_PRODUCERS, OPT_CONSUMERS, OPT_CAP };
static struct bench_opt opts[] = {
	{"maxprocs", 0}, {"items", DEFAULT_ITEMS}, {"producers", 1}, {"consumers", 1}, {"cap", DEFAULT_CAP},
};

using chan = boost::fibers::buffered_channel<int64_t>;
using boost::fibers::channel_op_status;

int main(int argc, char **argv)
{
	fiber_run("chan_throughput", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		int64_t items = opts[OPT_ITEMS].value, k = opts[OPT_PRODUCERS].value;
		long c = opts[OPT_CONSUMERS].value, cap = opts[OPT_CAP].value;
		if (k < 1 || c < 1 || cap < 1)
			bench_usage("--producers, --consumers and --cap must be >= 1");
		size_t pow2 = 2;
		while (pow2 < (size_t)cap)
			pow2 *= 2;
		chan ch(pow2);
		fiber_wg prod, cons;
		std::atomic<int64_t> sum{0}, count{0}, errors{0};
		int64_t start = bench_now_ns();
		cons.add(c);
		for (long j = 0; j < c; j++)
			fiber_go([&] {
				int64_t s = 0, n = 0, v;
				while (ch.pop(v) == channel_op_status::success) {
					s += v;
					n++;
				}
				sum += s;
				count += n;
				cons.done();
			});
		prod.add(k);
		for (int64_t p = 0; p < k; p++)
			fiber_go([&, p] {
				for (int64_t i = p * items / k; i < (p + 1) * items / k; i++)
					if (ch.push(i) != channel_op_status::success) {
						errors++;
						break;
					}
				prod.done();
			});
		prod.wait();
		ch.close();
		cons.wait();
		int64_t wall = bench_now_ns() - start;
		if (count.load() != items || sum.load() != items * (items - 1) / 2 || errors.load())
			bench_fail("count %" PRId64 " sum %" PRId64 " errors %" PRId64 "; want %" PRId64 ", %" PRId64
				   ", 0",
				   count.load(), sum.load(), errors.load(), items, items * (items - 1) / 2);
		printf("{\"workload\":\"chan_throughput\",\"maxprocs\":%d,\"items\":%" PRId64 ",\"producers\":%" PRId64
		       ",\"consumers\":%ld,\"cap\":%ld,\"wall_ns\":%" PRId64 ",\"ns_per_item\":%.3f}\n",
		       maxprocs, items, k, c, cap, wall, (double)wall / (double)items);
		fflush(stdout);
	});
	return 0;
}
