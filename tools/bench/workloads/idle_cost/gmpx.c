/* SPDX-License-Identifier: MIT */
/*
 * idle_cost: what does the runtime cost while it has nothing to do?
 *
 * Definition (identical in tools/bench/workloads/idle_cost/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 2), --n=N (parked goroutines;
 *    default 1,000), --idle_ms=I (the idle window; default 10,000).
 *  - Setup: a waitgroup `release` gets gx_wg_add(1); a waitgroup `exited`
 *    gets gx_wg_add(N); atomic counters `started` and `released` start at
 *    0. main starts N goroutines (gx_go), each doing started += 1, then
 *    gx_wg_wait(&release) (it parks until the end), then released += 1 and
 *    gx_wg_done(&exited). main yields (gx_yield) until started == N, then
 *    SETTLE_YIELDS more yields and a gx_sleep of SETTLE_MS, so every
 *    goroutine has parked and start-up work (thread creation, stack
 *    faults) is over before the window.
 *  - Idle window: r0 = getrusage(RUSAGE_SELF), t0 = clock; main sleeps I ms
 *    with gx_sleep (the goroutine parks on a runtime timer: no goroutine is
 *    runnable, every P is idle); t1 = clock, r1 = getrusage(RUSAGE_SELF).
 *    Nothing else runs in the process during the window.
 *  - Report: idle_cpu_us = (utime + stime of r1) - (utime + stime of r0),
 *    the whole process's CPU time (all threads; Linux gives it to the
 *    microsecond: utime + stime add up to the scheduler's exact runtime)
 *    during the window; idle_cpu_pct = idle_cpu_us / (t1 - t0) * 100 (of
 *    one CPU); wakeups = (ru_nvcsw + ru_nivcsw of r1) - (the same of r0),
 *    the process's context switches during the window (each is a thread
 *    going off a CPU: roughly one per wake-up of a sleeping thread);
 *    idle_wall_ms = t1 - t0.
 *  - Then: gx_wg_done(&release) wakes the N goroutines; gx_wg_wait(&exited)
 *    waits for them all to finish; main returns (exit 0).
 *  - Verify: started == N before the window; the window lasted at least I
 *    ms; the runtime counted at least N+1 goroutines at its end; after the
 *    release, `exited` reached 0 and released == N.
 *
 * Clock: bench_now_ns (CLOCK_MONOTONIC), as Go's bench.Now.
 *
 * Output: {"workload":"idle_cost","maxprocs":P,"n":N,"idle_ms":I,"idle_wall_ms":...,
 *          "idle_cpu_us":...,"idle_cpu_pct":...,"wakeups":...,"voluntary":...,
 *          "involuntary":...,"kassist":"off"|"trace"}
 */
#include "bench.h"

#include <stdatomic.h>
#include <sys/resource.h>

/* DEFAULT_N is the number of parked goroutines. */
#define DEFAULT_N 1000
/* DEFAULT_IDLE_MS is the length of the idle window. */
#define DEFAULT_IDLE_MS 10000
/* SETTLE_YIELDS and SETTLE_MS let the goroutines finish parking and the
 * runtime finish starting up before the window opens. */
#define SETTLE_YIELDS 100
#define SETTLE_MS     100

enum { OPT_MAXPROCS, OPT_N, OPT_IDLE_MS };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_N] = {"n", DEFAULT_N},
	[OPT_IDLE_MS] = {"idle_ms", DEFAULT_IDLE_MS},
};

static atomic_long started, released;
static gx_waitgroup release = GX_WAITGROUP_INIT, exited = GX_WAITGROUP_INIT;

static void parker(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started, 1);
	gx_wg_wait(&release);
	atomic_fetch_add(&released, 1);
	gx_wg_done(&exited);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	long n = opts[OPT_N].value, idle_ms = opts[OPT_IDLE_MS].value;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	gx_wg_add(&release, 1);
	gx_wg_add(&exited, n);
	for (long i = 0; i < n; i++) {
		int64_t id = gx_go(parker, NULL);
		if (id < 0)
			bench_fail("gx_go #%ld: %" PRId64, i, id);
	}
	while (atomic_load(&started) < n)
		gx_yield();
	for (int i = 0; i < SETTLE_YIELDS; i++)
		gx_yield();
	if (gx_sleep(SETTLE_MS * GX_MS) != 0)
		bench_fail("gx_sleep (settle) failed");
	if (atomic_load(&started) != n)
		bench_fail("%ld goroutines started, want %ld", atomic_load(&started), n);

	struct rusage r0, r1;
	if (getrusage(RUSAGE_SELF, &r0) != 0)
		bench_fail("getrusage: %s", strerror(errno));
	int64_t t0 = bench_now_ns();
	int rc = gx_sleep(idle_ms * GX_MS);
	int64_t t1 = bench_now_ns();
	if (getrusage(RUSAGE_SELF, &r1) != 0)
		bench_fail("getrusage: %s", strerror(errno));
	if (rc != 0)
		bench_fail("gx_sleep(%ld ms) = %d", idle_ms, rc);
	int64_t alive = gx_num_goroutines();

	int64_t wall = t1 - t0, cpu = bench_cpu_us(&r1) - bench_cpu_us(&r0);
	long vol = r1.ru_nvcsw - r0.ru_nvcsw, invol = r1.ru_nivcsw - r0.ru_nivcsw;
	if (wall < idle_ms * 1000000)
		bench_fail("the idle window lasted %" PRId64 " ns, less than %ld ms", wall, idle_ms);
	if (alive < n + 1)
		bench_fail("%" PRId64 " goroutines alive during the window, want at least %ld", alive, n + 1);
	if (cpu < 0 || vol < 0 || invol < 0)
		bench_fail("getrusage went backwards");

	gx_wg_done(&release);
	gx_wg_wait(&exited);
	if (atomic_load(&released) != n)
		bench_fail("%ld goroutines finished after the release, want %ld", atomic_load(&released), n);

	printf("{\"workload\":\"idle_cost\",\"maxprocs\":%d,\"n\":%ld,\"idle_ms\":%ld,\"idle_wall_ms\":%.3f,"
	       "\"idle_cpu_us\":%" PRId64 ",\"idle_cpu_pct\":%.5f,\"wakeups\":%ld,\"voluntary\":%ld,"
	       "\"involuntary\":%ld,\"kassist\":\"%s\"}\n",
	       maxprocs, n, idle_ms, (double)wall / 1e6, cpu, (double)cpu * 1e3 / (double)wall * 100, vol + invol, vol,
	       invol, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("idle_cost", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_N].value <= 0)
		bench_usage("--n must be > 0");
	if (opts[OPT_IDLE_MS].value <= 0)
		bench_usage("--idle_ms must be > 0");
	gx_main(bench_main, argc, argv);
}
