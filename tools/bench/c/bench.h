/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what every gmpx benchmark workload shares: the command-line
 * convention, the clock, RSS, and failing a check. Header-only, so each
 * workload builds from its one .c file. Its Go twin is
 * tools/bench/go/internal/bench/bench.go; keep the two in step.
 *
 * Command line: options of the form --name=value, all non-negative
 * integers; every workload takes --maxprocs=P (0: the runtime default),
 * applied with gx_maxprocs(P) before gx_main, as the Go peer applies it
 * with runtime.GOMAXPROCS. A workload prints ONE line of JSON on stdout
 * and exits 0; a failed check prints "NAME (gmpx): why" on stderr and
 * exits 1; bad usage exits 2.
 *
 * Every C program's JSON line (the echo server's: the line it prints on
 * exit) ends with "kassist":"off"|"trace"|"scx": bench_kassist(), the
 * kernel-assist mode in effect when the line is printed, i.e. at the end of
 * the run (it drops to "off" if the daemon went away mid-run). The runner
 * fails a gmpx-trace sample that does not say "trace". The Go peers have
 * no such field.
 */
#ifndef GMPX_BENCH_H
#define GMPX_BENCH_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gmpx.h"

/* One command-line option: its name (without "--") and its value, which
 * holds the default until bench_parse_args overwrites it. */
struct bench_opt {
	const char *name;
	long value;
};

/* The workload's name, for messages; set by bench_parse_args. */
static const char *bench_name = "bench";

static void bench_vfail(int code, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s (gmpx): ", bench_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stdout);
	fflush(stderr);
	_exit(code); /* other goroutines may be running: leave at once */
}

/* bench_fail - a check failed: report it and exit with status 1. */
__attribute__((noreturn, format(printf, 1, 2))) static void bench_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bench_vfail(1, fmt, ap);
	va_end(ap);
	abort(); /* not reached */
}

__attribute__((noreturn, format(printf, 1, 2))) static void bench_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bench_vfail(2, fmt, ap);
	va_end(ap);
	abort(); /* not reached */
}

/*
 * bench_parse_args - parse argv into opts[0..nopts) (--name=value only),
 * then apply --maxprocs (which must be one of opts) with gx_maxprocs.
 * Call from main() before gx_main().
 */
static inline void bench_parse_args(const char *name, int argc, char **argv, struct bench_opt *opts, size_t nopts)
{
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
	for (size_t j = 0; j < nopts; j++) {
		if (strcmp(opts[j].name, "maxprocs") == 0 && opts[j].value > 0) {
			int rc = gx_maxprocs((int)opts[j].value);
			if (rc < 0)
				bench_usage("gx_maxprocs(%ld) = %d", opts[j].value, rc);
		}
	}
}

/* bench_now_ns - CLOCK_MONOTONIC in nanoseconds (only differences matter). */
static inline int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

/* bench_kassist - the name of gx_kassist_mode(): "off", "trace" or "scx". */
static inline const char *bench_kassist(void)
{
	switch (gx_kassist_mode()) {
	case GX_KASSIST_OFF:
		return "off";
	case GX_KASSIST_TRACE:
		return "trace";
	case GX_KASSIST_SCX:
		return "scx";
	}
	return "unknown";
}

/* bench_check_maxprocs - in the main goroutine: the runtime runs with the
 * requested number of Ps (want == 0: whatever the default is). Returns it. */
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

static inline int bench_check_maxprocs(long want)
{
	int got = gx_maxprocs(0);
	if (got < 0)
		bench_fail("gx_maxprocs(0) = %d", got);
	if (want > 0 && got != want)
		bench_fail("running with %d Ps, asked for %ld", got, want);
	return got;
}

#endif /* GMPX_BENCH_H */
