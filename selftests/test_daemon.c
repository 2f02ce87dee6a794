/* SPDX-License-Identifier: MIT */
/*
 * test_daemon.c - attacks on gmpx-sched (tools/gmpx-sched/README.md,
 * "Security model"): a forged or outlived identity, floods and table
 * exhaustion, planted lock-file symlinks, malformed packets.
 *
 * Each test starts its own daemon on a private socket and pin directory,
 * with --watch-fd so the daemon goes when the test does, and its stderr in
 * a log file the test reads. They need root (BPF, setuid to nobody,
 * ns_last_pid) and skip with the reason otherwise. Mostly raw protocol
 * (struct gx_sched_msg on the socket, as an attacker would speak it); the
 * flood test runs a real runtime in trace mode after the flood.
 *
 * The daemon being SIGKILLed mid-run (the runtime falls back to off mode,
 * no goroutine lost) is test_kassist.c's trace_daemon_killed_falls_back.
 */
#define _GNU_SOURCE /* pipe2 */
#include "gx_test.h"
#include <gmpx/sched_proto.h>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define D_MS   ((int64_t)1000000)
#define NOBODY 65534

/* ---- a private daemon ---- */

struct dmn {
	pid_t pid;
	char dir[64]; /* holds the socket and the log, unless a test picks its own */
	char sock[100];
	char pins[96];
	char log[96];
};

static const char *d_bin(void)
{
	const char *b = getenv("GXT_SCHED");
	return b && *b ? b : "build/gmpx-sched";
}

static void d_need(void)
{
	if (geteuid() != 0)
		SKIP(return, "needs root (BPF, setuid, ns_last_pid)");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		SKIP(return, "no kernel BTF (/sys/kernel/btf/vmlinux)");
	if (access(d_bin(), X_OK) != 0)
		SKIP(return, "%s not built (BPF tools missing?)", d_bin());
}

/* d_paths - the default layout: /tmp/gxt-daemon-PID/{sched.sock,log} */
static void d_paths(struct dmn *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/gxt-daemon-%d", (int)getpid());
	snprintf(d->sock, sizeof(d->sock), "%s/sched.sock", d->dir);
	snprintf(d->pins, sizeof(d->pins), "/sys/fs/bpf/gxt-daemon-%d", (int)getpid());
	snprintf(d->log, sizeof(d->log), "/tmp/gxt-daemon-%d.log", (int)getpid());
	mkdir(d->dir, 0755);
}

/* d_spawn - start the daemon with extra arguments (NULL-terminated).
 * Returns 0 once its socket exists, or the daemon's exit status + 1000 when
 * it exited first. */
static int d_spawn(struct dmn *d, const char *const *extra)
{
	int watch[2];
	ASSERT_EQ(pipe2(watch, O_CLOEXEC), 0);
	unlink(d->sock);
	d->pid = fork();
	ASSERT_GE(d->pid, 0);
	if (d->pid == 0) {
		int log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log >= 0)
			dup2(log, 2);
		fcntl(watch[0], F_SETFD, 0);
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", watch[0]);
		const char *argv[24] = {d_bin(), "--socket", d->sock, "--pin-dir", d->pins, "--watch-fd", fd};
		for (int i = 0; extra && extra[i] && i < 16; i++)
			argv[7 + i] = extra[i];
		execv(d_bin(), (char **)argv);
		_exit(127);
	}
	close(watch[0]); /* watch[1] stays open until the test process ends */
	int64_t t0 = gxt_now_ns();
	struct stat st;
	while (stat(d->sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		int status;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return 1000 + (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
		}
		ASSERT_LT(gxt_now_ns() - t0, 10000 * D_MS);
		usleep(2000);
	}
	return 0;
}

static void d_start(struct dmn *d, const char *const *extra)
{
	d_need();
	d_paths(d);
	int r = d_spawn(d, extra);
	if (r != 0)
		SKIP(return, "gmpx-sched exited at start (status %d): cannot load BPF here", r - 1000);
}

static bool d_alive(const struct dmn *d)
{
	int status;
	return d->pid > 0 && waitpid(d->pid, &status, WNOHANG) == 0;
}

