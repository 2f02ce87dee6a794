/* SPDX-License-Identifier: MIT */
/*
 * test_fault_preempt.c - what preemption must not do to ordinary C code in
 * goroutines, and the ASan build's view of reused goroutine stacks.
 *
 *  - The preemption signal never makes a plain libc call the runtime does
 *    not see (usleep, nanosleep, poll) return EINTR, in off and trace mode,
 *    at gomaxprocs 1 and 2, while a spinner that shares the Ps is still
 *    preempted asynchronously and the other goroutines still run on time.
 *  - A goroutine that holds its P in code the runtime cannot preempt (an
 *    unwrapped blocking call) is reported on stderr, once.
 *  - Goroutines on reused stacks pass local buffers to the wrappers
 *    (gx_sys_pread, ...) after deep recursion on the same stacks: the ASan
 *    build reports nothing.
 */
#define _GNU_SOURCE
#include "gx_test.h"
#include "kdaemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- no EINTR from preemption in plain libc calls --------------------------------- */

enum { CALL_USLEEP, CALL_NANOSLEEP, CALL_POLL, NCALLKINDS };
static const char *const call_names[NCALLKINDS] = {"usleep", "nanosleep", "poll"};

#define ES_SLEEP_MS 20
#define ES_CALLS    25

static _Atomic bool es_stop, es_started;
static _Atomic int es_calls, es_fails, es_errno;
static _Atomic int64_t es_shortest_fail, es_worst_extra;
static gx_waitgroup es_wg;

/* plain_call - one call of the kind, not wrapped: the runtime cannot see it. */
static int plain_call(int kind)
{
	switch (kind) {
	case CALL_USLEEP:
		return usleep(ES_SLEEP_MS * 1000);
	case CALL_NANOSLEEP: {
		struct timespec ts = {0, ES_SLEEP_MS * 1000000L};
		return nanosleep(&ts, NULL);
	}
	default:
		return poll(NULL, 0, ES_SLEEP_MS);
	}
}

struct es_arg {
	int kind;
	bool coop; /* enter the runtime after every call (gx_preempt_check) */
};

static void es_caller(void *arg)
{
	const struct es_arg *a = arg;
	atomic_store(&es_started, true);
	for (int i = 0; i < ES_CALLS; i++) {
		int64_t t0 = gxt_now_ns();
		int rc = plain_call(a->kind);
		int64_t took = gxt_now_ns() - t0;
		/* rc alone says it failed: errno is read at once, but is only
		 * for the log (the goroutine may move between threads) */
		if (rc < 0) {
			atomic_store(&es_errno, errno);
			atomic_fetch_add(&es_fails, 1);
			if (!atomic_load(&es_shortest_fail) || took < atomic_load(&es_shortest_fail))
				atomic_store(&es_shortest_fail, took);
		}
		atomic_fetch_add(&es_calls, 1);
		if (a->coop)
			gx_preempt_check();
		int64_t extra = gxt_now_ns() - t0 - ES_SLEEP_MS * GX_MS;
		if (i > 0 && extra > atomic_load(&es_worst_extra))
			atomic_store(&es_worst_extra, extra);
	}
	atomic_store(&es_stop, true);
	gx_wg_done(&es_wg);
}

static void es_spinner(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	while (!atomic_load_explicit(&es_stop, memory_order_relaxed))
		x++; /* no calls: only the signal can stop us */
	gx_wg_done(&es_wg);
}

static void need_async_preempt(void)
{
	/* (before gx_main the flag says only that it is not switched off yet) */
	if (!gx_test_async_preempt_enabled() || gx_test_sanitized() == 2)
		SKIP(return, "asynchronous preemption is off in this build (TSan): no signal to test");
}

/*
 * es_body - for each kind of call: a goroutine makes ES_CALLS plain calls of
 * ES_SLEEP_MS while a spinner runs, and the main goroutine ticks (2 ms
 * sleeps) beside them. coop: the caller enters the runtime after each call,
 * so at gomaxprocs 1 it gives the P to the others when asked (without, in
 * off mode, it would hold the only P for good: see held_p_is_reported). No
 * call may fail; the spinner must be preempted asynchronously, and the
 * caller and the ticks must get their turns.
 */
