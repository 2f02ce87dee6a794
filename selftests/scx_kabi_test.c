/* SPDX-License-Identifier: MIT */
/*
 * scx_kabi_test.c - scx mode of gmpx-sched, tested through its ABI alone
 * (include/gmpx/kabi.h, include/gmpx/sched_proto.h): a fake runtime that speaks the protocol, writes
 * the shared memory as a runtime would, and checks what the sched_ext
 * scheduler (bpf/gmpx_scx.bpf.c) does with it. No libgmpx: the runtime
 * side is written elsewhere; this pins down the kernel side's semantics.
 *
 * Needs a kernel with sched_ext, root, and the daemon (build/gmpx-sched,
 * or $GMPX_SCHED), which the test starts itself (three times: the main
 * run, --test-error-after, kill -9). Runs in the vmtest guest:
 * tools/vmtest/scx-kabi.sh. Output: "ok N name # figures" / "not ok N
 * name # why", then "N passed, N failed". Exit 0 all passed, 1 a failure,
 * 4 skipped (no sched_ext, not root, no daemon, fewer than 2 CPUs).
 *
 *   scx_kabi_test [--whole-machine] [--gmpx-sched PATH]
 *
 * Tests, in order (they share one attached process):
 *   hello           HELLO scx: mode, fd count and order, header
 *   placement       an M holding P k runs on p[k].cpu (sched_getcpu)
 *   handoff         a standby parked while the owner spins; the owner
 *                   blocks in read() with work: the standby runs (latency);
 *                   each block is a dispatch or a ring event, never both
 *   kick            the gx_kick program moves a parked standby (latency)
 *   keepalive       10 s with parked standbys: they run ~2/s, not busily,
 *                   and the scheduler stays enabled
 *   preempt         an M spinning past a 1 ms quantum: p.preempt, then
 *                   GX_EV_PREEMPT for the slice, again every 1 ms
 *   exit_unreg      SIGTERM to the daemon: GX_MSG_EXIT kind 64, status 0
 *   exit_error      --test-error-after: GX_MSG_EXIT kind 1025, status != 0
 *   kill9           kill -9 of the daemon: sched_ext state goes disabled
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <gmpx/sched_proto.h>

#define SCHED_EXT_POLICY 7
#define GXS_LINKS	 4 /* the daemon's tracing links: switch, wakeup, sys_enter, sys_exit */
#define SOCK		 "/run/gmpx-scx-test.sock"
#define PIN_DIR		 "/sys/fs/bpf/gmpx-scx-test"
#define STATE_FILE	 "/sys/kernel/sched_ext/state"

/* slots */
#define M_OWNER	  0 /* holds P0 */
#define M_STANDBY 1 /* P0's standby */
#define M_KICKED  2 /* P1's standby (P1 idle) */

static const char *sched_bin = "build/gmpx-sched";
static bool whole;
static int ntest, nfail;

static struct gx_kabi_proc *st;
static int cpu_a, cpu_b; /* P0's CPU, P1's CPU */
static int kick_fd = -1, ring_fd = -1, sock = -1;
static pid_t daemon_pid;

/* ---- output ---- */

