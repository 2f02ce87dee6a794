/* SPDX-License-Identifier: MIT */
/*
 * kassist.c - the kernel assist, trace mode: the runtime side of
 * gmpx_kabi.h. The BPF programs (bpf/gmpx_trace.bpf.c, loaded by
 * tools/gmpx-sched) watch sched_switch for this process's Ms and tell
 * sysmon, through a ring buffer, the moment an M that holds a P blocks in
 * the kernel while that P has work, for any reason: a wrapped syscall, an
 * unwrapped read(), a futex, a page fault. sysmon then sleeps in epoll on
 * that ring buffer instead of waking on a guess, and hands the P off at
 * once.
 *
 * Attaching (gx_kassist_attach, at start, before any other M exists):
 * connect to the daemon's socket, say HELLO, receive the process's state
 * map, ring buffer and the daemon's BPF links; mmap the first two; point
 * every M's and P's kslot into the map; register each M's thread id
 * (MREG) as it starts. Any failure: one log line, and off mode.
 *
 * Revocation: the P of an M blocked in an unwrapped call. The M still owns
 * its P (Prunning) and will carry on with goroutine code when the call
 * returns, so taking the P must be decided against the M's wake-up. The
 * M's kernel word (m.mword) settles it: sysmon (or the standby M, below) CASes it BLOCKED(seq) ->
 * REVOKED(seq), BPF CASes it to RUNNABLE/RUNNING when the M is woken or
 * scheduled, and BPF never changes a REVOKED word. So exactly one wins:
 *   - sysmon's CAS succeeded: the M had not run since that block. Whatever
 *     the M left in memory before blocking (curg, curg->rtdepth, m->locks)
 *     was stable when sysmon checked it, and the seq ties the check to the
 *     same block. sysmon hands the P off (handoffp). The M, once woken,
 *     runs goroutine code without a P until its next runtime entry
 *     (GX_ENTER), where one load of its word shows REVOKED: it drops the
 *     P pointer and takes the exitsyscall path (an idle P, or the global
 *     queue and park), exactly as a G returning from a syscall whose P
 *     was retaken. Parallelism can briefly exceed gomaxprocs by the number
 *     of such goroutines, as in Go during syscalls.
 *   - BPF's CAS came first: the M ran; nothing is taken.
 * sysmon revokes only if the M blocked in goroutine code: curg set,
 * curg->rtdepth == 0 (GX_ENTER marks runtime entries), no runtime lock, no
 * direct switch in progress. An M blocked inside the runtime (a contended
 * runtime lock, a page fault in the scheduler) keeps its P, as in off mode.
 *
 * The daemon going away (its socket hangs up): sysmon switches to off
 * first, then closes the BPF links it holds. The links keep the programs
 * attached until then, so a word sysmon acts on is never stale. The
 * mapped memory stays mapped for good: Ms and Ps keep pointing into it.
 *
 * Who acts: events are consumed by one thread at a time, the standby M
 * (an idle M parked on the ring buffer, which takes the freed P itself) or
 * else sysmon; sysmon's periodic scan may revoke too. They can race for
 * the same P: the CAS on the M's word (or on the P's status, for a
 * wrapped syscall) lets exactly one win. Only the owner writes its slots
 * (gmpx_kabi.h lists the writers). The fallback to off mode is sysmon's.
 */
#include "runtime.h"
#include "kassist.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A P that has been in a syscall or blocked this long with work is handed
 * off by sysmon's own scan even without an event (a missed or dropped
 * event, or work that arrived after the block). */
#define BLOCKED_RETAKE_NS GX_SYSCALL_RETAKE_NS
/* Never wait longer than this for the daemon at start. */
#define DAEMON_TIMEOUT_S 2
/* A revoked goroutine still in goroutine code a quantum after it woke is
 * signalled, and again this often while the signal lands where it cannot
 * act (libc, the vDSO): as sysmon re-asks an unpreempted slice. */
#define KICK_AGAIN_NS ((int64_t)1000000)
#define MAX_FDS	      16

struct gx_kabi_proc *gx_kabi;
_Atomic bool gx_kassist_active;
bool gx_kassist_testing; /* testing.c's fake kernel may act on local slots */

static int want_mode = -1; /* gx_kassist_set before gx_main; -1: GX_KASSIST */
static _Atomic int cur_mode;
static char status_text[320];

