/* SPDX-License-Identifier: MIT */
/*
 * gmpx/metrics.h - what the scheduler is doing, as numbers: Go's
 * runtime/metrics for gmpx.
 *
 * Each metric has a name of the form "/class/what:unit", as Go's do
 * ("/sched/goroutines:goroutines", "/sched/latencies:seconds"), a kind
 * (a uint64, or a histogram) and a description; gx_metrics_all lists
 * them. A program asks for the ones it wants by name:
 *
 *	struct gx_metric_hist lat;
 *	struct gx_metric_sample s[] = {
 *		{.name = "/sched/goroutines:goroutines"},
 *		{.name = "/sched/latencies:seconds", .value.hist = &lat},
 *	};
 *	gx_metrics_read(s, 2);
 *	printf("%llu goroutines, p99 latency %.1f us\n",
 *	       (unsigned long long)s[0].value.u64,
 *	       gx_metric_hist_quantile(&lat, 0.99) * 1e6);
 *
 * Reading is cheap and never stops the scheduler: counters are kept per P
 * by the M that owns it and summed on reading, so a set of samples is not
 * one instant's (two counters read together may disagree by the events
 * between the two reads), as with Go's.
 *
 * The scheduling latency (/sched/latencies:seconds) is the time from a
 * goroutine becoming runnable (created, readied, preempted, yielding) to
 * its running. Unlike Go's, it counts every such event, not a sample, and
 * its buckets grow geometrically (4 per power of two of the CPU's clock,
 * at most 25% wide) with no top bucket that lumps everything above a limit
 * together: a 3-second stall shows as 3 seconds. Timing every switch costs
 * two reads of the CPU's clock (10-20 ns each: as much as a whole yield),
 * so the histogram is kept from the first gx_metrics_read that asks for
 * it (the first read returns what was counted since: nothing), or from
 * gx_main with GX_DEBUG=schedlat=1; until then it costs a predictable
 * branch. /sched/schedules:events counts every switch in any case.
 */
#ifndef GMPX_METRICS_H
#define GMPX_METRICS_H

#include <gmpx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A metric's kind: what gx_metrics_read puts in a sample's value. */
enum gx_metric_kind {
	GX_METRIC_BAD = 0,	 /* no metric of that name (value untouched) */
	GX_METRIC_UINT64 = 1,	 /* value.u64 */
	GX_METRIC_HISTOGRAM = 2, /* *value.hist, storage the caller provides */
};

/* One metric, as gx_metrics_all lists it. */
struct gx_metric_desc {
	const char *name;	 /* "/sched/goroutines:goroutines" */
	const char *description; /* one sentence */
	int kind;		 /* enum gx_metric_kind */
	bool cumulative;	 /* a count since gx_main that only grows (else a gauge) */
};

/* GX_METRIC_HIST_BUCKETS: buckets in every histogram. */
#define GX_METRIC_HIST_BUCKETS 248

/* A histogram: counts[i] events in [bounds[i], bounds[i+1]). The bounds
 * are in the metric's unit (seconds) and grow; empty buckets are included. */
struct gx_metric_hist {
	uint64_t counts[GX_METRIC_HIST_BUCKETS];
	double bounds[GX_METRIC_HIST_BUCKETS + 1];
};

/* A metric to read: the caller sets name (and value.hist for a
 * histogram); gx_metrics_read sets kind and value. */
struct gx_metric_sample {
	const char *name;
	int kind;
	union {
		uint64_t u64;
		struct gx_metric_hist *hist;
	} value;
};

/*
 * gx_metrics_all - the metrics this build has: an array of *n descriptions
 * (static storage, in a stable order). Any thread, before or after gx_main.
 */
const struct gx_metric_desc *gx_metrics_all(size_t *n);

/*
 * gx_metrics_read - read n samples by name: each sample's kind is set
 * (GX_METRIC_BAD for a name this build does not have, as Go's KindBad)
 * and, for a known one, its value. Any thread, also before gx_main (the
 * counts are then 0). Returns 0; -EINVAL if samples is NULL with n > 0 or a
 * histogram sample has no value.hist (the other samples are read all the
 * same).
 */
int gx_metrics_read(struct gx_metric_sample *samples, size_t n);

/*
 * gx_metric_hist_quantile - the value below which fraction q (0..1) of a
 * histogram's events fall, interpolated within its bucket (so exact to
 * the bucket's width, about 25%). 0 for an empty histogram or a NULL h;
 * q is clamped to 0..1.
 */
double gx_metric_hist_quantile(const struct gx_metric_hist *h, double q);

/*
 * gx_metric_hist_total - the number of events a histogram holds (0 for a
 * NULL h).
 */
uint64_t gx_metric_hist_total(const struct gx_metric_hist *h);

#ifdef __cplusplus
}
#endif

#endif /* GMPX_METRICS_H */
