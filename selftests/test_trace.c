// SPDX-License-Identifier: MIT
/*
 * test_trace.c - the execution trace (gmpx/trace.h): bad calls get their
 * errors; a channel ping-pong, a syscall hand-off and, in trace mode, an
 * M blocking in an unwrapped read come out as a file that protobuf's own
 * parser reads (selftests/trace_check.py checks tracks, nesting, thread
 * ids and the events each case must show) and that tools/gmpx-trace
 * summarises; the flight recorder keeps a bounded window, writes it on
 * demand and on a fatal error; tracing starts and stops under load.
 */
#define _GNU_SOURCE /* pipe2 */
#include "gx_test.h"
#include "kdaemon.h"

#include <gmpx/trace.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void tracefile(char *buf, size_t n, const char *what)
{
	snprintf(buf, n, "/tmp/gxt-trace-%d-%s.pftrace", getpid(), what);
}

/* The thread ids of this process, comma-separated. */
static void tids(char *buf, size_t n)
{
	DIR *d = opendir("/proc/self/task");
	size_t k = 0;
	buf[0] = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL && k + 16 < n)
		if (e->d_name[0] != '.')
			k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? "," : "", e->d_name);
	if (d)
		closedir(d);
}

/* Whether the last check failed: its file is then not removed. */
static bool keep;

static void done(const char *f)
{
	if (!keep)
		unlink(f);
}

/* check - trace_check.py on file with args (and this process's pid and
 * thread ids, if self): its exit status (0 fine); a 4 (no parser here)
 * skips the test. */
static int checkf(const char *file, bool self, const char *args)
{
	char cmd[8192], t[4096];
	tids(t, sizeof(t));
	if (self)
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 selftests/trace_check.py %s --pid %d --tids %s %s", file,
			 (int)getpid(), t, args);
	else
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 selftests/trace_check.py %s %s", file, args);
	keep = true;
	int st = system(cmd);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (rc == 4 || rc == 127)
		SKIP(return 4, "no protobuf parser here (python3-protobuf, build/proto/trace_pb2.py)");
	if (rc)
		TH_LOG("trace_check.py %s %s: status %d (the file is left for a look)", file, args, rc);
	else
		keep = false;
	return rc;
}

static int check(const char *file, const char *args)
{
	return checkf(file, true, args);
}

/* ---- bad calls -------------------------------------------------------------- */

GX_TEST(trace_bad_calls_get_errors)
{
	char f[128];
	tracefile(f, sizeof(f), "bad");
	EXPECT_EQ(gx_trace_start(NULL), -EINVAL);
	EXPECT_EQ(gx_trace_start(""), -EINVAL);
	EXPECT_EQ(gx_trace_start("/nonexistent-dir/x.pftrace"), -ENOENT);
	EXPECT_EQ(gx_trace_stop(), -ENOENT);
	EXPECT_EQ(gx_trace_flight_write(f), -ENOENT);
	EXPECT_EQ(gx_trace_flight_stop(), -ENOENT);
	EXPECT_EQ(gx_trace_flight_start(0, NULL), -EINVAL);
	int r = gx_trace_start(f);
	if (r == -ENOTSUP)
		SKIP(return, "built without protobuf-c");
	ASSERT_EQ(r, 0);
	EXPECT_EQ(gx_trace_start(f), -EBUSY);
	EXPECT_EQ(gx_trace_flight_start(1 << 20, NULL), -EBUSY);
	EXPECT_EQ(gx_trace_flight_write(NULL), -EINVAL);
	EXPECT_EQ(gx_trace_stop(), 0);
	EXPECT_EQ(gx_trace_stop(), -ENOENT);
	done(f);
}

/* ---- a ping-pong ------------------------------------------------------------ */

struct pp {
	gx_chan *ping, *pong;
	int trips;
};

static void ponger(void *arg)
{
	struct pp *p = arg;
	int v;
	for (int i = 0; i < p->trips; i++) {
		gx_chan_recv(p->ping, &v, GX_FOREVER);
		gx_chan_send(p->pong, &v, GX_FOREVER);
	}
}

static void pinger(void *arg)
{
	struct pp *p = arg;
	for (int i = 0; i < p->trips; i++) {
		int v = i;
		gx_chan_send(p->ping, &v, GX_FOREVER);
		gx_chan_recv(p->pong, &v, GX_FOREVER);
	}
}

static void pingpong(int trips)
{
	struct pp p = {.trips = trips};
	ASSERT_EQ(gx_chan_make(&p.ping, sizeof(int), 0), 0);
	ASSERT_EQ(gx_chan_make(&p.pong, sizeof(int), 0), 0);
	gx_attr a = {.name = "pinger"}, b = {.name = "ponger"};
	ASSERT_GT(gx_go_attr(&a, pinger, &p), 0);
	ASSERT_GT(gx_go_attr(&b, ponger, &p), 0);
	int64_t deadline = gx_now() + 30LL * 1000 * 1000 * 1000;
	while (gx_num_goroutines() > 1 && gx_now() < deadline)
		gx_sleep(1000000);
	gx_chan_free(p.ping);
	gx_chan_free(p.pong);
}

