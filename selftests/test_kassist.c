/* SPDX-License-Identifier: MIT */
/*
 * test_kassist.c - the kernel assist, trace mode (user/kassist*.c,
 * bpf/gmpx_trace.bpf.c, tools/gmpx-sched).
 *
 * The first tests drive the P revocation protocol with a fake kernel (the
 * test does to an M's word what the BPF program does when the M blocks),
 * so they run in every build, sanitizers included. The rest need the real
 * thing: root, BTF and build/gmpx-sched; each starts its own daemon on a
 * private socket and pin directory and skips (exit 4) with the reason when
 * it cannot. The daemon exits with the test (gmpx-sched --watch-fd).
 */
#define _GNU_SOURCE /* pipe2 */
#include "gx_test.h"
#include <gmpx/sched_proto.h>
#include "kdaemon.h"

#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define GX_US ((int64_t)1000)
#define GX_MS ((int64_t)1000000)

/* ---- the blocked-reader scenario ---------------------------------------------------- */
/*
 * One P. A goroutine blocks in an UNWRAPPED read() on a pipe while holding
 * it; the main goroutine waits behind it in the run queue. A helper thread
 * writes the pipe after `write_after` ns. With the P handed off, main runs
 * long before the write; without, only after it.
 */
static int kpipe[2];
static _Atomic int blocker_tid;
static _Atomic bool blocker_done;
static _Atomic int blocker_p_after = -2;
static _Atomic int64_t main_resumed_ns, written_ns;
static int64_t write_after_ns;
static _Atomic int fake_result = -9;
static bool use_fake;

static void unwrapped_reader(void *arg)
{
	(void)arg;
	atomic_store(&blocker_tid, gx_test_mtid());
	char c;
	ssize_t n = read(kpipe[0], &c, 1); /* no GX_SYSCALL: the runtime does not know */
	EXPECT_EQ(n, 1);
	/* First runtime entry after the call: a revoked P is noticed here. */
	gx_yield();
	atomic_store(&blocker_p_after, gx_test_current_p());
	atomic_store(&blocker_done, true);
}

static bool thread_sleeping(int tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D');
}

static void *writer_thread(void *arg)
{
	(void)arg;
	int64_t t0 = gxt_now_ns();
	while (!atomic_load(&blocker_tid) && gxt_now_ns() - t0 < 5000 * GX_MS)
		usleep(100);
	int tid = atomic_load(&blocker_tid);
	while (!thread_sleeping(tid) && gxt_now_ns() - t0 < 5000 * GX_MS)
		usleep(100);
	if (use_fake) {
		usleep(2000); /* deep in read() */
		atomic_store(&fake_result, gx_test_fake_kblock(0));
	}
	while (gxt_now_ns() - t0 < write_after_ns)
		usleep(500);
	atomic_store(&written_ns, gxt_now_ns());
	ssize_t w = write(kpipe[1], "x", 1);
	(void)w;
	return NULL;
}

static gx_waitgroup kwg;
static _Atomic int kran;
static void small_worker(void *arg)
{
	(void)arg;
	gx_yield();
	atomic_fetch_add(&kran, 1);
	gx_wg_done(&kwg);
}

/* Runs reader (unwrapped_reader or a variant: it blocks in read() on
 * kpipe, then sets blocker_p_after and blocker_done); returns how long
 * main waited behind it. */
static int64_t run_blocked_reader(gx_fn reader, int64_t write_after)
{
	ASSERT_EQ(pipe(kpipe), 0);
	atomic_store(&blocker_tid, 0);
	atomic_store(&blocker_done, false);
	atomic_store(&written_ns, 0);
	write_after_ns = write_after;
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, writer_thread, NULL), 0);
	int64_t t0 = gxt_now_ns();
	gx_go(reader, NULL);
	gx_yield(); /* the reader runs and blocks on our only P */
	int64_t waited = gxt_now_ns() - t0;
	atomic_store(&main_resumed_ns, gxt_now_ns());
	/* other goroutines run too, with the reader still blocked */
	atomic_store(&kran, 0);
	for (int i = 0; i < 50; i++) {
		gx_wg_add(&kwg, 1);
		gx_go(small_worker, NULL);
	}
	gx_wg_wait(&kwg);
	EXPECT_EQ(atomic_load(&kran), 50);
	pthread_join(th, NULL);
	int64_t deadline = gxt_now_ns() + 5000 * GX_MS;
	while (!atomic_load(&blocker_done) && gxt_now_ns() < deadline)
		gx_sleep(GX_MS);
	EXPECT_TRUE(atomic_load(&blocker_done));
	EXPECT_GE(atomic_load(&blocker_p_after), 0); /* it got a P back */
	close(kpipe[0]);
	close(kpipe[1]);
	return waited;
}

/* ---- fake kernel: the protocol in every build -------------------------------------- */

KTEST(revoke_unwrapped_read_fake_kernel, 1, GX_KASSIST_OFF, 60)
{
	use_fake = true;
	int64_t waited = run_blocked_reader(unwrapped_reader, 300 * GX_MS);
	use_fake = false;
	EXPECT_EQ(atomic_load(&fake_result), 1);
	TH_LOG("main waited %lld us behind the blocked reader (pipe written at 300 ms)", (long long)(waited / GX_US));
	/* main ran before the pipe was written: the P was handed off */
	EXPECT_LT(waited, 250 * GX_MS);
	EXPECT_GT(atomic_load(&written_ns), 0);
	EXPECT_LT(atomic_load(&main_resumed_ns), atomic_load(&written_ns));
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_OFF);
}

