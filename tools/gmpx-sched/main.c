/* SPDX-License-Identifier: MIT */
/*
 * main.c - gmpx-sched's command line: parses the options, then runs the
 * daemon (server.c) or, with --stats, prints the attached processes'
 * statistics and exits (stats.c). Exit status: 0 fine, 1 failure (or
 * another daemon running, or none for --stats, or scx mode's scheduler
 * unloaded by the kernel), 2 bad usage (and --mode scx in a build without
 * it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gmpx_sched.h"

#if !defined(GXS_HAVE_SCX) && !defined(GXS_NO_SCX_WHY)
#define GXS_NO_SCX_WHY "no sched_ext BTF at build time (run make vmtest-prepare, then make)"
#endif

/* The scx options are listed only when built in (scripts look for them). */
static const char scx_usage[] =
#ifdef GXS_HAVE_SCX
	"[--mode trace|scx] [--whole-machine] [--test-error-after MS]";
#else
	"[--mode trace]";
#endif
static const char scx_help[] =
#ifdef GXS_HAVE_SCX
	"  --mode MODE     trace (the default), or scx: the sched_ext scheduler\n"
	"  --whole-machine scx: schedule every task (default: partial, only SCHED_EXT\n"
	"                  tasks, i.e. the runtimes' Ms)\n"
	"  --test-error-after MS  scx: the scheduler calls scx_bpf_error() MS ms after\n"
	"                  it is enabled (tests of the exit path)\n";
#else
	"  --mode MODE     trace (the default); scx is not in this build: " GXS_NO_SCX_WHY "\n";
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gmpx-sched [--socket PATH] [--group NAME] %s\n"
		"                  [--pin-dir DIR] [--test-no-peerpidfd] [--verbose]\n"
		"       gmpx-sched --stats [--interval SEC] [--count N] [--pin-dir DIR]\n"
		"\n"
		"The gmpx kernel-assist daemon: loads the BPF programs of trace mode or the\n"
		"sched_ext scheduler of scx mode, pins their maps and attaches gmpx processes\n"
		"(GX_KASSIST=trace or scx) that connect to its socket. Runs in the foreground;\n"
		"logs to stderr; SIGINT, SIGTERM or SIGHUP stop it. scx mode: exits with\n"
		"status 1 when the kernel unloads the scheduler (EXIT: line).\n"
		"\n"
		"  --socket PATH   the socket (default %s; a lock file PATH.lock\n"
		"                  keeps it to one daemon)\n"
		"  --group NAME    also admit members of this group (always: root and the\n"
		"                  daemon's own user)\n"
		"%s"
		"  --pin-dir DIR   where the maps are pinned (default %s)\n"
		"  --watch-fd N    exit cleanly when fd N (inherited: a pipe's read end) hangs\n"
		"                  up, i.e. when whoever started us dies (tests, benchmarks)\n"
		"  --test-no-peerpidfd  identify peers as on kernels without SO_PEERPIDFD\n"
		"                  (pidfd_open and the start time; tests of that path)\n"
		"  --verbose, -v   debug lines and libbpf's warnings (twice: all of libbpf's)\n"
		"  --stats         print each attached process's statistics and exit\n"
		"  --interval SEC  with --stats: every SEC seconds (until --count)\n"
		"  --count N       with --stats: N reports\n"
		"  --help, -h      this text\n",
		scx_usage, GX_SCHED_SOCK_DEFAULT, scx_help, GX_KABI_PIN_DIR);
}

