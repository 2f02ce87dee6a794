/* SPDX-License-Identifier: MIT */
/*
 * spawn_join (pthreads): the cost of starting, running and joining a tiny
 * thread. The analogue of tools/bench/workloads/spawn_join/gmpx.c with one OS thread per
 * goroutine: pthread_create of a DETACHED thread (a goroutine needs no
 * join; a million joinable threads could not all exist at once: pid_max,
 * vm.max_map_count), and a waitgroup made of a mutex, a condition variable
 * and a counter (pt_wg) for gx_waitgroup.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs, pt_bench.h), --n=N (threads; default
 *    1,000,000).
 *  - Timed region: pt_wg_add(N) once, then a loop creating N detached
 *    threads with the default attributes (glibc: 8 MiB stacks, reused from
 *    its cache of exited threads' stacks), each doing one atomic add of 1 to
 *    a shared counter and pt_wg_done; a pthread_create that fails with
 *    EAGAIN (too many threads alive) is retried after sched_yield (counted:
 *    create_retries); then main waits on the waitgroup.
 *  - Report: ns_per_goroutine = wall time of the timed region / N (the same
 *    name as the other implementations: here, per thread).
 *  - Verify: counter == N after the wait.
 *
 * Output: {"workload":"spawn_join","maxprocs":P,"n":N,"wall_ns":...,"ns_per_goroutine":...,
 *          "create_retries":...}
 */
#include "pt_bench.h"

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", 1000000},
};

static int64_t counter, retries;
static struct pt_wg wg = PT_WG_INIT;

static void *worker(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
	pt_wg_done(&wg);
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("spawn_join", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long n = opts[OPT_N].value;
	if (n <= 0)
		bench_usage("--n must be > 0");

	int64_t start = bench_now_ns();
	pt_wg_add(&wg, n);
	for (long i = 0; i < n; i++)
		pt_start(NULL, worker, NULL, 0, true, &retries);
	pt_wg_wait(&wg);
	int64_t wall = bench_now_ns() - start;

	int64_t got = __atomic_load_n(&counter, __ATOMIC_SEQ_CST);
	if (got != n)
		bench_fail("counter is %" PRId64 ", want %ld", got, n);
	printf("{\"workload\":\"spawn_join\",\"maxprocs\":%d,\"n\":%ld,\"wall_ns\":%" PRId64
	       ",\"ns_per_goroutine\":%.3f,\"create_retries\":%" PRId64 "}\n",
	       cpus, n, wall, (double)wall / (double)n, retries);
	return 0;
}
