/* SPDX-License-Identifier: MIT */
/*
 * test_dump.c - goroutine dumps (user/dump.c, user/traceback.c): on
 * SIGQUIT, on gmpx: fatal, on deadlock and on a crash, every goroutine is
 * shown with its state, wait reason, how long it has waited, its stack as
 * symbolised frames (function, file:line) and who created it. Each test
 * runs a program in a grandchild (run: gxt_capture_main) and reads the dump as
 * text: blocks separated by blank lines, one per goroutine.
 */
#define _GNU_SOURCE
#include "gx_test.h"

#include <gmpx/debug.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>

static char out[65536];

/* block - the dump block (up to the next blank line) whose first line
 * starts with "goroutine " and holds head (e.g. "\"receiver\" [chan
 * receive"), copied into buf; NULL if there is none. Goroutine ids come in
 * per-P batches, so tests find goroutines by name. */
static const char *block(const char *head, char *buf, size_t n)
{
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *nl = strchr(p, '\n'), *h = strstr(p, head);
		if (strncmp(p, "goroutine ", 10) != 0 || !h || (nl && h > nl))
			continue;
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len >= n)
			len = n - 1;
		memcpy(buf, p, len);
		buf[len] = 0;
		return buf;
	}
	return NULL;
}

/* frame_line - the line number of function fn's frame in a block
 * ("fn()\n\t.../test_dump.c:LINE +0x..."); -1 if the frame or its line is
 * not there. */
static int frame_line(const char *blk, const char *fn)
{
	char want[96];
	snprintf(want, sizeof(want), "%s()\n\t", fn);
	const char *p = blk ? strstr(blk, want) : NULL;
	if (!p)
		return -1;
	p += strlen(want);
	const char *nl = strchr(p, '\n');
	const char *f = strstr(p, "test_dump.c:");
	if (!f || (nl && f > nl))
		return -1;
	return atoi(f + strlen("test_dump.c:"));
}

/* stacks_or_skip - the rest of a test checks frames: skip it, saying why,
 * where the dump could show none (built without libunwind-dev and
 * libdw-dev, or a library that would not load); what came before was
 * checked all the same. */
static void stacks_or_skip(void)
{
	const char *why = strstr(out, "no stacks: ");
	if (!why)
		return;
	const char *end = strchr(why, ')');
	int n = end ? (int)(end - why) : (int)strlen(why);
	SKIP(return, "the dump has %.*s", n, why);
}

/* run - main_fn in a grandchild with env; its output in out (logged).
 * Returns its exit status as a shell shows it, or -1 if it could not run. */
static int run(int (*main_fn)(int, char **), const char *const *env)
{
	int st;
	if (gxt_capture_main(main_fn, env, out, sizeof(out), &st, 30) != 0)
		return -1;
	TH_LOG("child said: %s", out);
	return gxt_exit_status(st);
}

static void no_core(void)
{
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
}

/* ---- the goroutines the dumps show ------------------------------------------------- */

static gx_chan *recv_chan;
static _Atomic int spinning, parked;
static gx_waitgroup forever = GX_WAITGROUP_INIT;

static const int receiver_first = __LINE__;
__attribute__((noinline)) static void dumpt_receiver(void *arg)
{
	(void)arg;
	int64_t v;
	atomic_fetch_add(&parked, 1);
	gx_chan_recv(recv_chan, &v, GX_FOREVER);
}
static const int receiver_last = __LINE__;

__attribute__((noinline)) static void dumpt_spinner(void *arg)
{
	(void)arg;
	atomic_store(&spinning, 1);
	for (;;)
		__asm__ volatile("" ::: "memory"); /* no runtime call: stays running */
}

/* the start of a program: a receiver blocked on a channel ("receiver");
 * noinline: its name is the receiver's "created by" at every -O level */
__attribute__((noinline)) static void start_receiver(void)
{
	gx_chan_make(&recv_chan, sizeof(int64_t), 0);
	gx_attr a = {.name = "receiver"};
	gx_go_attr(&a, dumpt_receiver, NULL);
	while (atomic_load(&parked) == 0)
		gx_yield();
	gx_sleep(10 * GX_MS); /* it parks */
}