/* d_log_lines - lines the daemon wrote to stderr; *match: those holding s */
static int d_log_lines(const struct dmn *d, const char *s, int *match)
{
	FILE *f = fopen(d->log, "re");
	char line[1024];
	int n = 0;
	*match = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (s && strstr(line, s))
			(*match)++;
	}
	fclose(f);
	return n;
}

static void d_log_dump(const struct dmn *d, int max)
{
	FILE *f = fopen(d->log, "re");
	char line[1024];
	if (!f)
		return;
	for (int i = 0; i < max && fgets(line, sizeof(line), f); i++) {
		line[strcspn(line, "\n")] = 0;
		TH_LOG("daemon: %s", line);
	}
	fclose(f);
}

/* ---- raw protocol ---- */

static int d_connect(const char *sock)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	if (s < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(s);
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

static void d_msg(struct gx_sched_msg *m, unsigned type, uint32_t a0, uint32_t a1)
{
	memset(m, 0, sizeof(*m));
	m->magic = GX_KABI_MAGIC;
	m->version = GX_KABI_VERSION;
	m->type = (uint16_t)type;
	m->arg0 = a0;
	m->arg1 = a1;
}

/* d_recv - one reply: its length (0: closed, -1: error or timeout); the
 * fds it carried are kept in fds[] (up to *nfds) or closed. */
static ssize_t d_recv(int s, struct gx_sched_msg *r, int *fds, int *nfds, int flags)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} cb;
	struct iovec iov = {r, sizeof(*r)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof(cb.buf)};
	int max = nfds ? *nfds : 0, got = 0;
	memset(r, 0, sizeof(*r));
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC | flags);
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (nfds)
		*nfds = got;
	return n;
}

/* d_request - send a packet, read the reply. Returns 1 and *status when a
 * whole reply came, 0 when the daemon closed the connection instead, -1 on
 * a timeout. A send that fails because the daemon closed already still
 * reads the reply it queued first. */
static int d_request_raw(int s, const void *pkt, size_t len, int32_t *status, int *fds, int *nfds)
{
	struct gx_sched_msg r;
	ssize_t n;
	(void)!send(s, pkt, len, MSG_NOSIGNAL);
	n = d_recv(s, &r, fds, nfds, 0);
	if (n < 0 && errno != EAGAIN)
		n = 0; /* ECONNRESET: closed */
	if (n == (ssize_t)sizeof(r)) {
		*status = r.status;
		return 1;
	}
	return n < 0 ? -1 : 0;
}

static int d_request(int s, unsigned type, uint32_t a0, uint32_t a1, int32_t *status)
{
	struct gx_sched_msg m;
	d_msg(&m, type, a0, a1);
	return d_request_raw(s, &m, sizeof(m), status, NULL, NULL);
}

/* d_hello - HELLO for trace mode on s: 1 granted (status 0 and the state
 * map came; *statefd keeps it if given), 0 refused or closed, -1 no answer */
static int d_hello(int s, int *statefd)
{
	struct gx_sched_msg m;
	int fds[16], nfds = 16;
	int32_t st = -1;
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
	int r = d_request_raw(s, &m, sizeof(m), &st, fds, &nfds);
	bool ok = r == 1 && st == 0 && nfds >= 2;
	for (int i = 0; i < nfds; i++) {
		if (i == 0 && ok && statefd)
			*statefd = fds[0];
		else
			close(fds[i]);
	}
	return ok ? 1 : (r < 0 ? -1 : 0);
}

/* d_state_tgid - the tgid recorded in a state map's header */
static uint32_t d_state_tgid(int fd)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (sizeof(struct gx_kabi_proc) + pg - 1) & ~(pg - 1);
	struct gx_kabi_proc *kp = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	uint32_t t;
	if (kp == MAP_FAILED)
		return 0;
	t = kp->hdr.tgid;
	munmap(kp, len);
	return t;
}

/* d_attached - is pid attached, by gmpx-sched --stats on the pins? */
static bool d_attached(const struct dmn *d, pid_t pid)
{
	char cmd[256], line[512], want[32];
	bool found = false;
	snprintf(cmd, sizeof(cmd), "%s --stats --pin-dir %s 2>/dev/null", d_bin(), d->pins);
	snprintf(want, sizeof(want), "pid %d:", (int)pid);
	FILE *f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, want, strlen(want)) == 0)
			found = true;
	pclose(f);
	return found;
}

