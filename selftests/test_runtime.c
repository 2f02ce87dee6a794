/* SPDX-License-Identifier: MIT */
/*
 * test_runtime.c - stacks and overflow, deadlock detection, GOMAXPROCS
 * defaults, debug output, thread limits, and bad input.
 * Tests that expect the process to die run the runtime in a grandchild
 * (harness_run_capture) and check its output and exit status.
 */
#define _GNU_SOURCE
#include "gx_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>

static char out[16384];

/* Run main_fn under a fresh runtime in a grandchild, capturing output. */
struct runspec {
	int (*main_fn)(int, char **);
	const char *env[4]; /* "NAME=value" */
};

static void run_runtime(void *arg)
{
	struct runspec *rs = arg;
	for (int i = 0; i < 4 && rs->env[i]; i++)
		putenv((char *)rs->env[i]);
	char *argv[] = {(char *)"child", NULL};
	gx_main(rs->main_fn, 1, argv);
}

static int capture(int (*main_fn)(int, char **), const char *env0, int *status)
{
	struct runspec rs = {main_fn, {env0, NULL}};
	return harness_run_capture(run_runtime, &rs, out, sizeof(out), status, 60);
}

/* ---- stack overflow --------------------------------------------------------- */

static volatile int recurse_forever = 1;
static int recurse(int depth)
{
	volatile char buf[512];
	buf[0] = (char)depth;
	if (!recurse_forever)
		return buf[0];
	return recurse(depth + 1) + buf[0];
}

static void overflower(void *arg)
{
	(void)arg;
	recurse(0);
}

static int overflow_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_attr a = {.name = "deep"};
	gx_go_attr(&a, overflower, NULL);
	gx_waitgroup wg = GX_WAITGROUP_INIT;
	gx_wg_add(&wg, 1);
	gx_wg_wait(&wg);
	return 0;
}

TEST(stack_overflow_is_fatal_and_named)
{
	if (gx_test_sanitized())
		SKIP(return, "sanitizers report stack overflows themselves");
	int st;
	ASSERT_EQ(capture(overflow_main, NULL, &st), 0);
	TH_LOG("child said: %s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: goroutine 2 \"deep\": stack overflow"), NULL);
}

/* A frame larger than the guard page must still hit the guard (stack clash
 * protection probes every page), not land in the neighbouring stack. */
static volatile char *neighbour_canary;

static void big_frame(int n)
{
	volatile char big[96 << 10]; /* bigger than the whole 64 KiB stack */
	big[0] = (char)n;
	big[sizeof(big) - 1] = (char)n;
}

static void neighbour(void *arg)
{
	(void)arg;
	volatile char canary[256];
	memset((char *)canary, 0x5a, sizeof(canary));
	neighbour_canary = canary;
	gx_park(NULL, NULL, "neighbour");
}

static void clasher(void *arg)
{
	(void)arg;
	big_frame(1);
}

static int clash_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_go(neighbour, NULL);
	gx_yield();
	gx_go(clasher, NULL);
	gx_waitgroup wg = GX_WAITGROUP_INIT;
	gx_wg_add(&wg, 1);
	gx_wg_wait(&wg);
	return 0;
}