/* A goroutine blocked inside the runtime keeps its P: a goroutine parked in
 * a runtime call is never "in goroutine code". Here the M that holds the P
 * is blocked, but in gx_sys_sleep, which released the P already; the fake
 * block must find nothing to take. */
static _Atomic bool sleeper_done;
static void runtime_sleeper(void *arg)
{
	(void)arg;
	atomic_store(&blocker_tid, gx_test_mtid());
	gx_sys_sleep(50 * GX_MS);
	atomic_store(&sleeper_done, true);
}

KTEST(revoke_refused_without_goroutine_code, 2, GX_KASSIST_OFF, 30)
{
	/* P0 is ours and we are running: a fake block on our own M (which is
	 * in the runtime right now, inside the test accessor's caller) must
	 * not revoke. */
	EXPECT_EQ(gx_test_fake_kblock(gx_test_current_p()), 0);
	atomic_store(&blocker_tid, 0);
	gx_go(runtime_sleeper, NULL);
	while (!atomic_load(&sleeper_done))
		gx_sleep(GX_MS);
	EXPECT_TRUE(atomic_load(&sleeper_done));
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_OFF);
	EXPECT_NE(strstr(gx_kassist_status(), "off"), NULL);
}

TEST(kassist_api_errors)
{
	EXPECT_EQ(gx_kassist_set(-1), -EINVAL);
	EXPECT_EQ(gx_kassist_set(7), -EINVAL);
	EXPECT_EQ(gx_kassist_set(GX_KASSIST_OFF), 0);
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_OFF);
}

/* ---- the real kernel --------------------------------------------------------------- */

KTEST(trace_mode_attaches, 2, GX_KASSIST_TRACE, 60)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	const struct gx_kabi_proc *kp = gx_test_kabi();
	ASSERT_NE(kp, NULL);
	EXPECT_EQ(kp->hdr.magic, GX_KABI_MAGIC);
	EXPECT_EQ(kp->hdr.version, (uint32_t)GX_KABI_VERSION);
	EXPECT_EQ(kp->hdr.tgid, (uint32_t)getpid());
	EXPECT_EQ(kp->hdr.np, 2u);
	/* our M is registered and seen by BPF blocking and running; stay on
	 * it from before we look it up until we have looked (a preemption in
	 * between moved the goroutine, and the block, to another M: seen once
	 * in the guest's whole-machine run) */
	gx_nopreempt_begin();
	int tid = gx_test_mtid();
	int slot = -1;
	for (uint32_t i = 0; i < kp->hdr.nm && i < GX_KABI_MAX_M; i++)
		if (kp->m[i].tid == tid)
			slot = (int)i;
	ASSERT_GE(slot, 0);
	uint32_t b0 = kp->m[slot].nblocks;
	usleep(2000); /* unwrapped: a block only the kernel sees */
	uint32_t b1 = kp->m[slot].nblocks;
	uint64_t w = __atomic_load_n(&kp->m[slot].mword, __ATOMIC_RELAXED);
	uint64_t blocked = kp->m[slot].block_ns, ran = kp->m[slot].run_ns;
	gx_nopreempt_end();
	EXPECT_GT(b1, b0);
	EXPECT_EQ(GX_KM_STATE(w), (uint32_t)GX_KM_RUNNING);
	EXPECT_GT(ran, blocked);
	/* every registered thread is one of ours */
	for (uint32_t i = 0; i < kp->hdr.nm && i < GX_KABI_MAX_M; i++) {
		if (!kp->m[i].tid)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%d", kp->m[i].tid);
		EXPECT_EQ(access(path, F_OK), 0);
	}
}

/* The header's P count follows gx_maxprocs, and a P made after attach
 * has its slot in the shared state, unplaced (trace mode places nothing). */
KTEST(trace_maxprocs_published, 1, GX_KASSIST_TRACE, 60)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	const struct gx_kabi_proc *kp = gx_test_kabi();
	EXPECT_EQ(kp->hdr.np, 1u);
	EXPECT_EQ(gx_maxprocs(3), 1);
	EXPECT_EQ(kp->hdr.np, 3u);
	EXPECT_EQ(kp->p[2].cpu, -1);
	EXPECT_EQ(gx_maxprocs(2), 3);
	EXPECT_EQ(kp->hdr.np, 2u);
}

KTEST(trace_unwrapped_read_hands_off_p, 1, GX_KASSIST_TRACE, 60)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	int64_t waited = run_blocked_reader(unwrapped_reader, 500 * GX_MS);
	const struct gx_kabi_proc *kp = gx_test_kabi();
	TH_LOG("trace mode: main waited %lld us behind a goroutine blocked in an unwrapped read() (pipe written "
	       "at 500 ms); revokes %llu, events %llu",
	       (long long)(waited / GX_US), (unsigned long long)kp->hdr.revokes, (unsigned long long)kp->hdr.events);
	EXPECT_LT(waited, 100 * GX_MS); /* typically tens of us; generous for a loaded CI box */
	EXPECT_GE(kp->hdr.revokes, 1u);
	EXPECT_LT(atomic_load(&main_resumed_ns), atomic_load(&written_ns));
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
}

