/* SPDX-License-Identifier: MIT */
/*
 * test_faults.c - the runtime under resource limits and misuse: each test is
 * an attack a user could make by accident (a low RLIMIT_NPROC, too little
 * address space, a timer before gx_main, INT64_MAX durations, a bad reset,
 * garbage in the environment), and states what must happen instead of a
 * crash, a hang or a wrong-state fatal: a clear error code, a clean degrade,
 * or one `gmpx: fatal:` line naming the limit.
 *
 * Tests that need a fresh process run the program in a grandchild whose
 * stdout and stderr are captured (run_captured), so the test can read what
 * the runtime printed and how it exited.
 */
#include "gx_test.h"
#include <gmpx/net.h>

#include <grp.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* ---- running a program in a grandchild ------------------------------------------ */

/* run_captured - fork; the child runs fn(arg) with stdout and stderr going
 * to a pipe and exits with its return value. Fills out (NUL-terminated) and
 * returns the wait status. */
static int run_captured(int (*fn)(void *), void *arg, char *out, size_t n)
{
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[1]);
		int code = fn(arg);
		fflush(NULL);
		_exit(code);
	}
	close(pfd[1]);
	size_t len = 0;
	for (;;) {
		ssize_t r = read(pfd[0], out + len, n - 1 - len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		len += (size_t)r;
		if (len == n - 1) { /* keep draining so the child never blocks */
			char sink[256];
			while (read(pfd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	out[len] = 0;
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- thread creation fails (RLIMIT_NPROC) ------------------------------------ */

#define NPROC_UID     61234 /* a uid nothing else on the machine runs as */
#define NPROC_SLEEPER 24
#define NPROC_WORKER  24

static gx_waitgroup nproc_wg;
static _Atomic int nproc_done;

static void nproc_sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		gx_sys_sleep(GX_MS); /* a wrapped syscall: hands the P off to another M */
	atomic_fetch_add(&nproc_done, 1);
	gx_wg_done(&nproc_wg);
}

static void nproc_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		gxt_spin_ns(20 * GX_US);
		gx_yield();
	}
	atomic_fetch_add(&nproc_done, 1);
	gx_wg_done(&nproc_wg);
}

static int nproc_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < NPROC_SLEEPER + NPROC_WORKER; i++) {
		gx_wg_add(&nproc_wg, 1);
		gx_go(i < NPROC_SLEEPER ? nproc_sleeper : nproc_worker, NULL);
	}
	gx_wg_wait(&nproc_wg);
	printf("done %d\n", atomic_load(&nproc_done));
	return atomic_load(&nproc_done) == NPROC_SLEEPER + NPROC_WORKER ? 0 : 3;
}

static int nproc_child(void *arg)
{
	rlim_t lim = (rlim_t)(uintptr_t)arg;
	struct rlimit rl = {lim, lim};
	if (setrlimit(RLIMIT_NPROC, &rl) != 0 || setgroups(0, NULL) != 0 || setgid(NPROC_UID) != 0 ||
	    setuid(NPROC_UID) != 0)
		return 90;
	char *argv[] = {(char *)"nproc", NULL};
	gx_maxprocs(2);
	gx_kassist_set(GX_KASSIST_OFF); /* the runtime's own threads only */
	gx_main(nproc_main, 1, argv);
	return 91;
}

/* Thread creation fails at every count from "no thread at all" up: the
 * runtime runs with the Ms it has, every goroutine finishes, no fatal. */
TEST_TIMEOUT(fault_nproc_limit_degrades, 120)
{
	if (geteuid() != 0)
		SKIP(return, "needs root (to set another uid's RLIMIT_NPROC)");
	if (gx_test_sanitized() == 2)
		SKIP(return, "TSan starts a thread of its own");
	static const rlim_t limits[] = {1, 2, 3, 4, 6, 10, 20};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		char out[8192];
		int st = run_captured(nproc_child, (void *)(uintptr_t)limits[i], out, sizeof(out));
		TH_LOG("RLIMIT_NPROC %lu: exit %d: %s", (unsigned long)limits[i], exit_code(st), out);
		EXPECT_EQ(exit_code(st), 0);
		EXPECT_EQ(strstr(out, "fatal"), NULL);
		char want[32];
		snprintf(want, sizeof(want), "done %d", NPROC_SLEEPER + NPROC_WORKER);
		EXPECT_NE(strstr(out, want), NULL);
	}
}

