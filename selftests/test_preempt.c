/* SPDX-License-Identifier: MIT */
/*
 * test_preempt.c - syscall hand-off, sysmon, cooperative and asynchronous
 * preemption, register state across preemption, lock_os_thread, EINTR.
 *
 * Tests that need a short quantum run a fresh runtime in a grandchild with
 * GX_QUANTUM set (harness_run_capture) and report through its exit status.
 */
#define _GNU_SOURCE
#include "gx_test.h"

#include <cpuid.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static char out[16384];

struct runspec {
	int (*main_fn)(int, char **);
	const char *env[4];
};

static void run_runtime(void *arg)
{
	struct runspec *rs = arg;
	for (int i = 0; i < 4 && rs->env[i]; i++)
		putenv((char *)rs->env[i]);
	char *argv[] = {(char *)"child", NULL};
	gx_main(rs->main_fn, 1, argv);
}

static int capture2(int (*fn)(int, char **), const char *e0, const char *e1, int *st)
{
	struct runspec rs = {fn, {e0, e1, NULL}};
	return harness_run_capture(run_runtime, &rs, out, sizeof(out), st, 120);
}

/* ---- a goroutine blocked in a wrapped read does not stall its P ----------- */

static int pipefd[2];
static _Atomic bool reader_done;
static gx_waitgroup hw_wg;

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(50000);
	ssize_t r = write(pipefd[1], "x", 1);
	(void)r;
	return NULL;
}

static void blocked_reader(void *arg)
{
	(void)arg;
	char c;
	ssize_t n = gx_sys_read(pipefd[0], &c, 1);
	EXPECT_EQ(n, 1);
	atomic_store(&reader_done, true);
	gx_wg_done(&hw_wg);
}

static int64_t max_gap_ns;
static void runner(void *arg)
{
	(void)arg;
	int64_t last = gx_now();
	while (!atomic_load(&reader_done)) {
		int64_t now = gx_now();
		if (now - last > max_gap_ns)
			max_gap_ns = now - last;
		last = now;
		gx_preempt_check();
	}
	gx_wg_done(&hw_wg);
}

GX_TEST_PROCS(wrapped_read_hands_off_p, 1, 30)
{
	ASSERT_EQ(pipe(pipefd), 0);
	pthread_t th;
	gx_wg_add(&hw_wg, 2);
	gx_go(blocked_reader, NULL);
	gx_yield(); /* the reader blocks first, holding the only P */
	gx_go(runner, NULL);
	ASSERT_EQ(pthread_create(&th, NULL, late_writer, NULL), 0);
	gx_wg_wait(&hw_wg);
	pthread_join(th, NULL);
	TH_LOG("runner's longest stall while the reader blocked: %lld us", (long long)(max_gap_ns / GX_US));
	/* The hand-off takes ~20 us plus a wake-up; Go's sysmon would need
	 * 10-20 ms. Generous bound for a loaded 2-CPU machine. */
	EXPECT_LT(max_gap_ns, 10 * GX_MS);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* entersyscallblock: the P goes at once */
static _Atomic bool slept;
static void thread_sleeper(void *arg)
{
	(void)arg;
	EXPECT_EQ(gx_sys_sleep(30 * GX_MS), 0);
	atomic_store(&slept, true);
	gx_wg_done(&hw_wg);
}

GX_TEST_PROCS(blocking_sleep_hands_off_at_once, 1, 30)
{
	gx_wg_add(&hw_wg, 1);
	gx_go(thread_sleeper, NULL);
	gx_yield();
	/* we run while it sleeps on its thread */
	int64_t t0 = gx_now();
	long spins = 0;
	while (!atomic_load(&slept) && gx_now() - t0 < 5 * GX_SEC) {
		spins++;
		gx_yield();
	}
	gx_wg_wait(&hw_wg);
	EXPECT_GT(spins, 100);
}

/* ---- a tight loop does not starve a sleeper (async preemption) ------------- */

static _Atomic bool spin_stop;
static void tight_loop(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		x++; /* no calls: only a signal can stop us */
}

static int starve_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_go(tight_loop, NULL);
	gx_yield(); /* the loop owns the only P now */
	int64_t worst = 0;
	for (int i = 0; i < 20; i++) {
		int64_t t0 = gx_now();
		gx_sleep(2 * GX_MS);
		int64_t late = gx_now() - t0 - 2 * GX_MS;
		if (late > worst)
			worst = late;
	}
	atomic_store(&spin_stop, true);
	printf("worst lateness %lld us, async preemptions %llu\n", (long long)(worst / GX_US),
	       (unsigned long long)gx_test_async_preemptions());
	/* quantum 10 ms + sampling (1 ms) + slack for a loaded machine */
	return worst < 40 * GX_MS && gx_test_async_preemptions() > 0 ? 0 : 1;
}