static void become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		_exit(99);
}

/* ---- identity: a connection is its peer process, alive ---- */

static const char *const no_peerpidfd[] = {"--test-no-peerpidfd", NULL};

/* reuse_pid - fork a root process that gets pid `want` (through
 * ns_last_pid) and waits until hold_rd hangs up; 0 when the pid was taken
 * by somebody else meanwhile. */
static pid_t reuse_pid(pid_t want, int hold_rd, int hold_wr, int ready_wr)
{
	for (int tries = 0; tries < 50; tries++) {
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)want - 1);
		if (fd < 0)
			return 0;
		(void)!write(fd, buf, (size_t)n);
		close(fd);
		pid_t p = fork();
		if (p == 0) {
			char c;
			close(hold_wr);
			(void)!write(ready_wr, "r", 1);
			(void)!read(hold_rd, &c, 1);
			_exit(0);
		}
		if (p == want)
			return p;
		if (p > 0) {
			kill(p, SIGKILL);
			waitpid(p, NULL, 0);
		}
	}
	return 0;
}

/* A child (euid `uid`) connects and exits; its parent HELLOs on the
 * socket it left: the daemon must not attach the dead pid, nor (once the
 * pid is reused by a root process) the process that now has it. */
static void dead_pid_hello(const char *const *extra, uid_t uid)
{
	struct dmn d;
	d_start(&d, extra);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ASSERT_GE(s, 0);
	pid_t a = fork();
	ASSERT_GE(a, 0);
	if (a == 0) {
		if (uid != 0)
			become(uid, NOBODY);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.sock);
		_exit(connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : 1);
	}
	int status;
	ASSERT_EQ(waitpid(a, &status, 0), a);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct timeval tv = {5, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int hold[2], ready[2];
	ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
	pid_t b = reuse_pid(a, hold[0], hold[1], ready[1]);
	char c;
	if (b) {
		ASSERT_EQ(read(ready[0], &c, 1), 1);
		TH_LOG("pid %d reused by a new root process", (int)a);
	} else {
		TH_LOG("pid %d not reused (ns_last_pid): checking the dead pid only", (int)a);
	}
	int sf = -1;
	int r = d_hello(s, &sf);
	EXPECT_NE(r, 1);
	if (r == 1) {
		TH_LOG("HELLO on a dead peer's socket attached pid %u", d_state_tgid(sf));
		close(sf);
	}
	close(s);
	EXPECT_TRUE(d_alive(&d));
	close(hold[1]);
	if (b)
		waitpid(b, NULL, 0);
}

/* With SO_PEERPIDFD the kernel took the connector at connect(): a root
 * connector's pid reused by another root process is refused, however late
 * the daemon accepts. */
TEST_TIMEOUT(daemon_dead_pid_hello, 60)
{
	dead_pid_hello(NULL, 0);
}

/* The same where the kernel has no SO_PEERPIDFD (pidfd_open, euid, start
 * time). That path's guarantee is against other users (README.md, Security
 * model): a pid reused by a process of the connector's own euid before the
 * daemon's accept() cannot be told apart, and a slow guest (TCG) does make
 * the accept that late. So the connector here is an admitted user, not
 * root, and the pid goes to root: refused at any timing. */
TEST_TIMEOUT(daemon_dead_pid_hello_no_peerpidfd, 60)
{
	if (!getgrnam("nogroup"))
		SKIP(return, "no group nogroup");
	static const char *const extra[] = {"--test-no-peerpidfd", "--group", "nogroup", NULL};
	dead_pid_hello(extra, NOBODY);
}

/* The attack: a child attaches, exits; its pid goes to a root
 * process; the parent, holding the child's socket, registers the root
 * process's thread into the child's state (which it could map). Refused;
 * the dead child is detached; the root process can attach itself. */