/* ---- too little address space for goroutine 1 (RLIMIT_AS) ------------------------- */

static int as_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("main ran\n");
	return 0;
}

/* run_with_as - in a run_captured child: RLIMIT_AS = the address space in
 * use now plus room bytes, then gx_main(fn) on procs Ps. */
static int run_with_as(size_t room, int procs, int (*fn)(int, char **))
{
	long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld", &pages) != 1)
		return 92;
	fclose(f);
	rlim_t lim = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + room;
	struct rlimit rl = {lim, lim};
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 93;
	char *argv[] = {(char *)"as", NULL};
	gx_maxprocs(procs);
	gx_kassist_set(GX_KASSIST_OFF); /* what is measured is the runtime's own memory */
	gx_main(fn, 1, argv);
	return 94;
}

static int as_child(void *arg)
{
	(void)arg;
	/* room for a few small mappings, not for goroutine 1's 8 MiB stack */
	return run_with_as((size_t)4 << 20, 1, as_main);
}

/* gx_main's promise: no stack for goroutine 1 is `gmpx: fatal` and exit 2,
 * not a sleep forever. */
TEST_TIMEOUT(fault_rlimit_as_main_stack_is_fatal, 30)
{
	if (gx_test_sanitized())
		SKIP(return, "sanitizers reserve terabytes of address space");
	char out[8192];
	int st = run_captured(as_child, NULL, out, sizeof(out));
	TH_LOG("exit %d: %s", exit_code(st), out);
	EXPECT_EQ(exit_code(st), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: "), NULL);
	EXPECT_NE(strstr(out, "main goroutine"), NULL);
	EXPECT_EQ(strstr(out, "main ran"), NULL);
}

/* ---- calls before gx_main ------------------------------------------------------------ */

static void nop(void *arg)
{
	(void)arg;
}

/* Before gx_main there is no P and no poller: every call says -EPERM. */
TEST(fault_calls_before_main)
{
	gx_timer *t = NULL;
	EXPECT_EQ(gx_timer_make(&t, GX_MS), -EPERM);
	EXPECT_EQ(gx_after(&t, GX_MS), -EPERM);
	EXPECT_EQ(gx_ticker_make(&t, GX_MS), -EPERM);
	EXPECT_EQ(gx_after_func(&t, GX_MS, nop, NULL), -EPERM);
	EXPECT_EQ(t, NULL);
	EXPECT_EQ(gx_sleep(GX_MS), -EPERM);
	char buf[4];
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	EXPECT_EQ(gx_fd_open(p[0]), -EPERM);
	EXPECT_EQ(gx_read(p[0], buf, sizeof(buf), GX_NOW), -EPERM);
	EXPECT_EQ(gx_write(p[1], "x", 1, GX_NOW), -EPERM);
	EXPECT_EQ(gx_fd_close(p[0]), -EPERM);
	EXPECT_EQ(gx_listen_tcp("127.0.0.1:0", 1), -EPERM);
	EXPECT_EQ(gx_dial_tcp("127.0.0.1:1", GX_NOW), -EPERM);
}

/* ---- INT64_MAX durations ------------------------------------------------------------ */

static _Atomic int huge_sleep_returned;

static void huge_sleeper(void *arg)
{
	int r = gx_sleep(INT64_MAX);
	atomic_store(&huge_sleep_returned, r == 0 ? 1 : r);
	(void)arg;
}

static void huge_sleeper_until(void *arg)
{
	int r = gx_sleep_until(INT64_MAX);
	atomic_store(&huge_sleep_returned, r == 0 ? 1 : r);
	(void)arg;
}

/* A duration too long to add to now means "never" (saturated), not "at
 * once" (wrapped) nor -EINVAL. UBSan (the ASan build) checks the arithmetic. */
GX_TEST_PROCS(fault_int64_max_durations, 2, 30)
{
	static const int64_t huge[] = {INT64_MAX, INT64_MAX - 1, INT64_MAX / 2 + 1};
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		gx_timer *t = NULL, *tk = NULL, *af = NULL;
		ASSERT_EQ(gx_timer_make(&t, huge[i]), 0);
		ASSERT_EQ(gx_ticker_make(&tk, huge[i]), 0);
		ASSERT_EQ(gx_after_func(&af, huge[i], nop, NULL), 0);
		int64_t v;
		EXPECT_EQ(gx_chan_recv(gx_timer_chan(t), &v, gx_now() + 30 * GX_MS), -ETIMEDOUT);
		EXPECT_EQ(gx_chan_recv(gx_timer_chan(tk), &v, gx_now() + 1 * GX_MS), -ETIMEDOUT);
		EXPECT_EQ(gx_timer_reset(t, huge[i]), 1);
		EXPECT_EQ(gx_chan_recv(gx_timer_chan(t), &v, gx_now() + 1 * GX_MS), -ETIMEDOUT);
		EXPECT_EQ(gx_timer_stop(t), 1);
		EXPECT_EQ(gx_timer_stop(tk), 1);
		EXPECT_EQ(gx_timer_stop(af), 1);
		gx_timer_free(t);
		gx_timer_free(tk);
		gx_timer_free(af);
	}
	GXT_LEAKS_EXPECTED("two goroutines sleep for INT64_MAX ns");
	gx_go(huge_sleeper, NULL);
	gx_go(huge_sleeper_until, NULL);
	gx_sleep(30 * GX_MS);
	EXPECT_EQ(atomic_load(&huge_sleep_returned), 0); /* both still asleep: forever */
}

