/* SPDX-License-Identifier: MIT */
/*
 * kdaemon.h - a private gmpx-sched for a test (trace and scx mode tests:
 * test_kassist.c, test_fault_preempt.c), and KTEST, a test whose runtime
 * starts in a given kernel-assist mode.
 *
 * start_daemon() forks build/gmpx-sched (or $GXT_SCHED) on a socket and pin
 * directory private to this test process, waits until it listens and
 * points GX_KASSIST_SOCK at it; it skips (exit 4) with the reason when BPF
 * cannot be loaded here. The daemon exits with the test (--watch-fd).
 * Static state: each test file that includes this has its own copy (every
 * test runs in a process of its own).
 */
#ifndef GXT_KDAEMON_H
#define GXT_KDAEMON_H

#include "gx_test.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char ksock[100] __attribute__((unused)), kpins[96] __attribute__((unused));
static pid_t kdaemon __attribute__((unused));
/* scx tests: more gmpx-sched arguments (--mode scx, ...), NULL-terminated */
static const char *kdaemon_args[8] __attribute__((unused));

static inline const char *sched_bin(void)
{
	const char *b = getenv("GXT_SCHED");
	return b && *b ? b : "build/gmpx-sched";
}

/* need_bpf - skip unless this process can load BPF with BTF. */
static inline void need_bpf(void)
{
	if (geteuid() != 0)
		SKIP(return, "needs root (BPF)");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		SKIP(return, "no kernel BTF (/sys/kernel/btf/vmlinux)");
	if (access(sched_bin(), X_OK) != 0)
		SKIP(return, "%s not built (BPF tools missing?)", sched_bin());
	if (gx_test_sanitized() == 2)
		SKIP(return, "TSan: sysmon reads a blocked M's fields without atomics by design");
}

static inline void stop_daemon(void)
{
	if (kdaemon > 0 && getpid() != kdaemon)
		kill(kdaemon, SIGTERM);
}

/* rm_pins - what a SIGKILLed daemon leaves: its pins, and its socket. */
static inline void rm_pins(void)
{
	const char *names[] = {"gx_procs", "gx_rbufs", "gx_tids"};
	char path[160];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", kpins, names[i]);
		unlink(path);
	}
	rmdir(kpins);
	unlink(ksock);
}

/* start_daemon - a private gmpx-sched for this test; GX_KASSIST_SOCK
 * points at it. It goes when the test does (--watch-fd). */
static inline void start_daemon(void)
{
	need_bpf();
	snprintf(ksock, sizeof(ksock), "/tmp/gxt-kassist-%d/sched.sock", getpid());
	snprintf(kpins, sizeof(kpins), "/sys/fs/bpf/gxt-kassist-%d", getpid());
	/* The daemon exits (cleanly, removing its pins) when the write end of
	 * this pipe closes, i.e. when this test process ends in any way. */
	/* A socket left by a SIGKILLed daemon of an earlier test whose pid we
	 * reuse would pass for this daemon's before it listens. */
	unlink(ksock);
	int watch[2];
	ASSERT_EQ(pipe2(watch, O_CLOEXEC), 0);
	kdaemon = fork();
	ASSERT_GE(kdaemon, 0);
	if (kdaemon == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (!getenv("GXT_SCHED_VERBOSE") && null >= 0)
			dup2(null, 2);
		fcntl(watch[0], F_SETFD, 0);
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", watch[0]);
		const char *argv[16] = {sched_bin(), "--socket", ksock, "--pin-dir", kpins, "--watch-fd", fd};
		for (int i = 0; kdaemon_args[i] && i < 8; i++)
			argv[7 + i] = kdaemon_args[i];
		execv(sched_bin(), (char **)argv);
		_exit(127);
	}
	close(watch[0]);
	int64_t t0 = gxt_now_ns();
	struct stat st;
	while (stat(ksock, &st) != 0) {
		int status;
		if (waitpid(kdaemon, &status, WNOHANG) == kdaemon) {
			ASSERT_EQ(kdaemon_args[0] && getenv("GXT_SCX_REQUIRED"), 0); /* the VM run: must load */
			SKIP(return, "gmpx-sched exited at start (status %d): cannot load BPF here", status);
		}
		ASSERT_LT(gxt_now_ns() - t0, (int64_t)10000000000);
		usleep(2000);
	}
	setenv("GX_KASSIST_SOCK", ksock, 1);
	atexit(stop_daemon);
}

/* KTEST_WITH - a test whose body runs as goroutine 1 of a runtime started
 * in `mode` on `procs` Ps, after the statement `setup` (which starts the
 * daemon it needs, or skips). */
#define KTEST_WITH(name, procs, mode, secs, setup)       \
	static void kt_body_##name(void);                \
	static int kt_main_##name(int argc, char **argv) \
	{                                                \
		(void)argc;                              \
		(void)argv;                              \
		kt_body_##name();                        \
		return harness_child_status();           \
	}                                                \
	TEST_TIMEOUT(name, secs)                         \
	{                                                \
		char *argv[] = {(char *)#name, NULL};    \
		setup;                                   \
		gx_maxprocs(procs);                      \
		ASSERT_EQ(gx_kassist_set(mode), 0);      \
		gx_main(kt_main_##name, 1, argv);        \
	}                                                \
	static void kt_body_##name(void)

/* KTEST - a test whose runtime starts in `mode`, with a private daemon
 * unless the mode is off. */
#define KTEST(name, procs, mode, secs) KTEST_WITH(name, procs, mode, secs, if ((mode) != GX_KASSIST_OFF) start_daemon())

#endif
