// SPDX-License-Identifier: MIT
/*
 * test_metrics.c - gx_metrics_read (gmpx/metrics.h): every listed metric
 * reads with its kind; the counts move with what the test makes happen
 * (goroutines by state, created, syscalls, timers, preemptions, netpoll
 * wake-ups, hand-offs); the latency histogram, once on, counts every
 * switch, shows a known delay where it belongs and has no capped top
 * bucket; GX_DEBUG=schedlat=1 turns it on from the start.
 */
#include "gx_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t metric(const char *name)
{
	struct gx_metric_sample s = {.name = name};
	if (gx_metrics_read(&s, 1) != 0 || s.kind != GX_METRIC_UINT64) {
		fprintf(stderr, "# metric %s: kind %d\n", name, s.kind);
		return UINT64_MAX;
	}
	return s.value.u64;
}

/* ns - seconds as integer ns (the harness compares integers) */
static int64_t ns(double s)
{
	return (int64_t)(s * 1e9 + 0.5);
}

static void latencies(struct gx_metric_hist *h)
{
	struct gx_metric_sample s = {.name = "/sched/latencies:seconds", .value.hist = h};
	if (gx_metrics_read(&s, 1) != 0 || s.kind != GX_METRIC_HISTOGRAM)
		memset(h, 0, sizeof(*h));
}

/* ---- the list -------------------------------------------------------------------- */

GX_TEST(metrics_all_read_with_their_kind)
{
	size_t n = 0;
	const struct gx_metric_desc *d = gx_metrics_all(&n);
	ASSERT_NE(d, NULL);
	ASSERT_GE(n, 20u);
	static struct gx_metric_hist h;
	for (size_t i = 0; i < n; i++) {
		ASSERT_NE(d[i].name, NULL);
		EXPECT_EQ(d[i].name[0], '/');
		EXPECT_NE(strchr(d[i].name, ':'), NULL);
		EXPECT_GT(strlen(d[i].description), 10u);
		for (size_t j = 0; j < i; j++)
			EXPECT_NE(strcmp(d[i].name, d[j].name), 0);
		struct gx_metric_sample s = {.name = d[i].name, .value.hist = &h};
		EXPECT_EQ(gx_metrics_read(&s, 1), 0);
		EXPECT_EQ(s.kind, d[i].kind);
	}
}

GX_TEST(metrics_bad_input)
{
	struct gx_metric_sample s[3] = {
		{.name = "/no/such:thing", .value.u64 = 77},
		{.name = NULL},
		{.name = "/sched/gomaxprocs:threads"},
	};
	EXPECT_EQ(gx_metrics_read(s, 3), 0);
	EXPECT_EQ(s[0].kind, GX_METRIC_BAD);
	EXPECT_EQ(s[0].value.u64, 77u); /* untouched */
	EXPECT_EQ(s[1].kind, GX_METRIC_BAD);
	EXPECT_EQ(s[2].kind, GX_METRIC_UINT64);
	EXPECT_EQ(s[2].value.u64, (uint64_t)gx_maxprocs(0));
	EXPECT_EQ(gx_metrics_read(NULL, 1), -EINVAL);
	EXPECT_EQ(gx_metrics_read(NULL, 0), 0);
	/* a histogram without storage: -EINVAL, the others still read */
	struct gx_metric_sample t[2] = {{.name = "/sched/latencies:seconds"}, {.name = "/sched/gomaxprocs:threads"}};
	EXPECT_EQ(gx_metrics_read(t, 2), -EINVAL);
	EXPECT_EQ(t[0].kind, GX_METRIC_HISTOGRAM);
	EXPECT_EQ(t[1].value.u64, (uint64_t)gx_maxprocs(0));
	EXPECT_EQ(gx_metric_hist_quantile(NULL, 0.5), 0.0);
	EXPECT_EQ(gx_metric_hist_total(NULL), 0u);
}

/* ---- goroutines ------------------------------------------------------------------ */

#define PARKED 100
static gx_chan *park_ch;
static gx_waitgroup park_wg;

static void parker(void *arg)
{
	(void)arg;
	gx_chan_recv(park_ch, NULL, GX_FOREVER);
	gx_wg_done(&park_wg);
}

