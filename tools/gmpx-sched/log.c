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
#include <time.h>
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

/* gxs_log_limited - a line that anybody can cause (a refusal, a bad
 * packet, a limit reached): at most GXS_LOG_BURST per GXS_LOG_WINDOW_MS per
 * limiter, so a flood cannot fill the log; the next line let through says
 * how many were dropped. */
void gxs_log_limited(struct gxs_ratelimit *rl, const char *fmt, ...)
{
	struct timespec ts;
	long long now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (rl->n == 0 || now - rl->start >= GXS_LOG_WINDOW_MS) {
		rl->start = now;
		rl->n = 0;
	}
	if (rl->n >= GXS_LOG_BURST) {
		rl->dropped++;
		return;
	}
	rl->n++;
	if (rl->dropped) {
		gxs_log("(%u similar lines dropped in the last %d s)", rl->dropped, GXS_LOG_WINDOW_MS / 1000);
		rl->dropped = 0;
	}
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
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