TEST(huge_frame_hits_guard_not_neighbour)
{
	if (gx_test_sanitized())
		SKIP(return, "sanitizers report stack overflows themselves");
	int st;
	ASSERT_EQ(capture(clash_main, NULL, &st), 0);
	TH_LOG("child said: %s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 2);
	EXPECT_NE(strstr(out, "stack overflow"), NULL);
}

/* ---- stack sizes and guard pages ---------------------------------------------------- */

static size_t seen_size;
static uintptr_t seen_lo;
static gx_waitgroup size_wg;

static void report_stack(void *arg)
{
	(void)arg;
	seen_size = gx_test_stack_size();
	seen_lo = gx_test_stack_lo();
	/* touch the whole stack but the top: it is all ours */
	volatile char *lo = (volatile char *)seen_lo;
	lo[0] = 1;
	lo[seen_size / 2] = 1;
	gx_wg_done(&size_wg);
}

GX_TEST(stack_size_attribute)
{
	gx_attr a = {.stack_size = 1 << 20};
	gx_wg_add(&size_wg, 1);
	ASSERT_GT(gx_go_attr(&a, report_stack, NULL), 0);
	gx_wg_wait(&size_wg);
	EXPECT_EQ(seen_size, (size_t)1 << 20);
	a.stack_size = 100000; /* rounds up to a power of two */
	gx_wg_add(&size_wg, 1);
	ASSERT_GT(gx_go_attr(&a, report_stack, NULL), 0);
	gx_wg_wait(&size_wg);
	EXPECT_EQ(seen_size, (size_t)128 << 10);
	gx_wg_add(&size_wg, 1);
	ASSERT_GT(gx_go(report_stack, NULL), 0);
	gx_wg_wait(&size_wg);
	EXPECT_EQ(seen_size, (size_t)64 << 10);
	TH_LOG("guard mode %d (1 = MADV_GUARD_INSTALL, 2 = mprotect)", gx_test_guard_mode());
}

/* ---- a million parked goroutines on the default vm.max_map_count --------------------- */

static _Atomic long parked;
static gx_waitgroup forever = GX_WAITGROUP_INIT;

static void park_forever(void *arg)
{
	(void)arg;
	atomic_fetch_add(&parked, 1);
	gx_wg_wait(&forever);
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;
	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* MemAvailable in bytes, or -1. */
static long long mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

GX_TEST_TIMEOUT(million_parked_goroutines, 300)
{
	long n = gx_scale(1000000);
	/* ~4.3 KB of RSS each (README, cost model), plus headroom */
	long long avail = mem_available();
	if (avail >= 0 && avail < (long long)n * 6144)
		SKIP(return, "needs ~%lld MB for %ld parked goroutines, %lld MB available (small VM?)",
			   (long long)n * 6144 >> 20, n, avail >> 20);
	gx_wg_add(&forever, 1);
	for (long i = 0; i < n; i++)
		ASSERT_GT(gx_go(park_forever, NULL), 0);
	while (atomic_load(&parked) < n)
		gx_yield();
	EXPECT_EQ(gx_num_goroutines(), n + 1);
	int maps = count_maps();
	TH_LOG("%ld parked goroutines, %d mappings", n, maps);
	if (gx_test_guard_mode() == 1 && !gx_test_sanitized())
		EXPECT_LT(maps, 10000); /* far below vm.max_map_count's 65530 */
	gx_wg_done(&forever);		/* all of them exit: the leak check waits for that */
}

/* ---- deadlock detection ---------------------------------------------------------- */

static gx_mutex dl_mu = GX_MUTEX_INIT;
static void dl_locker(void *arg)
{
	(void)arg;
	gx_mutex_lock(&dl_mu);
}

static int deadlock_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_mutex_lock(&dl_mu);
	gx_attr a = {.name = "locker"};
	gx_go_attr(&a, dl_locker, NULL);
	gx_waitgroup wg = GX_WAITGROUP_INIT;
	gx_wg_add(&wg, 1);
	gx_wg_wait(&wg);
	return 0;
}

TEST(deadlock_detected_and_listed)
{
	int st;
	ASSERT_EQ(capture(deadlock_main, "GX_MAXPROCS=2", &st), 0);
	TH_LOG("child said: %s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: all goroutines are asleep - deadlock!"), NULL);
	EXPECT_NE(strstr(out, "goroutine 1 [sync.WaitGroup.Wait"), NULL);
	EXPECT_NE(strstr(out, "\"locker\" [sync.Mutex.Lock"), NULL);
}

static int nodeadlock_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 7; /* main returns while another goroutine is blocked: no report */
}

TEST(main_return_exits_without_waiting)
{
	int st;
	ASSERT_EQ(capture(nodeadlock_main, NULL, &st), 0);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 7);
	EXPECT_EQ(strstr(out, "deadlock"), NULL);
}

/* ---- schedtrace ------------------------------------------------------------------ */

static int trace_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gxt_spin_ns(120 * 1000000LL);
	return 0;
}

TEST(schedtrace_prints_sched_lines)
{
	int st;
	ASSERT_EQ(capture(trace_main, "GX_DEBUG=schedtrace=20", &st), 0);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	EXPECT_NE(strstr(out, "SCHED "), NULL);
	EXPECT_NE(strstr(out, "gomaxprocs="), NULL);
	EXPECT_NE(strstr(out, "idleprocs="), NULL);
	EXPECT_NE(strstr(out, "runqueue="), NULL);
}

static int detail_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gxt_spin_ns(60 * 1000000LL);
	return 0;
}

TEST(scheddetail_prints_p_m_g_lines)
{
	int st;
	struct runspec rs = {detail_main, {"GX_DEBUG=schedtrace=20,scheddetail=1", NULL}};
	ASSERT_EQ(harness_run_capture(run_runtime, &rs, out, sizeof(out), &st, 60), 0);
	EXPECT_NE(strstr(out, "  P0: status="), NULL);
	EXPECT_NE(strstr(out, "  M0: p="), NULL);
	EXPECT_NE(strstr(out, "  G1: status="), NULL);
}