GX_TEST(metrics_count_goroutines_by_state)
{
	ASSERT_EQ(gx_chan_make(&park_ch, 0, 0), 0);
	uint64_t g0 = metric("/sched/goroutines:goroutines"), c0 = metric("/sched/goroutines-created:goroutines");
	uint64_t w0 = metric("/sched/goroutines/waiting:goroutines");
	gx_wg_add(&park_wg, PARKED);
	for (int i = 0; i < PARKED; i++)
		ASSERT_GT(gx_go(parker, NULL), 0);
	/* all of them parked */
	int64_t until = gx_now() + gxt_slack(5 * GX_SEC);
	while (metric("/sched/goroutines/waiting:goroutines") < w0 + PARKED && gx_now() < until)
		gx_sleep(GX_MS);
	EXPECT_GE(metric("/sched/goroutines/waiting:goroutines"), w0 + PARKED);
	EXPECT_EQ(metric("/sched/goroutines:goroutines"), g0 + PARKED);
	EXPECT_EQ(metric("/sched/goroutines-created:goroutines"), c0 + PARKED);
	EXPECT_GE(metric("/sched/goroutines/running:goroutines"), 1u); /* this one */
	ASSERT_EQ(gx_chan_close(park_ch), 0);
	gx_wg_wait(&park_wg);
	until = gx_now() + gxt_slack(5 * GX_SEC);
	while (metric("/sched/goroutines:goroutines") > g0 && gx_now() < until)
		gx_sleep(GX_MS);
	EXPECT_EQ(metric("/sched/goroutines:goroutines"), g0);
	EXPECT_EQ(metric("/sched/goroutines-created:goroutines"), c0 + PARKED); /* cumulative */
	gx_chan_free(park_ch);
}

GX_TEST_PROCS(metrics_count_threads_and_procs, 2, 30)
{
	EXPECT_EQ(metric("/sched/gomaxprocs:threads"), 2u);
	EXPECT_GE(metric("/sched/threads/total:threads"), 1u);
	uint64_t idle = metric("/sched/procs/idle:procs");
	EXPECT_LE(idle, 1u); /* this goroutine holds one */
	EXPECT_LE(metric("/sched/threads/idle:threads"), metric("/sched/threads/total:threads"));
	EXPECT_LE(metric("/sched/threads/spinning:threads"), 2u);
}

/* ---- the latency histogram ---------------------------------------------------------- */

static _Atomic int64_t ran_at;

/* mono_ns - gx_now's clock, read without entering the runtime */
static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * GX_SEC + ts.tv_nsec;
}

static void note_run(void *arg)
{
	(void)arg;
	ran_at = gx_now();
}

/* One P: a goroutine made runnable while main spins for DELAY without a
 * call waits about that long (or until sysmon preempts the spinner);
 * the histogram must hold an event of at least most of that wait. */
GX_TEST_PROCS(metrics_latency_shows_a_delay, 1, 30)
{
	const int64_t delay = 30 * GX_MS;
	static struct gx_metric_hist h0, h1;
	latencies(&h0); /* turns the histogram on */
	ran_at = 0;
	gx_yield(); /* a fresh slice: no preemption asked before the spin yields at gx_go */
	int64_t t0 = gx_now();
	ASSERT_GT(gx_go(note_run, NULL), 0);
	/* no preemption (and no runtime call, where a cooperative one would
	 * land): the whole delay is latency */
	gx_nopreempt_begin();
	while (mono_ns() - t0 < delay)
		;
	gx_nopreempt_end();
	int64_t until = gx_now() + gxt_slack(5 * GX_SEC);
	while (!ran_at && gx_now() < until)
		gx_yield();
	ASSERT_NE(ran_at, 0);
	int64_t waited = ran_at - t0;
	latencies(&h1);
	for (int i = 0; i < GX_METRIC_HIST_BUCKETS; i++) {
		ASSERT_GE(h1.counts[i], h0.counts[i]); /* cumulative */
		h1.counts[i] -= h0.counts[i];
	}
	EXPECT_GE(gx_metric_hist_total(&h1), 2u); /* note_run, and main after its yield */
	double top = gx_metric_hist_quantile(&h1, 1.0);
	TH_LOG("waited %lld us; top bucket ends at %.0f us; events %llu", (long long)(waited / GX_US), top * 1e6,
	       (unsigned long long)gx_metric_hist_total(&h1));
	/* the bucket that holds the delay: within its 25% width of the wait
	 * (the tick rate is measured: allow 10% more) */
	ASSERT_GE(waited, delay); /* it ran after the spin */
	EXPECT_GE(ns(top), waited * 8 / 10);
	EXPECT_LE(ns(top), waited * 14 / 10 + GX_MS);
	/* bounds grow, start at 0 and end beyond any wait (no capped top) */
	EXPECT_EQ(ns(h1.bounds[0]), 0);
	for (int i = 0; i < GX_METRIC_HIST_BUCKETS; i++)
		ASSERT_TRUE(h1.bounds[i] < h1.bounds[i + 1]);
	EXPECT_GT(ns(h1.bounds[GX_METRIC_HIST_BUCKETS]), 100000 * GX_SEC); /* 2^64 ticks: centuries */
	EXPECT_LT(ns(h1.bounds[4]), 10);				   /* 4 ticks: nanoseconds */
}