static int sock = -1;	    /* to gmpx-sched; requests under socklock */
static char exit_text[200]; /* a GX_MSG_EXIT's report, under socklock */
static pthread_mutex_t socklock = PTHREAD_MUTEX_INITIALIZER;
static int linkfds[MAX_FDS];
static int nlinkfds;
static int epfd = -1, wakefd = -1, rbfd = -1;
static _Atomic uint64_t *rb_consumer; /* consumer position page (ours) */
static _Atomic uint64_t *rb_producer; /* producer position page, then the data (twice, for wrap-around) */
static unsigned char *rb_data;
static uint64_t rb_mask;

static const char *modename(int mode)
{
	switch (mode) {
	case GX_KASSIST_OFF:
		return "off";
	case GX_KASSIST_TRACE:
		return "trace";
	case GX_KASSIST_SCX:
		return "scx";
	case GX_KASSIST_AUTO:
		return "auto";
	}
	return "?";
}

/* ---- public ----------------------------------------------------------------- */

int gx_kassist_set(int mode)
{
	if (mode < GX_KASSIST_OFF || mode > GX_KASSIST_AUTO)
		return -EINVAL;
	if (atomic_load(&gx_sched.started))
		return -EBUSY;
	want_mode = mode;
	return 0;
}

int gx_kassist_mode(void)
{
	return atomic_load(&cur_mode);
}

const char *gx_kassist_status(void)
{
	return status_text;
}

/* ---- the daemon protocol ------------------------------------------------------ */

/* exit_report - the daemon says its sched_ext scheduler is gone. */
static void exit_report(struct gx_kabi_msg *m)
{
	m->text[sizeof(m->text) - 1] = 0;
	snprintf(exit_text, sizeof(exit_text), "the sched_ext scheduler exited (kind %u%s): %s", m->arg0,
		 m->arg0 == 1026 ? ", runnable task stall" : (m->arg0 == 64 ? ", unregistered" : ""),
		 m->text[0] ? m->text : "no message");
}

/* exit_read - after a hang-up: a GX_MSG_EXIT waiting in the socket?
 * socklock held. */
static void exit_read(void)
{
	struct gx_kabi_msg m;
	while (sock >= 0 && !exit_text[0]) {
		ssize_t n = recv(sock, &m, sizeof(m), MSG_DONTWAIT);
		if (n <= 0)
			break;
		if (n == (ssize_t)sizeof(m) && m.magic == GX_KABI_MAGIC && m.type == GX_MSG_EXIT)
			exit_report(&m);
	}
}

/* request - one request/reply; fds received (if any) go to fds/nfds.
 * Returns the reply's status, or -errno of the transport; why gets the
 * reason on failure. socklock held. */
static int request(uint16_t type, uint32_t a0, uint32_t a1, int *fds, int *nfds, struct gx_kabi_msg *reply, char *why,
		   size_t whylen)
{
	struct gx_kabi_msg m = {
		.magic = GX_KABI_MAGIC, .version = GX_KABI_VERSION, .type = type, .arg0 = a0, .arg1 = a1};
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
		int e = errno;
		snprintf(why, whylen, "cannot talk to gmpx-sched: %s", strerror(e));
		return -e;
	}
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} cb;
	struct iovec iov = {reply, sizeof(*reply)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof(cb.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (nfds)
		*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds && nfds && *nfds < MAX_FDS)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	if (n == (ssize_t)sizeof(*reply) && reply->magic == GX_KABI_MAGIC && reply->type == GX_MSG_EXIT) {
		exit_report(reply);
		snprintf(why, whylen, "%s", exit_text);
		return -ECONNRESET;
	}
	if (n != (ssize_t)sizeof(*reply) || reply->magic != GX_KABI_MAGIC || reply->type != (type | GX_MSG_REPLY)) {
		int e = n < 0 ? errno : EPROTO;
		snprintf(why, whylen, "gmpx-sched %s", n == 0 ? "closed the connection" : "sent a bad reply");
		return -e;
	}
	if (reply->status < 0) {
		reply->text[sizeof(reply->text) - 1] = 0;
		snprintf(why, whylen, "gmpx-sched refused: %s",
			 reply->text[0] ? reply->text : strerror(-reply->status));
	}
	return reply->status;
}