static void es_body(bool coop)
{
	need_async_preempt();
	int procs = gx_maxprocs(0);
	for (int kind = 0; kind < NCALLKINDS; kind++) {
		atomic_store(&es_stop, false);
		atomic_store(&es_started, false);
		atomic_store(&es_calls, 0);
		atomic_store(&es_fails, 0);
		atomic_store(&es_errno, 0);
		atomic_store(&es_shortest_fail, 0);
		atomic_store(&es_worst_extra, 0);
		uint64_t pre0 = gx_test_async_preemptions();
		struct es_arg a = {kind, coop};
		gx_wg_add(&es_wg, 2);
		gx_go(es_caller, &a);
		/* the caller first, so that at gomaxprocs 2 the spinner and our
		 * timers are on the P it does not hold */
		while (!atomic_load(&es_started))
			gx_yield();
		gx_go(es_spinner, NULL);
		int64_t worst_late = 0;
		long ticks = 0;
		while (!atomic_load(&es_stop)) {
			int64_t t0 = gxt_now_ns();
			gx_sleep(2 * GX_MS);
			int64_t late = gxt_now_ns() - t0 - 2 * GX_MS;
			if (late > worst_late)
				worst_late = late;
			ticks++;
		}
		gx_wg_wait(&es_wg);
		uint64_t pre = gx_test_async_preemptions() - pre0;
		int calls = atomic_load(&es_calls), fails = atomic_load(&es_fails);
		int64_t extra = atomic_load(&es_worst_extra);
		TH_LOG("%s, gomaxprocs %d, %s: EINTR %d/%d (errno %d, shortest %.3f ms); caller's worst extra wait "
		       "%.1f ms; %ld ticks, worst %.1f ms late; async preemptions %llu",
		       call_names[kind], procs, gx_kassist_mode() == GX_KASSIST_TRACE ? "trace" : "off",
		       atomic_load(&es_fails), atomic_load(&es_calls), atomic_load(&es_errno),
		       (double)atomic_load(&es_shortest_fail) / 1e6, (double)atomic_load(&es_worst_extra) / 1e6, ticks,
		       (double)worst_late / 1e6, (unsigned long long)pre);
		EXPECT_EQ(calls, ES_CALLS);
		/* Off mode looks at the thread in /proc just before it signals;
		 * a thread that enters a blocking call between the look and the
		 * signal's arrival still gets EINTR (sysmon.c: the residual race,
		 * a microsecond or two natively). In an emulated guest
		 * (GXT_SLACK) a vCPU can stall for milliseconds inside that
		 * window; trace mode has the same window between its read of
		 * the M's kernel word and the signal (1/25 seen once in a
		 * guest, 2/25 once in another). There, up to EMULATED_EINTR_MAX
		 * such calls in ES_CALLS are tolerated and logged; on real
		 * hardware, none. */
		enum { EMULATED_EINTR_MAX = 2 };
		const char *slack = getenv("GXT_SLACK");
		bool emulated = slack && atol(slack) > 1;
		if (emulated && fails > 0 && fails <= EMULATED_EINTR_MAX)
			TH_LOG("emulated guest: %d EINTR from the residual race tolerated", fails);
		else
			EXPECT_EQ(fails, 0);
		EXPECT_GT(pre, 0); /* the spinner was preempted */
		EXPECT_GT(ticks, 5);
		/* behind the caller's sleep (gomaxprocs 1) and the spinner's
		 * quantum (10 ms): ~40 ms at most on an idle machine; not for
		 * the whole run (500 ms), which is what a spinner that is not
		 * preempted costs. Wide: the 2 CPUs may be shared. In the TCG
		 * guest's whole-machine scx run (off mode on 4 vCPUs that one
		 * host thread emulates) the worst was 100-1,074 ms over 6 runs,
		 * the same at cb44647 and after: there the bound is 2 s (a
		 * stall, not a schedule), and a spinner that is never
		 * preempted is still caught by the preemption count above. */
		EXPECT_LT(worst_late, emulated ? 2000 * GX_MS : gxt_slack(150 * GX_MS));
		if (coop)
			EXPECT_LT(extra, gxt_slack(150 * GX_MS));
	}
}

static void need_trace(void)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
}

KTEST(preempt_no_eintr_off_1p, 1, GX_KASSIST_OFF, 60)
{
	es_body(true);
}

KTEST(preempt_no_eintr_off_2p, 2, GX_KASSIST_OFF, 60)
{
	es_body(false);
}

KTEST(preempt_no_eintr_trace_1p, 1, GX_KASSIST_TRACE, 60)
{
	need_trace();
	es_body(true);
}

/* gomaxprocs 1, the caller never enters the runtime: its P is revoked at its
 * first block and it runs on without one (the revocation kick's case). */