#define PINGS 2000
static gx_chan *ping, *pong;
static gx_waitgroup pong_wg;

static void ponger(void *arg)
{
	(void)arg;
	int v;
	while (gx_chan_recv(ping, &v, GX_FOREVER) == 1)
		gx_chan_send(pong, &v, GX_FOREVER);
	gx_wg_done(&pong_wg);
}

/* A ping-pong switches at least twice per round: every one is an event. */
GX_TEST_PROCS(metrics_latency_counts_every_switch, 1, 30)
{
	ASSERT_EQ(gx_chan_make(&ping, sizeof(int), 0), 0);
	ASSERT_EQ(gx_chan_make(&pong, sizeof(int), 0), 0);
	gx_wg_add(&pong_wg, 1);
	ASSERT_GT(gx_go(ponger, NULL), 0);
	static struct gx_metric_hist h0, h;
	latencies(&h0); /* turns the histogram on */
	uint64_t s0 = metric("/sched/schedules:events");
	for (int i = 0; i < PINGS; i++) {
		ASSERT_EQ(gx_chan_send(ping, &i, GX_FOREVER), 0);
		int v;
		ASSERT_EQ(gx_chan_recv(pong, &v, GX_FOREVER), 1);
	}
	latencies(&h);
	uint64_t s1 = metric("/sched/schedules:events");
	uint64_t events = gx_metric_hist_total(&h) - gx_metric_hist_total(&h0);
	TH_LOG("%d rounds: %llu schedules, %llu latency events", PINGS, (unsigned long long)(s1 - s0),
	       (unsigned long long)events);
	EXPECT_GE(s1 - s0, 2u * PINGS);
	EXPECT_LE(s1 - s0, 4u * PINGS + 100);
	/* every switch an event, but for the Gs made runnable before it was
	 * turned on (ponger, at most once) */
	EXPECT_LE(events, s1 - s0);
	EXPECT_GE(events + 2, s1 - s0);
	double p50 = gx_metric_hist_quantile(&h, 0.5);
	TH_LOG("p50 %.0f ns", p50 * 1e9);
	EXPECT_TRUE(p50 > 0);
	EXPECT_LT(ns(p50), 10 * GX_MS); /* a ping-pong on one P waits no 10 ms */
	gx_chan_close(ping);
	gx_wg_wait(&pong_wg);
	gx_chan_free(ping);
	gx_chan_free(pong);
}

GX_TEST(metrics_hist_quantile)
{
	static struct gx_metric_hist h;
	memset(&h, 0, sizeof(h));
	for (int i = 0; i <= GX_METRIC_HIST_BUCKETS; i++)
		h.bounds[i] = i; /* bucket i is [i, i+1) */
	h.counts[10] = 50;
	h.counts[20] = 50;
	EXPECT_EQ(gx_metric_hist_total(&h), 100u);
	/* in hundredths (the harness compares integers) */
#define Q100(q) ((int64_t)(gx_metric_hist_quantile(&h, (q)) * 100 + 0.5))
	EXPECT_EQ(Q100(0.0), 1000);
	EXPECT_EQ(Q100(0.25), 1050);
	EXPECT_EQ(Q100(0.5), 1100);
	EXPECT_EQ(Q100(0.75), 2050);
	EXPECT_EQ(Q100(1.0), 2100);
	EXPECT_EQ(Q100(7.0), 2100); /* clamped */
	EXPECT_EQ(Q100(-1.0), 1000);
#undef Q100
}

/* ---- event counters ---------------------------------------------------------------- */

GX_TEST(metrics_count_timers_and_syscalls)
{
	uint64_t t0 = metric("/sched/timers/fired:timers"), y0 = metric("/sched/syscalls:calls");
	for (int i = 0; i < 5; i++)
		gx_sleep(GX_MS);
	EXPECT_GE(metric("/sched/timers/fired:timers"), t0 + 5);
	char c;
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	ASSERT_EQ(write(fds[1], "x", 1), 1);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(gx_sys_write(fds[1], "x", 1), 1);
	ASSERT_EQ(gx_sys_read(fds[0], &c, 1), 1);
	EXPECT_GE(metric("/sched/syscalls:calls"), y0 + 4);
	close(fds[0]);
	close(fds[1]);
}