static void pid_reuse_after_attach(const char *const *extra)
{
	struct dmn d;
	d_start(&d, extra);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ASSERT_GE(s, 0);
	pid_t a = fork();
	ASSERT_GE(a, 0);
	if (a == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.sock);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(1);
		_exit(d_hello(s, NULL) == 1 ? 0 : 2);
	}
	int status;
	ASSERT_EQ(waitpid(a, &status, 0), a);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* it attached */
	struct timeval tv = {5, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* the dead child is detached although its socket is still open here */
	int64_t t0 = gxt_now_ns();
	while (d_attached(&d, a) && gxt_now_ns() - t0 < 3000 * D_MS)
		usleep(20000);
	EXPECT_FALSE(d_attached(&d, a));
	int hold[2], ready[2];
	ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
	pid_t b = reuse_pid(a, hold[0], hold[1], ready[1]);
	char c;
	if (!b)
		TH_LOG("pid %d not reused (ns_last_pid): checking the dead peer only", (int)a);
	else
		ASSERT_EQ(read(ready[0], &c, 1), 1);
	/* MREG of the new process's main thread on the dead child's socket */
	int32_t st = 0;
	int r = d_request(s, GX_MSG_MREG, (uint32_t)(b ? b : a), 0, &st);
	EXPECT_TRUE(r != 1 || st < 0);
	if (r == 1 && st == 0)
		TH_LOG("MREG of root's pid %d through a dead peer's socket succeeded", (int)b);
	close(s);
	close(hold[1]);
	if (b)
		waitpid(b, NULL, 0);
	EXPECT_TRUE(d_alive(&d));
}

TEST_TIMEOUT(daemon_pid_reuse_after_attach, 60)
{
	pid_reuse_after_attach(NULL);
}

/* the same where the kernel has no SO_PEERPIDFD (pidfd_open, start time) */
TEST_TIMEOUT(daemon_pid_reuse_after_attach_no_peerpidfd, 60)
{
	pid_reuse_after_attach(no_peerpidfd);
}

/* The same with the real owner attaching: the process that gets the dead
 * child's pid HELLOs itself and is granted its own state, not refused as
 * "already attached". */
static void pid_reuse_owner_attaches(const char *const *extra)
{
	struct dmn d;
	d_start(&d, extra);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ASSERT_GE(s, 0);
	pid_t a = fork();
	ASSERT_GE(a, 0);
	if (a == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.sock);
		_exit(connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : 1);
	}
	int status;
	ASSERT_EQ(waitpid(a, &status, 0), a);
	struct timeval tv = {5, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* the attacker HELLOs for the dead child first */
	int sf = -1;
	int r = d_hello(s, &sf);
	EXPECT_NE(r, 1);
	if (sf >= 0)
		close(sf);
	/* then the pid is reused: the new process attaches itself */
	pid_t b = -1;
	int res[2];
	ASSERT_EQ(pipe2(res, O_CLOEXEC), 0);
	for (int tries = 0; tries < 50; tries++) {
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		char buf[32];
		ASSERT_GE(fd, 0);
		(void)!write(fd, buf, (size_t)snprintf(buf, sizeof(buf), "%d", (int)a - 1));
		close(fd);
		b = fork();
		ASSERT_GE(b, 0);
		if (b == 0) {
			if (getpid() != a)
				_exit(3);
			int t = d_connect(d.sock), f = -1;
			char v = t >= 0 && d_hello(t, &f) == 1 && d_state_tgid(f) == (uint32_t)getpid() ? 'y' : 'n';
			(void)!write(res[1], &v, 1);
			_exit(0);
		}
		ASSERT_EQ(waitpid(b, &status, 0), b);
		if (b == a)
			break;
	}
	close(s);
	if (b != a)
		SKIP(return, "pid %d could not be reused through ns_last_pid", (int)a);
	char v = 0;
	ASSERT_EQ(read(res[0], &v, 1), 1);
	EXPECT_EQ(v, 'y');
	EXPECT_TRUE(d_alive(&d));
}

TEST_TIMEOUT(daemon_pid_reuse_owner_attaches, 60)
{
	pid_reuse_owner_attaches(NULL);
}

/* the same where the kernel has no SO_PEERPIDFD (pidfd_open, start time) */
TEST_TIMEOUT(daemon_pid_reuse_owner_attaches_no_peerpidfd, 60)
{
	pid_reuse_owner_attaches(no_peerpidfd);
}

