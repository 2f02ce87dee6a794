/* SPDX-License-Identifier: MIT */
/*
 * chan_pingpong: the latency of a round trip over two unbuffered channels.
 *
 * Definition (identical in tools/bench/workloads/chan_pingpong/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 1 and 2), --trips=T (round
 *    trips; default 1,000,000).
 *  - Two unbuffered channels of int64, ping and pong, made before the timed
 *    region.
 *  - Timed region: main starts two goroutines with a pointer to a shared
 *    struct {trips, ping, pong, errors, gx_waitgroup with counter 2}, first
 *    the pinger A, then the ponger B, and waits on the waitgroup (it is
 *    parked). For i in 0..T-1: A sends i on ping, B receives v from ping
 *    and sends v + 1 on pong, A receives w from pong and counts an error
 *    unless w == i + 1. Each then calls gx_wg_done.
 *  - Report: ns_per_roundtrip = wall time of the timed region / T.
 *  - Verify: every send and receive succeeded and every reply was right
 *    (errors == 0).
 *
 * Output: {"workload":"chan_pingpong","maxprocs":P,"trips":T,"wall_ns":...,"ns_per_roundtrip":...}
 */
#include "bench.h"

/* DEFAULT_TRIPS is the number of round trips of a full run. */
#define DEFAULT_TRIPS 1000000

enum { OPT_MAXPROCS, OPT_TRIPS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_TRIPS] = {"trips", DEFAULT_TRIPS},
};

struct shared {
	long trips;
	gx_chan *ping, *pong;
	int64_t errors; /* failed operations and wrong replies, for verification */
	gx_waitgroup wg;
};

static struct shared s = {0, NULL, NULL, 0, GX_WAITGROUP_INIT};

/* pinger (A) - sends i, expects i + 1 back. */
static void pinger(void *arg)
{
	struct shared *sh = arg;
	int64_t errors = 0;

	for (long i = 0; i < sh->trips; i++) {
		int64_t v = i, w = -1;
		if (gx_chan_send(sh->ping, &v, GX_FOREVER) != 0)
			errors++;
		if (gx_chan_recv(sh->pong, &w, GX_FOREVER) != 1 || w != i + 1)
			errors++;
	}
	__atomic_fetch_add(&sh->errors, errors, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->wg);
}

/* ponger (B) - receives v, sends v + 1 back. */
static void ponger(void *arg)
{
	struct shared *sh = arg;
	int64_t errors = 0;

	for (long i = 0; i < sh->trips; i++) {
		int64_t v = -1;
		if (gx_chan_recv(sh->ping, &v, GX_FOREVER) != 1)
			errors++;
		v++;
		if (gx_chan_send(sh->pong, &v, GX_FOREVER) != 0)
			errors++;
	}
	__atomic_fetch_add(&sh->errors, errors, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);
	s.trips = opts[OPT_TRIPS].value;
	int rc = gx_chan_make(&s.ping, sizeof(int64_t), 0);
	if (rc == 0)
		rc = gx_chan_make(&s.pong, sizeof(int64_t), 0);
	if (rc < 0)
		bench_fail("gx_chan_make: %d", rc);

	int64_t start = bench_now_ns();
	gx_wg_add(&s.wg, 2);
	int64_t id = gx_go(pinger, &s);
	if (id >= 0)
		id = gx_go(ponger, &s);
	if (id < 0)
		bench_fail("gx_go: %" PRId64, id);
	gx_wg_wait(&s.wg);
	int64_t wall = bench_now_ns() - start;

	int64_t errors = __atomic_load_n(&s.errors, __ATOMIC_SEQ_CST);
	if (errors != 0)
		bench_fail("%" PRId64 " failed operations or wrong replies", errors);
	printf("{\"workload\":\"chan_pingpong\",\"maxprocs\":%d,\"trips\":%ld,"
	       "\"wall_ns\":%" PRId64 ",\"ns_per_roundtrip\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, s.trips, wall, (double)wall / (double)s.trips, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("chan_pingpong", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_TRIPS].value <= 0)
		bench_usage("--trips must be > 0");
	gx_main(bench_main, argc, argv);
}
