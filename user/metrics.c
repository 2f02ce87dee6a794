// SPDX-License-Identifier: MIT
/*
 * metrics.c - gx_metrics_read: the scheduler's counters and gauges by
 * name, as Go's runtime/metrics has them (gmpx/metrics.h).
 *
 * Where the numbers live:
 *  - Per P, written by the M that holds the P with plain (relaxed) stores,
 *    so counting costs no atomic read-modify-write and no shared cache
 *    line: the scheduling-latency histogram (execute and switchto record
 *    every Grunnable -> Grunning), syscalls, Gs stolen, cooperative
 *    preemptions, timers fired (under the P's timerslock, as a stealing M
 *    may run another P's timers).
 *  - gx_rtstats, atomics: the rare events counted by whoever has no P of
 *    its own (hand-offs, netpoll wake-ups, fallbacks).
 *  - The scheduler's own fields (gomaxprocs, idle Ps, Ms under sched.lock,
 *    the global queue), the kernel-assist's shared header (gmpx/kabi.h),
 *    and, for goroutines by state, a walk of every G (the one read that
 *    is not O(Ps): a million goroutines take a few milliseconds).
 *
 * A read sums the Ps' counters without stopping them: counts read
 * together may differ by the events that happened between the reads
 * (Go's have the same property). Ps are never freed (procresize keeps a
 * retired P in allp), so nothing counted is lost when GOMAXPROCS shrinks.
 *
 * Latency is kept in gx_cputicks (the TSC): one rdtsc when a G becomes
 * runnable (setgstatus / casgstatus), one when it runs. Those two reads
 * cost ~20 ns per switch, as much as a whole yield, so a program pays
 * them only once it wants the histogram: from its first read of
 * /sched/latencies:seconds (which turns it on for good) or from the start
 * with GX_DEBUG=schedlat=1; until then each site is one predictable
 * branch, and /sched/schedules:events counts every switch regardless. The histogram's
 * bounds are converted to seconds on reading with the rate measured since
 * gx_main (gx_sched.starttime and startticks), which needs no calibration
 * on the hot path and is exact to 1e-6 after a second of running.
 */
#include "runtime.h"
#include "kslot.h"

#include <errno.h>
#include <string.h>

struct gx_rtstats gx_rtstats;
_Atomic bool gx_schedlat_on;

enum metric_id {
	M_GOROUTINES,
	M_CREATED,
	M_RUNNABLE,
	M_RUNNING,
	M_WAITING,
	M_SYSCALL,
	M_GOMAXPROCS,
	M_PIDLE,
	M_THREADS,
	M_THREADS_IDLE,
	M_THREADS_SPINNING,
	M_RUNQ_GLOBAL,
	M_RUNQ_LOCAL,
	M_LATENCIES,
	M_SCHEDULES,
	M_SYSCALLS,
	M_HANDOFFS,
	M_PREEMPT_COOP,
	M_PREEMPT_ASYNC,
	M_STEALS,
	M_NETPOLL,
	M_TIMERS_FIRED,
	M_TIMERS_PENDING,
	M_KA_MODE,
	M_KA_FALLBACKS,
	M_KA_EVENTS,
	M_KA_DROPS,
	M_KA_HANDOFFS,
	M_KA_REVOKES,
	M_KA_STANDBY_TAKES,
	M_KA_STANDBY_DISPATCHES,
	M_COUNT
};