/* go_and_wait - start fn as goroutine `name`, then wait forever (for the
 * dump to end the process); noinline, as start_receiver */
__attribute__((noinline)) static void go_and_wait(const char *name, gx_fn fn)
{
	gx_attr a = {.name = name};
	gx_go_attr(&a, fn, NULL);
	gx_wg_add(&forever, 1);
	gx_wg_wait(&forever);
}

/* ---- SIGQUIT ------------------------------------------------------------------------ */

#define SIGQUIT_AFTER_MS 300

static int dumpt_sigquit_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	start_receiver();
	gx_attr a = {.name = "spinner"};
	gx_go_attr(&a, dumpt_spinner, NULL);
	while (!atomic_load(&spinning))
		gx_yield();
	gx_sleep(SIGQUIT_AFTER_MS * GX_MS);
	kill(getpid(), SIGQUIT);
	gx_wg_add(&forever, 1);
	gx_wg_wait(&forever);
	return 0;
}

/* SIGQUIT: "SIGQUIT: quit", every goroutine with its frames (the running
 * spinner's too: its M prints them), exit status 2. */
TEST_TIMEOUT(dump_sigquit_shows_every_stack, 60)
{
	if (gx_test_sanitized() == 2)
		SKIP(return, "TSan delivers a signal only when its thread calls into TSan: the call-free spinner never "
			     "would");
	static const char *const env[] = {"GX_MAXPROCS=2", NULL};
	ASSERT_EQ(run(dumpt_sigquit_main, env), 2);
	EXPECT_NE(strstr(out, "SIGQUIT: quit\nPC="), NULL);

	char b[4096];
	const char *r = block("\"receiver\" [chan receive", b, sizeof(b));
	ASSERT_NE(r, NULL);
	/* how long: it parked about SIGQUIT_AFTER_MS ago (coarse clock) */
	const char *w = strstr(r, "[chan receive, ");
	ASSERT_NE(w, NULL);
	long ms = atol(w + strlen("[chan receive, "));
	EXPECT_NE(strstr(w, " ms]:"), NULL);
	EXPECT_GE(ms, SIGQUIT_AFTER_MS / 2);
	EXPECT_LE(ms, gxt_slack(SIGQUIT_AFTER_MS * 1000000) / 1000000 + 5000);
	/* main: parked in the WaitGroup, or still running if the signal came
	 * back to its own thread at once */
	EXPECT_NE(block("goroutine 1 [", b, sizeof(b)), NULL);
	EXPECT_NE(block("\"spinner\" [", b, sizeof(b)), NULL);

	stacks_or_skip();
	r = block("\"receiver\" [chan receive", b, sizeof(b));
	int line = frame_line(r, "dumpt_receiver");
	EXPECT_GE(line, receiver_first);
	EXPECT_LE(line, receiver_last);
	EXPECT_NE(strstr(r, "gx_chan_recv()\n"), NULL);
	EXPECT_NE(strstr(r, "created by start_receiver in goroutine 1\n\t"), NULL);
	block("goroutine 1 [", b, sizeof(b));
	EXPECT_GE(frame_line(b, "dumpt_sigquit_main"), 0);
	const char *s = block("\"spinner\" [", b, sizeof(b));
	EXPECT_GE(frame_line(s, "dumpt_spinner"), 0);
}

static int dumpt_sigquit_off_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	no_core();
	kill(getpid(), SIGQUIT);
	gx_sleep(10 * GX_SEC);
	return 0;
}

/* GX_DEBUG=sigquit=0: SIGQUIT keeps its default action (killed, no dump). */
TEST_TIMEOUT(dump_sigquit_off_leaves_it_alone, 60)
{
	static const char *const env[] = {"GX_DEBUG=sigquit=0", NULL};
	ASSERT_EQ(run(dumpt_sigquit_off_main, env), 128 + SIGQUIT); /* killed by it */
	EXPECT_EQ(strstr(out, "SIGQUIT: quit"), NULL);
}

/* ---- gmpx: fatal ---------------------------------------------------------------------- */