/* ---- floods and tables ---- */

static int flood_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	TH_LOG("after the flood: %s", gx_kassist_status());
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	return harness_child_status();
}

/* 600 connections from a user who is not admitted, held open: a root
 * runtime still attaches in trace mode, and the log stays short. */
TEST_TIMEOUT(daemon_flood_unadmitted, 90)
{
	struct dmn d;
	d_start(&d, NULL);
	if (gx_test_sanitized() == 2)
		SKIP(return, "TSan: the runtime's trace mode is not run under TSan");
	int done[2], hold[2];
	ASSERT_EQ(pipe2(done, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
	pid_t f = fork();
	ASSERT_GE(f, 0);
	if (f == 0) {
		struct rlimit rl = {4096, 4096};
		setrlimit(RLIMIT_NOFILE, &rl);
		close(hold[1]);
		become(NOBODY, NOBODY);
		int ok = 0;
		for (int i = 0; i < 600; i++) {
			int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
			struct sockaddr_un sa = {.sun_family = AF_UNIX};
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.sock);
			if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				ok++;
		}
		(void)!write(done[1], &ok, sizeof(ok));
		char c;
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	int ok = 0;
	ASSERT_EQ(read(done[0], &ok, sizeof(ok)), (ssize_t)sizeof(ok));
	TH_LOG("nobody opened %d connections", ok);
	usleep(200000);
	int m, lines = d_log_lines(&d, NULL, &m);
	TH_LOG("daemon log: %d lines", lines);
	EXPECT_LT(lines, 60);
	if (lines >= 60)
		d_log_dump(&d, 5);
	/* a root process: the runtime in trace mode (close the flood when the
	 * test process exits: hold[1] is close-on-exec and goes with it) */
	setenv("GX_KASSIST_SOCK", d.sock, 1);
	ASSERT_EQ(gx_kassist_set(GX_KASSIST_TRACE), 0);
	char *argv[] = {(char *)"flood", NULL};
	gx_main(flood_main, 1, argv);
}

/* One admitted user (uid 65534 through --group nogroup) attaches 300 live
 * processes: the process table (256) is not theirs to fill; root and
 * another admitted user still attach. */
TEST_TIMEOUT(daemon_table_exhaustion, 180)
{
	struct dmn d;
	if (!getgrnam("nogroup"))
		SKIP(return, "no group nogroup");
	const char *extra[] = {"--group", "nogroup", NULL};
	d_start(&d, extra);
	enum { N = 300 };
	int res[2], hold[2];
	ASSERT_EQ(pipe2(res, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
	pid_t kids[N];
	int granted = 0, refused = 0, other = 0;
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		ASSERT_GE(kids[i], 0);
		if (kids[i] == 0) {
			close(hold[1]);
			become(NOBODY, NOBODY);
			int s = d_connect(d.sock);
			int r = s >= 0 ? d_hello(s, NULL) : 0;
			char v = r == 1 ? 'y' : (r == 0 ? 'n' : '?');
			(void)!write(res[1], &v, 1);
			char c;
			(void)!read(hold[0], &c, 1);
			_exit(0);
		}
		char v = 0;
		ASSERT_EQ(read(res[0], &v, 1), 1);
		granted += v == 'y';
		refused += v == 'n';
		other += v == '?';
	}
	TH_LOG("uid %d: %d attached, %d refused, %d no answer", NOBODY, granted, refused, other);
	EXPECT_LT(granted, GX_KABI_MAX_PROCS / 2);
	EXPECT_EQ(other, 0);
	/* root */
	int s = d_connect(d.sock);
	ASSERT_GE(s, 0);
	EXPECT_EQ(d_hello(s, NULL), 1);
	/* another admitted user */
	pid_t o = fork();
	ASSERT_GE(o, 0);
	if (o == 0) {
		become(NOBODY - 1, NOBODY);
		int t = d_connect(d.sock);
		_exit(t >= 0 && d_hello(t, NULL) == 1 ? 0 : 1);
	}
	int status;
	ASSERT_EQ(waitpid(o, &status, 0), o);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int m, lines = d_log_lines(&d, "limit", &m);
	TH_LOG("daemon log: %d lines, %d naming a limit", lines, m);
	EXPECT_GT(m, 0);
	EXPECT_LT(lines, 100);
	close(s);
	close(hold[1]);
	for (int i = 0; i < N; i++)
		waitpid(kids[i], NULL, 0);
	EXPECT_TRUE(d_alive(&d));
}

/* ---- the lock file and the socket's directory ---- */

static void plant_symlink_as_nobody(const char *target, const char *link)
{
	pid_t p = fork();
	ASSERT_GE(p, 0);
	if (p == 0) {
		become(NOBODY, NOBODY);
		_exit(symlink(target, link) == 0 ? 0 : 1);
	}
	int status;
	ASSERT_EQ(waitpid(p, &status, 0), p);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void make_victim(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "root secret\n", 12), 12);
	close(fd);
}

static bool victim_intact(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	return n == 12 && memcmp(buf, "root secret\n", 12) == 0;
}

/* lock_attack - --socket in a directory of mode dirmode (tag names it),
 * where nobody planted a symlink at SOCK.lock pointing at a root-only file:
 * the daemon refuses to start with one log line containing why, and the
 * symlink's target is untouched. */
static void lock_attack(mode_t dirmode, const char *tag, const char *why)
{
	struct dmn d;
	d_need();
	d_paths(&d);
	char victim[96];
	snprintf(victim, sizeof(victim), "/tmp/gxt-victim-%d", (int)getpid());
	snprintf(d.dir, sizeof(d.dir), "/tmp/gxt-%s-%d", tag, (int)getpid());
	mkdir(d.dir, dirmode);
	ASSERT_EQ(chmod(d.dir, dirmode), 0);
	snprintf(d.sock, sizeof(d.sock), "%s/sched.sock", d.dir);
	make_victim(victim);
	char lock[160];
	snprintf(lock, sizeof(lock), "%s.lock", d.sock);
	unlink(lock);
	plant_symlink_as_nobody(victim, lock);
	int r = d_spawn(&d, NULL);
	EXPECT_EQ(r, 1001);
	EXPECT_TRUE(victim_intact(victim));
	int m, lines = d_log_lines(&d, why, &m);
	d_log_dump(&d, 3);
	EXPECT_EQ(lines, 1);
	EXPECT_EQ(m, 1);
	if (r == 0)
		kill(d.pid, SIGTERM);
	unlink(lock);
	unlink(victim);
	rmdir(d.dir);
}

/* A world-writable directory (not sticky): refused as a socket directory. */
TEST_TIMEOUT(daemon_socket_dir_world_writable, 60)
{
	lock_attack(0777, "ww", "writable");
}

/* A sticky directory (as /tmp): allowed, but a symlink at SOCK.lock is
 * not followed. */
TEST_TIMEOUT(daemon_lock_symlink_sticky, 60)
{
	lock_attack(01777, "sticky", "symlink");
}

/* ---- malformed packets ---- */

/* one bad packet on a fresh connection: never granted; an -EINVAL (or
 * -EPROTO) reply or a close; nothing else */
static void bad_packet(const struct dmn *d, const void *pkt, size_t len, const char *what)
{
	int s = d_connect(d->sock);
	ASSERT_GE(s, 0);
	int fds[16], nfds = 16;
	int32_t st = 1;
	int r = d_request_raw(s, pkt, len, &st, fds, &nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (!(r == 0 || (r == 1 && (st == -EINVAL || st == -EPROTO) && nfds == 0))) {
		TH_LOG("%s: answer %d, status %d, %d fds", what, r, (int)st, nfds);
		EXPECT_TRUE(false);
	}
	close(s);
}

TEST_TIMEOUT(daemon_malformed_messages, 120)
{
	struct dmn d;
	d_start(&d, NULL);
	struct gx_sched_msg m;
	unsigned char big[4096];
	char what[64];

	/* every wrong size, for each request type */
	for (unsigned t = GX_MSG_HELLO; t <= GX_MSG_MUNREG; t++) {
		d_msg(&m, t, t == GX_MSG_HELLO ? GX_KABI_TRACE : (uint32_t)getpid(), 1);
		memset(big, 0, sizeof(big));
		memcpy(big, &m, sizeof(m));
		for (size_t n = 0; n <= sizeof(m) + 8; n++) {
			if (n == sizeof(m))
				continue;
			snprintf(what, sizeof(what), "type %u, %zu bytes", t, n);
			bad_packet(&d, big, n, what);
		}
		bad_packet(&d, big, sizeof(big), "4096 bytes");
	}
	/* the reply bit, unknown types, EXIT from a client */
	const unsigned types[] = {GX_MSG_HELLO | GX_MSG_REPLY,
				  GX_MSG_MREG | GX_MSG_REPLY,
				  0,
				  GX_MSG_EXIT,
				  5,
				  0x7f,
				  0x100 | GX_MSG_HELLO,
				  0xffff};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		d_msg(&m, types[i], GX_KABI_TRACE, 1);
		snprintf(what, sizeof(what), "type %#x", types[i]);
		bad_packet(&d, &m, sizeof(m), what);
	}
	/* header and reserved fields */
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
	m.magic ^= 1;
	bad_packet(&d, &m, sizeof(m), "bad magic");
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
	m.version++;
	bad_packet(&d, &m, sizeof(m), "other version");
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
	m.status = 5;
	bad_packet(&d, &m, sizeof(m), "status set in a request");
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
	m.arg2 = 1;
	bad_packet(&d, &m, sizeof(m), "HELLO arg2 set");
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
	memset(m.text, 'A', sizeof(m.text));
	bad_packet(&d, &m, sizeof(m), "text set, unterminated");
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
	m.text[3] = 'x';
	bad_packet(&d, &m, sizeof(m), "text set");
	d_msg(&m, GX_MSG_HELLO, 0, 1);
	bad_packet(&d, &m, sizeof(m), "HELLO mode 0");
	d_msg(&m, GX_MSG_HELLO, 7, 1);
	bad_packet(&d, &m, sizeof(m), "HELLO mode 7");
	d_msg(&m, GX_MSG_HELLO, GX_KABI_TRACE, 0);
	bad_packet(&d, &m, sizeof(m), "HELLO gomaxprocs 0");
	/* garbage */
	unsigned seed = 12345;
	for (int i = 0; i < 200; i++) {
		size_t n = (size_t)(rand_r(&seed) % 200);
		for (size_t k = 0; k < n; k++)
			big[k] = (unsigned char)rand_r(&seed);
		if (i % 2 && n >= 8) { /* a valid header, garbage after */
			d_msg(&m, (unsigned)(rand_r(&seed) % 5), 0, 0);
			memcpy(big, &m, 8);
		}
		if (n == sizeof(m))
			n++;
		bad_packet(&d, big, n, "garbage");
	}
	/* on one attached connection: bad requests, then MREG still works */
	int s = d_connect(d.sock);
	ASSERT_GE(s, 0);
	ASSERT_EQ(d_hello(s, NULL), 1);
	int32_t st = 0;
	EXPECT_EQ(d_request(s, GX_MSG_MREG, (uint32_t)getpid(), GX_KABI_MAX_M, &st), 1);
	EXPECT_EQ(st, -EINVAL);
	EXPECT_EQ(d_request(s, GX_MSG_MREG | GX_MSG_REPLY, (uint32_t)getpid(), 0, &st), 1);
	EXPECT_EQ(st, -EINVAL);
	d_msg(&m, GX_MSG_MUNREG, (uint32_t)getpid(), 9);
	EXPECT_EQ(d_request_raw(s, &m, sizeof(m), &st, NULL, NULL), 1);
	EXPECT_EQ(st, -EINVAL);
	EXPECT_EQ(d_request(s, GX_MSG_HELLO, GX_KABI_TRACE, 1, &st), 1);
	EXPECT_EQ(st, -EBUSY);
	EXPECT_EQ(d_request(s, GX_MSG_MREG, (uint32_t)getpid(), 0, &st), 1);
	EXPECT_EQ(st, 0);
	EXPECT_EQ(d_request(s, GX_MSG_MUNREG, (uint32_t)getpid(), 0, &st), 1);
	EXPECT_EQ(st, 0);
	close(s);
	EXPECT_TRUE(d_alive(&d));
}
