/* SPDX-License-Identifier: MIT */
/*
 * chan_throughput (pthreads): items per second through one bounded queue.
 * The analogue of tools/bench/workloads/chan_throughput/gmpx.c: the buffered channel is
 * the textbook bounded buffer, a ring of B int64s under one pthread_mutex
 * with two condition variables (not_full, not_empty) and a closed flag;
 * goroutines are threads.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 2), --items=N (default
 *    10,000,000), --producers=K, --consumers=C, --cap=B (default 1024).
 *  - Timed region: main creates C consumers, then K producers; joins the
 *    producers, closes the queue (sets closed, broadcasts not_empty), joins
 *    the consumers. Producer p sends the values i in [p*N/K, (p+1)*N/K) in
 *    order (waiting on not_full while the ring is full; signalling
 *    not_empty after each store). A consumer takes values until the queue
 *    is closed and empty (waiting on not_empty; signalling not_full after
 *    each take), sums and counts them, then adds them to shared totals.
 *  - Report: ns_per_item = wall time / N.
 *  - Verify: total count == N and total sum == N*(N-1)/2.
 *
 * Output: {"workload":"chan_throughput","maxprocs":P,"items":N,"producers":K,"consumers":C,
 *          "cap":B,"wall_ns":...,"ns_per_item":...}
 */
#include "pt_bench.h"

#define MAX_THREADS 4096

enum { OPT_MAXPROCS, OPT_ITEMS, OPT_PRODUCERS, OPT_CONSUMERS, OPT_CAP };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},   [OPT_ITEMS] = {"items", 10000000}, [OPT_PRODUCERS] = {"producers", 1},
	[OPT_CONSUMERS] = {"consumers", 1}, [OPT_CAP] = {"cap", 1024},
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	int64_t *ring;
	long cap, head, len;
	bool closed;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, false};

static int64_t items, producers, next_producer, total_sum, total_count;

static void *producer(void *arg)
{
	(void)arg;
	int64_t p = __atomic_fetch_add(&next_producer, 1, __ATOMIC_SEQ_CST);
	int64_t lo = p * items / producers, hi = (p + 1) * items / producers;
	for (int64_t i = lo; i < hi; i++) {
		pthread_mutex_lock(&q.mu);
		while (q.len == q.cap)
			pthread_cond_wait(&q.not_full, &q.mu);
		q.ring[(q.head + q.len) % q.cap] = i;
		q.len++;
		pthread_cond_signal(&q.not_empty);
		pthread_mutex_unlock(&q.mu);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	int64_t sum = 0, count = 0;
	for (;;) {
		pthread_mutex_lock(&q.mu);
		while (q.len == 0 && !q.closed)
			pthread_cond_wait(&q.not_empty, &q.mu);
		if (q.len == 0) {
			pthread_mutex_unlock(&q.mu);
			break;
		}
		int64_t v = q.ring[q.head];
		q.head = (q.head + 1) % q.cap;
		q.len--;
		pthread_cond_signal(&q.not_full);
		pthread_mutex_unlock(&q.mu);
		sum += v;
		count++;
	}
	__atomic_fetch_add(&total_sum, sum, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&total_count, count, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("chan_throughput", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	items = opts[OPT_ITEMS].value;
	producers = opts[OPT_PRODUCERS].value;
	long consumers = opts[OPT_CONSUMERS].value;
	q.cap = opts[OPT_CAP].value;
	if (items <= 0 || items > 3000000000L)
		bench_usage("--items must be in [1, 3e9]");
	if (producers <= 0 || producers > MAX_THREADS || consumers <= 0 || consumers > MAX_THREADS)
		bench_usage("--producers and --consumers must be in [1, %d]", MAX_THREADS);
	if (q.cap <= 0 || q.cap > (1L << 30))
		bench_usage("--cap must be in [1, 2^30]");
	q.ring = calloc((size_t)q.cap, sizeof(int64_t));
	pthread_t *th = calloc((size_t)(producers + consumers), sizeof(*th));
	if (!q.ring || !th)
		bench_fail("out of memory");

	int64_t start = bench_now_ns();
	for (long i = 0; i < consumers; i++)
		pt_start(&th[i], consumer, NULL, 0, false, NULL);
	for (long i = 0; i < producers; i++)
		pt_start(&th[consumers + i], producer, NULL, 0, false, NULL);
	for (long i = 0; i < producers; i++)
		pthread_join(th[consumers + i], NULL);
	pthread_mutex_lock(&q.mu);
	q.closed = true;
	pthread_cond_broadcast(&q.not_empty);
	pthread_mutex_unlock(&q.mu);
	for (long i = 0; i < consumers; i++)
		pthread_join(th[i], NULL);
	int64_t wall = bench_now_ns() - start;

	if (total_count != items || total_sum != items * (items - 1) / 2)
		bench_fail("received %" PRId64 " values summing to %" PRId64 ", want %" PRId64, total_count, total_sum,
			   items);
	printf("{\"workload\":\"chan_throughput\",\"maxprocs\":%d,\"items\":%" PRId64 ",\"producers\":%" PRId64
	       ",\"consumers\":%ld,\"cap\":%ld,\"wall_ns\":%" PRId64 ",\"ns_per_item\":%.3f}\n",
	       cpus, items, producers, consumers, q.cap, wall, (double)wall / (double)items);
	return 0;
}