/* mreg - register mp's thread; its slot takes over from kslot_local. */
static void mreg(struct gx_m *mp)
{
	if (mp->id >= GX_KABI_MAX_M)
		return; /* untracked: behaves as in off mode */
	struct gx_kabi_m *slot = &gx_kabi->m[mp->id];
	slot->tid = mp->tid;
	slot->p = mp->kslot_local.p;
	slot->rstate = mp->kslot_local.rstate;
	slot->sys_nr = ~0u;
	atomic_store((_Atomic uint64_t *)&slot->mword, GX_KM_WORD(0, GX_KM_RUNNING));
	char why[256];
	struct gx_kabi_msg reply = {0};
	pthread_mutex_lock(&socklock);
	int err = sock < 0 ? -ENOTCONN
			   : request(GX_MSG_MREG, (uint32_t)mp->tid, (uint32_t)mp->id, NULL, NULL, &reply, why,
				     sizeof(why));
	pthread_mutex_unlock(&socklock);
	if (err) {
		slot->tid = 0;
		if (sock >= 0)
			gx_print("gmpx: kassist: thread %d (M%lld) not tracked: %s\n", mp->tid, (long long)mp->id, why);
		return;
	}
	mp->kslot = slot;
	uint32_t nm = (uint32_t)mp->id + 1;
	uint32_t cur = __atomic_load_n(&gx_kabi->hdr.nm, __ATOMIC_RELAXED);
	while (cur < nm &&
	       !__atomic_compare_exchange_n(&gx_kabi->hdr.nm, &cur, nm, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void gx_kassist_minit(struct gx_m *mp)
{
	if (atomic_load_explicit(&gx_kassist_active, memory_order_acquire)) {
		mreg(mp);
		gx_scx_minit(mp);
	}
}

/* Our eventfds (sysmon's and the standby's wake-ups): poke, and drain after
 * a wake-up. Failures cannot matter: a poke only fails if the counter is
 * already huge, i.e. the sleeper is being woken anyway. */
static void evpoke(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof(one));
	(void)r;
}
static void evdrain(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}

static void epoll_add(int ep, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- the ring buffer ------------------------------------------------------------- */

static int rb_map(int fd, char *why, size_t whylen)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *c = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED) {
		snprintf(why, whylen, "cannot map the ring buffer: %s", strerror(errno));
		return -1;
	}
	void *p = mmap(NULL, (size_t)pg + 2 * (size_t)GX_KABI_RINGBUF_SIZE, PROT_READ, MAP_SHARED, fd, pg);
	if (p == MAP_FAILED) {
		snprintf(why, whylen, "cannot map the ring buffer: %s", strerror(errno));
		munmap(c, (size_t)pg);
		return -1;
	}
	rb_consumer = c;
	rb_producer = p;
	rb_data = (unsigned char *)p + pg;
	rb_mask = GX_KABI_RINGBUF_SIZE - 1;
	return 0;
}

static struct gx_p *handle_event(const struct gx_kabi_event *ev, int64_t now, bool take);

/* One consumer at a time: sysmon, or the standby M (see gx_kassist_standby). */
static _Atomic bool rb_draining;

/*
 * rb_drain - consume every record; returns how many were events (a drain
 * that found any counts as one event-driven wake-up). taken
 * (the standby M): the first P an event frees is not handed off but comes
 * back in *taken for the caller to run; later ones are handed off.
 */
static int rb_drain(int64_t now, struct gx_p **taken)
{
	int n = 0;
	if (atomic_exchange_explicit(&rb_draining, true, memory_order_acquire))
		return 0; /* the other consumer is at it */
	uint64_t cons = atomic_load_explicit(rb_consumer, memory_order_acquire);
	for (;;) {
		uint64_t prod = atomic_load_explicit(rb_producer, memory_order_acquire);
		if (cons >= prod)
			break;
		_Atomic uint32_t *hdr = (_Atomic uint32_t *)(rb_data + (cons & rb_mask));
		uint32_t len = atomic_load_explicit(hdr, memory_order_acquire);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break; /* being written */
		uint32_t sz = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		if (!(len & BPF_RINGBUF_DISCARD_BIT) && sz >= sizeof(struct gx_kabi_event)) {
			struct gx_kabi_event ev;
			memcpy(&ev, rb_data + (cons & rb_mask) + BPF_RINGBUF_HDR_SZ, sizeof(ev));
			bool take = taken && !*taken;
			struct gx_p *pp = handle_event(&ev, now, take);
			if (pp && take)
				*taken = pp;
			n++;
		}
		cons += (sz + BPF_RINGBUF_HDR_SZ + 7) & ~(uint64_t)7;
		atomic_store_explicit(rb_consumer, cons, memory_order_release);
	}
	atomic_store_explicit(&rb_draining, false, memory_order_release);
	if (n > 0)
		__atomic_fetch_add(&gx_kabi->hdr.wakeups, 1, __ATOMIC_RELAXED);
	return n;
}

/* ---- revocation and hand-off (sysmon, or the standby M) ------------------------------- */

static bool has_work(struct gx_p *pp)
{
	return !gx_runqempty(pp) || atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed) != 0 ||
	       (atomic_load_explicit(&pp->timer0when, memory_order_relaxed) != 0 &&
		atomic_load_explicit(&pp->timer0when, memory_order_relaxed) <= gx_nanotime());
}