/* ---- timer misuse leaves the object unchanged ----------------------------------------- */

GX_TEST_PROCS(fault_ticker_reset_zero_leaves_it_running, 1, 30)
{
	gx_timer *tk;
	ASSERT_EQ(gx_ticker_make(&tk, 5 * GX_MS), 0);
	EXPECT_EQ(gx_timer_reset(tk, 0), -EINVAL);
	EXPECT_EQ(gx_timer_reset(tk, -1), -EINVAL);
	int64_t v;
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(gx_chan_recv(gx_timer_chan(tk), &v, gx_now() + gxt_slack(500 * GX_MS)), 1);
	EXPECT_EQ(gx_timer_stop(tk), 1); /* still active after the refused resets */
	gx_timer_free(tk);

	gx_timer *t;
	ASSERT_EQ(gx_timer_make(&t, GX_SEC), 0);
	EXPECT_EQ(gx_timer_reset(t, -5), -EINVAL);
	EXPECT_EQ(gx_timer_stop(t), 1);	    /* a refused reset did not stop it either */
	EXPECT_EQ(gx_timer_reset(t, 0), 0); /* Go: Reset(0) on a timer fires now */
	EXPECT_EQ(gx_chan_recv(gx_timer_chan(t), &v, gx_now() + gxt_slack(500 * GX_MS)), 1);
	gx_timer_free(t);
}

/* ---- environment values -------------------------------------------------------------- */

static size_t env_stack;
static gx_waitgroup env_wg;

static void env_stack_size(void *arg)
{
	(void)arg;
	env_stack = gx_test_stack_size();
	gx_wg_done(&env_wg);
}

static int env_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_wg_add(&env_wg, 1);
	gx_go(env_stack_size, NULL); /* a goroutine with the default stack */
	gx_wg_wait(&env_wg);
	printf("stack %zu\n", env_stack);
	return 0;
}

struct envcase {
	const char *name, *value;
};

static int env_child(void *arg)
{
	const struct envcase *c = arg;
	setenv(c->name, c->value, 1);
	char *argv[] = {(char *)"env", NULL};
	gx_maxprocs(1);
	gx_main(env_main, 1, argv);
	return 95;
}

/* A size with trailing garbage, a sign or a value that overflows when
 * scaled is refused with one line naming it; the default stays. */