__attribute__((noinline)) static void dumpt_fataler(void *arg)
{
	(void)arg;
	char *argv[] = {(char *)"again", NULL};
	gx_main(NULL, 1, argv); /* a second gx_main: fatal */
}

static int dumpt_fatal_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	start_receiver();
	go_and_wait("fataler", dumpt_fataler);
	return 0;
}

/* gx_fatal: its line, then the dump; the failing goroutine's stack shows
 * where it failed. */
TEST_TIMEOUT(dump_on_fatal, 60)
{
	ASSERT_EQ(run(dumpt_fatal_main, NULL), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: gx_main called twice [goroutine "), NULL);
	EXPECT_NE(strstr(out, " \"fataler\"]\n"), NULL);
	char b[4096];
	const char *f = block("\"fataler\" [running]:", b, sizeof(b));
	ASSERT_NE(f, NULL);
	stacks_or_skip();
	EXPECT_NE(strstr(f, "gx_fatal()\n"), NULL);
	EXPECT_NE(strstr(f, "gx_main()\n"), NULL);
	EXPECT_GE(frame_line(f, "dumpt_fataler"), 0);
	EXPECT_NE(strstr(f, "created by go_and_wait in goroutine 1\n"), NULL);
	const char *r = block("\"receiver\" [chan receive", b, sizeof(b));
	ASSERT_NE(r, NULL);
	EXPECT_GE(frame_line(r, "dumpt_receiver"), receiver_first);
}

/* ---- deadlock ----------------------------------------------------------------------- */

static int dumpt_deadlock_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	start_receiver();
	gx_wg_add(&forever, 1);
	gx_wg_wait(&forever);
	return 0;
}

TEST_TIMEOUT(dump_on_deadlock, 60)
{
	ASSERT_EQ(run(dumpt_deadlock_main, NULL), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: all goroutines are asleep - deadlock!\n\n"), NULL);
	char b[4096];
	const char *r = block("\"receiver\" [chan receive", b, sizeof(b));
	ASSERT_NE(r, NULL);
	stacks_or_skip();
	int line = frame_line(r, "dumpt_receiver");
	EXPECT_GE(line, receiver_first);
	EXPECT_LE(line, receiver_last);
	EXPECT_NE(strstr(r, "created by start_receiver in goroutine 1\n"), NULL);
	const char *m = block("goroutine 1 [sync.WaitGroup.Wait", b, sizeof(b));
	ASSERT_NE(m, NULL);
	EXPECT_GE(frame_line(m, "dumpt_deadlock_main"), 0);
	EXPECT_EQ(strstr(out, "(the scheduler stack)"), NULL); /* a deadlock is the program's, not the M's */
}

/* ---- crashes -------------------------------------------------------------------------- */

static int *volatile null_ptr;
static volatile int zero, one = 1;

__attribute__((noinline)) static void dumpt_segv(void *arg)
{
	(void)arg;
	*null_ptr = 1;
}

__attribute__((noinline)) static void dumpt_fpe(void *arg)
{
	(void)arg;
	zero = one / zero; /* both volatile: a real idiv (1 / x is folded to compares) */
}

static gx_fn crash_fn;

static int dumpt_crash_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	no_core();
	start_receiver();
	go_and_wait("crasher", crash_fn);
	return 0;
}

/* A crash in goroutine code: "gmpx: fatal: signal SIG... at ADDR in
 * goroutine N "name"", the dump with the faulting frame first, then the
 * process dies by the signal. */
static void crash(gx_fn fn, int sig, const char *fnname, const char *line)
{
	crash_fn = fn;
	ASSERT_EQ(run(dumpt_crash_main, NULL), 128 + sig); /* killed by the signal */
	EXPECT_NE(strstr(out, line), NULL);
	EXPECT_NE(strstr(out, " \"crasher\"\nPC="), NULL);
	char b[4096];
	const char *c = block("\"crasher\" [running]:\n", b, sizeof(b));
	ASSERT_NE(c, NULL);
	EXPECT_NE(block("\"receiver\" [chan receive", b, sizeof(b)), NULL);
	stacks_or_skip();
	c = block("\"crasher\" [running]:\n", b, sizeof(b));
	char first[64];
	snprintf(first, sizeof(first), "[running]:\n%s()\n", fnname);
	EXPECT_NE(strstr(c, first), NULL); /* the faulting function is the top frame */
	EXPECT_GE(frame_line(c, fnname), 0);
}

TEST_TIMEOUT(dump_on_sigsegv, 60)
{
	if (gx_test_sanitized())
		SKIP(return, "the sanitizers handle SIGSEGV themselves");
	crash(dumpt_segv, SIGSEGV, "dumpt_segv", "gmpx: fatal: signal SIGSEGV at 0x0 in goroutine ");
}

TEST_TIMEOUT(dump_on_sigfpe, 60)
{
	if (gx_test_sanitized())
		SKIP(return, "the sanitizers handle SIGFPE themselves");
	crash(dumpt_fpe, SIGFPE, "dumpt_fpe", "gmpx: fatal: signal SIGFPE at 0x");
}

/* ---- the leak check ----------------------------------------------------------------- */

static gx_chan *never;

__attribute__((noinline)) static void dumpt_leaker(void *arg)
{
	(void)arg;
	int64_t v;
	gx_chan_recv(never, &v, GX_FOREVER);
}

static void finisher(void *arg)
{
	gx_sleep((int64_t)(intptr_t)arg);
}

static int dumpt_leak_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	gx_chan_make(&never, sizeof(int64_t), 0);
	gx_go(dumpt_leaker, NULL); /* alive before the mark: not a leak */
	gx_leakmark *m = gx_leakcheck_begin();
	if (!m)
		return 10;
	for (int i = 0; i < 3; i++)
		gx_go(finisher, (void *)(intptr_t)(20 * GX_MS)); /* finish after the check began */
	gx_attr a = {.name = "leaker"};
	gx_go_attr(&a, dumpt_leaker, NULL);
	int n = gx_leakcheck_end(m, gx_now() + gxt_slack(500 * GX_MS));
	printf("leaked %d\n", n);
	return 0;
}

