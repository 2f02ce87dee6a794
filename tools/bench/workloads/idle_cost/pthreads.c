/* SPDX-License-Identifier: MIT */
/*
 * idle_cost (pthreads): what do parked threads cost while nothing happens?
 * The analogue of tools/bench/workloads/idle_cost/gmpx.c: N threads parked on a
 * condition variable (a release flag under a mutex) while main sleeps. With
 * no runtime there is nothing to poll: the figure is the floor the gmpx
 * and Go rows can be compared with.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 2), --n=N (parked
 *    threads; default 1,000), --idle_ms=I (default 10,000).
 *  - Setup: main creates N threads (64 KiB stacks), each doing started +=
 *    1, then waiting on the condition variable until release is set, then
 *    released += 1. main waits (sched_yield) until started == N, then 100
 *    more sched_yield calls and a 100 ms sleep, as the C program settles.
 *  - Idle window: r0 = getrusage(RUSAGE_SELF), t0 = clock; main sleeps I
 *    ms (clock_nanosleep); t1 = clock, r1 = getrusage(RUSAGE_SELF).
 *  - Report: idle_cpu_us, idle_cpu_pct, wakeups (= voluntary +
 *    involuntary), voluntary, involuntary, idle_wall_ms: as the C program.
 *  - Then: release is set and broadcast, every thread is joined.
 *  - Verify: the window lasted at least I ms; released == N at the end.
 *
 * Output: {"workload":"idle_cost","maxprocs":P,"n":N,"idle_ms":I,"idle_wall_ms":...,
 *          "idle_cpu_us":...,"idle_cpu_pct":...,"wakeups":...,"voluntary":...,"involuntary":...}
 */
#include "pt_bench.h"

#include <stdatomic.h>
#include <sys/resource.h>

enum { OPT_MAXPROCS, OPT_N, OPT_IDLE_MS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", 1000},
	[OPT_IDLE_MS] = {"idle_ms", 10000},
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool release; /* guarded by mu */
static atomic_long started, released;

static void *parked(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started, 1);
	pthread_mutex_lock(&mu);
	while (!release)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	atomic_fetch_add(&released, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("idle_cost", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long n = opts[OPT_N].value, idle_ms = opts[OPT_IDLE_MS].value;
	if (n <= 0 || idle_ms <= 0)
		bench_usage("--n and --idle_ms must be > 0");
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	if (!th)
		bench_fail("out of memory");
	for (long i = 0; i < n; i++)
		pt_start(&th[i], parked, NULL, 64 * 1024, false, NULL);
	while (atomic_load(&started) < n)
		sched_yield();
	for (int i = 0; i < 100; i++)
		sched_yield();
	pt_sleep_ns(100 * 1000000LL);

	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	int64_t t0 = bench_now_ns();
	pt_sleep_ns(idle_ms * 1000000LL);
	int64_t wall = bench_now_ns() - t0;
	getrusage(RUSAGE_SELF, &r1);
	int64_t cpu = bench_cpu_us(&r1) - bench_cpu_us(&r0);
	long vol = r1.ru_nvcsw - r0.ru_nvcsw, invol = r1.ru_nivcsw - r0.ru_nivcsw;
	if (wall < idle_ms * 1000000LL)
		bench_fail("the idle window lasted %" PRId64 " ns, less than %ld ms", wall, idle_ms);

	pthread_mutex_lock(&mu);
	release = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&released) != n)
		bench_fail("%ld threads released, want %ld", atomic_load(&released), n);
	printf("{\"workload\":\"idle_cost\",\"maxprocs\":%d,\"n\":%ld,\"idle_ms\":%ld,\"idle_wall_ms\":%.3f,"
	       "\"idle_cpu_us\":%" PRId64 ",\"idle_cpu_pct\":%.5f,\"wakeups\":%ld,\"voluntary\":%ld,"
	       "\"involuntary\":%ld}\n",
	       cpus, n, idle_ms, (double)wall / 1e6, cpu, (double)cpu * 1e3 / (double)wall * 100, vol + invol, vol,
	       invol);
	return 0;
}