KTEST(preempt_no_eintr_trace_1p_revoked, 1, GX_KASSIST_TRACE, 60)
{
	need_trace();
	es_body(false);
}

KTEST(preempt_no_eintr_trace_2p, 2, GX_KASSIST_TRACE, 60)
{
	need_trace();
	es_body(false);
}

/* ---- a P held in code the runtime cannot preempt is reported once ------------------ */

static char held_out[16384];

static void held_sleeper(void *arg)
{
	int64_t until = gxt_now_ns() + *(const int64_t *)arg;
	while (gxt_now_ns() < until)
		usleep(5000); /* unwrapped: the P stays "running" */
}

static int held_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* twice the reporting threshold (100 quanta of 2 ms), twice over */
	int64_t hold = 400 * GX_MS;
	for (int i = 0; i < 2; i++) {
		gx_attr attr = {.name = "held-p"};
		int64_t id = gx_go_attr(&attr, held_sleeper, &hold);
		printf("holder %d: goroutine %lld\n", i, (long long)id);
		fflush(stdout);
		gx_sleep(GX_MS); /* it takes the only P, until it returns */
	}
	gx_sleep(50 * GX_MS);
	return 0;
}

static void run_held(void *arg)
{
	(void)arg;
	putenv((char *)"GX_QUANTUM=2ms");
	gx_maxprocs(1);
	ASSERT_EQ(gx_kassist_set(GX_KASSIST_OFF), 0);
	char *argv[] = {(char *)"held", NULL};
	gx_main(held_main, 1, argv);
}

TEST_TIMEOUT(held_p_is_reported, 60)
{
	need_async_preempt();
	int st;
	ASSERT_EQ(harness_run_capture(run_held, NULL, held_out, sizeof(held_out), &st, 60), 0);
	TH_LOG("%s", held_out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	long long id = 0;
	const char *h = strstr(held_out, "holder 0: goroutine ");
	ASSERT_NOT_NULL(h);
	id = atoll(h + strlen("holder 0: goroutine "));
	char want[128];
	snprintf(want, sizeof(want), "gmpx: goroutine %lld \"held-p\" has held P 0 for ", id);
	const char *line = strstr(held_out, want);
	ASSERT_NOT_NULL(line);
	EXPECT_NOT_NULL(strstr(line, " s in code the runtime cannot preempt (a blocking call it cannot see, or "
				     "libc): wrap it with GX_SYSCALL, or use GX_KASSIST=trace\n"));
	int n = 0;
	for (const char *p = held_out; (p = strstr(p, "has held P")); p++)
		n++;
	EXPECT_EQ(n, 1);
}

/* A spinner that is preempted as it should be is not reported. */
static void quick_spinner(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	int64_t until = gxt_now_ns() + 500 * GX_MS;
	while (gxt_now_ns() < until)
		for (int i = 0; i < 1000; i++)
			x++;
	gx_wg_done(&es_wg);
}

static int spin_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_wg_add(&es_wg, 2);
	gx_go(quick_spinner, NULL);
	gx_go(quick_spinner, NULL);
	gx_wg_wait(&es_wg);
	printf("async preemptions %llu\n", (unsigned long long)gx_test_async_preemptions());
	return 0;
}

static void run_spin(void *arg)
{
	(void)arg;
	putenv((char *)"GX_QUANTUM=2ms");
	gx_maxprocs(1);
	char *argv[] = {(char *)"spin", NULL};
	gx_main(spin_main, 1, argv);
}