/* ---- thread exhaustion ----------------------------------------------------------------- */

static void spin_forever(void *arg)
{
	(void)arg;
	for (;;)
		gxt_spin_ns(1000000);
}

static int threads_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	gx_set_max_threads(2);
	gx_maxprocs(4);
	for (int i = 0; i < 4; i++)
		gx_go(spin_forever, NULL);
	gxt_spin_ns(2000 * 1000000LL);
	return 0;
}

TEST(thread_exhaustion_is_fatal)
{
	int st;
	ASSERT_EQ(capture(threads_main, NULL, &st), 0);
	TH_LOG("child said: %s", out);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 2);
	EXPECT_NE(strstr(out, "gmpx: fatal: thread exhaustion"), NULL);
}

/* ---- GOMAXPROCS defaults from a fake cgroup ------------------------------------------- */

static void writefile(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	ASSERT_NE(f, NULL);
	fputs(s, f);
	fclose(f);
}

TEST(maxprocs_from_fake_cgroup)
{
	char root[] = "/tmp/gmpx-cgroup-XXXXXX";
	ASSERT_NE(mkdtemp(root), NULL);
	char path[512], proc[512];
	snprintf(proc, sizeof(proc), "%s/self-cgroup", root);
	setenv("GX_CGROUP_ROOT", root, 1);
	setenv("GX_CGROUP_PROCFILE", proc, 1);

	/* v2: /app with cpu.max */
	snprintf(path, sizeof(path), "%s/app", root);
	mkdir(path, 0755);
	writefile(proc, "0::/app\n");
	snprintf(path, sizeof(path), "%s/app/cpu.max", root);
	writefile(path, "250000 100000\n");
	EXPECT_EQ(gx_test_cgroup_limit(), 3); /* 2.5 CPUs round up */
	writefile(path, "max 100000\n");
	EXPECT_EQ(gx_test_cgroup_limit(), 0);
	writefile(path, "100000 100000\n");
	EXPECT_EQ(gx_test_cgroup_limit(), 1);

	cpu_set_t set;
	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	int ncpu = CPU_COUNT(&set);
	/* a limit of 1 is raised to 2 (Go 1.25), never above the CPUs */
	EXPECT_EQ(gx_test_default_maxprocs(), ncpu < 2 ? ncpu : 2);
	/* one allowed CPU: 1, whatever the quota */
	cpu_set_t one;
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			CPU_SET(c, &one);
			break;
		}
	ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	EXPECT_EQ(gx_test_default_maxprocs(), 1);
	ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);

	/* v1: cpu,cpuacct controller */
	writefile(proc, "5:cpu,cpuacct:/job\n2:memory:/job\n");
	snprintf(path, sizeof(path), "%s/cpu,cpuacct/job", root);
	char mk[600];
	snprintf(mk, sizeof(mk), "mkdir -p %s", path);
	ASSERT_EQ(system(mk), 0);
	snprintf(path, sizeof(path), "%s/cpu,cpuacct/job/cpu.cfs_quota_us", root);
	writefile(path, "350000\n");
	snprintf(path, sizeof(path), "%s/cpu,cpuacct/job/cpu.cfs_period_us", root);
	writefile(path, "100000\n");
	EXPECT_EQ(gx_test_cgroup_limit(), 4);
	snprintf(path, sizeof(path), "%s/cpu,cpuacct/job/cpu.cfs_quota_us", root);
	writefile(path, "-1\n");
	EXPECT_EQ(gx_test_cgroup_limit(), 0);

	snprintf(mk, sizeof(mk), "rm -rf %s", root);
	EXPECT_EQ(system(mk), 0);
}

static int env_procs_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("procs=%d\n", gx_maxprocs(0));
	return 0;
}

TEST(maxprocs_env_override)
{
	int st;
	ASSERT_EQ(capture(env_procs_main, "GX_MAXPROCS=3", &st), 0);
	EXPECT_NE(strstr(out, "procs=3"), NULL);
	ASSERT_EQ(capture(env_procs_main, "GX_MAXPROCS=bogus", &st), 0);
	EXPECT_NE(strstr(out, "GX_MAXPROCS=bogus is not a positive integer"), NULL);
}

/* ---- bad input ------------------------------------------------------------------------ */

static void nop(void *arg)
{
	(void)arg;
}

