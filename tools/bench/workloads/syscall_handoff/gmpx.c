/* SPDX-License-Identifier: MIT */
/*
 * syscall_handoff: a goroutine blocks in a system call on the only P; how
 * soon does the other runnable goroutine get the P?
 *
 * Definition (identical in tools/bench/workloads/syscall_handoff/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 1), --iters=N (blocking reads;
 *    default 200), --delay_us=D (the helper's delay; default 20,000),
 *    --yield_us=Y (B's yield period; default 1,000), --unwrapped=U (0, the
 *    default, or 1; see "Unwrapped" below).
 *  - Setup (untimed, before the runtime starts): two pipes, req and rep,
 *    both blocking (no O_NONBLOCK) and close-on-exec, and a helper PROCESS:
 *    fork(2), and the child, single-threaded and without the runtime, loops:
 *    read(2) 1 byte from req (end of file or an error: _exit 0 or 1),
 *    nanosleep(2) D us, write(2) that same byte to rep. (Go cannot fork
 *    without exec: it re-executes itself with GMPXBENCH_HELPER=
 *    syscall_handoff in the environment, req as stdin and rep as stdout,
 *    and the child runs the same loop with syscall.Read, syscall.Nanosleep
 *    and syscall.Write.) The parent closes the child's ends.
 *  - Timed region: main starts goroutine B, then goroutine A (gx_go each; A
 *    thus runs first, from runnext), and waits on a waitgroup of 2.
 *    A, for i in 0..N-1: b = i mod 256; gx_sys_write(req, &b, 1) must
 *    return 1; entry[i] = clock; published = i + 1 (atomic, release);
 *    gx_sys_read(rep, &c, 1) must return 1 with c == b (the read blocks
 *    about D us: the P sits in a system call with B runnable);
 *    gx_preempt_check() (a runtime entry: a no-op after a wrapped read,
 *    whose return already is one; Go has no such call, as every function
 *    call in Go is one). Then A sets done = 1 (atomic, release).
 *    B loops: t = clock (a "B timestamp"); gap = t - previous B timestamp,
 *    max_stall = max(max_stall, gap); for every j not yet claimed with
 *    j < published (atomic, acquire) and entry[j] <= t, in order:
 *    handoff[j] = t - entry[j] (the first B timestamp after A's read-entry
 *    minus that read-entry); if done (atomic, acquire) and all N claimed:
 *    stop; if t >= next_yield: gx_yield() (Go's runtime.Gosched), counted,
 *    and next_yield is set to the first B timestamp after it + Y. Before
 *    the loop next_yield = B's first timestamp + Y. B calls nothing else:
 *    its yields hand the P back to A once A's read has returned (A then
 *    waits on the global run queue) and keep B from reaching the 10 ms
 *    preemption quantum.
 *  - Unwrapped (--unwrapped=1): A's write to req and its read from rep are
 *    plain write(2) and read(2), each retried while it fails with EINTR,
 *    with no gx_sys_* call or GX_SYSCALL around them: the runtime is not
 *    told that A's M is about to block. Everything else is identical. In
 *    off mode nothing hands the P off: sysmon sees a goroutine running and
 *    asks it to yield after the quantum, but the signal cannot stop it
 *    inside libc's read, so B waits until the read returns and A's
 *    gx_preempt_check yields: B's stall is about D. In trace mode the
 *    kernel reports the block and sysmon revokes the P; A's M finds out at
 *    its gx_preempt_check and queues A as a goroutine returning from a
 *    system call would. (That call is what makes every iteration a
 *    hand-off: without a runtime entry in the loop A, once revoked, would
 *    run on without a P to the end, and B would simply be running.) Go
 *    has no unwrapped system calls: its peer accepts --unwrapped and runs
 *    its wrapped syscall.Read/Write either way ("syscalls":"wrapped").
 *  - After the timed region: close req; the helper sees end of file and
 *    exits; gx_sys_waitpid reaps it.
 *  - Report: wall_ms of the timed region; hand-off latency percentiles over
 *    all N (nearest rank on the sorted values: the k-th percentile is
 *    element ceil(k/100 * N) - 1): handoff_p50_us, handoff_p99_us,
 *    handoff_max_us; b_max_stall_us (B's longest gap between consecutive
 *    timestamps, over B's whole life); b_yields; sysmon_cpu_pct = CPU time
 *    of the runtime thread whose comm is "gx-sysmon" during the timed
 *    region (first field of /proc/self/task/TID/schedstat, ns on CPU; if
 *    that file is missing, utime + stime of /proc/self/task/TID/stat; a
 *    thread found only at the end counts from its start) / wall time * 100,
 *    or null when no thread has that name (always null in Go, whose sysmon
 *    thread has no name of its own); syscalls: "wrapped" or "unwrapped".
 *  - Verify: every write and read moved 1 byte and every reply was the byte
 *    sent; every hand-off latency >= 0; the helper exited with status 0.
 *
 * Clock: bench_now_ns (CLOCK_MONOTONIC through the vDSO, tens of ns), the
 * clock of gx_now; Go's bench.Now (time.Since: nanotime) reads the same.
 *
 * Output: {"workload":"syscall_handoff","maxprocs":P,"iters":N,"delay_us":D,"yield_us":Y,
 *          "syscalls":"wrapped"|"unwrapped","wall_ms":...,"handoff_p50_us":...,
 *          "handoff_p99_us":...,"handoff_max_us":...,"b_max_stall_us":...,"b_yields":...,
 *          "sysmon_cpu_pct":...|null,"kassist":"off"|"trace"}
 */