static int np_fd;

static void np_writer(void *arg)
{
	(void)arg;
	gx_sleep(5 * GX_MS);
	gx_write(np_fd, "y", 1, GX_FOREVER);
}

GX_TEST(metrics_count_netpoll_wakeups)
{
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_EQ(gx_fd_open(sv[0]), 0);
	ASSERT_EQ(gx_fd_open(sv[1]), 0);
	uint64_t n0 = metric("/sched/netpoll/ready:goroutines");
	np_fd = sv[1];
	ASSERT_GT(gx_go(np_writer, NULL), 0);
	char c;
	ASSERT_EQ(gx_read(sv[0], &c, 1, gx_now() + gxt_slack(5 * GX_SEC)), 1);
	EXPECT_GE(metric("/sched/netpoll/ready:goroutines"), n0 + 1);
	gx_fd_close(sv[0]);
	gx_fd_close(sv[1]);
}

static _Atomic bool spin_stop;

static void call_free_spinner(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
}

/* One P, a spinner and main asleep: main can run again only if the
 * spinner is preempted; the preemption counts must show it. */
GX_TEST_PROCS(metrics_count_preemptions, 1, 30)
{
	if (!gx_test_async_preempt_enabled())
		SKIP(return, "asynchronous preemption is off here (TSan or asyncpreemptoff)");
	uint64_t a0 = metric("/sched/preemptions/async:events") + metric("/sched/preemptions/cooperative:events");
	spin_stop = false;
	ASSERT_GT(gx_go(call_free_spinner, NULL), 0);
	gx_sleep(50 * GX_MS);
	spin_stop = true;
	uint64_t a1 = metric("/sched/preemptions/async:events") + metric("/sched/preemptions/cooperative:events");
	TH_LOG("preemptions %llu", (unsigned long long)(a1 - a0));
	EXPECT_GE(a1, a0 + 1);
}

/* handoffs - Ps given to another M: by handoffp, or (scx mode) taken by
 * the P's standby when the kernel saw its M block first */
static uint64_t handoffs(void)
{
	return metric("/sched/handoffs:events") + metric("/kassist/standby/takes:events");
}

/* A wrapped call that blocks the thread hands its P off: the count moves. */
GX_TEST_PROCS(metrics_count_handoffs, 1, 30)
{
	uint64_t h0 = handoffs();
	ASSERT_EQ(gx_sys_sleep(20 * GX_MS), 0);
	EXPECT_GE(handoffs(), h0 + 1);
	EXPECT_EQ(metric("/kassist/fallbacks:events"), 0u);
	EXPECT_EQ(metric("/kassist/mode:mode"), (uint64_t)gx_kassist_mode());
}

/* Off until asked for (two TSC reads a switch are not free): nothing is
 * counted before the first read; GX_DEBUG=schedlat=1 counts from the start
 * (checked in a child of the harness, not of the runtime: the setting is
 * read at gx_main). */
static int schedlat_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (int i = 0; i < 100; i++)
		gx_yield();
	static struct gx_metric_hist h;
	latencies(&h);
	printf("events %llu\n", (unsigned long long)gx_metric_hist_total(&h));
	fflush(stdout);
	return 0;
}

static uint64_t schedlat_events(const char *const *env)
{
	char out[4096];
	int st;
	if (gxt_capture_main(schedlat_main, env, out, sizeof(out), &st, 30) != 0 || gxt_exit_status(st) != 0)
		return UINT64_MAX;
	const char *e = strstr(out, "events ");
	return e ? strtoull(e + 7, NULL, 10) : UINT64_MAX;
}

TEST_TIMEOUT(metrics_latency_on_demand, 60)
{
	static const char *const on[] = {"GX_DEBUG=schedlat=1", NULL};
	uint64_t off_events = schedlat_events(NULL), on_events = schedlat_events(on);
	TH_LOG("events before the first read: %llu by default, %llu with schedlat=1", (unsigned long long)off_events,
	       (unsigned long long)on_events);
	EXPECT_EQ(off_events, 0u);
	ASSERT_NE(on_events, UINT64_MAX);
	EXPECT_GE(on_events,
		  1u); /* main's first run at least; its yields with nothing else to run may switch to itself */
}