static void result(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void result(bool ok, const char *name, const char *fmt, ...)
{
	char buf[512] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ntest++;
	if (!ok)
		nfail++;
	printf("%sok %d %s%s%s\n", ok ? "" : "not ", ntest, name, buf[0] ? " # " : "", buf);
	fflush(stdout);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
	fflush(stdout);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int read_state(char *buf, size_t n)
{
	FILE *f = fopen(STATE_FILE, "re");

	if (!f)
		return -1;
	if (!fgets(buf, (int)n, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* ---- the daemon and the protocol ---- */

static pid_t start_daemon(const char *extra)
{
	pid_t pid;

	unlink(SOCK);
	pid = fork();
	if (pid == 0) {
		const char *argv[12];
		int i = 0;

		argv[i++] = sched_bin;
		argv[i++] = "--mode";
		argv[i++] = "scx";
		argv[i++] = "--socket";
		argv[i++] = SOCK;
		argv[i++] = "--pin-dir";
		argv[i++] = PIN_DIR;
		if (whole)
			argv[i++] = "--whole-machine";
		if (extra) {
			argv[i++] = "--test-error-after";
			argv[i++] = extra;
		}
		argv[i] = NULL;
		execv(sched_bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int connect_daemon(pid_t pid)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int i;

	strcpy(a.sun_path, SOCK);
	for (i = 0; i < 300; i++) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(50);
	}
	return -1;
}

static void msg_init(struct gx_sched_msg *m, unsigned type, __u32 a0, __u32 a1)
{
	memset(m, 0, sizeof(*m));
	m->magic = GX_KABI_MAGIC;
	m->version = GX_KABI_VERSION;
	m->type = (__u16)type;
	m->arg0 = a0;
	m->arg1 = a1;
}

/* one packet, with up to 16 fds; timeout_ms < 0: block */
static int recv_msg(int fd, struct gx_sched_msg *m, int *fds, int *nfds, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;
	ssize_t n;

	if (timeout_ms >= 0) {
		struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (long)(timeout_ms % 1000) * 1000};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n != (ssize_t)sizeof(*m))
		return n < 0 ? -errno : -EIO;
	if (nfds)
		*nfds = 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && fds && nfds) {
			*nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)*nfds);
		}
	}
	return 0;
}

static int request(int fd, struct gx_sched_msg *m, int *fds, int *nfds)
{
	if (send(fd, m, sizeof(*m), 0) != (ssize_t)sizeof(*m))
		return -errno;
	return recv_msg(fd, m, fds, nfds, 5000);
}

static int mreg(pid_t tid, int slot)
{
	struct gx_sched_msg m;
	int err;

	msg_init(&m, GX_MSG_MREG, (__u32)tid, (__u32)slot);
	err = request(sock, &m, NULL, NULL);
	return err ? err : m.status;
}

static int to_ext(pid_t tid)
{
	struct sched_param sp = {0};

	return sched_setscheduler(tid, SCHED_EXT_POLICY, &sp) < 0 ? -errno : 0;
}

static int kick(int p, int *ret)
{
	struct gx_kabi_kick k = {.p = p, .ret = 12345};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (__u32)kick_fd;
	attr.test.ctx_in = (__u64)(unsigned long)&k;
	attr.test.ctx_size_in = sizeof(k);
	if (syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr)) < 0)
		return -errno;
	*ret = k.ret;
	return 0;
}

/* ---- the process's ring buffer, read by hand ---- */

static void *ring_cons, *ring_prod;

static int ring_map(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	ring_cons = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
	ring_prod = mmap(NULL, pg + 2 * (size_t)GX_KABI_RINGBUF_SIZE, PROT_READ, MAP_SHARED, ring_fd, (off_t)pg);
	return ring_cons == MAP_FAILED || ring_prod == MAP_FAILED ? -1 : 0;
}

/* Reads every event; counts them by type; remembers the last PREEMPT's mword. */
static void ring_drain(unsigned *nblock, unsigned *npreempt, __u64 *last_preempt_tick)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	const char *data = (const char *)ring_prod + pg;
	unsigned long *cons = ring_cons, *prod = ring_prod;
	unsigned long c = __atomic_load_n(cons, __ATOMIC_ACQUIRE), p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);

	while (c < p) {
		const __u32 *h = (const __u32 *)(data + (c & (GX_KABI_RINGBUF_SIZE - 1)));
		__u32 len = __atomic_load_n(h, __ATOMIC_ACQUIRE);

		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(len & BPF_RINGBUF_DISCARD_BIT) && len >= sizeof(struct gx_kabi_event)) {
			const struct gx_kabi_event *ev = (const void *)(h + 2);

			if (ev->type == GX_EV_BLOCK && nblock)
				(*nblock)++;
			if (ev->type == GX_EV_PREEMPT) {
				if (npreempt)
					(*npreempt)++;
				if (last_preempt_tick)
					*last_preempt_tick = ev->mword;
			}
		}
		c += (unsigned long)((len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) + BPF_RINGBUF_HDR_SZ +
				     7) /
		     8 * 8;
		__atomic_store_n(cons, c, __ATOMIC_RELEASE);
	}
}

/* ---- the fake Ms ---- */

