/* SPDX-License-Identifier: MIT */
/*
 * chan_pingpong (pthreads): the latency of a round trip between two
 * threads. The analogue of tools/bench/workloads/chan_pingpong/gmpx.c: each unbuffered
 * channel becomes a one-slot mailbox {pthread_mutex, pthread_cond, full,
 * value}: send waits while the slot is full, stores, sets full and
 * signals; receive waits while it is empty, takes, clears full and
 * signals. (A send does not wait for the receiver to take the value, as an
 * unbuffered channel's does; in a ping-pong it makes no difference, as the
 * sender's next step is to wait for the reply.) A thread waiting in
 * pthread_cond_wait sleeps on a futex: each hand-off is a kernel wake-up,
 * where gmpx and Go switch goroutines in user space.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 1 and 2), --trips=T
 *    (round trips; default 1,000,000).
 *  - Timed region: main creates the pinger A and the ponger B and joins
 *    them. For i in 0..T-1: A sends i on ping, B receives v from ping and
 *    sends v + 1 on pong, A receives w from pong and counts an error unless
 *    w == i + 1.
 *  - Report: ns_per_roundtrip = wall time / T.
 *  - Verify: every reply was right (errors == 0).
 *
 * Output: {"workload":"chan_pingpong","maxprocs":P,"trips":T,"wall_ns":...,"ns_per_roundtrip":...}
 */
#include "pt_bench.h"

enum { OPT_MAXPROCS, OPT_TRIPS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_TRIPS] = {"trips", 1000000},
};

struct mailbox {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool full;
	int64_t value;
};
#define MAILBOX_INIT                                                          \
	{                                                                     \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 \
	}

static struct mailbox ping = MAILBOX_INIT, pong = MAILBOX_INIT;
static long trips;
static int64_t errors;

static void mb_send(struct mailbox *mb, int64_t v)
{
	pthread_mutex_lock(&mb->mu);
	while (mb->full)
		pthread_cond_wait(&mb->cv, &mb->mu);
	mb->value = v;
	mb->full = true;
	pthread_cond_signal(&mb->cv);
	pthread_mutex_unlock(&mb->mu);
}

static int64_t mb_recv(struct mailbox *mb)
{
	pthread_mutex_lock(&mb->mu);
	while (!mb->full)
		pthread_cond_wait(&mb->cv, &mb->mu);
	int64_t v = mb->value;
	mb->full = false;
	pthread_cond_signal(&mb->cv);
	pthread_mutex_unlock(&mb->mu);
	return v;
}

static void *pinger(void *arg)
{
	(void)arg;
	int64_t bad = 0;
	for (long i = 0; i < trips; i++) {
		mb_send(&ping, i);
		if (mb_recv(&pong) != i + 1)
			bad++;
	}
	__atomic_fetch_add(&errors, bad, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *ponger(void *arg)
{
	(void)arg;
	for (long i = 0; i < trips; i++)
		mb_send(&pong, mb_recv(&ping) + 1);
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("chan_pingpong", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	trips = opts[OPT_TRIPS].value;
	if (trips <= 0)
		bench_usage("--trips must be > 0");
	pthread_t a, b;

	int64_t start = bench_now_ns();
	pt_start(&a, pinger, NULL, 0, false, NULL);
	pt_start(&b, ponger, NULL, 0, false, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	int64_t wall = bench_now_ns() - start;

	if (errors)
		bench_fail("%" PRId64 " wrong replies", errors);
	printf("{\"workload\":\"chan_pingpong\",\"maxprocs\":%d,\"trips\":%ld,\"wall_ns\":%" PRId64
	       ",\"ns_per_roundtrip\":%.3f}\n",
	       cpus, trips, wall, (double)wall / (double)trips);
	return 0;
}