#define _GNU_SOURCE /* pipe2 */
#include "bench.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/wait.h>

/* DEFAULT_ITERS is the number of blocking reads A makes. */
#define DEFAULT_ITERS 200
/* DEFAULT_DELAY_US is how long the helper waits before it replies. */
#define DEFAULT_DELAY_US 20000
/* DEFAULT_YIELD_US is how long B runs between two yields. */
#define DEFAULT_YIELD_US 1000
/* SYSMON_COMM is the name the runtime gives its sysmon thread. */
#define SYSMON_COMM "gx-sysmon"

enum { OPT_MAXPROCS, OPT_ITERS, OPT_DELAY_US, OPT_YIELD_US, OPT_UNWRAPPED };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_ITERS] = {"iters", DEFAULT_ITERS},
	[OPT_DELAY_US] = {"delay_us", DEFAULT_DELAY_US},
	[OPT_YIELD_US] = {"yield_us", DEFAULT_YIELD_US},
	[OPT_UNWRAPPED] = {"unwrapped", 0},
};

static int req_w = -1, rep_r = -1; /* the parent's ends of the two pipes */
static pid_t helper_pid;

static int64_t *entry_ns;     /* entry[i]: written by A before publishing i+1 */
static int64_t *handoff_ns;   /* handoff[j]: written by B */
static atomic_long published; /* entries A has published */
static atomic_int done;	      /* A is finished */
static int64_t b_max_stall_ns, b_yields;
static const char *a_error; /* A's failed check, if any */
static gx_waitgroup wg = GX_WAITGROUP_INIT;