static atomic_int stop_all;

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* An M's registration, as the runtime does it: slot fields, MREG, SCHED_EXT. */
static int become_m(int slot, int p, __u32 rstate)
{
	pid_t tid = gettid_();
	cpu_set_t all;
	int err, i;

	/* not the main thread's CPU 0 only: BPF places Ms within their cpumask */
	CPU_ZERO(&all);
	for (i = 0; i < get_nprocs(); i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof(all), &all);
	st->m[slot].p = p;
	st->m[slot].rstate = rstate;
	__atomic_store_n(&st->m[slot].tid, tid, __ATOMIC_RELEASE);
	err = mreg(tid, slot);
	if (err)
		return err;
	return to_ext(tid);
}

/* owner of P0: commands from the main thread */
enum { O_IDLE, O_PLACE, O_SPIN, O_BLOCK, O_QUANTUM, O_QUIT };
static atomic_int owner_cmd, owner_done;
static int owner_err;
static int pipefd[2];
static unsigned place_samples, place_on;
#define NBLOCKS 300
static __u64 block_t0[NBLOCKS], block_seq[NBLOCKS];
static atomic_ullong standby_seen_seq, standby_seen_ns, standby_loops;
static __u64 handoff_lat[NBLOCKS];
static unsigned nhits;

static void owner_place(void)
{
	__u64 end = now_ns() + 1500000000ull;
	unsigned i = 0;

	/* a short sleep now and then: each wake-up goes through select_cpu */
	sleep_ms(2);
	while (now_ns() < end) {
		place_samples++;
		if (sched_getcpu() == cpu_a)
			place_on++;
		if (++i % 5000 == 0)
			sleep_ms(1);
	}
}

static void owner_block(void)
{
	int i;
	char c;

	for (i = 0; i < NBLOCKS; i++) {
		__u64 spin_end = now_ns() + 1000000; /* 1 ms of "goroutine code" */
		__u64 w;

		while (now_ns() < spin_end)
			;
		w = __atomic_load_n(&st->m[M_OWNER].mword, __ATOMIC_ACQUIRE);
		block_seq[i] = GX_KM_SEQ(w) + 1; /* the word after this block */
		__atomic_store_n(&st->p[0].nrunq, 1, __ATOMIC_RELEASE);
		block_t0[i] = now_ns();
		if (read(pipefd[0], &c, 1) != 1) {
			owner_err = errno;
			break;
		}
		__atomic_store_n(&st->p[0].nrunq, 0, __ATOMIC_RELEASE);
		if (atomic_load(&standby_seen_seq) == block_seq[i]) {
			handoff_lat[nhits++] = atomic_load(&standby_seen_ns) - block_t0[i];
		}
	}
}

static void owner_quantum(void)
{
	__u64 end;

	st->hdr.quantum_ns = 1000000; /* 1 ms */
	st->p[0].preempt = 0;
	st->p[0].schedtick = 7;
	__atomic_store_n(&st->p[0].slice_start_ns, now_ns(), __ATOMIC_RELEASE);
	end = now_ns() + 30000000; /* spin 30 ms in one slice */
	while (now_ns() < end)
		;
}

static void *owner_main(void *arg)
{
	(void)arg;
	owner_err = -become_m(M_OWNER, 0, GX_RM_RUNNING);
	atomic_store(&owner_done, 1);
	for (;;) {
		int cmd;

		while ((cmd = atomic_load(&owner_cmd)) == O_IDLE)
			sleep_ms(1);
		switch (cmd) {
		case O_PLACE:
			owner_place();
			break;
		case O_SPIN: {
			__u64 end = now_ns() + 400000000ull;

			while (now_ns() < end)
				;
			break;
		}
		case O_BLOCK:
			owner_block();
			break;
		case O_QUANTUM:
			owner_quantum();
			break;
		case O_QUIT:
			return NULL;
		}
		atomic_store(&owner_cmd, O_IDLE);
		atomic_store(&owner_done, 1);
	}
}

static void owner_run(int cmd)
{
	atomic_store(&owner_done, 0);
	atomic_store(&owner_cmd, cmd);
	while (!atomic_load(&owner_done))
		sleep_ms(1);
}

