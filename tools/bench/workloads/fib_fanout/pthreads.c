/* SPDX-License-Identifier: MIT */
/*
 * fib_fanout (pthreads): fork-join parallelism with many short threads. The
 * analogue of tools/bench/workloads/fib_fanout/gmpx.c with one thread per goroutine:
 * pthread_create for gx_go, pthread_join for the waitgroup wait.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 1 and 2), --n=F
 *    (default 32).
 *  - fib(n): if n <= CUTOFF (12), plain sequential recursion, as in C.
 *    Otherwise a struct task {n: n-1, result} on the caller's stack; a
 *    joinable thread with a 64 KiB stack (the recursion below the cutoff
 *    needs little; 8 MiB default stacks for thousands of threads alive at
 *    once would run into vm.max_map_count sooner) computes fib(n-1) into
 *    task.result; the caller computes fib(n-2) itself, then pthread_join,
 *    and returns task.result + fib(n-2). A pthread_create failing with
 *    EAGAIN is retried after sched_yield (create_retries).
 *  - Timed region: the top-level call fib(F) from main.
 *  - Report: wall_ms; goroutines = threads started (same count as the
 *    goroutines of the other implementations).
 *  - Verify: result == the iteratively computed fib(F).
 *
 * Output: {"workload":"fib_fanout","maxprocs":P,"n":F,"cutoff":12,"result":...,"goroutines":...,
 *          "wall_ms":...,"create_retries":...}
 */
#include "pt_bench.h"

#define CUTOFF	    12
#define MAX_N	    90
#define STACK_BYTES (64 * 1024)

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", 32},
};

static int64_t retries;

struct task {
	int n;
	int64_t result;
};

static int64_t fib_seq(int n)
{
	return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

static int64_t fib(int n);

static void *fib_task(void *arg)
{
	struct task *t = arg;
	t->result = fib(t->n);
	return NULL;
}

static int64_t fib(int n)
{
	if (n <= CUTOFF)
		return fib_seq(n);
	struct task child = {.n = n - 1, .result = 0};
	pthread_t th;
	pt_start(&th, fib_task, &child, STACK_BYTES, false, &retries);
	int64_t r = fib(n - 2);
	int rc = pthread_join(th, NULL);
	if (rc != 0)
		bench_fail("pthread_join: %s", strerror(rc));
	return child.result + r;
}

static int64_t spawns(int n)
{
	return n <= CUTOFF ? 0 : 1 + spawns(n - 1) + spawns(n - 2);
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("fib_fanout", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	int n = (int)opts[OPT_N].value;
	if (n > MAX_N)
		bench_usage("--n must be in [0, %d]", MAX_N);

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
	printf("{\"workload\":\"fib_fanout\",\"maxprocs\":%d,\"n\":%d,\"cutoff\":%d,\"result\":%" PRId64
	       ",\"goroutines\":%" PRId64 ",\"wall_ms\":%.6f,\"create_retries\":%" PRId64 "}\n",
	       cpus, n, CUTOFF, result, spawns(n), (double)wall / 1e6, retries);
	return 0;
}