KTEST(off_unwrapped_read_stalls, 1, GX_KASSIST_OFF, 60)
{
	int64_t waited = run_blocked_reader(unwrapped_reader, 300 * GX_MS);
	TH_LOG("off mode: main waited %lld us behind a goroutine blocked in an unwrapped read() (pipe written at "
	       "300 ms)",
	       (long long)(waited / GX_US));
	/* nobody knows the M blocked: main runs only after the write */
	EXPECT_GE(waited, 250 * GX_MS);
	EXPECT_GE(atomic_load(&main_resumed_ns), atomic_load(&written_ns));
}

/* The daemon SIGKILLed mid-run: fall back, lose nothing. */
static gx_waitgroup churn_wg;
static _Atomic int churn_done;
static _Atomic bool churn_stop;
static void churner(void *arg)
{
	int i = (int)(intptr_t)arg;
	int64_t rounds = 0;
	while (!atomic_load(&churn_stop)) {
		if (i % 2)
			usleep(200); /* unwrapped: the kernel sees the block */
		else
			gx_sys_sleep(200 * GX_US);
		gx_yield();
		rounds++;
	}
	EXPECT_GT(rounds, 0);
	atomic_fetch_add(&churn_done, 1);
	gx_wg_done(&churn_wg);
}

KTEST(trace_daemon_killed_falls_back, 2, GX_KASSIST_TRACE, 60)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	enum { N = 40 };
	for (int i = 0; i < N; i++) {
		gx_wg_add(&churn_wg, 1);
		gx_go(churner, (void *)(intptr_t)i);
	}
	gx_sleep(200 * GX_MS);
	kill(kdaemon, SIGKILL);
	int status;
	gx_sys_waitpid(kdaemon, &status, 0);
	rm_pins();
	int64_t t0 = gxt_now_ns();
	while (gx_kassist_mode() != GX_KASSIST_OFF && gxt_now_ns() - t0 < 5000 * GX_MS)
		gx_sleep(GX_MS);
	TH_LOG("fell back %lld ms after the SIGKILL: %s", (long long)((gxt_now_ns() - t0) / GX_MS),
	       gx_kassist_status());
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_OFF);
	EXPECT_NE(strstr(gx_kassist_status(), "went away"), NULL);
	gx_sleep(100 * GX_MS); /* keep running in off mode */
	atomic_store(&churn_stop, true);
	gx_wg_wait(&churn_wg);
	EXPECT_EQ(atomic_load(&churn_done), N);
	EXPECT_EQ(gxt_settle_goroutines(1), 1);
}

/* Run as nobody: the daemon refuses, the runtime says why and runs off. */
static int nobody_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_OFF);
	TH_LOG("as uid %d: %s", (int)getuid(), gx_kassist_status());
	EXPECT_NE(strstr(gx_kassist_status(), "trace mode unavailable"), NULL);
	EXPECT_NE(strstr(gx_kassist_status(), "refused"), NULL);
	atomic_store(&kran, 0);
	for (int i = 0; i < 20; i++) {
		gx_wg_add(&kwg, 1);
		gx_go(small_worker, NULL);
	}
	gx_wg_wait(&kwg);
	EXPECT_EQ(atomic_load(&kran), 20);
	return harness_child_status();
}

TEST_TIMEOUT(trace_unprivileged_falls_back, 60)
{
	start_daemon();
	ASSERT_EQ(setgroups(0, NULL), 0);
	ASSERT_EQ(setgid(65534), 0);
	ASSERT_EQ(setuid(65534), 0);
	ASSERT_EQ(gx_kassist_set(GX_KASSIST_TRACE), 0);
	char *argv[] = {(char *)"nobody", NULL};
	gx_main(nobody_main, 1, argv);
}

/* Two processes attached at once: each sees only its own slots, and one
 * cannot register its thread ids into the other's. */
static int raw_request(uint16_t type, uint32_t a0, uint32_t a1, int32_t *status)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ksock);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(s);
		return -1;
	}
	struct gx_sched_msg m = {
		.magic = GX_KABI_MAGIC, .version = GX_KABI_VERSION, .type = type, .arg0 = a0, .arg1 = a1};
	struct gx_sched_msg r;
	memset(&r, 0, sizeof(r));
	ssize_t n = -1;
	if (send(s, &m, sizeof(m), 0) == (ssize_t)sizeof(m))
		n = recv(s, &r, sizeof(r), 0);
	close(s);
	*status = n == (ssize_t)sizeof(r) ? r.status : 0;
	return n == (ssize_t)sizeof(r) ? 0 : -1;
}

static int peer_pipe[2], back_pipe[2];
static int peer_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	const struct gx_kabi_proc *kp = gx_test_kabi();
	int ok = gx_kassist_mode() == GX_KASSIST_TRACE && kp && kp->hdr.tgid == (uint32_t)getpid();
	int tid = gx_test_mtid();
	int msg[2] = {ok, tid};
	ssize_t w = write(peer_pipe[1], msg, sizeof(msg));
	(void)w;
	char c;
	ssize_t r = gx_sys_read(back_pipe[0], &c, 1); /* until the other is done */
	(void)r;
	return ok ? 0 : 1;
}