static void record(int64_t blocked_at, int64_t now, bool revoked)
{
	struct gx_kabi_hdr *h = &gx_kabi->hdr;
	__atomic_fetch_add(&h->handoffs, 1, __ATOMIC_RELAXED);
	if (revoked)
		__atomic_fetch_add(&h->revokes, 1, __ATOMIC_RELAXED);
	int64_t us = blocked_at > 0 && now > blocked_at ? (now - blocked_at) / 1000 : 0;
	int b = 0;
	while (us > 1 && b < GX_KABI_HIST_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	__atomic_fetch_add(&h->hist[b], 1, __ATOMIC_RELAXED);
}

/* tryrevoke - take pp from its M if the M is blocked in the kernel in
 * goroutine code and pp has work. See the top of the file. */
bool gx_kassist_revoke(struct gx_p *pp, int64_t now, bool take)
{
	struct gx_m *mp = atomic_load(&pp->m);
	if (!mp || (mp->kslot == &mp->kslot_local && !gx_kassist_testing))
		return false;
	_Atomic uint64_t *wp = (_Atomic uint64_t *)&mp->kslot->mword;
	uint64_t w = atomic_load(wp);
	if (GX_KM_STATE(w) != GX_KM_BLOCKED)
		return false;
	/* If the M has run since that block, the CAS below fails; until then
	 * what it left in memory holds still. */
	gx_g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
	if (__atomic_load_n(&mp->p, __ATOMIC_RELAXED) != pp || __atomic_load_n(&mp->locks, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&mp->switchunlock, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&mp->switchparked, __ATOMIC_RELAXED) || !gp ||
	    atomic_load_explicit(&gp->rtdepth, memory_order_relaxed) != 0 ||
	    atomic_load_explicit(&gp->status, memory_order_relaxed) != Grunning)
		return false;
	if (!has_work(pp))
		return false;
	if (!atomic_compare_exchange_strong(wp, &w, GX_KM_WORD(GX_KM_SEQ(w), GX_KM_REVOKED)))
		return false;
	/* pp is ours to give away; the M learns at its next runtime entry. */
	pp->kslot->owner = -1;
	pp->kslot->status = GX_KP_IDLE;
	atomic_store_explicit(&pp->m, NULL, memory_order_relaxed);
	atomic_store_explicit(&pp->status, Pidle, memory_order_release);
	if (gx_kabi)
		record((int64_t)mp->kslot->block_ns, now, true);
	if (!take)
		gx_handoffp(pp);
	return true;
}

/* A P in a wrapped syscall whose M blocked: hand it off now (Go waits for
 * sysmon's 20 us tick; the kernel says the M is asleep). */
bool gx_kassist_handoff_syscall(struct gx_p *pp, int64_t blocked_at, int64_t now, bool take)
{
	uint32_t st = Psyscall;
	if (!has_work(pp) || !atomic_compare_exchange_strong(&pp->status, &st, Pidle))
		return false;
	record(blocked_at, now, false);
	if (!take)
		gx_handoffp(pp);
	return true;
}

/* handle_event - hand off the P the event is about, if it is still stuck
 * and has work. take: return it to the caller instead (NULL if not). */
static struct gx_p *handle_event(const struct gx_kabi_event *ev, int64_t now, bool take)
{
	if (ev->type == GX_EV_PREEMPT) {
		gx_kassist_scx_preempt(ev);
		return NULL;
	}
	if (ev->type != GX_EV_BLOCK || ev->p < 0 || ev->p >= atomic_load(&gx_sched.nallp) || ev->m >= GX_KABI_MAX_M)
		return NULL;
	struct gx_p *pp = gx_allp[ev->p];
	if (!pp)
		return NULL;
	uint32_t st = atomic_load(&pp->status);
	bool got = false;
	if (st == Psyscall)
		got = gx_kassist_handoff_syscall(pp, (int64_t)ev->ts, now, take);
	else if (st == Prunning)
		got = gx_kassist_revoke(pp, now, take);
	return got && take ? pp : NULL;
}

bool gx_kassist_tryrevoke(struct gx_p *pp, int64_t now)
{
	return gx_kassist_revoke(pp, now, false);
}

bool gx_kassist_retake(struct gx_p *pp, int64_t now)
{
	if (!atomic_load_explicit(&gx_kassist_active, memory_order_relaxed))
		return false;
	struct gx_m *mp = atomic_load(&pp->m);
	if (!mp || mp->kslot == &mp->kslot_local)
		return false;
	uint64_t w = atomic_load((_Atomic uint64_t *)&mp->kslot->mword);
	if (GX_KM_STATE(w) != GX_KM_BLOCKED || now - (int64_t)mp->kslot->block_ns < BLOCKED_RETAKE_NS)
		return false;
	return gx_kassist_revoke(pp, now, false);
}

/*
 * gx_kassist_kick - a goroutine whose P was revoked runs on without one
 * until its next gx_ call. One that keeps running goroutine code for a
 * quantum gets the preemption signal: the handler sends it through
 * GX_ENTER, which gives it back to the scheduler. So parallelism above
 * gomaxprocs lasts at most about a quantum (sysmon, trace mode).
 */
int64_t gx_kassist_kick(int64_t now)
{
	static int64_t kicked[GX_KABI_MAX_M];
	int64_t next = 0;
	if (!atomic_load_explicit(&gx_kassist_active, memory_order_relaxed))
		return 0;
	for (struct gx_m *mp = atomic_load(&gx_sched.allm); mp; mp = mp->alllink) {
		if (mp->kslot == &mp->kslot_local || mp->id >= GX_KABI_MAX_M)
			continue;
		struct gx_kabi_m *k = mp->kslot;
		uint64_t w = atomic_load((_Atomic uint64_t *)&k->mword);
		/* woken since the block that cost it its P, a quantum ago */
		int64_t woke = (int64_t)__atomic_load_n(&k->wake_ns, __ATOMIC_RELAXED);
		if (GX_KM_STATE(w) != GX_KM_REVOKED || woke <= (int64_t)k->block_ns)
			continue;
		int64_t due = woke + gx_quantum_ns;
		if (kicked[mp->id] + KICK_AGAIN_NS > due)
			due = kicked[mp->id] + KICK_AGAIN_NS;
		if (now >= due) {
			kicked[mp->id] = now;
			gx_preemptm(mp);
			due = now + KICK_AGAIN_NS;
		}
		if (!next || due < next)
			next = due;
	}
	return next;
}

/* gx_revoked - GX_ENTER found our word REVOKED: sysmon gave our P away
 * while we were blocked. Become a goroutine returning from a syscall. */
void gx_revoked(void)
{
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	_Atomic uint64_t *wp = (_Atomic uint64_t *)&mp->kslot->mword;
	mp->p = NULL;
	mp->oldp = NULL;
	mp->kslot->p = -1;
	mp->kslot->rstate = GX_RM_IDLE;
	uint64_t w = atomic_load(wp);
	while (GX_KM_STATE(w) == GX_KM_REVOKED &&
	       !atomic_compare_exchange_weak(wp, &w, GX_KM_WORD(GX_KM_SEQ(w), GX_KM_RUNNING)))
		;
	atomic_store_explicit(&gp->status, Gsyscall, memory_order_release);
	gx_exitsyscall();
}

/* ---- the standby M ----------------------------------------------------------------- */
/*
 * sysmon waking on an event and then waking an idle M for the freed P costs
 * two thread wake-ups (~30 us each on the VMs this was measured on). So one
 * idle M at a time, the standby, parks in epoll on the ring buffer itself
 * instead of on its futex: the kernel's notification wakes it directly and
 * it takes the freed P for itself. While a standby exists sysmon does not
 * watch the ring buffer (one consumer at a time; rb_drain also excludes
 * the other), and watches it again when the standby leaves; the ring
 * buffer's readiness is level-triggered, so nothing is missed in between.
 * startm still wakes the standby like any idle M (its note, plus an
 * eventfd: gx_kassist_wake_standby).
 */
static _Atomic(struct gx_m *) standby;
static int sbepfd = -1, sbevfd = -1;

/* midle_remove - take mp off the idle M list if it is still there (then
 * nobody else will wake it). sched.lock held. */
bool gx_kassist_midle_remove(struct gx_m *mp)
{
	for (struct gx_m **pm = &gx_sched.midle; *pm; pm = &(*pm)->schedlink) {
		if (*pm == mp) {
			*pm = mp->schedlink;
			mp->schedlink = NULL;
			gx_sched.nmidle--;
			return true;
		}
	}
	return false;
}

void gx_kassist_standby(struct gx_m *mp)
{
	struct gx_m *none = NULL;
	if (sbepfd < 0 || !atomic_load(&gx_kassist_active) || !atomic_compare_exchange_strong(&standby, &none, mp))
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, rbfd, NULL); /* we are the consumer now */
	struct epoll_event evs[2];
	while (atomic_load(&mp->park.key) == 0 && atomic_load(&gx_kassist_active)) {
		int n = epoll_pwait2(sbepfd, evs, 2, NULL, NULL);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == sbevfd)
				evdrain(sbevfd);
		struct gx_p *pp = NULL;
		rb_drain(gx_nanotime(), &pp);
		if (!pp)
			continue;
		gx_lock(&gx_sched.lock);
		bool mine = gx_kassist_midle_remove(mp);
		gx_unlock(&gx_sched.lock);
		if (!mine) {
			gx_handoffp(pp); /* startm is waking us already: the usual way */
			continue;
		}
		mp->nextp = pp; /* stopm takes it; nobody sleeps on our note: no futex wake */
		atomic_store_explicit(&mp->park.key, 1, memory_order_release);
	}
	epoll_add(epfd, rbfd, EPOLLIN); /* sysmon again */
	atomic_store(&standby, NULL);
}