/* P0's standby: check for work, else sched_yield() (parked by BPF). */
static void *standby_main(void *arg)
{
	__u64 last = 0;

	(void)arg;
	if (become_m(M_STANDBY, 0, GX_RM_STANDBY) < 0)
		return NULL;
	while (!atomic_load(&stop_all)) {
		__u64 w = __atomic_load_n(&st->m[M_OWNER].mword, __ATOMIC_ACQUIRE);

		atomic_fetch_add(&standby_loops, 1);
		if (GX_KM_STATE(w) == GX_KM_BLOCKED && GX_KM_SEQ(w) != last &&
		    __atomic_load_n(&st->p[0].nrunq, __ATOMIC_ACQUIRE)) {
			/* a runtime would CAS BLOCKED -> REVOKED and take P0 */
			last = GX_KM_SEQ(w);
			atomic_store(&standby_seen_ns, now_ns());
			atomic_store(&standby_seen_seq, last);
		}
		sched_yield();
	}
	return NULL;
}

/* P1's standby, P1 idle: runs when kicked (p.want) */
static atomic_ullong kick_seen_ns, kick_seen, kicked_loops;
static void *kicked_main(void *arg)
{
	(void)arg;
	if (become_m(M_KICKED, 1, GX_RM_STANDBY) < 0)
		return NULL;
	while (!atomic_load(&stop_all)) {
		atomic_fetch_add(&kicked_loops, 1);
		if (__atomic_load_n(&st->p[1].want, __ATOMIC_ACQUIRE)) {
			atomic_store(&kick_seen_ns, now_ns());
			__atomic_store_n(&st->p[1].want, 0, __ATOMIC_RELEASE);
			atomic_fetch_add(&kick_seen, 1);
		}
		sched_yield();
	}
	return NULL;
}

/* wakes the owner's read() 1 ms after it blocked */
static void *writer_main(void *arg)
{
	__u64 seen = 0;

	(void)arg;
	while (!atomic_load(&stop_all)) {
		__u64 w = __atomic_load_n(&st->m[M_OWNER].mword, __ATOMIC_ACQUIRE);

		/* only the blocks of owner_block(): nrunq is set right before
		 * its read() (the owner blocks elsewhere too: its sleeps) */
		if (GX_KM_STATE(w) == GX_KM_BLOCKED && GX_KM_SEQ(w) != seen &&
		    __atomic_load_n(&st->p[0].nrunq, __ATOMIC_ACQUIRE)) {
			seen = GX_KM_SEQ(w);
			sleep_ms(1);
			if (write(pipefd[1], "x", 1) != 1)
				break;
			continue;
		}
		usleep(100);
	}
	return NULL;
}

/* ns on a CPU (schedstat: exact, not sampled at ticks) */
static long thread_cpu_ms(pid_t tid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (long)(ns / 1000000);
}

/* busy (non-idle) jiffies of cpu, from /proc/stat */
static long long cpu_busy(int cpu, long long *total)
{
	char line[512], name[16];
	long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "re");

	*total = 0;
	if (!f)
		return -1;
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, strlen(name)) != 0)
			continue;
		sscanf(line + strlen(name), "%lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7]);
		break;
	}
	fclose(f);
	for (int i = 0; i < 8; i++)
		*total += v[i];
	return *total - v[3] - v[4];
}

static void print_scx_events(void)
{
	char line[256], out[1024] = "";
	FILE *f = fopen("/sys/kernel/sched_ext/root/events", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		long long v;

		if (sscanf(line, "%127s %lld", name, &v) == 2 && v)
			snprintf(out + strlen(out), sizeof(out) - strlen(out), " %s=%lld", name, v);
	}
	fclose(f);
	diag("kernel SCX events:%s", out);
}

/* ---- the tests ---- */

static bool test_hello(void)
{
	struct gx_sched_msg m;
	int fds[16], nfds = 0, err;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = (sizeof(struct gx_kabi_proc) + pg - 1) / pg * pg;

	msg_init(&m, GX_MSG_HELLO, GX_KABI_SCX, 2);
	err = request(sock, &m, fds, &nfds);
	if (err || m.status) {
		result(false, "hello", "HELLO: %s %s", strerror(err ? -err : -m.status), m.text);
		return false;
	}
	if (m.arg0 != GX_KABI_SCX || m.arg1 != 2 + GXS_LINKS + 1 || m.arg2 != GXS_LINKS || nfds != (int)m.arg1) {
		result(false, "hello", "mode %u, %u fds (%d received), %u links", m.arg0, m.arg1, nfds, m.arg2);
		return false;
	}
	st = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	ring_fd = fds[1];
	kick_fd = fds[nfds - 1];
	if (st == MAP_FAILED || ring_map() < 0) {
		result(false, "hello", "mmap: %s", strerror(errno));
		return false;
	}
	result(st->hdr.magic == GX_KABI_MAGIC && st->hdr.version == GX_KABI_VERSION && st->hdr.mode == GX_KABI_SCX &&
		       st->hdr.tgid == (__u32)getpid() && st->p[0].standby == -1,
	       "hello", "mode scx, %d fds: state, ring, %u links, kick", nfds, m.arg2);
	return true;
}