KTEST(trace_two_processes_isolated, 2, GX_KASSIST_TRACE, 60)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	ASSERT_EQ(pipe(peer_pipe), 0);
	ASSERT_EQ(pipe(back_pipe), 0);
	pid_t peer = fork();
	ASSERT_GE(peer, 0);
	if (peer == 0) {
		/* a fresh process: exec ourselves into the peer role */
		char fds[64];
		snprintf(fds, sizeof(fds), "%d,%d", peer_pipe[1], back_pipe[0]);
		setenv("GXT_KASSIST_PEER", fds, 1);
		execl("/proc/self/exe", "gmpx_test", "-t", "kassist_peer_process", (char *)NULL);
		_exit(127);
	}
	int msg[2] = {0, 0};
	ASSERT_EQ(gx_sys_read(peer_pipe[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	EXPECT_EQ(msg[0], 1); /* the peer attached, to its own state */
	const struct gx_kabi_proc *kp = gx_test_kabi();
	EXPECT_EQ(kp->hdr.tgid, (uint32_t)getpid());
	/* none of our slots is the peer's thread */
	for (uint32_t i = 0; i < kp->hdr.nm && i < GX_KABI_MAX_M; i++)
		EXPECT_NE(kp->m[i].tid, msg[1]);
	/* registering the peer's thread as ours is refused */
	int32_t st = 0;
	EXPECT_EQ(raw_request(GX_MSG_MREG, (uint32_t)msg[1], 5, &st), 0);
	EXPECT_LT(st, 0);
	/* and a second attachment for our own pid too */
	EXPECT_EQ(raw_request(GX_MSG_HELLO, GX_KABI_TRACE, 1, &st), 0);
	EXPECT_LT(st, 0);
	ASSERT_EQ(write(back_pipe[1], "x", 1), 1);
	int status = 0;
	gx_sys_waitpid(peer, &status, 0);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The peer process of trace_two_processes_isolated (skips on its own). */
TEST_TIMEOUT(kassist_peer_process, 60)
{
	const char *fds = getenv("GXT_KASSIST_PEER");
	if (!fds)
		SKIP(return, "run by trace_two_processes_isolated");
	ASSERT_EQ(sscanf(fds, "%d,%d", &peer_pipe[1], &back_pipe[0]), 2);
	ASSERT_EQ(gx_kassist_set(GX_KASSIST_TRACE), 0);
	char *argv[] = {(char *)"peer", NULL};
	gx_main(peer_main, 1, argv);
}

/* Stress: goroutines mixing unwrapped blocking calls (which get their P
 * revoked) with channel, mutex and yield traffic; nothing may be lost or
 * run twice. */
enum { STRESS_G = 48 };
static gx_mutex stress_mu;
static long stress_counter;
static gx_waitgroup stress_wg;
static gx_chan *stress_ch;

static void stresser(void *arg)
{
	uintptr_t seed = (uintptr_t)arg * 2654435761u + 1;
	int rounds = (int)gx_scale(400);
	for (int i = 0; i < rounds; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		switch ((seed >> 33) % 4) {
		case 0:
			usleep((useconds_t)(20 + (seed >> 40) % 300)); /* unwrapped */
			break;
		case 1: {
			int v = i;
			EXPECT_EQ(gx_chan_send(stress_ch, &v, GX_FOREVER), 0);
			EXPECT_EQ(gx_chan_recv(stress_ch, &v, GX_FOREVER), 1);
			break;
		}
		case 2:
			gx_yield();
			break;
		default:
			break;
		}
		gx_mutex_lock(&stress_mu);
		stress_counter++;
		gx_mutex_unlock(&stress_mu);
	}
	gx_wg_done(&stress_wg);
}

KTEST(trace_revocation_stress, 2, GX_KASSIST_TRACE, 120)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	ASSERT_EQ(gx_chan_make(&stress_ch, sizeof(int), STRESS_G), 0);
	for (int i = 0; i < STRESS_G; i++) {
		gx_wg_add(&stress_wg, 1);
		gx_go(stresser, (void *)(uintptr_t)i);
	}
	gx_wg_wait(&stress_wg);
	EXPECT_EQ(stress_counter, (long)STRESS_G * gx_scale(400));
	const struct gx_kabi_proc *kp = gx_test_kabi();
	TH_LOG("revokes %llu, hand-offs %llu, events %llu, dropped %llu", (unsigned long long)kp->hdr.revokes,
	       (unsigned long long)kp->hdr.handoffs, (unsigned long long)kp->hdr.events,
	       (unsigned long long)kp->hdr.drops);
	EXPECT_GT(kp->hdr.revokes, 0u);
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	EXPECT_EQ(gxt_settle_goroutines(1), 1);
	EXPECT_EQ(gx_chan_free(stress_ch), 0);
}

/* A revoked goroutine that keeps running goroutine code without calling
 * into gmpx is sent back to the scheduler within about a quantum (the
 * preemption signal, then GX_ENTER): parallelism above gomaxprocs does not
 * last. */
static _Atomic int64_t spin_count, spin_start_ns;
static _Atomic int spin_tid;
static void reader_then_spin(void *arg)
{
	(void)arg;
	atomic_store(&blocker_tid, gx_test_mtid());
	char c;
	EXPECT_EQ(read(kpipe[0], &c, 1), 1); /* unwrapped: the P is revoked meanwhile */
	int64_t t0 = gxt_now_ns();
	atomic_store(&spin_start_ns, t0);
	while (gxt_now_ns() - t0 < 400 * GX_MS) {
		atomic_fetch_add_explicit(&spin_count, 1, memory_order_relaxed);
		atomic_store_explicit(&spin_tid, gx_test_mtid(), memory_order_relaxed);
	}
	atomic_store(&blocker_done, true);
}

KTEST(trace_revoked_goroutine_is_kicked, 1, GX_KASSIST_TRACE, 60)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	ASSERT_EQ(pipe(kpipe), 0);
	write_after_ns = 50 * GX_MS;
	use_fake = false;
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, writer_thread, NULL), 0);
	gx_go(reader_then_spin, NULL);
	gx_yield(); /* the reader blocks; the P comes back to us by revocation */
	while (!atomic_load(&spin_start_ns))
		gx_preempt_check();
	/* Run on our P and watch the spinner: while both threads run at once
	 * (on different threads) its counter moves between two of our samples
	 * taken back to back. */
	int64_t last_parallel = 0, start = atomic_load(&spin_start_ns);
	int64_t prev = atomic_load(&spin_count), tprev = gxt_now_ns();
	while (!atomic_load(&blocker_done) && gxt_now_ns() - start < 2000 * GX_MS) {
		gx_preempt_check();
		int64_t c = atomic_load(&spin_count), t = gxt_now_ns();
		if (c != prev && t - tprev < 20 * GX_US && atomic_load(&spin_tid) != gx_test_mtid())
			last_parallel = t - start;
		prev = c;
		tprev = t;
	}
	pthread_join(th, NULL);
	while (!atomic_load(&blocker_done))
		gx_sleep(GX_MS);
	TH_LOG("the revoked goroutine ran in parallel with us until %lld ms into its 400 ms spin",
	       (long long)(last_parallel / GX_MS));
	EXPECT_LT(last_parallel, 100 * GX_MS); /* ~ a 10 ms quantum plus sysmon's period */
	close(kpipe[0]);
	close(kpipe[1]);
}