void gx_kassist_wake_standby(struct gx_m *mp)
{
	gx_storeload_fence(); /* our note store before the load; pairs with the CAS above */
	if (atomic_load_explicit(&standby, memory_order_relaxed) == mp)
		evpoke(sbevfd);
}

/* ---- the trace policy: sysmon sleeps on the ring buffer ----------------------------- */

static void fallback(const char *why);

static void trace_sysmon_sleep(int64_t until)
{
	atomic_store(&gx_sysmon_wakeat, until);
	struct epoll_event evs[4];
	int n;
	do {
		int64_t now = gx_nanotime();
		struct timespec ts, *tp = NULL;
		if (until >= 0) {
			int64_t d = until > now ? until - now : 0;
			ts.tv_sec = (time_t)(d / 1000000000);
			ts.tv_nsec = (long)(d % 1000000000);
			tp = &ts;
		}
		n = epoll_pwait2(epfd, evs, 4, tp, NULL);
	} while (n < 0 && errno == EINTR);
	/* a wake-up, an event, the hang-up or the deadline: back to sysmon's loop */
	bool hup = false;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.fd == wakefd)
			evdrain(wakefd);
		else if (evs[i].data.fd == sock)
			hup = true;
	}
	/* Events first: even in the hang-up case the programs are still
	 * attached (we hold the links), so the words are current. */
	rb_drain(gx_nanotime(), NULL);
	if (hup) {
		pthread_mutex_lock(&socklock);
		exit_read();
		pthread_mutex_unlock(&socklock);
		fallback(exit_text[0] ? exit_text : "gmpx-sched went away (its socket closed)");
	}
	atomic_store(&gx_sysmon_wakeat, 0);
}