GX_TEST_PROCS(trace_pingpong_opens_as_tracks, 2, 120)
{
	char f[128];
	tracefile(f, sizeof(f), "pp");
	int r = gx_trace_start(f);
	if (r == -ENOTSUP)
		SKIP(return, "built without protobuf-c");
	ASSERT_EQ(r, 0);
	int trips = (int)gx_scale(5000);
	pingpong(trips);
	ASSERT_EQ(gx_trace_stop(), 0);
	char args[256];
	/* each trip starts both goroutines at least once */
	snprintf(args, sizeof(args), "--min G:%d --name pinger --name ponger --why 'chan send|chan receive' --why exit",
		 2 * trips);
	EXPECT_EQ(check(f, args), 0);
	done(f);
}

/* ---- a syscall hand-off ----------------------------------------------------- */

struct rd {
	int fd;
	char c;
};

static void reader(void *arg)
{
	struct rd *r = arg;
	EXPECT_EQ(gx_sys_read(r->fd, &r->c, 1), 1); /* wrapped: the P stays, sysmon takes it */
}

static void writer(void *arg)
{
	int *fd = arg;
	gx_sleep(30 * 1000 * 1000);
	EXPECT_EQ(write(*fd, "x", 1), 1);
}

/* blocked_read - trace, to f, a goroutine named name running fn (a read of
 * a pipe) while another writes to the pipe 30 ms later; stop; then the
 * check with args. Returns the check's status (-1: could not trace). */
static int blocked_read(const char *f, gx_fn fn, const char *name, const char *args)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	int r = gx_trace_start(f);
	if (r == -ENOTSUP)
		SKIP(return -1, "built without protobuf-c");
	ASSERT_EQ(r, 0);
	struct rd rd = {.fd = p[0]};
	gx_attr a = {.name = name};
	ASSERT_GT(gx_go_attr(&a, fn, &rd), 0);
	gx_yield();
	ASSERT_GT(gx_go(writer, &p[1]), 0);
	int64_t deadline = gx_now() + 20LL * 1000 * 1000 * 1000;
	while (gx_num_goroutines() > 1 && gx_now() < deadline)
		gx_sleep(1000000);
	ASSERT_EQ(gx_trace_stop(), 0);
	EXPECT_EQ(rd.c, 'x');
	close(p[0]);
	close(p[1]);
	return check(f, args);
}

GX_TEST_PROCS(trace_shows_syscall_handoff_and_tool_reads_it, 1, 120)
{
	char f[128];
	tracefile(f, sizeof(f), "sys");
	EXPECT_EQ(blocked_read(f, reader, "reader", "--min G:3 --name reader --why 'taken from its syscall'"), 0);
	/* the tool: its hand-off line counts at least this one */
	char cmd[256], line[512];
	snprintf(cmd, sizeof(cmd), "GMPX_TRACE_PB2=build/proto tools/gmpx-trace %s", f);
	FILE *o = popen(cmd, "r");
	ASSERT_NE(o, NULL);
	int handoffs = -1, lat = 0;
	while (fgets(line, sizeof(line), o)) {
		fputs(line, stderr);
		sscanf(line, "hand-off, syscall entry -> P taken: %d events", &handoffs);
		sscanf(line, "scheduling latency (runnable -> running): %d events", &lat);
	}
	EXPECT_EQ(pclose(o), 0);
	EXPECT_GE(handoffs, 1);
	EXPECT_GE(lat, 3);
	done(f);
}

/* ---- the flight recorder ------------------------------------------------------ */

static void yielder(void *arg)
{
	long n = (long)(intptr_t)arg;
	for (long i = 0; i < n; i++)
		gx_yield();
}

GX_TEST_PROCS(trace_flight_recorder_keeps_a_window, 2, 120)
{
	char f[128];
	tracefile(f, sizeof(f), "flight");
	int r = gx_trace_flight_start(256 << 10, NULL);
	if (r == -ENOTSUP)
		SKIP(return, "built without protobuf-c");
	ASSERT_EQ(r, 0);
	EXPECT_EQ(gx_trace_start(f), -EBUSY);
	long n = gx_scale(100000);
	for (int i = 0; i < 2; i++)
		ASSERT_GT(gx_go(yielder, (void *)(intptr_t)n), 0);
	while (gx_num_goroutines() > 1)
		gx_sleep(1000000);
	long recs = gx_trace_flight_write(f);
	/* 4 (at least 2 per M, 3 Ms at most here) chunks of 2,047 and the Ms' partial ones */
	EXPECT_GT(recs, 1000);
	EXPECT_LE(recs, 16 * 2047);
	char args[64];
	snprintf(args, sizeof(args), "--min G:100 --max-records %ld", 2 * recs + 100);
	EXPECT_EQ(check(f, args), 0);
	/* it goes on recording: a second write works */
	ASSERT_GT(gx_go(yielder, (void *)(intptr_t)1000), 0);
	while (gx_num_goroutines() > 1)
		gx_sleep(1000000);
	EXPECT_GT(gx_trace_flight_write(f), 0);
	EXPECT_EQ(gx_trace_flight_stop(), 0);
	EXPECT_EQ(gx_trace_flight_write(f), -ENOENT);
	done(f);
}