/* GX_KASSIST_LOAD: the process loads the programs itself (a private
 * gmpx-sched that lives as long as the process). */
static int selfload_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	char want[64];
	snprintf(want, sizeof(want), "/tmp/gmpx-kassist-%d/", (int)getpid());
	TH_LOG("%s", gx_kassist_status());
	EXPECT_NE(strstr(gx_kassist_status(), want), NULL);
	int64_t waited = run_blocked_reader(unwrapped_reader, 300 * GX_MS);
	EXPECT_LT(waited, 100 * GX_MS);
	return harness_child_status();
}

TEST_TIMEOUT(trace_self_load, 60)
{
	need_bpf();
	char bin[4096];
	ASSERT_NE(realpath(sched_bin(), bin), NULL);
	setenv("GX_KASSIST_LOAD", bin, 1);
	unsetenv("GX_KASSIST_SOCK");
	gx_maxprocs(1);
	ASSERT_EQ(gx_kassist_set(GX_KASSIST_TRACE), 0);
	char *argv[] = {(char *)"selfload", NULL};
	gx_main(selfload_main, 1, argv);
}

/* A goroutine locked to its thread (gx_lock_os_thread) whose P is revoked
 * while it blocks: it must come back on the same thread, with a P. */
static void locked_reader(void *arg)
{
	(void)arg;
	ASSERT_EQ(gx_lock_os_thread(), 0);
	int tid = gx_test_mtid();
	atomic_store(&blocker_tid, tid);
	char c;
	EXPECT_EQ(read(kpipe[0], &c, 1), 1);
	gx_yield(); /* notices the revocation */
	EXPECT_EQ(gx_test_mtid(), tid);
	atomic_store(&blocker_p_after, gx_test_current_p());
	gx_sleep(GX_MS);
	EXPECT_EQ(gx_test_mtid(), tid);
	ASSERT_EQ(gx_unlock_os_thread(), 0);
	atomic_store(&blocker_done, true);
}

KTEST(revoke_locked_goroutine_fake_kernel, 1, GX_KASSIST_OFF, 60)
{
	use_fake = true;
	int64_t waited = run_blocked_reader(locked_reader, 200 * GX_MS);
	use_fake = false;
	EXPECT_EQ(atomic_load(&fake_result), 1);
	EXPECT_LT(waited, 150 * GX_MS);
}

/* auto takes the best the daemon grants (trace here), in one attachment. */
KTEST(kassist_auto_picks_trace, 1, GX_KASSIST_AUTO, 60)
{
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_TRACE);
	EXPECT_NE(strstr(gx_kassist_status(), "trace mode"), NULL);
}

/* ---- scx mode: the sched_ext scheduler (needs CONFIG_SCHED_CLASS_EXT) ---------------------
 * The host kernels of this project's CI have no sched_ext: these tests skip
 * there and `make test` runs them in a QEMU guest with Debian's sched_ext
 * kernel (tools/vmtest/scx-tests.sh), where GXT_SCX_REQUIRED=1 turns a
 * skip into a failure. GXT_SCX_SOCK=path: use that daemon (the guest's
 * whole-machine run) instead of starting one.
 */

static bool scx_loaded(void)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/kernel/sched_ext/state", "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strncmp(buf, "enabled", 7) == 0;
}

/* need_scx - start a private scx daemon with args (or use GXT_SCX_SOCK's),
 * or skip saying why. */