TEST(fault_env_stacksize_garbage)
{
	static const char *bad[] = {"65536abc",
				    "64kxyz",
				    "-1",
				    "0x",
				    "k",
				    "64 k",
				    "16384kk",
				    "99999999999999999999",
				    "35184372088832m",
				    "18014398509481984k"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[4096];
		struct envcase c = {"GX_STACKSIZE", bad[i]};
		int st = run_captured(env_child, &c, out, sizeof(out));
		TH_LOG("GX_STACKSIZE=%s: %s", bad[i], out);
		EXPECT_EQ(exit_code(st), 0);
		char want[64];
		snprintf(want, sizeof(want), "GX_STACKSIZE=%s", bad[i]);
		EXPECT_NE(strstr(out, want), NULL);
		EXPECT_NE(strstr(out, "stack 65536"), NULL);
	}
	static const struct {
		const char *v;
		const char *want;
	} good[] = {{"128k", "stack 131072"}, {"1M", "stack 1048576"}, {"32768", "stack 32768"}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char out[4096];
		struct envcase c = {"GX_STACKSIZE", good[i].v};
		int st = run_captured(env_child, &c, out, sizeof(out));
		EXPECT_EQ(exit_code(st), 0);
		EXPECT_EQ(strstr(out, "GX_STACKSIZE"), NULL);
		EXPECT_NE(strstr(out, good[i].want), NULL);
	}
}

/* Every setting README documents is known to the parser. */
TEST(fault_env_debug_settings_known)
{
	static const char *ok[] = {"asyncpreemptoff=1", "deadlock=0", "schedtrace=1000",
				   "schedtrace=1000,scheddetail=1", "asyncpreemptoff=1,deadlock=0"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char out[8192];
		struct envcase c = {"GX_DEBUG", ok[i]};
		int st = run_captured(env_child, &c, out, sizeof(out));
		EXPECT_EQ(exit_code(st), 0);
		EXPECT_EQ(strstr(out, "unknown"), NULL);
		if (strstr(out, "unknown"))
			TH_LOG("GX_DEBUG=%s: %s", ok[i], out);
	}
	char out[4096];
	struct envcase c = {"GX_DEBUG", "nosuchthing=1"};
	run_captured(env_child, &c, out, sizeof(out));
	EXPECT_NE(strstr(out, "unknown setting \"nosuchthing=1\""), NULL);
}

/* ---- kernel-assist status lines --------------------------------------------------- */

static int kassist_status_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("status: %s\n", gx_kassist_status());
	return 0;
}

static int kassist_child(void *arg)
{
	const struct envcase *c = arg;
	setenv(c->name, c->value, 1);
	setenv("GX_KASSIST_SOCK", "/nonexistent-gmpx/sched.sock", 1);
	char *argv[] = {(char *)"ka", NULL};
	gx_maxprocs(1);
	gx_main(kassist_status_main, 1, argv);
	return 96;
}

/* GX_KASSIST=off asked for off mode; a missing daemon names the binary a
 * user has installed, not a source directory. */
TEST(fault_kassist_status_lines)
{
	char out[4096];
	struct envcase off = {"GX_KASSIST", "off"};
	EXPECT_EQ(exit_code(run_captured(kassist_child, &off, out, sizeof(out))), 0);
	TH_LOG("GX_KASSIST=off: %s", out);
	EXPECT_NE(strstr(out, "status: off mode"), NULL);
	EXPECT_EQ(strstr(out, "not requested"), NULL);
	struct envcase trace = {"GX_KASSIST", "trace"};
	EXPECT_EQ(exit_code(run_captured(kassist_child, &trace, out, sizeof(out))), 0);
	TH_LOG("GX_KASSIST=trace, no daemon: %s", out);
	EXPECT_NE(strstr(out, "no gmpx-sched daemon"), NULL);
	EXPECT_EQ(strstr(out, "tools/"), NULL);
	EXPECT_NE(strstr(out, "running in off mode"), NULL);
}

/* ---- GX_KASSIST_LOAD leaves nothing behind ------------------------------------------- */

