/* SPDX-License-Identifier: MIT */
/*
 * pt_bench.h - what every plain-pthreads benchmark program shares: the
 * command line, the clock, percentiles and failing a check. The pthreads
 * twin of tools/bench/c/bench.h (same conventions, no gmpx): each program
 * in this directory is the closest plain-pthreads analogue of the gmpx
 * workload of the same name, and its header comment says what stands in
 * for what.
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

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct pt_opt {
	const char *name;
	long value;
};

static const char *pt_name = "bench";

__attribute__((noreturn)) static void pt_vfail(int code, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s (pthreads): ", pt_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stdout);
	fflush(stderr);
	_exit(code);
}

/* pt_fail - a check failed: report it and exit with status 1. */
__attribute__((noreturn, format(printf, 1, 2))) static void pt_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pt_vfail(1, fmt, ap);
}

__attribute__((noreturn, format(printf, 1, 2))) static void pt_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pt_vfail(2, fmt, ap);
}

/*
 * pt_parse_args - parse argv into opts[0..nopts) (--name=value only), then
 * apply --maxprocs (which must be one of opts) as a CPU affinity. Returns
 * the number of CPUs the process may run on afterwards.
 */
static inline int pt_parse_args(const char *name, int argc, char **argv, struct pt_opt *opts, size_t nopts)
{
	pt_name = name;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t j;

		if (strncmp(arg, "--", 2) != 0 || !eq)
			pt_usage("bad argument '%s' (want --name=value)", arg);
		for (j = 0; j < nopts; j++) {
			size_t len = strlen(opts[j].name);
			if ((size_t)(eq - arg - 2) == len && strncmp(arg + 2, opts[j].name, len) == 0)
				break;
		}
		if (j == nopts)
			pt_usage("unknown option '%s'", arg);
		char *end;
		errno = 0;
		long v = strtol(eq + 1, &end, 10);
		if (errno || end == eq + 1 || *end || v < 0)
			pt_usage("bad value in '%s'", arg);
		opts[j].value = v;
	}
	cpu_set_t allowed, want;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		pt_fail("sched_getaffinity: %s", strerror(errno));
	for (size_t j = 0; j < nopts; j++) {
		if (strcmp(opts[j].name, "maxprocs") != 0 || opts[j].value <= 0)
			continue;
		long p = opts[j].value;
		if (p > CPU_COUNT(&allowed))
			pt_usage("--maxprocs=%ld but only %d CPUs are allowed", p, CPU_COUNT(&allowed));
		CPU_ZERO(&want);
		for (int c = 0, n = 0; c < CPU_SETSIZE && n < p; c++)
			if (CPU_ISSET(c, &allowed)) {
				CPU_SET(c, &want);
				n++;
			}
		if (sched_setaffinity(0, sizeof(want), &want) != 0)
			pt_fail("sched_setaffinity: %s", strerror(errno));
		allowed = want;
	}
	return CPU_COUNT(&allowed);
}

/* pt_now_ns - CLOCK_MONOTONIC in nanoseconds, as bench_now_ns. */
static inline int64_t pt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

static int pt_cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static inline void pt_sort_int64(int64_t *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), pt_cmp_int64);
}

/* pt_percentile - nearest rank in the sorted v[0..n), as bench_percentile. */
static inline int64_t pt_percentile(const int64_t *v, long n, int k)
{
	long rank = (long)(((int64_t)k * n + 99) / 100);
	return v[rank > 0 ? rank - 1 : 0];
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
		pt_fail("pthread_create: %s", strerror(rc));
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