static void need_scx(const char *a0, const char *a1)
{
	bool required = getenv("GXT_SCX_REQUIRED") != NULL;
	const char *ext = getenv("GXT_SCX_SOCK");
	if (access("/sys/kernel/sched_ext", F_OK) != 0) {
		ASSERT_FALSE(required);
		SKIP(return, "no sched_ext in this kernel (CONFIG_SCHED_CLASS_EXT): make test runs this in the VM");
	}
	if (ext && *ext) {
		if (a0)
			SKIP(return, "needs its own daemon, and GXT_SCX_SOCK is set");
		setenv("GX_KASSIST_SOCK", ext, 1);
		return;
	}
	/* the last test's daemon may still be unloading its scheduler */
	for (int64_t t0 = gxt_now_ns(); scx_loaded() && gxt_now_ns() - t0 < 5000 * GX_MS;)
		usleep(10000);
	if (scx_loaded()) {
		ASSERT_FALSE(required);
		SKIP(return, "another sched_ext scheduler is loaded (one per machine)");
	}
	kdaemon_args[0] = "--mode";
	kdaemon_args[1] = "scx";
	kdaemon_args[2] = a0 && *a0 ? a0 : NULL; /* "": its own daemon, no more arguments */
	kdaemon_args[3] = a0 && *a0 ? a1 : NULL;
	start_daemon();
}

/* KTEST_SCX - a test in scx mode with a private daemon (extra args a0 a1;
 * a0 "": a private daemon without them; NULL: GXT_SCX_SOCK's if set). */
#define KTEST_SCX(name, procs, secs, a0, a1) KTEST_WITH(name, procs, GX_KASSIST_SCX, secs, need_scx(a0, a1))

static int ncpus_online(void)
{
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* wait_standby - until P i has a standby parked (they start with the
 * runtime), at most 5 s. */
static bool wait_standby(const struct gx_kabi_proc *kp, int i)
{
	int64_t t0 = gxt_now_ns();
	while (__atomic_load_n(&kp->p[i].standby, __ATOMIC_ACQUIRE) < 0 && gxt_now_ns() - t0 < 5000 * GX_MS)
		gx_sleep(GX_MS);
	return __atomic_load_n(&kp->p[i].standby, __ATOMIC_ACQUIRE) >= 0;
}

static _Atomic long cpu_samples, cpu_on_target;
static gx_waitgroup cpu_wg;
static void cpu_sampler(void *arg)
{
	(void)arg;
	const struct gx_kabi_proc *kp = gx_test_kabi();
	for (int i = 0; i < 3000; i++) {
		int64_t t0 = gxt_now_ns();
		while (gxt_now_ns() - t0 < 20 * GX_US)
			; /* work */
		int p = gx_test_current_p();
		int c = sched_getcpu();
		if (p >= 0 && p == gx_test_current_p()) {
			atomic_fetch_add(&cpu_samples, 1);
			if (c == kp->p[p].cpu)
				atomic_fetch_add(&cpu_on_target, 1);
		}
		if (i % 200 == 199)
			gx_yield();
	}
	gx_wg_done(&cpu_wg);
}

/* expect_placed - np goroutines sample their CPU; at least 99% of the
 * samples must be on their P's CPU. */
static void expect_placed(int np, const char *how)
{
	atomic_store(&cpu_samples, 0);
	atomic_store(&cpu_on_target, 0);
	for (int i = 0; i < np; i++) {
		gx_wg_add(&cpu_wg, 1);
		gx_go(cpu_sampler, NULL);
	}
	gx_wg_wait(&cpu_wg);
	long n = atomic_load(&cpu_samples), on = atomic_load(&cpu_on_target);
	TH_LOG("%d Ps (%s): %ld of %ld sched_getcpu() samples on the P's CPU", np, how, on, n);
	EXPECT_GT(n, 0);
	EXPECT_GE(on * 100, n * 99);
}

KTEST_SCX(scx_ms_run_on_their_cpu, ncpus_online(), 120, NULL, NULL)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
	const struct gx_kabi_proc *kp = gx_test_kabi();
	int np = (int)kp->hdr.np;
	for (int i = 0; i < np; i++)
		EXPECT_GE(kp->p[i].cpu, 0);
	expect_placed(np, "from the start");
}

/* Ps that gx_maxprocs adds after attach are placed like the first: a CPU
 * each, their slices timed for BPF's quantum, and the Ms that run them on
 * those CPUs. */
KTEST_SCX(scx_grown_ps_placed, 1, 120, NULL, NULL)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
	const struct gx_kabi_proc *kp = gx_test_kabi();
	int n = ncpus_online();
	if (n < 2)
		SKIP(return, "one CPU: nothing to grow to");
	EXPECT_EQ(kp->hdr.np, 1u);
	EXPECT_EQ(gx_maxprocs(n), 1);
	EXPECT_EQ((int)kp->hdr.np, n);
	for (int i = 0; i < n; i++) {
		EXPECT_GE(kp->p[i].cpu, 0);
		EXPECT_NE(kp->p[i].slice_start_ns, 0u);
		for (int j = 0; j < i; j++)
			EXPECT_NE(kp->p[i].cpu, kp->p[j].cpu);
	}
	expect_placed(n, "grown from 1");
	EXPECT_EQ(gx_maxprocs(1), n);
	EXPECT_EQ(kp->hdr.np, 1u);
}