static void trace_sysmon_wake(void)
{
	evpoke(wakefd);
}

static void trace_entersyscall(struct gx_m *mp, struct gx_p *pp, int64_t now)
{
	/* A tracked M: BPF tells sysmon if the call blocks. */
	if (mp->kslot == &mp->kslot_local)
		gx_off_policy.entersyscall(mp, pp, now);
}

static const struct gx_policy trace_policy = {
	.name = "trace",
	.entersyscall = trace_entersyscall,
	.sysmon_sleep = trace_sysmon_sleep,
	.sysmon_wake = trace_sysmon_wake,
	.preempt = gx_off_preempt, /* a signal, as in off mode */
};
/* scx: sysmon as in trace mode; the rest is kassist_scx.c's */
static const struct gx_policy scx_policy = {
	.name = "scx",
	.entersyscall = trace_entersyscall,
	.sysmon_sleep = trace_sysmon_sleep,
	.sysmon_wake = trace_sysmon_wake,
	.preempt = gx_off_preempt,
};

/* fallback - back to off mode (sysmon, or a failed attach). The policy
 * switches first, so sysmon never acts on a word after the links close. */
static void fallback(const char *why)
{
	if (!atomic_exchange(&gx_kassist_active, false))
		return;
	gx_policy = &gx_off_policy;
	atomic_store(&cur_mode, GX_KASSIST_OFF);
	snprintf(status_text, sizeof(status_text), "%s; running in off mode", why);
	gx_print("gmpx: kassist: %s; falling back to off mode\n", why);
	gx_scx_fallback();
	if (sbevfd >= 0)
		evpoke(sbevfd); /* the standby goes back to its futex */
	pthread_mutex_lock(&socklock);
	for (int i = 0; i < nlinkfds; i++)
		close(linkfds[i]);
	nlinkfds = 0;
	if (sock >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, sock, NULL);
		close(sock);
		sock = -1;
	}
	pthread_mutex_unlock(&socklock);
}