static int selfload_ok_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mode %d\n", gx_kassist_mode());
	return 0;
}

static void selfload_deadlocker(void *arg)
{
	(void)arg;
}

static int selfload_fatal_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mode %d\n", gx_kassist_mode());
	fflush(stdout);
	gx_go(selfload_deadlocker, NULL);
	gx_chan *c;
	gx_chan_make(&c, 0, 0);
	gx_chan_recv(c, NULL, GX_FOREVER); /* all goroutines asleep: gmpx: fatal */
	return 0;
}

static int selfload_child(void *arg)
{
	setenv("GX_KASSIST", "trace", 1);
	const char *b = getenv("GXT_SCHED");
	setenv("GX_KASSIST_LOAD", b && *b ? b : "build/gmpx-sched", 1);
	char *argv[] = {(char *)"selfload", NULL};
	gx_maxprocs(1);
	gx_main(arg ? selfload_fatal_main : selfload_ok_main, 1, argv);
	return 97;
}

static int count_kassist_dirs(void)
{
	int n = 0;
	FILE *p = popen("ls -d /tmp/gmpx-kassist-* 2>/dev/null | wc -l", "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* A private daemon's directory goes with the process, however it ends:
 * a normal exit and a fatal error. */
TEST_TIMEOUT(fault_kassist_load_cleans_up, 60)
{
	const char *b = getenv("GXT_SCHED");
	if (geteuid() != 0 || access(b && *b ? b : "build/gmpx-sched", X_OK) != 0 ||
	    access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		SKIP(return, "needs root, BTF and build/gmpx-sched");
	if (gx_test_sanitized() == 2)
		SKIP(return, "TSan: trace mode is not run under TSan");
	int before = count_kassist_dirs();
	char out[8192];
	int st = run_captured(selfload_child, NULL, out, sizeof(out));
	TH_LOG("normal exit %d: %s", exit_code(st), out);
	EXPECT_EQ(exit_code(st), 0);
	EXPECT_NE(strstr(out, "mode 1"), NULL); /* GX_KASSIST_TRACE: it did load */
	EXPECT_EQ(count_kassist_dirs(), before);
	st = run_captured(selfload_child, (void *)1, out, sizeof(out));
	TH_LOG("fatal exit %d: %s", exit_code(st), out);
	EXPECT_EQ(exit_code(st), 2);
	EXPECT_NE(strstr(out, "deadlock"), NULL);
	EXPECT_EQ(count_kassist_dirs(), before);
}

/* ---- file descriptors run out (RLIMIT_NOFILE) --------------------------------------- */

static int nofile_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* Sockets until the limit: each refusal is -EMFILE, then the runtime
	 * goes on (timers, channels, goroutines need no new fd). */
	int fds[64], n = 0, err = 0;
	while (n < 64 && (err = gx_listen_tcp("127.0.0.1:0", 4)) >= 0)
		fds[n++] = err;
	printf("listeners %d, then %d\n", n, err);
	gx_sleep(GX_MS);
	gx_chan *c;
	if (gx_chan_make(&c, sizeof(int), 1) != 0)
		return 5;
	int v = 7;
	gx_chan_send(c, &v, GX_FOREVER);
	v = 0;
	gx_chan_recv(c, &v, GX_FOREVER);
	for (int i = 0; i < n; i++)
		gx_fd_close(fds[i]);
	printf("after %d\n", v);
	return err == -EMFILE && v == 7 ? 0 : 6;
}

static int nofile_child(void *arg)
{
	rlim_t extra = (rlim_t)(uintptr_t)arg;
	/* The limit caps fd numbers: new fds come from the lowest free one. */
	int lowfree = 0;
	while (fcntl(lowfree, F_GETFD) >= 0)
		lowfree++;
	struct rlimit rl = {(rlim_t)lowfree + extra, (rlim_t)lowfree + extra};
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 98;
	char *argv[] = {(char *)"nofile", NULL};
	gx_maxprocs(1);
	gx_main(nofile_main, 1, argv);
	return 99;
}

/* No fd for the poller: one fatal line naming the limit. A few fds: every
 * call that needs one more says -EMFILE and the program goes on. */
TEST_TIMEOUT(fault_nofile_limit, 30)
{
	char out[4096];
	int st = run_captured(nofile_child, (void *)(uintptr_t)0, out, sizeof(out));
	TH_LOG("no fd to spare: exit %d: %s", exit_code(st), out);
	EXPECT_EQ(exit_code(st), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: "), NULL);
	EXPECT_NE(strstr(out, "RLIMIT_NOFILE"), NULL);
	st = run_captured(nofile_child, (void *)(uintptr_t)8, out, sizeof(out));
	TH_LOG("8 fds to spare: exit %d: %s", exit_code(st), out);
	EXPECT_EQ(exit_code(st), 0);
	EXPECT_NE(strstr(out, "after 7"), NULL);
	EXPECT_EQ(strstr(out, "fatal"), NULL);
}

/* ---- lock preconditions are checked -------------------------------------------------- */

static int lockcheck_child(void *arg)
{
	gx_test_assert_sched_lock(arg != NULL);
	printf("returned\n");
	return 0;
}

/* Where lock checks are built in (sanitizer builds), a function that needs
 * sched.lock dies naming it when called without; with it, nothing happens. */
TEST(fault_lock_precondition_asserted)
{
	if (!gx_test_lock_checks())
		SKIP(return, "release build: lock checks are in the sanitizer builds");
	char out[2048];
	int st = run_captured(lockcheck_child, (void *)1, out, sizeof(out));
	EXPECT_EQ(exit_code(st), 0);
	EXPECT_NE(strstr(out, "returned"), NULL);
	st = run_captured(lockcheck_child, NULL, out, sizeof(out));
	TH_LOG("without the lock: exit %d: %s", exit_code(st), out);
	EXPECT_EQ(exit_code(st), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: gx_test_assert_sched_lock: lock &gx_sched.lock not held"), NULL);
}

/* ---- goroutine stacks run out (RLIMIT_AS) -------------------------------------------- */

#define ASG_N 2000 /* x 64 KiB: ~125 MiB of stacks, against ~24 MiB of room */

static gx_waitgroup asg_wg;
static _Atomic int asg_done;

static void asg_worker(void *arg)
{
	(void)arg;
	gx_sleep(2 * GX_MS); /* hold the stack a while */
	atomic_fetch_add(&asg_done, 1);
	gx_wg_done(&asg_wg);
}

static int asg_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < ASG_N; i++) {
		gx_wg_add(&asg_wg, 1);
		/* no memory even for the G: a clean -ENOMEM; wait for some to end */
		int64_t r;
		for (int tries = 0; (r = gx_go(asg_worker, NULL)) == -ENOMEM && tries < 5000; tries++)
			gx_sleep(GX_MS);
		if (r < 0)
			return 7;
	}
	gx_wg_wait(&asg_wg);
	printf("done %d\n", atomic_load(&asg_done));
	return atomic_load(&asg_done) == ASG_N ? 0 : 8;
}

static int asg_child(void *arg)
{
	(void)arg;
	/* goroutine 1's 8 MiB stack, sysmon's and the Ms' thread stacks
	 * (8 MiB each by default) and about 16 MiB for goroutine stacks */
	return run_with_as((size_t)48 << 20, 2, asg_main);
}

/* More goroutines than stacks fit: the rest wait for a stack (one line
 * says so) and run as others finish; every one completes. */
TEST_TIMEOUT(fault_rlimit_as_goroutines_wait_for_stacks, 60)
{
	if (gx_test_sanitized())
		SKIP(return, "sanitizers reserve terabytes of address space");
	char out[8192];
	int st = run_captured(asg_child, NULL, out, sizeof(out));
	TH_LOG("exit %d: %s", exit_code(st), out);
	EXPECT_EQ(exit_code(st), 0);
	char want[32];
	snprintf(want, sizeof(want), "done %d", ASG_N);
	EXPECT_NE(strstr(out, want), NULL);
	EXPECT_EQ(strstr(out, "fatal"), NULL);
}