KTEST_SCX(scx_unwrapped_read_hands_off_p, 1, 60, NULL, NULL)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
	const struct gx_kabi_proc *kp = gx_test_kabi();
	ASSERT_TRUE(wait_standby(kp, 0));
	int64_t waited = run_blocked_reader(unwrapped_reader, 500 * GX_MS);
	TH_LOG("scx mode: main waited %lld us behind a goroutine blocked in an unwrapped read() (pipe written at "
	       "500 ms); standby dispatches %llu, standby takes %llu, sysmon events %llu",
	       (long long)(waited / GX_US), (unsigned long long)kp->hdr.standby_dispatches,
	       (unsigned long long)kp->hdr.standby_takes, (unsigned long long)kp->hdr.events);
	EXPECT_LT(waited, 100 * GX_MS); /* ~100 us in the TCG guest; generous */
	EXPECT_LT(atomic_load(&main_resumed_ns), atomic_load(&written_ns));
	/* Partial mode on the idle guest: BPF ran the standby and it took the
	 * P, not sysmon. Whole-machine mode (GXT_SCX_SOCK): another task may
	 * be queued on that CPU, and then sysmon's event does it. */
	if (!getenv("GXT_SCX_SOCK")) {
		EXPECT_GE(kp->hdr.standby_dispatches, 1u);
		EXPECT_GE(kp->hdr.standby_takes, 1u);
	}
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
}

/* churn - N goroutines mixing unwrapped and wrapped sleeps until stopped. */
static void churn_start(int n)
{
	atomic_store(&churn_stop, false);
	atomic_store(&churn_done, 0);
	for (int i = 0; i < n; i++) {
		gx_wg_add(&churn_wg, 1);
		gx_go(churner, (void *)(intptr_t)i);
	}
}
static void churn_finish(int n)
{
	atomic_store(&churn_stop, true);
	gx_wg_wait(&churn_wg);
	EXPECT_EQ(atomic_load(&churn_done), n);
	EXPECT_EQ(gxt_settle_goroutines(1), 1);
}
static void wait_off(int64_t max_ns)
{
	int64_t t0 = gxt_now_ns();
	while (gx_kassist_mode() != GX_KASSIST_OFF && gxt_now_ns() - t0 < max_ns)
		gx_sleep(GX_MS);
	TH_LOG("fell back %lld ms after: %s", (long long)((gxt_now_ns() - t0) / GX_MS), gx_kassist_status());
}

/* The kernel ejects the scheduler mid-run (the daemon's test flag makes it
 * call scx_bpf_error): fallback, the reason reported, nothing lost. */
KTEST_SCX(scx_ejected_falls_back, 2, 60, "--test-error-after", "300")
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
	enum { N = 40 };
	churn_start(N);
	wait_off(10000 * GX_MS);
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_OFF);
	EXPECT_NE(strstr(gx_kassist_status(), "sched_ext scheduler exited (kind 1025"), NULL);
	EXPECT_FALSE(scx_loaded());
	gx_sleep(100 * GX_MS); /* keep running in off mode */
	churn_finish(N);
}

/* The daemon SIGKILLed: the kernel unloads the scheduler (its struct_ops
 * link dies with it), the runtime falls back, nothing lost. */
KTEST_SCX(scx_daemon_killed_falls_back, 2, 60, "", NULL)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
	enum { N = 40 };
	churn_start(N);
	gx_sleep(200 * GX_MS);
	ASSERT_GT(kdaemon, 0);
	kill(kdaemon, SIGKILL);
	int status;
	gx_sys_waitpid(kdaemon, &status, 0);
	rm_pins();
	int64_t t0 = gxt_now_ns();
	while (scx_loaded() && gxt_now_ns() - t0 < 5000 * GX_MS)
		gx_sleep(GX_MS);
	TH_LOG("the kernel unloaded the scheduler %lld ms after the SIGKILL", (long long)((gxt_now_ns() - t0) / GX_MS));
	EXPECT_FALSE(scx_loaded());
	wait_off(5000 * GX_MS);
	EXPECT_EQ(gx_kassist_mode(), GX_KASSIST_OFF);
	gx_sleep(100 * GX_MS);
	churn_finish(N);
}

/* Stress in scx mode: the revocation mix (unwrapped sleeps, channels, a
 * mutex, yields) on every CPU, plus goroutines that never call gmpx (only
 * the quantum gets them off), for GXT_SCX_STRESS_SECS (default 3; the VM's
 * whole-machine run: 60). No ejection, nothing lost. */
static _Atomic bool scx_spin_stop;
static void scx_spinner(void *arg)
{
	(void)arg;
	volatile uint64_t n = 0;
	while (!atomic_load_explicit(&scx_spin_stop, memory_order_relaxed))
		n++;
	gx_wg_done(&stress_wg);
}

