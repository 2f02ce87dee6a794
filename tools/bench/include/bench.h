/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what every gmpx benchmark program (tools/bench/workloads/NAME/
 * gmpx.c) adds to bench_common.h (the command line, the clock,
 * percentiles, failing a check, RSS, CPU time): --maxprocs applied with
 * gx_maxprocs, the kernel-assist mode. Header-only, so each workload builds from its one
 * .c file.
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

#include "bench_common.h"
#include "gmpx.h"

/*
 * bench_parse_args - parse argv into opts[0..nopts) (--name=value only),
 * then apply --maxprocs (which must be one of opts) with gx_maxprocs.
 * Call from main() before gx_main().
 */
static inline void bench_parse_args(const char *name, int argc, char **argv, struct bench_opt *opts, size_t nopts)
{
	bench_parse_opts("gmpx", name, argc, argv, opts, nopts);
	long p = bench_opt_value(opts, nopts, "maxprocs");
	if (p > 0) {
		int rc = gx_maxprocs((int)p);
		if (rc < 0)
			bench_usage("gx_maxprocs(%ld) = %d", p, rc);
	}
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