#define U GX_METRIC_UINT64
static const struct gx_metric_desc descs[M_COUNT] = {
	[M_GOROUTINES] = {"/sched/goroutines:goroutines", "Goroutines alive (created and not yet exited).", U, false},
	[M_CREATED] = {"/sched/goroutines-created:goroutines", "Goroutines created since gx_main.", U, true},
	[M_RUNNABLE] = {"/sched/goroutines/runnable:goroutines", "Goroutines ready to run, in a run queue.", U, false},
	[M_RUNNING] = {"/sched/goroutines/running:goroutines", "Goroutines running on an M.", U, false},
	[M_WAITING] = {"/sched/goroutines/waiting:goroutines",
		       "Goroutines parked (channel, lock, sleep, I/O, select...).", U, false},
	[M_SYSCALL] = {"/sched/goroutines/not-in-go:goroutines",
		       "Goroutines in a system call (gx_syscall_enter) or a blocking call wrapped as one.", U, false},
	[M_GOMAXPROCS] = {"/sched/gomaxprocs:threads", "GOMAXPROCS: the Ps that run goroutines.", U, false},
	[M_PIDLE] = {"/sched/procs/idle:procs", "Ps with no M (nothing to run).", U, false},
	[M_THREADS] = {"/sched/threads/total:threads", "Ms (OS threads) the runtime has started, sysmon included.", U,
		       false},
	[M_THREADS_IDLE] = {"/sched/threads/idle:threads", "Ms parked with no P, waiting for work.", U, false},
	[M_THREADS_SPINNING] = {"/sched/threads/spinning:threads", "Ms looking for work to steal before they park.", U,
				false},
	[M_RUNQ_GLOBAL] = {"/sched/runqueue/global:goroutines", "Goroutines in the global run queue.", U, false},
	[M_RUNQ_LOCAL] = {"/sched/runqueue/local:goroutines", "Goroutines in the Ps' local run queues and runnext.", U,
			  false},
	[M_LATENCIES] = {"/sched/latencies:seconds",
			 "Time from a goroutine becoming runnable to its running: every event, no capped top bucket.",
			 GX_METRIC_HISTOGRAM, true},
	[M_SCHEDULES] = {"/sched/schedules:events", "Goroutines switched to (the events in /sched/latencies).", U,
			 true},
	[M_SYSCALLS] = {"/sched/syscalls:calls", "System calls entered through gx_syscall_enter (wrapped calls).", U,
			true},
	[M_HANDOFFS] = {"/sched/handoffs:events",
			"Ps handed to another M (an M blocked in a syscall or the kernel, or a P given away).", U,
			true},
	[M_PREEMPT_COOP] = {"/sched/preemptions/cooperative:events",
			    "Goroutines that yielded at a preemption check after overrunning their slice.", U, true},
	[M_PREEMPT_ASYNC] = {"/sched/preemptions/async:events",
			     "Goroutines stopped by a preemption signal after overrunning their slice.", U, true},
	[M_STEALS] = {"/sched/steals:goroutines", "Goroutines taken from another P's run queue.", U, true},
	[M_NETPOLL] = {"/sched/netpoll/ready:goroutines", "Goroutines the netpoller made runnable (I/O ready).", U,
		       true},
	[M_TIMERS_FIRED] = {"/sched/timers/fired:timers", "Timers that fired (sleeps, deadlines, gx_timer, tickers).",
			    U, true},
	[M_TIMERS_PENDING] = {"/sched/timers/pending:timers", "Timers armed and not yet due.", U, false},
	[M_KA_MODE] = {"/kassist/mode:mode", "The kernel assist in effect: 0 off, 1 trace, 2 scx (GX_KASSIST_*).", U,
		       false},
	[M_KA_FALLBACKS] = {"/kassist/fallbacks:events",
			    "Falls back from trace or scx to off mode (the daemon died, the scheduler was ejected).", U,
			    true},
	[M_KA_EVENTS] = {"/kassist/events:events", "Kernel events the BPF programs sent (an M blocked, a preemption).",
			 U, true},
	[M_KA_DROPS] = {"/kassist/drops:events", "Kernel events lost to a full ring buffer.", U, true},
	[M_KA_HANDOFFS] = {"/kassist/handoffs:events", "Ps handed off because the kernel reported their M blocked.", U,
			   true},
	[M_KA_REVOKES] = {"/kassist/revokes:events",
			  "Ps taken from an M blocked in a call nobody wrapped (of /kassist/handoffs).", U, true},
	[M_KA_STANDBY_TAKES] = {"/kassist/standby/takes:events", "scx: Ps taken over by their standby M.", U, true},
	[M_KA_STANDBY_DISPATCHES] = {"/kassist/standby/dispatches:events",
				     "scx: standby Ms the BPF scheduler put on a CPU for a blocked owner.", U, true},
};
#undef U

const struct gx_metric_desc *gx_metrics_all(size_t *n)
{
	if (n)
		*n = M_COUNT;
	return descs;
}

