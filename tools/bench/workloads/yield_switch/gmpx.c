/* SPDX-License-Identifier: MIT */
/*
 * yield_switch: the cost of one voluntary goroutine switch.
 *
 * Definition (identical in tools/bench/workloads/yield_switch/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 1), --iters=I (yields per
 *    goroutine; default 5,000,000).
 *  - Timed region: main starts two goroutines, gx_go(yielder, s) with a
 *    pointer to a shared struct {iters, gx_waitgroup with counter 2}; each
 *    calls gx_yield() I times, then gx_wg_done; main waits on the waitgroup
 *    (it is parked, so the two yielders alternate).
 *  - Report: switches = 2*I, ns_per_switch = wall time of the timed
 *    region / switches.
 *  - Verify: each yielder counted exactly I yields (a shared atomic sum == 2*I).
 *
 * Output: {"workload":"yield_switch","maxprocs":P,"iters":I,"switches":2I,"wall_ns":...,"ns_per_switch":...}
 */
#include "bench.h"

/* DEFAULT_ITERS is the number of yields each of the two goroutines makes. */
#define DEFAULT_ITERS 5000000

/* YIELDERS is the number of goroutines taking turns. */
#define YIELDERS 2

enum { OPT_MAXPROCS, OPT_ITERS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_ITERS] = {"iters", DEFAULT_ITERS},
};

struct shared {
	long iters;
	int64_t yields; /* total yields made, for verification */
	gx_waitgroup wg;
};

static struct shared s = {0, 0, GX_WAITGROUP_INIT};

static void yielder(void *arg)
{
	struct shared *sh = arg;
	long i;

	for (i = 0; i < sh->iters; i++)
		gx_yield();
	__atomic_fetch_add(&sh->yields, i, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);
	s.iters = opts[OPT_ITERS].value;

	int64_t start = bench_now_ns();
	gx_wg_add(&s.wg, YIELDERS);
	for (int i = 0; i < YIELDERS; i++) {
		int64_t id = gx_go(yielder, &s);
		if (id < 0)
			bench_fail("gx_go: %" PRId64, id);
	}
	gx_wg_wait(&s.wg);
	int64_t wall = bench_now_ns() - start;

	int64_t switches = (int64_t)YIELDERS * s.iters;
	int64_t got = __atomic_load_n(&s.yields, __ATOMIC_SEQ_CST);
	if (got != switches)
		bench_fail("%" PRId64 " yields, want %" PRId64, got, switches);
	printf("{\"workload\":\"yield_switch\",\"maxprocs\":%d,\"iters\":%ld,"
	       "\"switches\":%" PRId64 ",\"wall_ns\":%" PRId64 ",\"ns_per_switch\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, s.iters, switches, wall, (double)wall / (double)switches, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("yield_switch", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_ITERS].value <= 0)
		bench_usage("--iters must be > 0");
	gx_main(bench_main, argc, argv);
}