KTEST_SCX(scx_stress, ncpus_online(), 600, NULL, NULL)
{
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
	const char *e = getenv("GXT_SCX_STRESS_SECS");
	int64_t secs = e && *e ? atoi(e) : 3;
	ASSERT_EQ(gx_chan_make(&stress_ch, sizeof(int), STRESS_G), 0);
	int64_t t0 = gxt_now_ns(), rounds = 0;
	stress_counter = 0;
	while (gxt_now_ns() - t0 < secs * 1000 * GX_MS) {
		atomic_store(&scx_spin_stop, false);
		for (int i = 0; i < 2; i++) {
			gx_wg_add(&stress_wg, 1);
			gx_go(scx_spinner, NULL);
		}
		for (int i = 0; i < STRESS_G; i++) {
			gx_wg_add(&stress_wg, 1);
			gx_go(stresser, (void *)(uintptr_t)(i + rounds * STRESS_G));
		}
		gx_sleep(50 * GX_MS);
		atomic_store(&scx_spin_stop, true);
		gx_wg_wait(&stress_wg);
		rounds++;
		ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX); /* not ejected */
	}
	EXPECT_EQ(stress_counter, (long)STRESS_G * gx_scale(400) * rounds);
	const struct gx_kabi_proc *kp = gx_test_kabi();
	TH_LOG("%lld rounds in %lld s: revokes %llu, standby takes %llu, standby dispatches %llu, wake dispatches "
	       "%llu, keep-alive runs %llu, preempt requests %llu, preempt events %llu",
	       (long long)rounds, (long long)secs, (unsigned long long)kp->hdr.revokes,
	       (unsigned long long)kp->hdr.standby_takes, (unsigned long long)kp->hdr.standby_dispatches,
	       (unsigned long long)kp->hdr.wake_dispatches, (unsigned long long)kp->hdr.keepalive_runs,
	       (unsigned long long)kp->hdr.preempt_requests, (unsigned long long)kp->hdr.preempt_events);
	EXPECT_TRUE(scx_loaded());
	EXPECT_EQ(gxt_settle_goroutines(1), 1);
	EXPECT_EQ(gx_chan_free(stress_ch), 0);
}

/* The quantum from BPF's timer: at GX_QUANTUM=1ms a goroutine that never
 * calls gmpx gives the only P back to a sleeper within about 1 ms plus the
 * grace; sysmon does not poll for it. */
static _Atomic bool q_stop;
static gx_waitgroup q_wg;
static void q_spinner(void *arg)
{
	(void)arg;
	volatile uint64_t n = 0;
	while (!atomic_load_explicit(&q_stop, memory_order_relaxed))
		n++;
	gx_wg_done(&q_wg);
}

void gx_schedtrace(bool detail); /* user/debug.c: Go's SCHED lines */
/* If the sleeper is stuck, say what the shared state shows. */
static void *q_watchdog(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300 && !atomic_load(&q_stop); i++)
		usleep(50000);
	if (atomic_load(&q_stop))
		return NULL;
	const struct gx_kabi_proc *kp = gx_test_kabi();
	const struct gx_kabi_p *p0 = &kp->p[0];
	fprintf(stderr,
		"# stuck 15 s: p0 owner %d status %u schedtick %u slice_start %llu preempt %u/%u; requests %llu events "
		"%llu wakeups %llu drops %llu; now %llu\n",
		p0->owner, p0->status, p0->schedtick, (unsigned long long)p0->slice_start_ns, p0->preempt,
		p0->preempt_tick, (unsigned long long)kp->hdr.preempt_requests,
		(unsigned long long)kp->hdr.preempt_events, (unsigned long long)kp->hdr.wakeups,
		(unsigned long long)kp->hdr.drops, (unsigned long long)gxt_now_ns());
	gx_schedtrace(true);
	return NULL;
}

static int q_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ASSERT_EQ(gx_kassist_mode(), GX_KASSIST_SCX);
	pthread_t wd;
	ASSERT_EQ(pthread_create(&wd, NULL, q_watchdog, NULL), 0);
	pthread_detach(wd);
	enum { N = 200 };
	int64_t late[N];
	gx_wg_add(&q_wg, 1);
	gx_go(q_spinner, NULL);
	for (int i = 0; i < N; i++) {
		int64_t t0 = gxt_now_ns();
		gx_sleep(GX_MS);
		late[i] = gxt_now_ns() - t0 - GX_MS;
	}
	atomic_store(&q_stop, true);
	gx_wg_wait(&q_wg);
	for (int i = 1; i < N; i++) /* insertion sort: N is small */
		for (int j = i; j > 0 && late[j] < late[j - 1]; j--) {
			int64_t t = late[j];
			late[j] = late[j - 1];
			late[j - 1] = t;
		}
	const struct gx_kabi_proc *kp = gx_test_kabi();
	TH_LOG("1 ms sleeps behind a spinner, 1 ms quantum: late p50 %lld us, p99 %lld us; preempt requests %llu, "
	       "events %llu",
	       (long long)(late[N / 2] / GX_US), (long long)(late[N * 99 / 100] / GX_US),
	       (unsigned long long)kp->hdr.preempt_requests, (unsigned long long)kp->hdr.preempt_events);
	EXPECT_GT(kp->hdr.preempt_requests, 0u);
	EXPECT_GT(kp->hdr.preempt_events, 0u);	   /* the spinner never yields by itself */
	EXPECT_LT(late[N * 99 / 100], 20 * GX_MS); /* the bench measures it; this only bounds it */
	return harness_child_status();
}

TEST_TIMEOUT(scx_quantum_preempts_spinner, 60)
{
	char *argv[] = {(char *)"scx_quantum_preempts_spinner", NULL};
	need_scx(NULL, NULL);
	setenv("GX_QUANTUM", "1ms", 1);
	gx_maxprocs(1);
	ASSERT_EQ(gx_kassist_set(GX_KASSIST_SCX), 0);
	gx_main(q_main, 1, argv);
}
