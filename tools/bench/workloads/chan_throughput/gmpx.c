/* SPDX-License-Identifier: MIT */
/*
 * chan_throughput: items per second through one buffered channel.
 *
 * Definition (identical in tools/bench/workloads/chan_throughput/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 2), --items=N (default
 *    10,000,000), --producers=K and --consumers=C (the runner uses 1 and 1,
 *    and 4 and 4), --cap=B (the channel's capacity; default 1024).
 *  - One channel of int64 with capacity B, made before the timed region.
 *  - Timed region: main starts C consumers, then K producers, each with a
 *    pointer to a shared struct; then it waits on the producers' waitgroup,
 *    closes the channel, and waits on the consumers' waitgroup.
 *    Producer p (0..K-1) sends the int64 values i for i in
 *    [p*N/K, (p+1)*N/K), in order, then gx_wg_done. A consumer receives
 *    until the channel is closed and drained, summing the values and
 *    counting them locally, then adds its sum and count to shared atomic
 *    totals and calls gx_wg_done.
 *  - Report: ns_per_item = wall time of the timed region / N.
 *  - Verify: total count == N, total sum == N*(N-1)/2, and no send or
 *    receive failed.
 *
 * Output: {"workload":"chan_throughput","maxprocs":P,"items":N,"producers":K,"consumers":C,
 *          "cap":B,"wall_ns":...,"ns_per_item":...}
 */
#include "bench.h"

/* DEFAULT_ITEMS is the number of values sent (in all) in a full run. */
#define DEFAULT_ITEMS 10000000

/* DEFAULT_CAP is the capacity of the channel. */
#define DEFAULT_CAP 1024

/* MAX_GOROUTINES bounds --producers and --consumers. */
#define MAX_GOROUTINES 4096

enum { OPT_MAXPROCS, OPT_ITEMS, OPT_PRODUCERS, OPT_CONSUMERS, OPT_CAP };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},   [OPT_ITEMS] = {"items", DEFAULT_ITEMS}, [OPT_PRODUCERS] = {"producers", 1},
	[OPT_CONSUMERS] = {"consumers", 1}, [OPT_CAP] = {"cap", DEFAULT_CAP},
};

struct shared {
	int64_t items;
	int64_t producers;
	gx_chan *ch;
	int64_t next_producer; /* hands each producer its index */
	int64_t sum, count;    /* totals of the consumers, for verification */
	int64_t errors;	       /* failed sends and receives */
	gx_waitgroup producers_wg, consumers_wg;
};

static struct shared s = {.producers_wg = GX_WAITGROUP_INIT, .consumers_wg = GX_WAITGROUP_INIT};

static void producer(void *arg)
{
	struct shared *sh = arg;
	int64_t p = __atomic_fetch_add(&sh->next_producer, 1, __ATOMIC_SEQ_CST);
	int64_t lo = p * sh->items / sh->producers;
	int64_t hi = (p + 1) * sh->items / sh->producers;
	int64_t errors = 0;

	for (int64_t i = lo; i < hi; i++) {
		if (gx_chan_send(sh->ch, &i, GX_FOREVER) != 0)
			errors++;
	}
	if (errors)
		__atomic_fetch_add(&sh->errors, errors, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->producers_wg);
}

static void consumer(void *arg)
{
	struct shared *sh = arg;
	int64_t sum = 0, count = 0, v;
	int rc;

	while ((rc = gx_chan_recv(sh->ch, &v, GX_FOREVER)) == 1) {
		sum += v;
		count++;
	}
	if (rc != 0)
		__atomic_fetch_add(&sh->errors, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&sh->sum, sum, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&sh->count, count, __ATOMIC_SEQ_CST);
	gx_wg_done(&sh->consumers_wg);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);
	long consumers = opts[OPT_CONSUMERS].value;
	long cap = opts[OPT_CAP].value;
	s.items = opts[OPT_ITEMS].value;
	s.producers = opts[OPT_PRODUCERS].value;
	int rc = gx_chan_make(&s.ch, sizeof(int64_t), (size_t)cap);
	if (rc < 0)
		bench_fail("gx_chan_make: %d", rc);

	int64_t start = bench_now_ns();
	gx_wg_add(&s.consumers_wg, (int)consumers);
	for (long i = 0; i < consumers; i++) {
		int64_t id = gx_go(consumer, &s);
		if (id < 0)
			bench_fail("gx_go: %" PRId64, id);
	}
	gx_wg_add(&s.producers_wg, (int)s.producers);
	for (long i = 0; i < s.producers; i++) {
		int64_t id = gx_go(producer, &s);
		if (id < 0)
			bench_fail("gx_go: %" PRId64, id);
	}
	gx_wg_wait(&s.producers_wg);
	rc = gx_chan_close(s.ch);
	if (rc < 0)
		bench_fail("gx_chan_close: %d", rc);
	gx_wg_wait(&s.consumers_wg);
	int64_t wall = bench_now_ns() - start;

	int64_t count = __atomic_load_n(&s.count, __ATOMIC_SEQ_CST);
	int64_t sum = __atomic_load_n(&s.sum, __ATOMIC_SEQ_CST);
	int64_t errors = __atomic_load_n(&s.errors, __ATOMIC_SEQ_CST);
	int64_t want_sum = s.items * (s.items - 1) / 2;
	if (errors != 0)
		bench_fail("%" PRId64 " failed sends or receives", errors);
	if (count != s.items || sum != want_sum)
		bench_fail("received %" PRId64 " values summing to %" PRId64 ", want %" PRId64 " summing to %" PRId64,
			   count, sum, s.items, want_sum);
	printf("{\"workload\":\"chan_throughput\",\"maxprocs\":%d,\"items\":%" PRId64 ",\"producers\":%" PRId64
	       ",\"consumers\":%ld,\"cap\":%ld,"
	       "\"wall_ns\":%" PRId64 ",\"ns_per_item\":%.3f,\"kassist\":\"%s\"}\n",
	       maxprocs, s.items, s.producers, consumers, cap, wall, (double)wall / (double)s.items, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("chan_throughput", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_ITEMS].value <= 0 || opts[OPT_ITEMS].value > 3000000000L)
		bench_usage("--items must be in [1, 3e9]");
	if (opts[OPT_PRODUCERS].value <= 0 || opts[OPT_PRODUCERS].value > MAX_GOROUTINES ||
	    opts[OPT_CONSUMERS].value <= 0 || opts[OPT_CONSUMERS].value > MAX_GOROUTINES)
		bench_usage("--producers and --consumers must be in [1, %d]", MAX_GOROUTINES);
	if (opts[OPT_CAP].value <= 0 || opts[OPT_CAP].value > (1L << 30))
		bench_usage("--cap must be in [1, 2^30]");
	gx_main(bench_main, argc, argv);
}
