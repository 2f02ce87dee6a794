/* SPDX-License-Identifier: MIT */
/*
 * kassist_exit.c - linked by tools/bench/run.py into gmpx programs that are
 * not benchmark programs of their own (examples/http_hello.c), so that they
 * too say which kernel-assist mode they ran in: at exit (atexit, after the
 * program's own handlers) it prints
 *
 *     gmpx-bench: kassist=off|trace|scx
 *
 * on stderr, the mode of gx_kassist_mode() then. The runner's driver turns
 * it into the "kassist" field of the run's JSON.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gmpx.h"

static void report_kassist(void)
{
	int mode = gx_kassist_mode();
	fprintf(stderr, "gmpx-bench: kassist=%s\n",
		mode == GX_KASSIST_OFF	   ? "off"
		: mode == GX_KASSIST_TRACE ? "trace"
		: mode == GX_KASSIST_SCX   ? "scx"
					   : "unknown");
}

__attribute__((constructor)) static void register_report(void)
{
	atexit(report_kassist);
}