static int metric_find(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < M_COUNT; i++)
		if (strcmp(descs[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- what a read gathers ---------------------------------------------------------- */

struct gstates {
	uint64_t runnable, running, waiting, syscall;
};

GX_NO_TSAN static void countg(gx_g *gp, void *arg)
{
	struct gstates *c = arg;
	switch (atomic_load_explicit(&gp->status, memory_order_relaxed)) {
	case Grunnable:
		c->runnable++;
		break;
	case Grunning:
		c->running++;
		break;
	case Gwaiting:
		c->waiting++;
		break;
	case Gsyscall:
		c->syscall++;
		break;
	default:
		break;
	}
}

static uint64_t ld(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* FOR_EACH_P - every P ever allocated (retired ones too: they keep
 * their counts), pp naming each. */
#define FOR_EACH_P(pp)                                                         \
	for (int32_t i_ = 0, n_ = atomic_load(&gx_sched.nallp); i_ < n_; i_++) \
		for (struct gx_p *pp = gx_allp[i_]; pp; pp = NULL) /* NOLINT(bugprone-macro-parentheses): a name */

/* psum - a per-P counter summed over every P. */
static uint64_t psum(size_t off)
{
	uint64_t n = 0;
	FOR_EACH_P (pp) {
		n += ld((const _Atomic uint64_t *)((const char *)pp + off));
	}
	return n;
}
#define PSUM(field) psum(offsetof(struct gx_p, field))

/* ns_per_tick - gx_cputicks' rate, from gx_main's start to now. */
static double ns_per_tick(void)
{
#if defined(__x86_64__)
	if (!atomic_load(&gx_sched.started))
		return 1.0;
	int64_t ns = gx_nanotime() - gx_sched.starttime;
	uint64_t t = gx_cputicks() - gx_sched.startticks;
	return ns > 0 && t > 0 ? (double)ns / (double)t : 1.0;
#else
	return 1.0; /* gx_cputicks is gx_nanotime */
#endif
}

/* bucket_lo - the smallest tick count in bucket i (gx_schedlat_bucket's
 * inverse: x = d + 4 in [(4 + i % 4) << (i / 4), ...)); i ==
 * GX_METRIC_HIST_BUCKETS: the top bucket's end, 2^64 - 4. */
static double bucket_lo(int i)
{
	if (i >= GX_METRIC_HIST_BUCKETS)
		return 18446744073709551612.0; /* 2^64 - 4 */
	return (double)(((uint64_t)(4 + i % 4) << (i / 4)) - 4);
}

static void read_latencies(struct gx_metric_hist *h)
{
	memset(h->counts, 0, sizeof(h->counts));
	FOR_EACH_P (pp) {
		for (int i = 0; i < GX_METRIC_HIST_BUCKETS; i++)
			h->counts[i] += ld(&pp->schedlat[i]);
	}
	double s = ns_per_tick() / 1e9;
	for (int i = 0; i <= GX_METRIC_HIST_BUCKETS; i++)
		h->bounds[i] = bucket_lo(i) * s;
}

static uint64_t runq_local(void)
{
	uint64_t n = 0;
	FOR_EACH_P (pp) {
		n += gx_runqlen(pp);
		n += atomic_load_explicit(&pp->runnext, memory_order_relaxed) != NULL;
	}
	return n;
}

static uint64_t timers_pending(void)
{
	uint64_t n = 0;
	FOR_EACH_P (pp) {
		gx_lock(&pp->timerslock);
		n += (uint64_t)pp->ntimers;
		gx_unlock(&pp->timerslock);
	}
	return n;
}

struct mcounts {
	uint64_t total, idle;
};

static struct mcounts mcounts(void)
{
	struct mcounts c = {0, 0};
	if (!atomic_load(&gx_sched.started))
		return c;
	gx_lock(&gx_sched.lock);
	c.total = (uint64_t)gx_sched.mnext;
	c.idle = (uint64_t)gx_sched.nmidle + (uint64_t)gx_sched.nmidlelocked;
	gx_unlock(&gx_sched.lock);
	return c;
}

/* kabi - a field of the header shared with the kernel assist, 0 if it
 * was never attached. */
#define KABI(field) (gx_kabi ? __atomic_load_n(&gx_kabi->hdr.field, __ATOMIC_RELAXED) : 0)

static uint64_t read_u64(int id, struct gstates *gs, bool *have_gs)
{
	if (id >= M_RUNNABLE && id <= M_SYSCALL && !*have_gs) {
		if (atomic_load(&gx_sched.started))
			gx_forallg(countg, gs);
		*have_gs = true;
	}
	switch (id) {
	case M_GOROUTINES: {
		int64_t n = gx_num_goroutines();
		return n > 0 ? (uint64_t)n : 0;
	}
	case M_CREATED: {
		uint64_t n = 0;
		FOR_EACH_P (pp) {
			n += (uint64_t)atomic_load_explicit(&pp->ncreated, memory_order_relaxed);
		}
		return n;
	}
	case M_RUNNABLE:
		return gs->runnable;
	case M_RUNNING:
		return gs->running;
	case M_WAITING:
		return gs->waiting;
	case M_SYSCALL:
		return gs->syscall;
	case M_GOMAXPROCS:
		return (uint64_t)atomic_load(&gx_sched.gomaxprocs);
	case M_PIDLE:
		return (uint64_t)atomic_load(&gx_sched.npidle);
	case M_THREADS:
		return mcounts().total;
	case M_THREADS_IDLE:
		return mcounts().idle;
	case M_THREADS_SPINNING:
		return (uint64_t)atomic_load(&gx_sched.nmspinning);
	case M_RUNQ_GLOBAL:
		return (uint64_t)atomic_load(&gx_sched.runqsize);
	case M_RUNQ_LOCAL:
		return runq_local();
	case M_SCHEDULES:
		return PSUM(executions); /* the events in the histogram */
	case M_SYSCALLS:
		return PSUM(nsyscall);
	case M_HANDOFFS:
		return ld(&gx_rtstats.handoffs);
	case M_PREEMPT_COOP:
		return PSUM(npreempt);
	case M_PREEMPT_ASYNC:
		return ld(&gx_async_preemptions);
	case M_STEALS:
		return PSUM(nsteal);
	case M_NETPOLL:
		return ld(&gx_rtstats.netpollready);
	case M_TIMERS_FIRED:
		return PSUM(ntimerfired);
	case M_TIMERS_PENDING:
		return timers_pending();
	case M_KA_MODE:
		return (uint64_t)gx_kassist_mode();
	case M_KA_FALLBACKS:
		return ld(&gx_rtstats.fallbacks);
	case M_KA_EVENTS:
		return KABI(events);
	case M_KA_DROPS:
		return KABI(drops);
	case M_KA_HANDOFFS:
		return KABI(handoffs);
	case M_KA_REVOKES:
		return KABI(revokes);
	case M_KA_STANDBY_TAKES:
		return KABI(standby_takes);
	case M_KA_STANDBY_DISPATCHES:
		return KABI(standby_dispatches);
	default:
		return 0;
	}
}

int gx_metrics_read(struct gx_metric_sample *samples, size_t n)
{
	if (!samples)
		return n ? -EINVAL : 0;
	GX_ENTER(); /* a goroutine reading: no preemption inside sched.lock */
	int rc = 0;
	struct gstates gs = {0, 0, 0, 0};
	bool have_gs = false;
	for (size_t i = 0; i < n; i++) {
		struct gx_metric_sample *s = &samples[i];
		int id = metric_find(s->name);
		if (id < 0) {
			s->kind = GX_METRIC_BAD;
			continue;
		}
		s->kind = descs[id].kind;
		if (s->kind == GX_METRIC_HISTOGRAM) {
			atomic_store(&gx_schedlat_on, true); /* asked for: kept from now on */
			if (!s->value.hist)
				rc = -EINVAL;
			else
				read_latencies(s->value.hist);
		} else {
			s->value.u64 = read_u64(id, &gs, &have_gs);
		}
	}
	return rc;
}

/* ---- histogram helpers ------------------------------------------------------------- */

uint64_t gx_metric_hist_total(const struct gx_metric_hist *h)
{
	uint64_t n = 0;
	if (h)
		for (int i = 0; i < GX_METRIC_HIST_BUCKETS; i++)
			n += h->counts[i];
	return n;
}

double gx_metric_hist_quantile(const struct gx_metric_hist *h, double q)
{
	uint64_t total = gx_metric_hist_total(h);
	if (!total)
		return 0;
	if (!(q > 0)) /* also NaN */
		q = 0;
	if (q > 1)
		q = 1;
	double want = q * (double)total, seen = 0;
	for (int i = 0; i < GX_METRIC_HIST_BUCKETS; i++) {
		uint64_t c = h->counts[i];
		if (!c)
			continue;
		if (seen + (double)c >= want) {
			double f = ((want - seen) / (double)c);
			return h->bounds[i] + f * (h->bounds[i + 1] - h->bounds[i]);
		}
		seen += (double)c;
	}
	return h->bounds[GX_METRIC_HIST_BUCKETS];
}
