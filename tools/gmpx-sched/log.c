/* SPDX-License-Identifier: MIT */
/*
 * log.c - gmpx-sched's log: one line per event on stderr, prefixed
 * "gmpx-sched: ", written with a single write() so lines from a daemon and
 * the programs around it do not interleave mid-line. --verbose adds the
 * debug lines and libbpf's warnings; twice, libbpf's debug messages too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "gmpx_sched.h"

int gxs_verbose;

static void vlog(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "gmpx-sched: ");
	int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);

	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* best effort: nothing sensible to do if stderr is gone */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void gxs_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void gxs_debug(const char *fmt, ...)
{
	va_list ap;

	if (!gxs_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

/* libbpf's lines already begin with "libbpf: " */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (gxs_verbose < (level == LIBBPF_DEBUG ? 2 : 1))
		return 0;
	fputs("gmpx-sched: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void gxs_libbpf_logging(void)
{
	libbpf_set_print(libbpf_print);
}