static void bad(const char *fmt, const char *arg)
{
	fputs("gmpx-sched: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see gmpx-sched --help)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	enum {
		O_SOCKET = 256,
		O_GROUP,
		O_MODE,
		O_PINDIR,
		O_STATS,
		O_INTERVAL,
		O_COUNT,
		O_WATCHFD,
		O_WHOLE,
		O_TESTERR,
		O_NOPEERPIDFD
	};
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, O_SOCKET},
		{"group", required_argument, NULL, O_GROUP},
		{"mode", required_argument, NULL, O_MODE},
		{"pin-dir", required_argument, NULL, O_PINDIR},
		{"watch-fd", required_argument, NULL, O_WATCHFD},
		{"whole-machine", no_argument, NULL, O_WHOLE},
		{"test-error-after", required_argument, NULL, O_TESTERR},
		{"test-no-peerpidfd", no_argument, NULL, O_NOPEERPIDFD},
		{"verbose", no_argument, NULL, 'v'},
		{"stats", no_argument, NULL, O_STATS},
		{"interval", required_argument, NULL, O_INTERVAL},
		{"count", required_argument, NULL, O_COUNT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct gxs_opts o = {
		.sock = GX_SCHED_SOCK_DEFAULT,
		.pin_dir = GX_KABI_PIN_DIR,
		.mode = GX_KABI_TRACE,
		.watch_fd = -1,
	};
	bool have_interval = false, have_count = false, have_mode = false, have_group = false, have_scxopt = false;
	char *end;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET:
			if (!optarg[0])
				bad("--socket: empty path%s", "");
			o.sock = optarg;
			break;
		case O_GROUP: {
			struct group *g = getgrnam(optarg);

			errno = 0;
			if (g) {
				o.gid = g->gr_gid;
			} else {
				unsigned long v = strtoul(optarg, &end, 10);

				if (!optarg[0] || *end || errno)
					bad("--group: no group named '%s'", optarg);
				o.gid = (gid_t)v;
			}
			o.group = optarg;
			have_group = true;
			break;
		}
		case O_MODE:
			if (strcmp(optarg, "trace") == 0)
				o.mode = GX_KABI_TRACE;
			else if (strcmp(optarg, "scx") == 0)
				o.mode = GX_KABI_SCX;
			else
				bad("--mode: '%s' is not a mode (trace, scx)", optarg);
			have_mode = true;
			break;
		case O_WATCHFD: {
			long fd = strtol(optarg, &end, 10);
			if (*end || fd < 0 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0)
				bad("--watch-fd: '%s' is not an open file descriptor", optarg);
			o.watch_fd = (int)fd;
			break;
		}
		case O_WHOLE:
			o.whole = true;
			have_scxopt = true;
			break;
		case O_TESTERR: {
			long ms;

			errno = 0;
			ms = strtol(optarg, &end, 10);
			if (!optarg[0] || *end || errno || ms <= 0 || ms > 3600000)
				bad("--test-error-after: '%s' is not a number of milliseconds > 0", optarg);
			o.error_after_ms = (unsigned)ms;
			have_scxopt = true;
			break;
		}
		case O_NOPEERPIDFD:
			gxs_no_peerpidfd = true;
			break;
		case O_PINDIR:
			if (!optarg[0])
				bad("--pin-dir: empty path%s", "");
			o.pin_dir = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case O_STATS:
			o.stats = true;
			break;
		case O_INTERVAL:
			errno = 0;
			o.interval = strtod(optarg, &end);
			if (!optarg[0] || *end || errno || !(o.interval > 0) || o.interval > 86400)
				bad("--interval: '%s' is not a number of seconds > 0", optarg);
			have_interval = true;
			break;
		case O_COUNT:
			errno = 0;
			o.count = strtol(optarg, &end, 10);
			if (!optarg[0] || *end || errno || o.count <= 0)
				bad("--count: '%s' is not a count > 0", optarg);
			have_count = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			bad("%s needs an argument", argv[optind - 1]);
			break;
		default:
			bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	gxs_verbose = o.verbose;
	if (o.stats) {
		if (have_mode || have_group || have_scxopt)
			bad("%s: --mode, --group, --whole-machine and --test-error-after are daemon options",
			    "--stats");
		if (have_count && !have_interval)
			o.interval = 1;
		if (!have_count)
			o.count = have_interval ? 0 : 1;
		return gxs_stats(&o);
	}
	if (have_interval || have_count)
		bad("--interval and --count go with --stats%s", "");
	if (have_scxopt && o.mode != GX_KABI_SCX)
		bad("--whole-machine and --test-error-after go with --mode scx%s", "");
#ifndef GXS_HAVE_SCX
	if (o.mode == GX_KABI_SCX) {
		gxs_log("--mode scx: built without the sched_ext scheduler: %s", GXS_NO_SCX_WHY);
		return 2;
	}
#endif
	return gxs_serve(&o);
}