/* ---- attach ------------------------------------------------------------------------- */

static void closefds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * spawn_loader - GX_KASSIST_LOAD=/path/to/gmpx-sched: load the BPF programs
 * ourselves (root only), through a private daemon on a private socket. It
 * lives exactly as long as this process: it exits cleanly when the pipe
 * whose write end we keep (and never close) hangs up. Returns the socket
 * path, or NULL with why.
 */
static const char *spawn_loader(const char *bin, char *why, size_t whylen)
{
	static char sockpath[96], pins[64], dir[64];
	if (geteuid() != 0) {
		snprintf(why, whylen, "GX_KASSIST_LOAD needs root (loading BPF programs)");
		return NULL;
	}
	snprintf(dir, sizeof(dir), "/tmp/gmpx-kassist-%d", (int)getpid());
	snprintf(sockpath, sizeof(sockpath), "%s/sched.sock", dir);
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/gmpx-%d", (int)getpid());
	unlink(sockpath); /* a killed process with our pid may have left one */
	int watch[2];
	if (pipe2(watch, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return NULL;
	}
	char fd[16];
	snprintf(fd, sizeof(fd), "%d", watch[0]);
	char *argv[] = {(char *)bin, (char *)"--socket",   sockpath, (char *)"--pin-dir",
			pins,	     (char *)"--watch-fd", fd,	     NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, watch[0], watch[0]); /* clears close-on-exec */
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	extern char **environ;
	int err = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(watch[0]);
	if (err) {
		close(watch[1]);
		snprintf(why, whylen, "cannot start %s: %s", bin, strerror(err));
		return NULL;
	}
	/* watch[1] stays open for the life of the process */
	for (int64_t t0 = gx_nanotime(); access(sockpath, F_OK) != 0;) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid || gx_nanotime() - t0 > (int64_t)DAEMON_TIMEOUT_S * 1000000000) {
			snprintf(why, whylen, "%s did not start (cannot load BPF here?)", bin);
			return NULL;
		}
		usleep(1000);
	}
	return sockpath;
}