/* A process asking for trace from an scx daemon gets trace: no kick fd. */
static void test_hello_trace(void)
{
	int pfd[2], status = 0;
	pid_t pid;
	char buf[160] = "";
	ssize_t n;

	if (pipe(pfd) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct gx_sched_msg m;
		int fds[16], nfds = 0, fd = connect_daemon(daemon_pid), err;

		close(pfd[0]);
		msg_init(&m, GX_MSG_HELLO, GX_KABI_TRACE, 1);
		err = fd < 0 ? -ENOTCONN : request(fd, &m, fds, &nfds);
		n = snprintf(buf, sizeof(buf), "%d %d %u %u %u %d", err, m.status, m.arg0, m.arg1, m.arg2, nfds);
		if (write(pfd[1], buf, (size_t)n) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	result(strcmp(buf, "0 0 1 6 4 6") == 0, "hello_trace",
	       "HELLO trace to the scx daemon: err status mode fds links received = %s (want 0 0 1 6 4 6)", buf);
}

static void test_placement(void)
{
	double pct;

	owner_run(O_PLACE);
	pct = place_samples ? 100.0 * place_on / place_samples : 0;
	result(!owner_err && pct >= 99.0, "placement", "%.2f%% of %u sched_getcpu() samples on CPU %d (P0's)%s", pct,
	       place_samples, cpu_a, owner_err ? ", owner registration failed" : "");
}

static void test_handoff(void)
{
	unsigned long long loops0, loops1, disp0, disp1, ev0;
	unsigned nblock = 0;
	__u64 med = 0, p99 = 0;

	/* parked while the owner spins: the standby does not run (but for
	 * the keep-alive, at most one run per 500 ms) */
	sleep_ms(100);
	loops0 = atomic_load(&standby_loops);
	owner_run(O_SPIN);
	loops1 = atomic_load(&standby_loops);
	result(loops1 - loops0 <= 3, "handoff_parked", "standby ran %llu times while the owner spun 400 ms",
	       loops1 - loops0);

	ring_drain(NULL, NULL, NULL);
	disp0 = st->hdr.standby_dispatches;
	ev0 = st->m[M_OWNER].nevents;
	owner_run(O_BLOCK);
	sleep_ms(20);
	ring_drain(&nblock, NULL, NULL);
	disp1 = st->hdr.standby_dispatches;
	if (nhits) {
		qsort(handoff_lat, nhits, sizeof(handoff_lat[0]), cmp_u64);
		med = handoff_lat[nhits / 2];
		p99 = handoff_lat[nhits * 99 / 100];
	}
	result(!owner_err && nhits >= NBLOCKS * 9 / 10, "handoff",
	       "%u/%d blocks handed to the standby; owner read() entry -> standby running: median %llu us, p99 %llu "
	       "us; %s",
	       nhits, NBLOCKS, (unsigned long long)med / 1000, (unsigned long long)p99 / 1000,
	       whole ? "whole-machine" : "partial, idle machine");
	result(disp1 - disp0 + (st->m[M_OWNER].nevents - ev0) == NBLOCKS && nblock == st->m[M_OWNER].nevents - ev0,
	       "handoff_once",
	       "%llu standby dispatches + %llu GX_EV_BLOCK events (%u read from the ring) for %d blocks", disp1 - disp0,
	       (unsigned long long)(st->m[M_OWNER].nevents - ev0), nblock, NBLOCKS);
}

static void test_kick(void)
{
#define NKICKS 200
	__u64 lat[NKICKS];
	int i, n = 0, enoent = 0, other = 0, err = 0, ret = 0;
	unsigned long long wd0 = st->hdr.wake_dispatches;

	for (i = 0; i < NKICKS; i++) {
		unsigned long long seen = atomic_load(&kick_seen);
		__u64 t0, deadline;

		sleep_ms(3); /* let it park */
		t0 = now_ns();
		__atomic_store_n(&st->p[1].want, 1, __ATOMIC_RELEASE);
		err = kick(1, &ret);
		if (err)
			break;
		if (ret == -ENOENT)
			enoent++;
		else if (ret != 0)
			other++;
		deadline = t0 + 1000000000ull;
		while (atomic_load(&kick_seen) == seen && now_ns() < deadline)
			;
		if (atomic_load(&kick_seen) != seen)
			lat[n++] = atomic_load(&kick_seen_ns) - t0;
	}
	if (err) {
		result(false, "kick", "BPF_PROG_TEST_RUN: %s", strerror(-err));
		return;
	}
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_u64);
	result(n == NKICKS && other == 0 && enoent <= NKICKS / 10, "kick",
	       "%d/%d kicks ran the standby (%d not parked: -ENOENT, %d other); kick -> standby running: median %llu "
	       "us, p99 %llu us; wake_dispatches +%llu",
	       n, NKICKS, enoent, other, n ? (unsigned long long)lat[n / 2] / 1000 : 0,
	       n ? (unsigned long long)lat[n * 99 / 100] / 1000 : 0,
	       (unsigned long long)(st->hdr.wake_dispatches - wd0));
	ret = 0;
	kick(-1, &ret);
	result(ret == -EINVAL, "kick_einval", "kick of P -1: ret %d", ret);
}

static void test_keepalive(pid_t standby_tid, pid_t kicked_tid)
{
	unsigned long long ka0 = st->hdr.keepalive_runs, l0 = atomic_load(&standby_loops),
			   k0 = atomic_load(&kicked_loops), ka, l, k;
	long c0 = thread_cpu_ms(standby_tid) + thread_cpu_ms(kicked_tid), c1;
	char state[32] = "?";
	long long ta0, tb0, ta1, tb1, ba0 = cpu_busy(cpu_a, &ta0), bb0 = cpu_busy(cpu_b, &tb0), ba1, bb1;

	sleep_ms(10500);
	double busy_a, busy_b;

	ba1 = cpu_busy(cpu_a, &ta1);
	bb1 = cpu_busy(cpu_b, &tb1);
	busy_a = ta1 > ta0 ? 100.0 * (double)(ba1 - ba0) / (double)(ta1 - ta0) : -1;
	busy_b = tb1 > tb0 ? 100.0 * (double)(bb1 - bb0) / (double)(tb1 - tb0) : -1;
	print_scx_events();
	{
		char la[128] = "";
		FILE *f = fopen("/proc/loadavg", "re");

		if (f && fgets(la, sizeof(la), f))
			diag("/proc/loadavg with 2 parked standbys: %.*s (the runnable count includes them)",
			     (int)strcspn(la, "\n"), la);
		if (f)
			fclose(f);
	}
	ka = st->hdr.keepalive_runs - ka0;
	l = atomic_load(&standby_loops) - l0;
	k = atomic_load(&kicked_loops) - k0;
	c1 = thread_cpu_ms(standby_tid) + thread_cpu_ms(kicked_tid);
	read_state(state, sizeof(state));
	/* busy_b: P1's CPU holds only its parked standby. The threads'
	 * schedstat run time is reported, not judged: see the report */
	result(strcmp(state, "enabled") == 0 && ka >= 10 && ka <= 60 && l + k <= 100 && busy_b >= 0 && busy_b < 5 &&
		       waitpid(daemon_pid, NULL, WNOHANG) == 0,
	       "keepalive",
	       "10.5 s, 2 parked standbys: %llu keep-alive runs, standby loops %llu + %llu; CPU %d (P1, idle but for "
	       "its standby) busy %.1f%%, CPU %d (P0, its owner polls every 1 ms) %.1f%%; schedstat run time of the "
	       "standbys %ld ms; sched_ext %s",
	       ka, l, k, cpu_b, busy_b, cpu_a, busy_a, c1 - c0, state);
}

static void test_preempt(void)
{
	unsigned npre = 0;
	__u64 tick = 0;
	unsigned long long r0 = st->hdr.preempt_requests, e0 = st->hdr.preempt_events;

	ring_drain(NULL, NULL, NULL);
	owner_run(O_QUANTUM);
	sleep_ms(5);
	ring_drain(NULL, &npre, &tick);
	result(st->p[0].preempt == 1 && st->p[0].preempt_tick == 7 && st->hdr.preempt_requests - r0 == 1 &&
		       st->p[0].preempt_ns - st->p[0].slice_start_ns >= 1000000,
	       "preempt_request", "p.preempt %u for tick %u, %.2f ms into the slice (quantum 1 ms); requests +%llu",
	       st->p[0].preempt, st->p[0].preempt_tick, (st->p[0].preempt_ns - st->p[0].slice_start_ns) / 1e6,
	       st->hdr.preempt_requests - r0);
	/* the first after quantum + grace, then one per GX_PREEMPT_AGAIN_NS
	 * (1 ms) while the slice goes on: ~29 in 30 ms, fewer if timers slip */
	result(npre >= 2 && npre <= 40 && tick == 7 && st->hdr.preempt_events - e0 == npre, "preempt_event",
	       "%u GX_EV_PREEMPT (mword %llu) for a 30 ms slice at a 1 ms quantum; preempt_events +%llu", npre,
	       (unsigned long long)tick, st->hdr.preempt_events - e0);
	st->hdr.quantum_ns = 0;
}

/* The daemon goes: the client gets GX_MSG_EXIT with kind, then EOF. */
static bool wait_exit_msg(int fd, int timeout_ms, __u32 *kind, char *text, size_t n)
{
	struct gx_sched_msg m;

	for (;;) {
		if (recv_msg(fd, &m, NULL, NULL, timeout_ms) < 0)
			return false;
		if (m.type == GX_MSG_EXIT) {
			*kind = m.arg0;
			snprintf(text, n, "%.*s", (int)sizeof(m.text), m.text);
			return true;
		}
	}
}

static int daemon_status(pid_t pid, int timeout_ms)
{
	int status, i;

	for (i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void test_exit_unreg(void)
{
	char text[128] = "";
	__u32 kind = 0;
	bool got;
	int rc;

	kill(daemon_pid, SIGTERM);
	got = wait_exit_msg(sock, 5000, &kind, text, sizeof(text));
	rc = daemon_status(daemon_pid, 5000);
	result(got && kind == 64 && rc == 0, "exit_unreg", "SIGTERM: EXIT kind %u \"%s\", daemon status %d", kind, text,
	       rc);
}

static void test_exit_error(void)
{
	struct gx_sched_msg m;
	char text[128] = "";
	__u32 kind = 0;
	bool got = false;
	int fd, fds[16], nfds = 0, rc, i;
	pid_t pid = start_daemon("1500");

	fd = connect_daemon(pid);
	if (fd < 0) {
		result(false, "exit_error", "cannot connect to the daemon");
		daemon_status(pid, 100);
		return;
	}
	msg_init(&m, GX_MSG_HELLO, GX_KABI_SCX, 1);
	if (request(fd, &m, fds, &nfds) == 0 && m.status == 0) {
		got = wait_exit_msg(fd, 10000, &kind, text, sizeof(text));
		for (i = 0; i < nfds; i++)
			close(fds[i]);
	}
	rc = daemon_status(pid, 5000);
	close(fd);
	result(got && kind == 1025 && strstr(text, "test error") && rc != 0 && rc != -1, "exit_error",
	       "EXIT kind %u \"%s\", daemon status %d", kind, text, rc);
}

static void test_kill9(void)
{
	char before[32] = "?", after[32] = "?";
	pid_t pid = start_daemon(NULL);
	int fd = connect_daemon(pid), i;

	read_state(before, sizeof(before));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (i = 0; i < 200; i++) {
		read_state(after, sizeof(after));
		if (strcmp(after, "disabled") == 0)
			break;
		sleep_ms(10);
	}
	if (fd >= 0)
		close(fd);
	result(fd >= 0 && strcmp(before, "enabled") == 0 && strcmp(after, "disabled") == 0, "kill9",
	       "sched_ext %s with the daemon, %s %d ms after kill -9", before, after, i * 10);
}

int main(int argc, char **argv)
{
	pthread_t owner, standby, kicked, writer;
	char state[32];
	int i, ncpu = get_nprocs();

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--whole-machine") == 0)
			whole = true;
		else if (strcmp(argv[i], "--gmpx-sched") == 0 && i + 1 < argc)
			sched_bin = argv[++i];
		else {
			fprintf(stderr, "usage: scx_kabi_test [--whole-machine] [--gmpx-sched PATH]\n");
			return 2;
		}
	}
	{
		const char *env = getenv("GMPX_SCHED");

		if (env && env[0])
			sched_bin = env;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (read_state(state, sizeof(state)) < 0) {
		printf("# SKIP: no sched_ext in this kernel (%s)\n", STATE_FILE);
		return 4;
	}
	if (geteuid() != 0) {
		printf("# SKIP: not root\n");
		return 4;
	}
	if (access(sched_bin, X_OK) < 0) {
		printf("# SKIP: no daemon at %s\n", sched_bin);
		return 4;
	}
	if (ncpu < 2) {
		printf("# SKIP: needs 2 CPUs\n");
		return 4;
	}
	if (strcmp(state, "disabled") != 0) {
		printf("# SKIP: another sched_ext scheduler is loaded (state %s)\n", state);
		return 4;
	}
	cpu_a = ncpu - 1;
	cpu_b = ncpu - 2;
	diag("%d CPUs: P0 on CPU %d, P1 on CPU %d; %s mode", ncpu, cpu_a, cpu_b, whole ? "whole-machine" : "partial");
	if (ncpu >= 3)
		pin_self(0); /* the main thread and the writer stay off the Ps' CPUs */
	daemon_pid = start_daemon(NULL);
	sock = connect_daemon(daemon_pid);
	if (sock < 0) {
		printf("# SKIP: the daemon did not start\n");
		return 4;
	}
	if (!test_hello())
		goto out;
	test_hello_trace();
	if (pipe(pipefd) < 0)
		return 1;
	st->hdr.np = 2;
	st->p[0].cpu = cpu_a;
	st->p[0].owner = M_OWNER;
	st->p[0].status = GX_KP_RUNNING;
	st->p[1].cpu = cpu_b;
	st->p[1].status = GX_KP_IDLE;
	st->hdr.nm = 3;
	pthread_create(&owner, NULL, owner_main, NULL);
	while (!atomic_load(&owner_done))
		sleep_ms(1);
	if (owner_err) {
		result(false, "register", "owner M: %s", strerror(owner_err));
		goto out;
	}
	test_placement();
	pthread_create(&standby, NULL, standby_main, NULL);
	pthread_create(&writer, NULL, writer_main, NULL);
	while (!__atomic_load_n(&st->m[M_STANDBY].tid, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	__atomic_store_n(&st->p[0].standby, M_STANDBY, __ATOMIC_RELEASE);
	test_handoff();
	pthread_create(&kicked, NULL, kicked_main, NULL);
	while (!__atomic_load_n(&st->m[M_KICKED].tid, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	__atomic_store_n(&st->p[1].standby, M_KICKED, __ATOMIC_RELEASE);
	sleep_ms(50);
	test_kick();
	test_keepalive(st->m[M_STANDBY].tid, st->m[M_KICKED].tid);
	test_preempt();
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s --stats --pin-dir %s --socket %s 2>&1 | sed 's/^/# stats: /'", sched_bin,
			 PIN_DIR, SOCK);
		if (system(cmd) != 0)
			diag("gmpx-sched --stats failed");
	}
	diag("daemon: standby dispatches %llu, wake dispatches %llu, keep-alive runs %llu, preempt requests %llu, "
	     "preempt events %llu, events %llu, drops %llu",
	     (unsigned long long)st->hdr.standby_dispatches, (unsigned long long)st->hdr.wake_dispatches,
	     (unsigned long long)st->hdr.keepalive_runs, (unsigned long long)st->hdr.preempt_requests,
	     (unsigned long long)st->hdr.preempt_events, (unsigned long long)st->hdr.events,
	     (unsigned long long)st->hdr.drops);
	test_exit_unreg();
	atomic_store(&stop_all, 1);
	atomic_store(&owner_cmd, O_QUIT);
	pthread_join(owner, NULL);
	pthread_join(standby, NULL);
	pthread_join(kicked, NULL);
	pthread_join(writer, NULL);
	test_exit_error();
	test_kill9();
out:
	if (waitpid(daemon_pid, NULL, WNOHANG) == 0) {
		kill(daemon_pid, SIGTERM);
		daemon_status(daemon_pid, 5000);
	}
	printf("%d passed, %d failed\n", ntest - nfail, nfail);
	return nfail ? 1 : 0;
}
