/* SPDX-License-Identifier: MIT */
/*
 * fib_fanout: fork-join parallelism with many short goroutines.
 *
 * Definition (identical in tools/bench/workloads/fib_fanout/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=F (default 32).
 *  - fib(n): if n <= CUTOFF (12), plain sequential recursion
 *    fib_seq(n) = n < 2 ? n : fib_seq(n-1) + fib_seq(n-2).
 *    Otherwise: a struct task {n: n-1, result, gx_waitgroup} lives on the
 *    caller's frame (on its goroutine stack; Go moves it to the heap because
 *    it escapes); gx_wg_add(1); gx_go(fib_task, &task) computes fib(n-1) into
 *    task.result and calls gx_wg_done; the caller computes fib(n-2) itself,
 *    then gx_wg_wait, and returns task.result + fib(n-2). So each call with
 *    n > CUTOFF starts exactly one goroutine.
 *  - Timed region: the top-level call fib(F) from main.
 *  - Report: wall_ms; goroutines = number of goroutines started (computed
 *    separately, outside the timed region). The runner derives the speedup
 *    t(P=1)/t(P=2) per implementation.
 *  - Verify: result == the iteratively computed fib(F) (fib(32) = 2178309).
 *
 * Note: gcc -O2 turns one of fib_seq's two recursive calls into a loop, which
 * Go's compiler does not; the sequential leaves are therefore cheaper in C,
 * which makes the scheduling overhead a larger share of gmpx's time (the
 * comparison of speedups is, if anything, biased against gmpx).
 *
 * Output: {"workload":"fib_fanout","maxprocs":P,"n":F,"cutoff":12,"result":...,"goroutines":...,"wall_ms":...}
 */
#include "bench.h"

/* DEFAULT_N is the argument of the top-level fib call of a full run. */
#define DEFAULT_N 32

/* CUTOFF: calls with n <= CUTOFF recurse sequentially without goroutines. */
#define CUTOFF 12

/* MAX_N: fib(90) is the largest that fits in int64_t. */
#define MAX_N 90

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", DEFAULT_N},
};

struct task {
	int n;
	int64_t result;
	gx_waitgroup wg;
};

static int64_t fib_seq(int n)
{
	if (n < 2)
		return n;
	return fib_seq(n - 1) + fib_seq(n - 2);
}

static int64_t fib(int n);

static void fib_task(void *arg)
{
	struct task *t = arg;

	t->result = fib(t->n);
	gx_wg_done(&t->wg);
}

static int64_t fib(int n)
{
	if (n <= CUTOFF)
		return fib_seq(n);

	struct task child = {.n = n - 1, .result = 0, .wg = GX_WAITGROUP_INIT};
	gx_wg_add(&child.wg, 1);
	int64_t id = gx_go(fib_task, &child);
	if (id < 0)
		bench_fail("gx_go: %" PRId64, id);
	int64_t r = fib(n - 2);
	gx_wg_wait(&child.wg);
	return child.result + r;
}

/* spawns - how many goroutines fib(n) starts. */
static int64_t spawns(int n)
{
	if (n <= CUTOFF)
		return 0;
	return 1 + spawns(n - 1) + spawns(n - 2);
}

/* fib_iter - the reference value for verification. */
static int64_t fib_iter(int n)
{
	int64_t a = 0, b = 1;

	for (int i = 0; i < n; i++) {
		int64_t t = a + b;
		a = b;
		b = t;
	}
	return a;
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	int n = (int)opts[OPT_N].value;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	int64_t start = bench_now_ns();
	int64_t result = fib(n);
	int64_t wall = bench_now_ns() - start;

	int64_t want = fib_iter(n);
	if (result != want)
		bench_fail("fib(%d) = %" PRId64 ", want %" PRId64, n, result, want);
	printf("{\"workload\":\"fib_fanout\",\"maxprocs\":%d,\"n\":%d,\"cutoff\":%d,"
	       "\"result\":%" PRId64 ",\"goroutines\":%" PRId64 ",\"wall_ms\":%.6f,\"kassist\":\"%s\"}\n",
	       maxprocs, n, CUTOFF, result, spawns(n), (double)wall / 1e6, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("fib_fanout", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_N].value > MAX_N)
		bench_usage("--n must be in [0, %d]", MAX_N);
	gx_main(bench_main, argc, argv);
}
