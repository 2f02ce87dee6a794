/* SPDX-License-Identifier: MIT */
/*
 * idle_cost (Boost.Fiber): what does the runtime cost while it has nothing
 * to do?
 *
 * Definition (as in tools/bench/workloads/idle_cost/gmpx.c, a fiber per
 * goroutine, fiber_wg for the waitgroups):
 *  - Arguments: --maxprocs=P (threads running fibers, fiber_bench.hpp; the
 *    runner uses 2), --n=N (parked fibers; default 1,000), --idle_ms=I
 *    (the idle window; default 10,000).
 *  - Setup: a fiber_wg `release` gets add(1); a fiber_wg `exited` gets
 *    add(N); atomic counters `started` and `released` start at 0. main
 *    starts N fibers (fiber_go), each doing started += 1, then
 *    release.wait() (it parks until the end), then released += 1 and
 *    exited.done(). main yields (boost::this_fiber::yield) until
 *    started == N, then SETTLE_YIELDS more yields and a
 *    boost::this_fiber::sleep_for of SETTLE_MS.
 *  - Idle window: r0 = getrusage(RUSAGE_SELF), t0 = clock; main sleeps I ms
 *    (boost::this_fiber::sleep_for: no fiber is runnable; with
 *    work_stealing's suspend = true every thread sleeps on its condition
 *    variable, main's until its sleep ends); t1 = clock, r1 = getrusage.
 *  - Report: idle_cpu_us, idle_cpu_pct, wakeups, voluntary, involuntary,
 *    idle_wall_ms, as the C program (the whole process, all threads).
 *  - Then: release.done() wakes the N fibers; main does exited.wait().
 *  - Verify: started == N before the window; the window lasted at least I
 *    ms; after the release, released == N.
 *
 * Output: {"workload":"idle_cost","maxprocs":P,"n":N,"idle_ms":I,"idle_wall_ms":...,
 *          "idle_cpu_us":...,"idle_cpu_pct":...,"wakeups":...,"voluntary":...,"involuntary":...}
 */
#include "fiber_bench.hpp"

#include <chrono>

/* DEFAULT_N is the number of parked fibers; DEFAULT_IDLE_MS the window. */
#define DEFAULT_N	1000
#define DEFAULT_IDLE_MS 10000
/* SETTLE_YIELDS and SETTLE_MS let the fibers finish parking and the
 * threads finish starting before the window opens. */
#define SETTLE_YIELDS 100
#define SETTLE_MS     100

enum { OPT_MAXPROCS, OPT_N, OPT_IDLE_MS };
static struct bench_opt opts[] = {
	{"maxprocs", 0},
	{"n", DEFAULT_N},
	{"idle_ms", DEFAULT_IDLE_MS},
};

static std::atomic<long> started{0}, released{0};
static fiber_wg release, exited;

int main(int argc, char **argv)
{
	fiber_run("idle_cost", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), [](int maxprocs) {
		long n = opts[OPT_N].value, idle_ms = opts[OPT_IDLE_MS].value;
		if (n <= 0 || idle_ms <= 0)
			bench_usage("--n and --idle_ms must be > 0");
		release.add(1);
		exited.add(n);
		for (long i = 0; i < n; i++)
			fiber_go([] {
				started.fetch_add(1);
				release.wait();
				released.fetch_add(1);
				exited.done();
			});
		while (started.load() < n)
			boost::this_fiber::yield();
		for (int i = 0; i < SETTLE_YIELDS; i++)
			boost::this_fiber::yield();
		boost::this_fiber::sleep_for(std::chrono::milliseconds(SETTLE_MS));
		if (started.load() != n)
			bench_fail("%ld fibers started, want %ld", started.load(), n);

		struct rusage r0, r1;
		if (getrusage(RUSAGE_SELF, &r0) != 0)
			bench_fail("getrusage: %s", strerror(errno));
		int64_t t0 = bench_now_ns();
		boost::this_fiber::sleep_for(std::chrono::milliseconds(idle_ms));
		int64_t t1 = bench_now_ns();
		if (getrusage(RUSAGE_SELF, &r1) != 0)
			bench_fail("getrusage: %s", strerror(errno));
		int64_t wall = t1 - t0, cpu = bench_cpu_us(&r1) - bench_cpu_us(&r0);
		long vol = r1.ru_nvcsw - r0.ru_nvcsw, invol = r1.ru_nivcsw - r0.ru_nivcsw;
		if (wall < idle_ms * 1000000)
			bench_fail("the idle window lasted %" PRId64 " ns, less than %ld ms", wall, idle_ms);
		if (cpu < 0 || vol < 0 || invol < 0)
			bench_fail("getrusage went backwards");

		release.done();
		exited.wait();
		if (released.load() != n)
			bench_fail("%ld fibers finished after the release, want %ld", released.load(), n);
		printf("{\"workload\":\"idle_cost\",\"maxprocs\":%d,\"n\":%ld,\"idle_ms\":%ld,\"idle_wall_ms\":%.3f,"
		       "\"idle_cpu_us\":%" PRId64 ",\"idle_cpu_pct\":%.5f,\"wakeups\":%ld,\"voluntary\":%ld,"
		       "\"involuntary\":%ld}\n",
		       maxprocs, n, idle_ms, (double)wall / 1e6, cpu, (double)cpu * 1e3 / (double)wall * 100,
		       vol + invol, vol, invol);
		fflush(stdout);
	});
	return 0;
}
