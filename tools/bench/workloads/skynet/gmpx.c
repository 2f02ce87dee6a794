/* SPDX-License-Identifier: MIT */
/*
 * skynet: the classic cross-runtime test; a 10-ary tree of goroutines, its
 * leaves sending their ids up through channels, every inner node summing.
 *
 * Definition (identical in tools/bench/workloads/skynet/go/main.go, tokio.rs
 * and fiber.cpp):
 *  - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=N (leaves, a
 *    power of DIV = 10; default 1,000,000).
 *  - skynet(parent, num, size): if size == 1, send num on parent and
 *    return. Else make an unbuffered channel rc of int64, start DIV
 *    goroutines skynet(rc, num + i*(size/DIV), size/DIV) for i in
 *    0..DIV-1, receive DIV values from rc and sum them, free rc, and send
 *    the sum on parent.
 *  - Timed region: main makes an unbuffered channel c, starts the
 *    goroutine skynet(c, 0, N) and receives the result from c.
 *  - Report: goroutines = (DIV*N - 1)/(DIV - 1) (every node of the tree),
 *    wall_ms, ns_per_goroutine = wall time of the timed region / goroutines.
 *  - Verify: result == N*(N-1)/2 (N = 1,000,000: 499,999,500,000) and every
 *    send and receive succeeded.
 *
 * Output: {"workload":"skynet","maxprocs":P,"n":N,"goroutines":G,"result":R,"wall_ms":...,
 *          "ns_per_goroutine":...}
 */
#include "bench.h"

/* DIV: children per inner node; DEFAULT_N: leaves of a full run. */
#define DIV	  10
#define DEFAULT_N 1000000

enum { OPT_MAXPROCS, OPT_N };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", DEFAULT_N},
};

/* One node's arguments, allocated by its parent, freed by the node. */
struct node {
	gx_chan *parent;
	int64_t num, size;
};

static int64_t errors; /* failed operations, for verification */

static void skynet(void *arg)
{
	struct node nd = *(struct node *)arg;
	free(arg);
	if (nd.size == 1) {
		if (gx_chan_send(nd.parent, &nd.num, GX_FOREVER) != 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		return;
	}
	gx_chan *rc;
	if (gx_chan_make(&rc, sizeof(int64_t), 0) != 0)
		bench_fail("gx_chan_make failed");
	int64_t sub = nd.size / DIV;
	for (int i = 0; i < DIV; i++) {
		struct node *c = malloc(sizeof(*c));
		if (!c)
			bench_fail("out of memory");
		*c = (struct node){rc, nd.num + i * sub, sub};
		if (gx_go(skynet, c) < 0)
			bench_fail("gx_go failed");
	}
	int64_t sum = 0;
	for (int i = 0; i < DIV; i++) {
		int64_t v;
		if (gx_chan_recv(rc, &v, GX_FOREVER) != 1)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		else
			sum += v;
	}
	gx_chan_free(rc);
	if (gx_chan_send(nd.parent, &sum, GX_FOREVER) != 0)
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);
	int64_t n = opts[OPT_N].value;
	gx_chan *c;
	if (gx_chan_make(&c, sizeof(int64_t), 0) != 0)
		bench_fail("gx_chan_make failed");

	int64_t start = bench_now_ns();
	struct node *root = malloc(sizeof(*root));
	if (!root)
		bench_fail("out of memory");
	*root = (struct node){c, 0, n};
	if (gx_go(skynet, root) < 0)
		bench_fail("gx_go failed");
	int64_t result = -1;
	if (gx_chan_recv(c, &result, GX_FOREVER) != 1)
		bench_fail("receiving the result failed");
	int64_t wall = bench_now_ns() - start;

	int64_t goroutines = (DIV * n - 1) / (DIV - 1);
	if (result != n * (n - 1) / 2 || __atomic_load_n(&errors, __ATOMIC_SEQ_CST))
		bench_fail("result %" PRId64 ", want %" PRId64 "; %" PRId64 " failed operations", result,
			   n * (n - 1) / 2, errors);
	printf("{\"workload\":\"skynet\",\"maxprocs\":%d,\"n\":%" PRId64 ",\"goroutines\":%" PRId64
	       ",\"result\":%" PRId64 ",\"wall_ms\":%.6f,\"ns_per_goroutine\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, n, goroutines, result, (double)wall / 1e6, (double)wall / (double)goroutines, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("skynet", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	int64_t n = opts[OPT_N].value;
	while (n > 1 && n % DIV == 0)
		n /= DIV;
	if (n != 1)
		bench_usage("--n must be a power of %d", DIV);
	gx_main(bench_main, argc, argv);
}