static int fatal_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < 2; i++)
		gx_go(yielder, (void *)(intptr_t)10000);
	gx_sleep(20 * 1000 * 1000);
	gx_ready(gx_self()); /* fatal: readying a goroutine that is not parked */
	return 0;
}

TEST_TIMEOUT(trace_flight_recorder_written_on_fatal, 120)
{
	char f[128], env[192], log[128];
	tracefile(f, sizeof(f), "fatal");
	snprintf(log, sizeof(log), "/tmp/gxt-trace-%d-fatal.log", getpid());
	done(f);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		snprintf(env, sizeof(env), "flight:%s:1", f);
		setenv("GX_TRACE", env, 1);
		setenv("GX_DEBUG", "sigquit=0", 1);
		char *argv[] = {(char *)"fatal", NULL};
		gx_main(fatal_main, 1, argv);
	}
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 2);
	char buf[8192] = {0};
	int fd = open(log, O_RDONLY);
	ASSERT_GE(fd, 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_GT(n, 0);
	if (strstr(buf, "built without protobuf-c") || strstr(buf, "cannot load libprotobuf-c"))
		SKIP(return, "no protobuf-c");
	EXPECT_NE(strstr(buf, "gmpx: fatal: "), NULL);
	EXPECT_NE(strstr(buf, "gmpx: flight recorder: "), NULL);
	struct stat sb;
	ASSERT_EQ(stat(f, &sb), 0);
	EXPECT_GT(sb.st_size, 1000);
	EXPECT_EQ(checkf(f, false, "--min G:10"), 0);
	done(f);
	unlink(log);
}

/* ---- start and stop under load ------------------------------------------------ */

static _Atomic bool stopload;

static void loader(void *arg)
{
	gx_chan *c = arg;
	int v = 0;
	unsigned seed = (unsigned)gx_id();
	while (!atomic_load(&stopload)) {
		gx_chan_send(c, &v, GX_FOREVER);
		gx_chan_recv(c, &v, GX_FOREVER);
		if (rand_r(&seed) % 8 == 0)
			gx_yield();
	}
}

GX_TEST_PROCS(trace_start_stop_under_load, 2, 180)
{
	char f[128];
	tracefile(f, sizeof(f), "load");
	gx_chan *c;
	ASSERT_EQ(gx_chan_make(&c, sizeof(int), 1), 0);
	atomic_store(&stopload, false);
	for (int i = 0; i < 4; i++)
		ASSERT_GT(gx_go(loader, c), 0);
	int rounds = (int)gx_scale(40);
	if (rounds < 5)
		rounds = 5;
	for (int i = 0; i < rounds; i++) {
		int r = gx_trace_start(f);
		if (r == -ENOTSUP) {
			atomic_store(&stopload, true);
			GXT_LEAKS_EXPECTED("stopping");
			SKIP(return, "built without protobuf-c");
		}
		ASSERT_EQ(r, 0);
		gx_sleep(2 * 1000 * 1000);
		ASSERT_EQ(gx_trace_stop(), 0);
		ASSERT_EQ(gx_trace_flight_start(64 << 10, NULL), 0);
		gx_sleep(1000 * 1000);
		ASSERT_EQ(gx_trace_flight_stop(), 0);
	}
	ASSERT_EQ(gx_trace_start(f), 0);
	gx_sleep(5 * 1000 * 1000);
	ASSERT_EQ(gx_trace_stop(), 0);
	atomic_store(&stopload, true);
	while (gx_num_goroutines() > 1)
		gx_sleep(1000000);
	gx_chan_free(c);
	EXPECT_EQ(check(f, "--min G:10"), 0);
	done(f);
}

/* ---- the kernel's view (trace mode) ---------------------------------------------- */

static void unwrapped_reader(void *arg)
{
	struct rd *r = arg;
	EXPECT_EQ(read(r->fd, &r->c, 1), 1); /* the runtime does not know: the kernel tells */
}

KTEST(trace_kernel_view_beside_goroutines, 1, GX_KASSIST_TRACE, 120)
{
	char f[128];
	tracefile(f, sizeof(f), "kernel");
	EXPECT_EQ(blocked_read(f, unwrapped_reader, "blocked",
			       "--min G:3 --name blocked --kernel --why 'revoked from a blocked M'"),
		  0);
	done(f);
}