TEST(tight_loop_does_not_starve_sleeper)
{
	if (!gx_test_async_preempt_enabled() || gx_test_sanitized() == 2)
		SKIP(return, "asynchronous preemption is off in this build (TSan)");
	int st;
	ASSERT_EQ(capture2(starve_main, "GX_MAXPROCS=1", NULL, &st), 0);
	TH_LOG("%s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

/* ---- preemption never lands in malloc or stdio ----------------------------------- */

static _Atomic bool churn_stop;
static gx_waitgroup churn_wg;

static void churner(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	FILE *devnull = fopen("/dev/null", "w");
	long rounds = 0;
	while (!atomic_load(&churn_stop)) {
		void *p[16];
		for (int i = 0; i < 16; i++) {
			p[i] = malloc(1 + rand_r(&seed) % 4096);
			memset(p[i], i, 1);
		}
		char buf[128];
		snprintf(buf, sizeof(buf), "round %ld %p %f", rounds, p[3], rounds * 0.5);
		fprintf(devnull, "%s\n", buf);
		if ((rounds & 1023) == 0)
			printf("#"); /* real stdio to the pipe */
		for (int i = 0; i < 16; i++)
			free(p[i]);
		volatile unsigned long x = 0;
		for (int k = 0; k < 200; k++)
			x += (unsigned long)k; /* some user code to land in */
		rounds++;
	}
	fclose(devnull);
	gx_wg_done(&churn_wg);
}

static int churn_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_wg_add(&churn_wg, 4);
	for (int i = 0; i < 4; i++)
		gx_go(churner, (void *)(uintptr_t)(i + 1));
	gx_sleep(3 * GX_SEC);
	atomic_store(&churn_stop, true);
	gx_wg_wait(&churn_wg);
	printf("\nasync preemptions %llu\n", (unsigned long long)gx_test_async_preemptions());
	return gx_test_async_preemptions() > 10 ? 0 : 1;
}

TEST_TIMEOUT(preemption_never_in_malloc_or_stdio, 120)
{
	if (!gx_test_async_preempt_enabled() || gx_test_sanitized() == 2)
		SKIP(return, "asynchronous preemption is off in this build (TSan)");
	int st;
	ASSERT_EQ(capture2(churn_main, "GX_MAXPROCS=2", "GX_QUANTUM=100us", &st), 0);
	const char *tail = strstr(out, "async preemptions");
	TH_LOG("%s", tail ? tail : out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

/* ---- register state survives asynchronous preemption ------------------------------ */

static int have_avx(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & (1u << 28)) || !(c & (1u << 27)))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

/* Load known values into every vector register, r12-r15 and MXCSR, spin
 * (preemptible user code), store them back. */
static int regs_roundtrip(unsigned char *in, unsigned char *outv, uint64_t *gin, uint64_t *gout, long iters, int avx)
{
	if (avx) {
		__asm__ volatile("vmovdqu 0(%[in]), %%ymm0\n vmovdqu 32(%[in]), %%ymm1\n"
				 "vmovdqu 64(%[in]), %%ymm2\n vmovdqu 96(%[in]), %%ymm3\n"
				 "vmovdqu 128(%[in]), %%ymm4\n vmovdqu 160(%[in]), %%ymm5\n"
				 "vmovdqu 192(%[in]), %%ymm6\n vmovdqu 224(%[in]), %%ymm7\n"
				 "vmovdqu 256(%[in]), %%ymm8\n vmovdqu 288(%[in]), %%ymm9\n"
				 "vmovdqu 320(%[in]), %%ymm10\n vmovdqu 352(%[in]), %%ymm11\n"
				 "vmovdqu 384(%[in]), %%ymm12\n vmovdqu 416(%[in]), %%ymm13\n"
				 "vmovdqu 448(%[in]), %%ymm14\n vmovdqu 480(%[in]), %%ymm15\n"
				 "movq 0(%[gin]), %%r12\n movq 8(%[gin]), %%r13\n"
				 "movq 16(%[gin]), %%r14\n movq 24(%[gin]), %%r15\n"
				 "1: decq %[n]\n jnz 1b\n"
				 "vmovdqu %%ymm0, 0(%[out])\n vmovdqu %%ymm1, 32(%[out])\n"
				 "vmovdqu %%ymm2, 64(%[out])\n vmovdqu %%ymm3, 96(%[out])\n"
				 "vmovdqu %%ymm4, 128(%[out])\n vmovdqu %%ymm5, 160(%[out])\n"
				 "vmovdqu %%ymm6, 192(%[out])\n vmovdqu %%ymm7, 224(%[out])\n"
				 "vmovdqu %%ymm8, 256(%[out])\n vmovdqu %%ymm9, 288(%[out])\n"
				 "vmovdqu %%ymm10, 320(%[out])\n vmovdqu %%ymm11, 352(%[out])\n"
				 "vmovdqu %%ymm12, 384(%[out])\n vmovdqu %%ymm13, 416(%[out])\n"
				 "vmovdqu %%ymm14, 448(%[out])\n vmovdqu %%ymm15, 480(%[out])\n"
				 "movq %%r12, 0(%[gout])\n movq %%r13, 8(%[gout])\n"
				 "movq %%r14, 16(%[gout])\n movq %%r15, 24(%[gout])\n vzeroupper\n"
				 : [n] "+r"(iters)
				 : [in] "r"(in), [out] "r"(outv), [gin] "r"(gin), [gout] "r"(gout)
				 : "memory", "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
				   "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
				   "xmm15");
		return 512;
	}
	__asm__ volatile(
		"movdqu 0(%[in]), %%xmm0\n movdqu 16(%[in]), %%xmm1\n movdqu 32(%[in]), %%xmm2\n"
		"movdqu 48(%[in]), %%xmm3\n movdqu 64(%[in]), %%xmm4\n movdqu 80(%[in]), %%xmm5\n"
		"movdqu 96(%[in]), %%xmm6\n movdqu 112(%[in]), %%xmm7\n movdqu 128(%[in]), %%xmm8\n"
		"movdqu 144(%[in]), %%xmm9\n movdqu 160(%[in]), %%xmm10\n movdqu 176(%[in]), %%xmm11\n"
		"movdqu 192(%[in]), %%xmm12\n movdqu 208(%[in]), %%xmm13\n movdqu 224(%[in]), %%xmm14\n"
		"movdqu 240(%[in]), %%xmm15\n"
		"movq 0(%[gin]), %%r12\n movq 8(%[gin]), %%r13\n movq 16(%[gin]), %%r14\n movq 24(%[gin]), %%r15\n"
		"1: decq %[n]\n jnz 1b\n"
		"movdqu %%xmm0, 0(%[out])\n movdqu %%xmm1, 16(%[out])\n movdqu %%xmm2, 32(%[out])\n"
		"movdqu %%xmm3, 48(%[out])\n movdqu %%xmm4, 64(%[out])\n movdqu %%xmm5, 80(%[out])\n"
		"movdqu %%xmm6, 96(%[out])\n movdqu %%xmm7, 112(%[out])\n movdqu %%xmm8, 128(%[out])\n"
		"movdqu %%xmm9, 144(%[out])\n movdqu %%xmm10, 160(%[out])\n movdqu %%xmm11, 176(%[out])\n"
		"movdqu %%xmm12, 192(%[out])\n movdqu %%xmm13, 208(%[out])\n movdqu %%xmm14, 224(%[out])\n"
		"movdqu %%xmm15, 240(%[out])\n"
		"movq %%r12, 0(%[gout])\n movq %%r13, 8(%[gout])\n movq %%r14, 16(%[gout])\n movq %%r15, 24(%[gout])\n"
		: [n] "+r"(iters)
		: [in] "r"(in), [out] "r"(outv), [gin] "r"(gin), [gout] "r"(gout)
		: "memory", "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return 256;
}

static _Atomic long reg_bad, reg_rounds;
static _Atomic bool reg_stop;
static gx_waitgroup reg_wg;

static void reg_worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	int avx = have_avx();
	unsigned char in[512], outv[512];
	uint64_t gin[4], gout[4];
	while (!atomic_load(&reg_stop)) {
		for (int i = 0; i < 512; i++)
			in[i] = (unsigned char)rand_r(&seed);
		for (int i = 0; i < 4; i++)
			gin[i] = ((uint64_t)rand_r(&seed) << 32) ^ (uint64_t)rand_r(&seed);
		unsigned mxcsr = 0x1f80 | ((unsigned)(rand_r(&seed) & 3) << 13); /* a rounding mode */
		__asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
		int n = regs_roundtrip(in, outv, gin, gout, 2000000, avx);
		unsigned after;
		__asm__ volatile("stmxcsr %0" : "=m"(after));
		if (memcmp(in, outv, (size_t)n) || memcmp(gin, gout, sizeof(gin)) || after != mxcsr)
			atomic_fetch_add(&reg_bad, 1);
		mxcsr = 0x1f80;
		__asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
		atomic_fetch_add(&reg_rounds, 1);
	}
	gx_wg_done(&reg_wg);
}

static int regs_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_wg_add(&reg_wg, 3);
	for (int i = 0; i < 3; i++)
		gx_go(reg_worker, (void *)(uintptr_t)(i + 7));
	int64_t t0 = gx_now();
	while (gx_test_async_preemptions() < 2000 && gx_now() - t0 < 20 * GX_SEC)
		gx_sleep(10 * GX_MS);
	atomic_store(&reg_stop, true);
	gx_wg_wait(&reg_wg);
	printf("rounds %ld, corrupted %ld, async preemptions %llu, avx %d\n", atomic_load(&reg_rounds),
	       atomic_load(&reg_bad), (unsigned long long)gx_test_async_preemptions(), have_avx());
	return atomic_load(&reg_bad) == 0 && gx_test_async_preemptions() >= 2000 ? 0 : 1;
}

TEST_TIMEOUT(registers_survive_async_preemption, 120)
{
	if (!gx_test_async_preempt_enabled() || gx_test_sanitized() == 2)
		SKIP(return, "asynchronous preemption is off in this build (TSan)");
	int st;
	ASSERT_EQ(capture2(regs_main, "GX_MAXPROCS=2", "GX_QUANTUM=100us", &st), 0);
	TH_LOG("%s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

/* ---- nopreempt regions ------------------------------------------------------------ */

static int nopreempt_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_nopreempt_begin();
	/* counted from inside the region: a preemption that lands between the
	 * count and the begin is not the region's (seen once under scx's 1 ms
	 * re-sent preemption requests in the guest) */
	uint64_t before = gx_test_async_preemptions();
	gxt_spin_ns(100 * GX_MS); /* ten quanta of 10 ms... at GX_QUANTUM=1ms, 100 */
	uint64_t inside = gx_test_async_preemptions() - before;
	gx_nopreempt_end();
	printf("preemptions inside the region: %llu\n", (unsigned long long)inside);
	return inside == 0 ? 0 : 1;
}

TEST(nopreempt_region_is_respected)
{
	int st;
	ASSERT_EQ(capture2(nopreempt_main, "GX_MAXPROCS=1", "GX_QUANTUM=1ms", &st), 0);
	TH_LOG("%s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

static int quantum_bad_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

TEST(bad_quantum_is_reported)
{
	int st;
	ASSERT_EQ(capture2(quantum_bad_main, "GX_QUANTUM=banana", NULL, &st), 0);
	EXPECT_NE(strstr(out, "GX_QUANTUM=banana is not a duration"), NULL);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- lock_os_thread ------------------------------------------------------------------ */

static _Atomic pid_t locked_tid;
static _Atomic long intruders;
static _Atomic bool lock_stop;
static gx_waitgroup lock_wg;

static void other_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&lock_stop)) {
		if ((pid_t)syscall(SYS_gettid) == atomic_load(&locked_tid))
			atomic_fetch_add(&intruders, 1);
		gx_yield();
	}
	gx_wg_done(&lock_wg);
}

static void locked_worker(void *arg)
{
	(void)arg;
	ASSERT_EQ(gx_lock_os_thread(), 0);
	pid_t tid = (pid_t)syscall(SYS_gettid);
	atomic_store(&locked_tid, tid);
	gx_mutex mu = GX_MUTEX_INIT;
	for (int i = 0; i < 300; i++) {
		gx_yield();
		EXPECT_EQ((pid_t)syscall(SYS_gettid), tid);
		if (i % 50 == 0) {
			gx_sleep(1 * GX_MS); /* parks */
			EXPECT_EQ((pid_t)syscall(SYS_gettid), tid);
		}
		gx_mutex_lock(&mu);
		gx_mutex_unlock(&mu);
	}
	ASSERT_EQ(gx_unlock_os_thread(), 0);
	atomic_store(&locked_tid, 0);
	gx_wg_done(&lock_wg);
}

GX_TEST_PROCS(lock_os_thread_keeps_thread, 2, 60)
{
	gx_wg_add(&lock_wg, 1);
	gx_go(locked_worker, NULL);
	gx_waitgroup others = GX_WAITGROUP_INIT;
	(void)others;
	for (int i = 0; i < 4; i++) {
		gx_wg_add(&lock_wg, 1);
		gx_go(other_worker, NULL);
	}
	while (atomic_load(&locked_tid) == 0)
		gx_yield();
	while (atomic_load(&locked_tid) != 0)
		gx_sleep(1 * GX_MS);
	atomic_store(&lock_stop, true);
	gx_wg_wait(&lock_wg);
	EXPECT_EQ(atomic_load(&intruders), 0);
	EXPECT_EQ(gx_unlock_os_thread(), 0); /* not locked: a no-op, as in Go */
}

/* ---- EINTR in wrapped calls is retried ------------------------------------------------- */

static void on_usr1(int sig)
{
	(void)sig;
}
static _Atomic pid_t eintr_tid;
static int eintr_pipe[2];
static _Atomic bool eintr_done;

static void eintr_reader(void *arg)
{
	(void)arg;
	gx_lock_os_thread(); /* so the signaller knows which thread to hit */
	atomic_store(&eintr_tid, (pid_t)syscall(SYS_gettid));
	char c;
	ssize_t n = gx_sys_read(eintr_pipe[0], &c, 1);
	EXPECT_EQ(n, 1); /* never -EINTR */
	EXPECT_EQ(gx_sys_sleep(20 * GX_MS), 0);
	atomic_store(&eintr_done, true);
	gx_unlock_os_thread();
}

static void *eintr_signaller(void *arg)
{
	(void)arg;
	while (atomic_load(&eintr_tid) == 0)
		usleep(1000);
	for (int i = 0; i < 20; i++) {
		syscall(SYS_tgkill, getpid(), atomic_load(&eintr_tid), SIGUSR1);
		usleep(2000);
	}
	ssize_t r = write(eintr_pipe[1], "y", 1);
	(void)r;
	for (int i = 0; i < 10; i++) {
		syscall(SYS_tgkill, getpid(), atomic_load(&eintr_tid), SIGUSR1);
		usleep(1000);
	}
	return NULL;
}

GX_TEST(eintr_is_retried)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART: read would return EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	ASSERT_EQ(pipe(eintr_pipe), 0);
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, eintr_signaller, NULL), 0);
	gx_go(eintr_reader, NULL);
	while (!atomic_load(&eintr_done))
		gx_sleep(1 * GX_MS);
	pthread_join(th, NULL);
}