TEST_TIMEOUT(preempted_spinner_is_not_reported, 60)
{
	need_async_preempt();
	int st;
	ASSERT_EQ(harness_run_capture(run_spin, NULL, held_out, sizeof(held_out), &st, 60), 0);
	TH_LOG("%s", held_out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	EXPECT_NULL(strstr(held_out, "has held P"));
}

/* ---- ASan: local buffers on reused goroutine stacks -------------------------------- */

static int asan_fd, asan_null;
static char asan_path[64];
static gx_waitgroup asan_wg;
static _Atomic long asan_bytes;

#define ASAN_FILE_BYTES 4096

/* Each frame has a local buffer (with ASan's redzones around it); every
 * level reads into it through a wrapper, some park or spin to be preempted. */
static __attribute__((noinline)) long deep(int depth, unsigned seed, bool spin)
{
	char buf[96 + (seed % 7) * 16];
	memset(buf, (int)depth, sizeof(buf));
	ssize_t n = gx_sys_pread(asan_fd, buf, sizeof(buf), (off_t)(seed % 64));
	EXPECT_EQ(n, (ssize_t)sizeof(buf));
	if (depth % 13 == 0)
		gx_yield();
	if (depth % 17 == 0) {
		volatile unsigned long x = 0;
		for (int i = 0; i < 20000; i++)
			x++; /* somewhere to be preempted asynchronously */
	}
	if (depth == 0 && spin) {
		int64_t until = gxt_now_ns() + 15 * GX_MS;
		while (gxt_now_ns() < until)
			for (volatile int i = 0; i < 1000; i++)
				; /* past a quantum: preempted asynchronously, deep */
	}
	long r = depth > 0 ? deep(depth - 1, seed * 1103515245u + 12345u, spin) : 0;
	return r + n + buf[depth % sizeof(buf)];
}

static __attribute__((noinline)) void shallow(unsigned seed)
{
	char small[40 + seed % 24];
	struct stat st;
	char line[128];
	EXPECT_EQ(gx_sys_pread(asan_fd, small, sizeof(small), 7), (ssize_t)sizeof(small));
	EXPECT_EQ(gx_sys_pwrite(asan_null, small, sizeof(small), 0), (ssize_t)sizeof(small));
	EXPECT_EQ(gx_sys_write(asan_null, small, sizeof(small)), (ssize_t)sizeof(small));
	EXPECT_EQ(gx_sys_stat(asan_path, &st), 0);
	EXPECT_EQ((long)st.st_size, ASAN_FILE_BYTES);
	int fd = gx_sys_open(asan_path, O_RDONLY);
	EXPECT_GE(fd, 0);
	if (fd >= 0) {
		EXPECT_EQ(gx_sys_read(fd, line, sizeof(line)), (ssize_t)sizeof(line));
		close(fd);
	}
	atomic_fetch_add(&asan_bytes, (long)sizeof(small) + small[0]);
}

/* The goroutine's own frame holds the buffer, where the previous owner of
 * the stack had the frames it exited through. */
#define ASAN_WORKER(name, bytes)                                                                 \
	static void name(void *arg)                                                              \
	{                                                                                        \
		unsigned i = (unsigned)(uintptr_t)arg;                                           \
		char buf[bytes];                                                                 \
		EXPECT_EQ(gx_sys_pread(asan_fd, buf, sizeof(buf), 3), (ssize_t)sizeof(buf));     \
		if (i % 2 == 0) /* deep, then ... */                                             \
			atomic_fetch_add(&asan_bytes, deep(60 + (int)(i % 40), i, i % 24 == 0)); \
		shallow(i); /* ... shallow on the same stack */                                  \
		EXPECT_EQ(gx_sys_pread(asan_fd, buf, sizeof(buf), 5), (ssize_t)sizeof(buf));     \
		atomic_fetch_add(&asan_bytes, buf[i % sizeof(buf)]);                             \
		gx_wg_done(&asan_wg);                                                            \
	}
ASAN_WORKER(asan_worker8, 8)
ASAN_WORKER(asan_worker24, 24)
ASAN_WORKER(asan_worker64, 64)
ASAN_WORKER(asan_worker200, 200)
ASAN_WORKER(asan_worker1000, 1000)
static void (*const asan_workers[])(void *) = {asan_worker8, asan_worker24, asan_worker64, asan_worker200,
					       asan_worker1000};

GX_TEST_PROCS(asan_reused_stacks_local_buffers, 2, 120)
{
	snprintf(asan_path, sizeof(asan_path), "/tmp/gxt-asan-%d", getpid());
	asan_fd = open(asan_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(asan_fd, 0);
	char block[ASAN_FILE_BYTES];
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)(i * 7);
	ASSERT_EQ(write(asan_fd, block, sizeof(block)), (ssize_t)sizeof(block));
	asan_null = open("/dev/null", O_WRONLY);
	ASSERT_GE(asan_null, 0);
	int rounds = 30, per = 48;
	for (int r = 0; r < rounds; r++) {
		/* each round reuses the stacks the previous one freed, deep
		 * frames where shallow ones were and the other way round */
		gx_wg_add(&asan_wg, per);
		for (int k = 0; k < per; k++)
			gx_go(asan_workers[(unsigned)(r + k) % 5], (void *)(uintptr_t)(r * per + k + (r & 1)));
		gx_wg_wait(&asan_wg);
	}
	TH_LOG("%d goroutines, %ld bytes, async preemptions %llu", rounds * per, atomic_load(&asan_bytes),
	       (unsigned long long)gx_test_async_preemptions());
	close(asan_fd);
	close(asan_null);
	unlink(asan_path);
}
