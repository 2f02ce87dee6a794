/* SPDX-License-Identifier: MIT */
/*
 * bench_common.h - what every C and C++ benchmark program shares, whatever
 * its runtime: the command line, the clock, percentiles, failing a check,
 * RSS and CPU time. bench.h (gmpx), pt_bench.h (plain pthreads) and the Boost.Fiber
 * programs include it and add their runtime's part (applying --maxprocs,
 * reporting the kernel-assist mode, starting threads). Its Go twin is
 * tools/bench/internal/bench/bench.go, its Rust twin
 * tools/bench/tokio/src/lib.rs; keep them in step.
 *
 * Command line: options of the form --name=value, all non-negative
 * integers; every program takes --maxprocs=P (0: the runtime's default).
 * A program prints ONE line of JSON on stdout and exits 0; a failed check
 * prints "NAME (IMPL): why" on stderr and exits 1; bad usage exits 2.
 * Valid C11 and C++14.
 */
#ifndef GMPX_BENCH_COMMON_H
#define GMPX_BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

/* One command-line option: its name (without "--") and its value, which
 * holds the default until bench_parse_opts overwrites it. */
struct bench_opt {
	const char *name;
	long value;
};

/* The workload's and the implementation's names, for messages; set by
 * bench_parse_opts. */
static const char *bench_name = "bench";
static const char *bench_impl = "?";

__attribute__((noreturn)) static void bench_vfail(int code, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s (%s): ", bench_name, bench_impl);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stdout);
	fflush(stderr);
	_exit(code); /* other goroutines or threads may be running: leave at once */
}

/* bench_fail - a check failed: report it and exit with status 1. */
__attribute__((noreturn, format(printf, 1, 2))) static void bench_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bench_vfail(1, fmt, ap);
}

/* bench_usage - bad usage: report it and exit with status 2. */
__attribute__((noreturn, format(printf, 1, 2))) static void bench_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bench_vfail(2, fmt, ap);
}

/*
 * bench_parse_opts - parse argv into opts[0..nopts) (--name=value only).
 * impl names the implementation in messages ("gmpx", "pthreads",
 * "boost.fiber"). Applying --maxprocs is the caller's (its runtime's) part.
 */
static inline void bench_parse_opts(const char *impl, const char *name, int argc, char **argv, struct bench_opt *opts,
				    size_t nopts)
{
	bench_impl = impl;
	bench_name = name;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t j;

		if (strncmp(arg, "--", 2) != 0 || !eq)
			bench_usage("bad argument '%s' (want --name=value)", arg);
		for (j = 0; j < nopts; j++) {
			size_t len = strlen(opts[j].name);
			if ((size_t)(eq - arg - 2) == len && strncmp(arg + 2, opts[j].name, len) == 0)
				break;
		}
		if (j == nopts)
			bench_usage("unknown option '%s'", arg);

		char *end;
		errno = 0;
		long v = strtol(eq + 1, &end, 10);
		if (errno || end == eq + 1 || *end || v < 0)
			bench_usage("bad value in '%s'", arg);
		opts[j].value = v;
	}
}

/* bench_opt_value - the value of the option called name (-1: none). */
static inline long bench_opt_value(const struct bench_opt *opts, size_t nopts, const char *name)
{
	for (size_t j = 0; j < nopts; j++)
		if (strcmp(opts[j].name, name) == 0)
			return opts[j].value;
	return -1;
}

/* bench_now_ns - CLOCK_MONOTONIC in nanoseconds (only differences matter). */
static inline int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int bench_cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* bench_sort_int64 - sort v[0..n) ascending. */
static inline void bench_sort_int64(int64_t *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_int64);
}

/* bench_percentile - nearest rank in the sorted v[0..n): element ceil(k/100*n)-1. */
static inline int64_t bench_percentile(const int64_t *v, long n, int k)
{
	long rank = (long)(((int64_t)k * n + 99) / 100);
	return v[rank > 0 ? rank - 1 : 0];
}

/* bench_rss_bytes - resident set size: /proc/self/statm field 2 (pages). */
static inline int64_t bench_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size, resident;

	if (!f)
		bench_fail("open /proc/self/statm: %s", strerror(errno));
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		bench_fail("malformed /proc/self/statm");
	fclose(f);
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

/* bench_cpu_us - user + system CPU time of r (getrusage), in microseconds. */
static inline int64_t bench_cpu_us(const struct rusage *r)
{
	return (int64_t)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000 + r->ru_utime.tv_usec + r->ru_stime.tv_usec;
}

#endif /* GMPX_BENCH_COMMON_H */