/* ---- syscall API misuse ------------------------------------------------------------------ */

GX_TEST(syscall_api_errors)
{
	EXPECT_EQ(gx_syscall_exit(), -EPERM); /* not in a syscall */
	ASSERT_EQ(gx_syscall_enter(), 0);
	EXPECT_EQ(gx_go(NULL, NULL), -EPERM); /* no P inside a syscall */
	ASSERT_EQ(gx_syscall_exit(), 0);
	errno = 0;
	int r = GX_SYSCALL(close(-1));
	EXPECT_EQ(r, -1);
	EXPECT_EQ(errno, EBADF); /* preserved across the exit */
	EXPECT_EQ(gx_sys_read(-1, NULL, 0), -EBADF);
	EXPECT_EQ(gx_sys_open("/nonexistent/x", O_RDONLY), -ENOENT);
}

/* ---- Ms started by sysmon can be preempted (regression) ---------------------------
 * sysmon blocks every signal on its own thread; an M it starts through a
 * hand-off must not inherit that mask, or its goroutines could never be
 * preempted asynchronously. */

static int regr_pipe[2];
static _Atomic bool regr_stop;

static void regr_reader(void *arg)
{
	(void)arg;
	char c;
	gx_sys_read(regr_pipe[0], &c, 1); /* sysmon hands our P off: a new M */
}