/* helper - the child process: echo each request byte after the delay. */
__attribute__((noreturn)) static void helper(int req, int rep, long delay_us)
{
	struct timespec d = {delay_us / 1000000, (delay_us % 1000000) * 1000};
	unsigned char b;

	for (;;) {
		ssize_t r = read(req, &b, 1);
		if (r == 0)
			_exit(0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		struct timespec left = d;
		while (nanosleep(&left, &left) != 0)
			if (errno != EINTR)
				_exit(1);
		if (write(rep, &b, 1) != 1)
			_exit(1);
	}
}

/* start_helper - the two pipes and the helper process (before gx_main). */
static void start_helper(long delay_us)
{
	int req[2], rep[2];

	if (pipe2(req, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0)
		bench_fail("pipe2: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(req[1]);
		close(rep[0]);
		helper(req[0], rep[1], delay_us);
	}
	close(req[0]);
	close(rep[1]);
	req_w = req[1];
	rep_r = rep[0];
	helper_pid = pid;
}

/* raw_write, raw_read - the unwrapped calls: plain write(2) and read(2),
 * retried on EINTR, with nothing telling the runtime. */
static ssize_t raw_write(int fd, const void *buf, size_t n)
{
	ssize_t r;
	do
		r = write(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t raw_read(int fd, void *buf, size_t n)
{
	ssize_t r;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static void goroutine_a(void *arg)
{
	long n = (long)(intptr_t)arg;
	bool unwrapped = opts[OPT_UNWRAPPED].value != 0;

	for (long i = 0; i < n; i++) {
		unsigned char b = (unsigned char)(i % 256), c = 0;
		ssize_t w = unwrapped ? raw_write(req_w, &b, 1) : gx_sys_write(req_w, &b, 1);
		if (w != 1) {
			a_error = "write to the helper failed";
			break;
		}
		entry_ns[i] = bench_now_ns();
		atomic_store_explicit(&published, i + 1, memory_order_release);
		ssize_t r = unwrapped ? raw_read(rep_r, &c, 1) : gx_sys_read(rep_r, &c, 1);
		if (r != 1 || c != b) {
			a_error = r != 1 ? "read from the helper failed" : "the helper replied with another byte";
			break;
		}
		if (gx_preempt_check() != 0) {
			a_error = "gx_preempt_check failed";
			break;
		}
	}
	atomic_store_explicit(&done, 1, memory_order_release);
	gx_wg_done(&wg);
}

static void goroutine_b(void *arg)
{
	int64_t yield_ns = (int64_t)(intptr_t)arg * 1000;
	int64_t prev = bench_now_ns(), next_yield = prev + yield_ns, max_stall = 0, yields = 0;
	long claimed = 0;
	bool yielded = false;

	/* prev is B's first timestamp: claim what it can, as every later one does. */
	for (int64_t t = prev;; t = bench_now_ns()) {
		int64_t gap = t - prev;
		if (gap > max_stall)
			max_stall = gap;
		prev = t;
		if (yielded) {
			next_yield = t + yield_ns;
			yielded = false;
		}
		long pub = atomic_load_explicit(&published, memory_order_acquire);
		while (claimed < pub && entry_ns[claimed] <= t) {
			handoff_ns[claimed] = t - entry_ns[claimed];
			claimed++;
		}
		if (atomic_load_explicit(&done, memory_order_acquire) &&
		    claimed == atomic_load_explicit(&published, memory_order_acquire))
			break;
		if (t >= next_yield) {
			gx_yield();
			yields++;
			yielded = true;
		}
	}
	b_max_stall_ns = max_stall;
	b_yields = yields;
	gx_wg_done(&wg);
}

/* thread_cpu_ns - CPU time of the thread tid of this process, or -1. */
static int64_t thread_cpu_ns(long tid)
{
	char path[64];
	long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/schedstat", tid);
	if ((f = fopen(path, "r"))) {
		int ok = fscanf(f, "%lld", &v) == 1;
		fclose(f);
		if (ok)
			return (int64_t)v;
	}
	/* utime and stime: fields 14 and 15, after the ")" closing comm. */
	char buf[1024];
	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
	if (!(f = fopen(path, "r")))
		return -1;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = 0;
	char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

/* sysmon_tid - the id of the thread named SYSMON_COMM, or -1. */
static long sysmon_tid(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long found = -1;

	if (!d)
		return -1;
	while (found < 0 && (e = readdir(d))) {
		char path[300], comm[32] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			if (strcmp(comm, SYSMON_COMM) == 0)
				found = strtol(e->d_name, NULL, 10);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	long n = opts[OPT_ITERS].value;
	int maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	entry_ns = calloc((size_t)n, sizeof(int64_t));
	handoff_ns = calloc((size_t)n, sizeof(int64_t));
	if (!entry_ns || !handoff_ns)
		bench_fail("out of memory");

	long smtid = sysmon_tid();
	int64_t sm0 = smtid >= 0 ? thread_cpu_ns(smtid) : -1;
	int64_t start = bench_now_ns();
	gx_wg_add(&wg, 2);
	int64_t idb = gx_go(goroutine_b, (void *)(intptr_t)opts[OPT_YIELD_US].value);
	int64_t ida = gx_go(goroutine_a, (void *)(intptr_t)n);
	if (ida < 0 || idb < 0)
		bench_fail("gx_go: %" PRId64, ida < 0 ? ida : idb);
	gx_wg_wait(&wg);
	int64_t wall = bench_now_ns() - start;
	if (smtid < 0 && (smtid = sysmon_tid()) >= 0)
		sm0 = 0; /* named late: count its CPU from its start */
	int64_t sm1 = smtid >= 0 ? thread_cpu_ns(smtid) : -1;

	close(req_w);
	int status = 0;
	pid_t w = gx_sys_waitpid(helper_pid, &status, 0);
	if (a_error)
		bench_fail("%s", a_error);
	if (w != helper_pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_fail("the helper process failed (waitpid %d, status %#x)", (int)w, status);
	bench_sort_int64(handoff_ns, n);
	if (handoff_ns[0] < 0)
		bench_fail("a hand-off latency is negative (%" PRId64 " ns)", handoff_ns[0]);

	char sysmon[32] = "null";
	if (sm0 >= 0 && sm1 >= 0)
		snprintf(sysmon, sizeof(sysmon), "%.3f", (double)(sm1 - sm0) / (double)wall * 100);
	printf("{\"workload\":\"syscall_handoff\",\"maxprocs\":%d,\"iters\":%ld,\"delay_us\":%ld,"
	       "\"yield_us\":%ld,\"syscalls\":\"%s\",\"wall_ms\":%.6f,\"handoff_p50_us\":%.3f,\"handoff_p99_us\":%.3f,"
	       "\"handoff_max_us\":%.3f,\"b_max_stall_us\":%.3f,\"b_yields\":%" PRId64 ",\"sysmon_cpu_pct\":%s,"
	       "\"kassist\":\"%s\"}\n",
	       maxprocs, n, opts[OPT_DELAY_US].value, opts[OPT_YIELD_US].value,
	       opts[OPT_UNWRAPPED].value ? "unwrapped" : "wrapped", (double)wall / 1e6,
	       (double)bench_percentile(handoff_ns, n, 50) / 1e3, (double)bench_percentile(handoff_ns, n, 99) / 1e3,
	       (double)handoff_ns[n - 1] / 1e3, (double)b_max_stall_ns / 1e3, b_yields, sysmon, bench_kassist());
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bench_parse_args("syscall_handoff", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_ITERS].value <= 0 || opts[OPT_ITERS].value > INT32_MAX)
		bench_usage("--iters must be in [1, %d]", INT32_MAX);
	if (opts[OPT_YIELD_US].value <= 0)
		bench_usage("--yield_us must be > 0");
	if (opts[OPT_UNWRAPPED].value > 1)
		bench_usage("--unwrapped must be 0 or 1");
	start_helper(opts[OPT_DELAY_US].value);
	gx_main(bench_main, argc, argv);
}