/* One goroutine started since the mark never finishes: it is reported,
 * with its stack; the ones that finish during the wait and the one that
 * was there before are not. */
TEST_TIMEOUT(leakcheck_reports_what_leaked, 60)
{
	ASSERT_EQ(run(dumpt_leak_main, NULL), 0);
	EXPECT_NE(strstr(out, "leaked 1\n"), NULL);
	EXPECT_NE(strstr(out, "gmpx: leakcheck: 1 goroutine started since the mark still alive:\n"), NULL);
	char b[4096];
	const char *l = block("\"leaker\"", b, sizeof(b));
	ASSERT_NE(l, NULL);
	EXPECT_NE(strstr(l, "\"leaker\" [chan receive"), NULL);
	EXPECT_EQ(strstr(out, "finisher"), NULL);
	stacks_or_skip();
	EXPECT_GE(frame_line(l, "dumpt_leaker"), 0);
	EXPECT_NE(strstr(l, "created by dumpt_leak_main in goroutine 1\n"), NULL);
}

static void *foreign_end(void *arg)
{
	return (void *)(intptr_t)gx_leakcheck_end(arg, GX_NOW);
}

/* Goroutines that finish before the deadline are no leak; bad calls get
 * their errors. */
GX_TEST(leakcheck_waits_and_errors)
{
	gx_leakmark *m = gx_leakcheck_begin();
	ASSERT_NE(m, NULL);
	for (int i = 0; i < 50; i++)
		gx_go(finisher, (void *)(intptr_t)((i % 5) * GX_MS));
	EXPECT_EQ(gx_leakcheck_end(m, gx_now() + gxt_slack(5 * GX_SEC)), 0);
	EXPECT_EQ(gx_leakcheck_end(NULL, GX_NOW), -EINVAL);
	pthread_t t;
	void *r;
	ASSERT_EQ(pthread_create(&t, NULL, foreign_end, gx_leakcheck_begin()), 0);
	ASSERT_EQ(pthread_join(t, &r), 0);
	EXPECT_EQ((int)(intptr_t)r, -EPERM);
}