GX_TEST(bad_input_returns_errors)
{
	EXPECT_EQ(gx_go(NULL, NULL), -EINVAL);
	EXPECT_EQ(gx_maxprocs(-1), -EINVAL);
	EXPECT_EQ(gx_maxprocs(GX_MAXPROCS_LIMIT + 1), -EINVAL);
	EXPECT_EQ(gx_set_max_threads(0), -EINVAL);
	gx_attr a = {.stack_size = 1024};
	EXPECT_EQ(gx_go_attr(&a, nop, NULL), -EINVAL);
	a.stack_size = (size_t)2 << 30;
	EXPECT_EQ(gx_go_attr(&a, nop, NULL), -EINVAL);
	char big[GX_ARG_MAX + 1] = {0};
	EXPECT_EQ(gx_go_copy(nop, big, sizeof(big)), -EINVAL);
	gx_attr b = {.arg_size = 8};
	EXPECT_EQ(gx_go_attr(&b, nop, NULL), -EINVAL);

	gx_waitgroup wg = GX_WAITGROUP_INIT;
	EXPECT_EQ(gx_wg_add(&wg, -1), -EINVAL);
	EXPECT_EQ(wg.state, 0u); /* unchanged */
	EXPECT_EQ(gx_wg_add(&wg, 2), 0);
	EXPECT_EQ(gx_wg_add(&wg, -3), -EINVAL);
	EXPECT_EQ(gx_wg_add(&wg, -2), 0);

	gx_mutex mu = GX_MUTEX_INIT;
	EXPECT_EQ(gx_mutex_unlock(&mu), -EPERM);
	EXPECT_EQ(gx_mutex_trylock(&mu), 0);
	EXPECT_EQ(gx_mutex_trylock(&mu), -EBUSY);
	EXPECT_EQ(gx_mutex_unlock(&mu), 0);
	EXPECT_EQ(mu.state, 0);
}

static void *foreign_thread(void *arg)
{
	(void)arg;
	long bad = 0;
	bad += gx_go(nop, NULL) != -EPERM;
	bad += gx_yield() != -EPERM;
	bad += gx_id() != -EPERM;
	bad += gx_self() != NULL;
	bad += gx_park(NULL, NULL, "x") != -EPERM;
	gx_waitgroup wg = GX_WAITGROUP_INIT;
	gx_wg_add(&wg, 1);
	bad += gx_wg_wait(&wg) != -EPERM;
	gx_mutex mu = GX_MUTEX_INIT;
	bad += gx_mutex_lock(&mu) != -EPERM;
	return (void *)bad;
}

GX_TEST(foreign_thread_gets_eperm)
{
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, foreign_thread, NULL), 0);
	void *bad;
	pthread_join(th, &bad);
	EXPECT_EQ((long)bad, 0);
}

TEST(api_before_gx_main)
{
	EXPECT_EQ(gx_go(nop, NULL), -EPERM);
	EXPECT_EQ(gx_yield(), -EPERM);
	EXPECT_GE(gx_maxprocs(0), 1);
	EXPECT_GT(gx_maxprocs(3), 0); /* preset before start */
	EXPECT_EQ(gx_maxprocs(0), 3);
}

/* Address-space exhaustion: spawning reports -ENOMEM/-EAGAIN, nothing
 * crashes, and the runtime keeps working once memory is back. */
static gx_waitgroup oom_wg, oom_hold;
static void oom_worker(void *arg)
{
	(void)arg;
	gx_wg_done(&oom_wg);
	gx_wg_wait(&oom_hold); /* keep the stack in use */
}

GX_TEST(address_space_exhaustion_is_an_error)
{
	if (gx_test_sanitized())
		SKIP(return, "sanitizers reserve terabytes of address space");
	struct rlimit old, lim;
	getrlimit(RLIMIT_AS, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)4 << 30; /* 4 GiB of address space */
	ASSERT_EQ(setrlimit(RLIMIT_AS, &lim), 0);
	gx_attr a = {.stack_size = (size_t)256 << 20}; /* 256 MiB stacks */
	long ok = 0;
	int64_t err = 0;
	gx_wg_add(&oom_hold, 1);
	for (int i = 0; i < 64; i++) {
		gx_wg_add(&oom_wg, 1);
		err = gx_go_attr(&a, oom_worker, NULL);
		if (err < 0) {
			gx_wg_add(&oom_wg, -1);
			break;
		}
		ok++;
		gx_wg_wait(&oom_wg); /* each runs, so its stack is taken */
	}
	TH_LOG("%ld big goroutines before the error %lld", ok, (long long)err);
	EXPECT_TRUE(err == -ENOMEM || err == -EAGAIN);
	ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);
	gx_wg_add(&oom_hold, -1); /* release the big ones */
	/* still usable */
	gx_wg_add(&oom_wg, 100);
	for (int i = 0; i < 100; i++)
		ASSERT_GT(gx_go(oom_worker, NULL), 0);
	gx_wg_wait(&oom_wg);
}
