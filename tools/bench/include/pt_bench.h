/* SPDX-License-Identifier: MIT */
/*
 * pt_bench.h - what every plain-pthreads benchmark program
 * (tools/bench/workloads/NAME/pthreads.c) adds to bench_common.h (the
 * command line, the clock, percentiles, failing a check): --maxprocs as a
 * CPU affinity, sleeping, starting threads, a waitgroup. Each such program
 * is the closest plain-pthreads analogue of the gmpx workload of the same
 * name, and its header comment says what stands in for what.
 *
 * Command line: --name=value options, all non-negative integers; every
 * program takes --maxprocs=P. pthreads has no GOMAXPROCS: its analogue is
 * the number of CPUs the threads may run on, so P > 0 restricts the whole
 * process (sched_setaffinity, before any thread is created; threads
 * inherit it) to the first P CPUs of the set it was allowed. P = 0: all of
 * them. The program prints ONE line of JSON on stdout and exits 0; a failed
 * check prints "NAME (pthreads): why" on stderr and exits 1; bad usage
 * exits 2. The JSON has no "kassist" field (nothing to report).
 */
#ifndef GMPX_PT_BENCH_H
#define GMPX_PT_BENCH_H

#include "bench_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

/*
 * pt_parse_args - parse argv into opts[0..nopts) (--name=value only), then
 * apply --maxprocs (which must be one of opts) as a CPU affinity. Returns
 * the number of CPUs the process may run on afterwards.
 */
static inline int pt_parse_args(const char *name, int argc, char **argv, struct bench_opt *opts, size_t nopts)
{
	bench_parse_opts("pthreads", name, argc, argv, opts, nopts);
	cpu_set_t allowed, want;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		bench_fail("sched_getaffinity: %s", strerror(errno));
	for (size_t j = 0; j < nopts; j++) {
		if (strcmp(opts[j].name, "maxprocs") != 0 || opts[j].value <= 0)
			continue;
		long p = opts[j].value;
		if (p > CPU_COUNT(&allowed))
			bench_usage("--maxprocs=%ld but only %d CPUs are allowed", p, CPU_COUNT(&allowed));
		CPU_ZERO(&want);
		for (int c = 0, n = 0; c < CPU_SETSIZE && n < p; c++)
			if (CPU_ISSET(c, &allowed)) {
				CPU_SET(c, &want);
				n++;
			}
		if (sched_setaffinity(0, sizeof(want), &want) != 0)
			bench_fail("sched_setaffinity: %s", strerror(errno));
		allowed = want;
	}
	return CPU_COUNT(&allowed);
}

/* pt_sleep_ns - sleep d ns (clock_nanosleep, retried on EINTR); 0 or -1. */
static inline int pt_sleep_ns(int64_t d)
{
	struct timespec ts = {(time_t)(d / 1000000000), (long)(d % 1000000000)};
	int rc;
	while ((rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts)) == EINTR)
		;
	return rc == 0 ? 0 : -1;
}

/* pt_start - pthread_create with a stack of stack_bytes (0: the default),
 * detached or joinable; retried (after sched_yield) while the system says
 * EAGAIN (too many threads at once), each retry counted in *retries. */
static inline void pt_start(pthread_t *th, void *(*fn)(void *), void *arg, size_t stack_bytes, bool detached,
			    int64_t *retries)
{
	pthread_attr_t attr;
	pthread_t tmp;
	int rc;

	pthread_attr_init(&attr);
	if (stack_bytes)
		pthread_attr_setstacksize(&attr, stack_bytes);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while ((rc = pthread_create(th ? th : &tmp, &attr, fn, arg)) == EAGAIN) {
		if (retries)
			__atomic_fetch_add(retries, 1, __ATOMIC_RELAXED);
		sched_yield();
	}
	pthread_attr_destroy(&attr);
	if (rc != 0)
		bench_fail("pthread_create: %s", strerror(rc));
}

/* A waitgroup: a counter, a mutex and a condition variable. */
struct pt_wg {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long count;
};
#define PT_WG_INIT                                                     \
	{                                                              \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 \
	}

static inline void pt_wg_add(struct pt_wg *wg, long n)
{
	pthread_mutex_lock(&wg->mu);
	wg->count += n;
	pthread_mutex_unlock(&wg->mu);
}

static inline void pt_wg_done(struct pt_wg *wg)
{
	pthread_mutex_lock(&wg->mu);
	if (--wg->count == 0)
		pthread_cond_broadcast(&wg->cv);
	pthread_mutex_unlock(&wg->mu);
}

static inline void pt_wg_wait(struct pt_wg *wg)
{
	pthread_mutex_lock(&wg->mu);
	while (wg->count > 0)
		pthread_cond_wait(&wg->cv, &wg->mu);
	pthread_mutex_unlock(&wg->mu);
}

#endif /* GMPX_PT_BENCH_H */