static void *regr_writer(void *arg)
{
	(void)arg;
	usleep(400000);
	ssize_t r = write(regr_pipe[1], "z", 1);
	(void)r;
	return NULL;
}

static void regr_spinner(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	while (!atomic_load_explicit(&regr_stop, memory_order_relaxed))
		x++;
}

static int regr_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (pipe(regr_pipe) != 0)
		return 3;
	pthread_t th;
	pthread_create(&th, NULL, regr_writer, NULL);
	gx_go(regr_reader, NULL);
	gx_yield();		   /* the reader blocks; its P moves to an M sysmon starts */
	gx_go(regr_spinner, NULL); /* runs there */
	int64_t worst = 0;
	for (int i = 0; i < 10; i++) {
		int64_t t0 = gx_now();
		gx_sleep(2 * GX_MS);
		int64_t late = gx_now() - t0 - 2 * GX_MS;
		if (late > worst)
			worst = late;
	}
	atomic_store(&regr_stop, true);
	pthread_join(th, NULL);
	printf("worst lateness %lld us\n", (long long)(worst / GX_US));
	return worst < 40 * GX_MS ? 0 : 1;
}

TEST(sysmon_started_m_is_preemptible)
{
	if (!gx_test_async_preempt_enabled() || gx_test_sanitized() == 2)
		SKIP(return, "asynchronous preemption is off in this build (TSan)");
	int st;
	ASSERT_EQ(capture2(regr_main, "GX_MAXPROCS=1", NULL, &st), 0);
	TH_LOG("%s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}