static int attach_mode(int mode, char *why, size_t whylen)
{
	const char *path = getenv("GX_KASSIST_SOCK");
	if (!path || !*path)
		path = GX_KABI_SOCK_DEFAULT;
	static const char *loaded; /* auto tries twice: one loader */
	const char *load = getenv("GX_KASSIST_LOAD");
	if (load && *load) {
		if (!loaded)
			loaded = spawn_loader(load, why, whylen);
		if (!loaded)
			return -ENOENT;
		path = loaded;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "GX_KASSIST_SOCK is too long");
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			snprintf(why, whylen, "no gmpx-sched daemon at %s (start tools/gmpx-sched as root)", path);
		else
			snprintf(why, whylen, "cannot connect to gmpx-sched at %s: %s", path, strerror(e));
		close(s);
		return -e;
	}
	struct timeval tv = {DAEMON_TIMEOUT_S, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sock = s;
	int fds[MAX_FDS], nfds = 0;
	struct gx_kabi_msg reply = {0};
	/* auto asks for the best and takes what the daemon grants (one
	 * attachment per process: no second HELLO) */
	uint32_t want = mode == GX_KASSIST_TRACE ? GX_KABI_TRACE : GX_KABI_SCX;
	int err = request(GX_MSG_HELLO, want, (uint32_t)atomic_load(&gx_sched.gomaxprocs), fds, &nfds, &reply, why,
			  whylen);
	/* trace and scx take only what they asked for; auto the best granted */
	uint32_t got = reply.arg0;
	bool granted = mode == GX_KASSIST_AUTO ? got == GX_KABI_TRACE || got == GX_KABI_SCX : got == want;
	int nlinks = (int)reply.arg2;
	if (err == 0 && (nlinks < 0 || 2 + nlinks + (got == GX_KABI_SCX) != nfds))
		granted = false; /* not the fds the protocol promises */
	if (err == 0 && (nfds < 2 || !granted)) {
		snprintf(why, whylen, "gmpx-sched offers %s mode only",
			 reply.arg0 == GX_KABI_SCX ? "scx" : (reply.arg0 == GX_KABI_TRACE ? "trace" : "no"));
		err = -EOPNOTSUPP;
	}
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (sizeof(struct gx_kabi_proc) + pg - 1) & ~(pg - 1);
	void *st = MAP_FAILED;
	int kfd = -1;
	if (err)
		goto fail;
	if (got == GX_KABI_SCX) {
		if ((err = gx_scx_attach(why, whylen)) != 0)
			goto fail;
		kfd = fds[2 + nlinks];
	}
	st = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	struct gx_kabi_proc *kp = st;
	if (st == MAP_FAILED || kp->hdr.magic != GX_KABI_MAGIC || kp->hdr.version != GX_KABI_VERSION ||
	    kp->hdr.tgid != (uint32_t)getpid()) {
		snprintf(why, whylen, "the state map from gmpx-sched is %s",
			 st == MAP_FAILED ? "not mappable" : "not ours (magic, version or pid)");
		err = -EPROTO;
		goto fail;
	}
	if (rb_map(fds[1], why, whylen) != 0) {
		err = -EPROTO;
		goto fail;
	}
	rbfd = fds[1];
	close(fds[0]); /* the mapping keeps the map */
	nlinkfds = 0;
	for (int i = 2; i < 2 + nlinks; i++)
		linkfds[nlinkfds++] = fds[i];

	epfd = epoll_create1(EPOLL_CLOEXEC);
	wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	epoll_add(epfd, rbfd, EPOLLIN);
	epoll_add(epfd, wakefd, EPOLLIN);
	epoll_add(epfd, s, EPOLLRDHUP); /* hang-up only: replies are read by request() */
	sbepfd = epoll_create1(EPOLL_CLOEXEC);
	sbevfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	epoll_add(sbepfd, rbfd, EPOLLIN);
	epoll_add(sbepfd, sbevfd, EPOLLIN);

	/* Point every P and the running M (m0) into the shared state. Only m0
	 * exists, so nothing runs concurrently. */
	gx_kabi = kp;
	kp->hdr.np = (uint32_t)atomic_load(&gx_sched.gomaxprocs);
	kp->hdr.quantum_ns = (uint64_t)gx_quantum_ns;
	for (int32_t i = 0; i < atomic_load(&gx_sched.nallp) && i < GX_KABI_MAX_P; i++) {
		struct gx_p *pp = gx_allp[i];
		if (!pp)
			continue;
		kp->p[i] = pp->kslot_local;
		pp->kslot = &kp->p[i];
	}
	if (kfd >= 0)
		gx_scx_publish(kfd);
	atomic_store_explicit(&gx_kassist_active, true, memory_order_release);
	mreg(getm());
	int granted_mode = kfd >= 0 ? GX_KASSIST_SCX : GX_KASSIST_TRACE;
	gx_policy = kfd >= 0 ? &scx_policy : &trace_policy;
	atomic_store(&cur_mode, granted_mode);
	snprintf(status_text, sizeof(status_text), "%s mode (gmpx-sched at %s)", modename(granted_mode), path);
	return 0;
fail:
	if (kfd >= 0)
		gx_scx_detach();
	if (st != MAP_FAILED)
		munmap(st, len);
	closefds(fds, nfds);
	close(s);
	sock = -1;
	return err;
}

void gx_kassist_attach(void)
{
	int mode = want_mode;
	if (mode < 0) {
		const char *env = getenv("GX_KASSIST");
		mode = GX_KASSIST_OFF;
		if (env && *env) {
			if (strcmp(env, "trace") == 0)
				mode = GX_KASSIST_TRACE;
			else if (strcmp(env, "scx") == 0)
				mode = GX_KASSIST_SCX;
			else if (strcmp(env, "auto") == 0)
				mode = GX_KASSIST_AUTO;
			else if (strcmp(env, "off") != 0)
				gx_print("gmpx: GX_KASSIST=%s is not off, trace, scx or auto; using off\n", env);
		}
	}
	snprintf(status_text, sizeof(status_text), "off mode (not requested)");
	if (mode == GX_KASSIST_OFF)
		return;
	char why[256] = "";
	int err;
	err = attach_mode(mode, why, sizeof(why));
	if (err) {
		snprintf(status_text, sizeof(status_text), "%s mode unavailable: %s; running in off mode",
			 modename(mode), why);
		gx_print("gmpx: kassist: %s\n", status_text);
	}
}
