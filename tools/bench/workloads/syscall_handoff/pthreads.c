/* SPDX-License-Identifier: MIT */
/*
 * syscall_handoff (pthreads): a thread blocks in a system call on the only
 * CPU; how soon does the other runnable thread run? The analogue of
 * tools/bench/workloads/syscall_handoff/gmpx.c with threads that simply block: A and B
 * are threads of a process pinned to one CPU (--maxprocs=1), and when A's
 * read(2) sleeps the kernel runs B at once. There is nothing to hand off
 * and no runtime to tell, so the wrapped and unwrapped runs are the same
 * program (--unwrapped is accepted and only echoed in "syscalls").
 *
 * Definition (as in the C program, with these substitutions):
 *  - Arguments: --maxprocs=P (CPUs; the runner uses 1), --iters=N
 *    (default 200), --delay_us=D (default 20,000), --yield_us=Y (default
 *    1,000), --unwrapped=U (0 or 1; no effect).
 *  - Setup: the two blocking pipes and the helper process (fork; the child
 *    echoes each byte after sleeping D us), exactly as the C program.
 *  - Timed region: main creates thread B, then thread A, and joins both.
 *    A, for i in 0..N-1: write(2) byte i mod 256 to req; entry[i] = clock;
 *    published = i + 1 (release); read(2) 1 byte from rep (blocks about D
 *    us), which must be the byte sent. Then done = 1. B: the C program's B
 *    loop, with sched_yield(2) for gx_yield (every Y us of running).
 *  - Report: wall_ms; handoff_p50_us, handoff_p99_us, handoff_max_us (the
 *    first B timestamp after A's read-entry minus that entry, nearest
 *    rank); b_max_stall_us; b_yields; sysmon_cpu_pct: null (no sysmon);
 *    syscalls: "wrapped" or "unwrapped" as asked.
 *  - Verify: every write and read moved 1 byte and every reply was the byte
 *    sent; every hand-off >= 0; the helper exited with status 0.
 *
 * Output: as the C program's, without "kassist".
 */
#include "pt_bench.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/wait.h>

enum { OPT_MAXPROCS, OPT_ITERS, OPT_DELAY_US, OPT_YIELD_US, OPT_UNWRAPPED };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},    [OPT_ITERS] = {"iters", 200},	 [OPT_DELAY_US] = {"delay_us", 20000},
	[OPT_YIELD_US] = {"yield_us", 1000}, [OPT_UNWRAPPED] = {"unwrapped", 0},
};

static int req_w = -1, rep_r = -1;
static int64_t *entry_ns, *handoff_ns;
static atomic_long published;
static atomic_int done;
static int64_t b_max_stall_ns, b_yields;
static const char *a_error;

__attribute__((noreturn)) static void helper(int req, int rep, long delay_us)
{
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
		if (pt_sleep_ns((int64_t)delay_us * 1000) != 0 || write(rep, &b, 1) != 1)
			_exit(1);
	}
}

static ssize_t xread(int fd, void *buf, size_t n)
{
	ssize_t r;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t xwrite(int fd, const void *buf, size_t n)
{
	ssize_t r;
	do
		r = write(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static void *thread_a(void *arg)
{
	long n = (long)(intptr_t)arg;
	for (long i = 0; i < n; i++) {
		unsigned char b = (unsigned char)(i % 256), c = 0;
		if (xwrite(req_w, &b, 1) != 1) {
			a_error = "write to the helper failed";
			break;
		}
		entry_ns[i] = bench_now_ns();
		atomic_store_explicit(&published, i + 1, memory_order_release);
		ssize_t r = xread(rep_r, &c, 1);
		if (r != 1 || c != b) {
			a_error = r != 1 ? "read from the helper failed" : "the helper replied with another byte";
			break;
		}
	}
	atomic_store_explicit(&done, 1, memory_order_release);
	return NULL;
}

static void *thread_b(void *arg)
{
	int64_t yield_ns = (int64_t)(intptr_t)arg * 1000;
	int64_t prev = bench_now_ns(), next_yield = prev + yield_ns, max_stall = 0, yields = 0;
	long claimed = 0;
	bool yielded = false;

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
			sched_yield();
			yields++;
			yielded = true;
		}
	}
	b_max_stall_ns = max_stall;
	b_yields = yields;
	return NULL;
}

int main(int argc, char **argv)
{
	int cpus = pt_parse_args("syscall_handoff", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	long n = opts[OPT_ITERS].value;
	if (n <= 0 || n > INT32_MAX)
		bench_usage("--iters must be in [1, %d]", INT32_MAX);
	if (opts[OPT_YIELD_US].value <= 0)
		bench_usage("--yield_us must be > 0");
	if (opts[OPT_UNWRAPPED].value > 1)
		bench_usage("--unwrapped must be 0 or 1");

	int req[2], rep[2];
	if (pipe2(req, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0)
		bench_fail("pipe2: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(req[1]);
		close(rep[0]);
		helper(req[0], rep[1], opts[OPT_DELAY_US].value);
	}
	close(req[0]);
	close(rep[1]);
	req_w = req[1];
	rep_r = rep[0];

	entry_ns = calloc((size_t)n, sizeof(int64_t));
	handoff_ns = calloc((size_t)n, sizeof(int64_t));
	if (!entry_ns || !handoff_ns)
		bench_fail("out of memory");

	pthread_t a, b;
	int64_t start = bench_now_ns();
	pt_start(&b, thread_b, (void *)(intptr_t)opts[OPT_YIELD_US].value, 0, false, NULL);
	pt_start(&a, thread_a, (void *)(intptr_t)n, 0, false, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	int64_t wall = bench_now_ns() - start;

	close(req_w);
	int status = 0;
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (a_error)
		bench_fail("%s", a_error);
	if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_fail("the helper process failed (waitpid %d, status %#x)", (int)w, status);
	bench_sort_int64(handoff_ns, n);
	if (handoff_ns[0] < 0)
		bench_fail("a hand-off latency is negative (%" PRId64 " ns)", handoff_ns[0]);
	printf("{\"workload\":\"syscall_handoff\",\"maxprocs\":%d,\"iters\":%ld,\"delay_us\":%ld,"
	       "\"yield_us\":%ld,\"syscalls\":\"%s\",\"wall_ms\":%.6f,\"handoff_p50_us\":%.3f,\"handoff_p99_us\":%.3f,"
	       "\"handoff_max_us\":%.3f,\"b_max_stall_us\":%.3f,\"b_yields\":%" PRId64 ",\"sysmon_cpu_pct\":null}\n",
	       cpus, n, opts[OPT_DELAY_US].value, opts[OPT_YIELD_US].value,
	       opts[OPT_UNWRAPPED].value ? "unwrapped" : "wrapped", (double)wall / 1e6,
	       (double)bench_percentile(handoff_ns, n, 50) / 1e3, (double)bench_percentile(handoff_ns, n, 99) / 1e3,
	       (double)handoff_ns[n - 1] / 1e3, (double)b_max_stall_ns / 1e3, b_yields);
	return 0;
}
