/* SPDX-License-Identifier: MIT */
/*
 * yield_switch (pthreads): the cost of one voluntary thread switch. The
 * analogue of tools/bench/workloads/yield_switch/gmpx.c: two threads calling
 * sched_yield(2) in turn on one CPU (--maxprocs=1 pins the process to one
 * CPU: the kernel's run queue of that CPU plays the P's).
 *
 * Definition:
 *  - Arguments: --maxprocs=P (the runner uses 1), --iters=I (yields per
 *    thread; default 5,000,000).
 *  - Timed region: main creates two threads, each calling sched_yield() I
 *    times, and joins them (main is blocked in pthread_join, so the two
 *    yielders alternate on the CPU).
 *  - Report: switches = 2*I, ns_per_switch = wall time / switches.
 *  - Verify: every sched_yield returned 0 and each thread made I calls.
 *
 * The kernel may let a thread's sched_yield return without switching (it
 * decides whether the other thread is due); the figure is then a cheaper
 * mix of switches and plain system calls. With P > 1 the two threads run in
 * parallel and each yield is only a system call.
 *
 * Output: {"workload":"yield_switch","maxprocs":P,"iters":I,"switches":2I,"wall_ns":...,"ns_per_switch":...}
 */
#include "pt_bench.h"

enum { OPT_MAXPROCS, OPT_ITERS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_ITERS] = {"iters", 5000000},
};

static int64_t yields, errors;

static void *yielder(void *arg)
{
	long iters = (long)(intptr_t)arg, i, bad = 0;
	for (i = 0; i < iters; i++)
		if (sched_yield() != 0)
			bad++;
	__atomic_fetch_add(&yields, i, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&errors, bad, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("yield_switch", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long iters = opts[OPT_ITERS].value;
	if (iters <= 0)
		bench_usage("--iters must be > 0");
	pthread_t th[2];

	int64_t start = bench_now_ns();
	for (int i = 0; i < 2; i++)
		pt_start(&th[i], yielder, (void *)(intptr_t)iters, 0, false, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	int64_t wall = bench_now_ns() - start;

	int64_t switches = 2 * (int64_t)iters;
	if (yields != switches || errors)
		bench_fail("%" PRId64 " yields (%" PRId64 " failed), want %" PRId64, yields, errors, switches);
	printf("{\"workload\":\"yield_switch\",\"maxprocs\":%d,\"iters\":%ld,\"switches\":%" PRId64
	       ",\"wall_ns\":%" PRId64 ",\"ns_per_switch\":%.3f}\n",
	       cpus, iters, switches, wall, (double)wall / (double)switches);
	return 0;
}
