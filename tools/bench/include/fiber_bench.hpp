/* SPDX-License-Identifier: MIT */
/*
 * fiber_bench.hpp - what every Boost.Fiber benchmark program
 * (tools/bench/workloads/NAME/fiber.cpp) adds to bench_common.h: the
 * scheduler for --maxprocs, a waitgroup, and the stack every fiber gets.
 *
 * Boost.Fiber's analogue of GOMAXPROCS is the number of threads running
 * fibers: P = 1 (or 0) is the main thread alone with Boost's default
 * round_robin scheduler; P > 1 is the main thread and P - 1 more threads,
 * each calling use_scheduling_algorithm<work_stealing>(P, true) (work
 * stealing between the P threads; suspend = true: a thread with nothing to
 * run sleeps on a condition variable instead of spinning). Fibers are
 * started with the default launch policy (post: the new fiber is made
 * ready, the starter goes on, as gx_go does). The program prints ONE line
 * of JSON on stdout and exits 0; a failed check prints "NAME (boost.fiber):
 * why" on stderr and exits 1; bad usage exits 2. The JSON has no "kassist"
 * field. Boost.Fiber has no netpoller, no preemption and no timers of its
 * own beyond this_fiber::sleep_for (a per-thread sleep queue).
 */
#ifndef GMPX_FIBER_BENCH_HPP
#define GMPX_FIBER_BENCH_HPP

#include "bench_common.h"

#include <atomic>
#include <boost/fiber/all.hpp>
#include <boost/fiber/algo/work_stealing.hpp>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

/* FIBER_STACK_BYTES - each fiber's stack (boost::fibers::fixedsize_stack):
 * 16 KiB, small like a goroutine's, large enough for every workload here. */
static const size_t FIBER_STACK_BYTES = 16 * 1024;

/* fiber_go - start a fiber running fn (detached: nobody joins it). */
template <typename Fn> static inline void fiber_go(Fn &&fn)
{
	boost::fibers::fiber(std::allocator_arg, boost::fibers::fixedsize_stack(FIBER_STACK_BYTES),
			     std::forward<Fn>(fn))
		.detach();
}

/* A waitgroup: a count under a fiber mutex, a fiber condition variable. */
struct fiber_wg {
	boost::fibers::mutex mu;
	boost::fibers::condition_variable cv;
	long count = 0;

	void add(long n)
	{
		std::lock_guard<boost::fibers::mutex> lk(mu);
		count += n;
	}
	void done()
	{
		std::lock_guard<boost::fibers::mutex> lk(mu);
		if (--count == 0)
			cv.notify_all();
	}
	void wait()
	{
		std::unique_lock<boost::fibers::mutex> lk(mu);
		cv.wait(lk, [this] { return count == 0; });
	}
};

/*
 * fiber_run - parse argv into opts (impl "boost.fiber"), set up the
 * scheduler for --maxprocs (above) and run body(P) in the main thread's
 * main fiber; the other threads run fibers until body returns. Returns P,
 * the number of threads that ran fibers.
 */
static inline int fiber_run(const char *name, int argc, char **argv, struct bench_opt *opts, size_t nopts,
			    const std::function<void(int)> &body)
{
	bench_parse_opts("boost.fiber", name, argc, argv, opts, nopts);
	long p = bench_opt_value(opts, nopts, "maxprocs");
	if (p <= 1) {
		body(1);
		return 1;
	}
	/* work_stealing's constructor waits until all P threads have made theirs. */
	boost::fibers::mutex mu;
	boost::fibers::condition_variable cv;
	bool stop = false;
	std::vector<std::thread> threads;
	for (long i = 1; i < p; i++)
		threads.emplace_back([&] {
			boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>((std::uint32_t)p,
												    true);
			std::unique_lock<boost::fibers::mutex> lk(mu);
			cv.wait(lk, [&] { return stop; });
		});
	boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>((std::uint32_t)p, true);
	body((int)p);
	{
		std::lock_guard<boost::fibers::mutex> lk(mu);
		stop = true;
	}
	cv.notify_all();
	for (auto &t : threads)
		t.join();
	return (int)p;
}

#endif /* GMPX_FIBER_BENCH_HPP */
