/* SPDX-License-Identifier: MIT */
/*
 * kassist_trace.c - trace mode: the BPF tracing programs
 * (bpf/gmpx_trace.bpf.c, loaded by gmpx-sched) watch sched_switch for this
 * process's Ms and tell the runtime, through the ring buffer
 * (kassist_ring.c), the moment an M that holds a P blocks in the kernel
 * while that P has work, for any reason: a wrapped syscall, an unwrapped
 * read(), a futex, a page fault. The P is then taken from the M at once
 * (kassist_revoke.c) instead of on sysmon's guess.
 *
 * sysmon. It sleeps in epoll on the ring buffer, its own eventfd (the
 * core's sysmon_wake) and the daemon's socket (for the hang-up), instead
 * of on a futex with a timeout; its periodic scan still revokes a P whose
 * M has been blocked BLOCKED_RETAKE_NS with work (a missed or dropped
 * event, or work that arrived after the block) and kicks revoked
 * goroutines that run on without a P (gx_kassist_kick).
 *
 * The waiter. sysmon waking on an event and then waking an idle M for the
 * freed P costs two thread wake-ups (~30 us each on the VMs this was
 * measured on). So one idle M at a time, the waiter, parks in epoll on the
 * ring buffer itself instead of on its futex: the kernel's notification
 * wakes it directly and it takes the freed P for itself. While a waiter
 * exists sysmon does not watch the ring buffer (one consumer at a time;
 * the drain also excludes the other), and watches it again when the
 * waiter leaves; the ring buffer's readiness is level-triggered, so
 * nothing is missed in between. startm still wakes the waiter like any
 * idle M (its note, plus an eventfd: trace_wakem). (Not to be confused with
 * scx mode's standbys: one per P, parked by the BPF scheduler.)
 *
 * A syscall entry does not wake sysmon for a tracked M: BPF reports the
 * block if the call blocks. Preemption is a signal, as in off mode.
 */
#include "runtime.h"
#include "kassist.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* A P that has been in a syscall or blocked this long with work is handed
 * off by sysmon's own scan even without an event. */
#define BLOCKED_RETAKE_NS GX_SYSCALL_RETAKE_NS

static int epfd = -1, wakefd = -1; /* sysmon's epoll set and wake-up */
static _Atomic(struct gx_m *) waiter;
static int wepfd = -1, wevfd = -1; /* the waiter's epoll set and wake-up */

/* Our eventfds: poke, and drain after a wake-up. Failures cannot matter:
 * a poke only fails if the counter is already huge, i.e. the sleeper is
 * being woken anyway. */
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

int gx_ktrace_setup(char *why, size_t whylen)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	wepfd = epoll_create1(EPOLL_CLOEXEC);
	wevfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (epfd < 0 || wakefd < 0 || wepfd < 0 || wevfd < 0) {
		snprintf(why, whylen, "epoll/eventfd: %s", strerror(errno));
		return -errno;
	}
	epoll_add(epfd, gx_kring_fd, EPOLLIN);
	epoll_add(epfd, wakefd, EPOLLIN);
	epoll_add(epfd, gx_kclient_sock, EPOLLRDHUP); /* hang-up only: replies are read by the requests */
	epoll_add(wepfd, gx_kring_fd, EPOLLIN);
	epoll_add(wepfd, wevfd, EPOLLIN);
	return 0;
}

void gx_ktrace_minit(struct gx_m *mp)
{
	if (atomic_load_explicit(&gx_kassist_active, memory_order_acquire))
		gx_kclient_mreg(mp);
}

bool gx_ktrace_retake(struct gx_p *pp, int64_t now)
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

int64_t gx_ktrace_sysmon_tick(int64_t now)
{
	return gx_kassist_kick(now);
}

void gx_ktrace_sysmon_sleep(int64_t until)
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
		else if (evs[i].data.fd == gx_kclient_sock)
			hup = true;
	}
	/* Events first: even in the hang-up case the programs are still
	 * attached (we hold the links), so the words are current. */
	gx_kring_drain(gx_nanotime(), NULL);
	if (hup) {
		const char *x = gx_kclient_exit_text();
		gx_kassist_fallback(x[0] ? x : "gmpx-sched went away (its socket closed)");
	}
	atomic_store(&gx_sysmon_wakeat, 0);
}

void gx_ktrace_sysmon_wake(void)
{
	evpoke(wakefd);
}

void gx_ktrace_entersyscall(struct gx_m *mp, struct gx_p *pp, int64_t now)
{
	/* A tracked M: BPF tells sysmon if the call blocks. */
	if (mp->kslot == &mp->kslot_local)
		gx_off_entersyscall(mp, pp, now);
}

void gx_ktrace_idle(struct gx_m *mp)
{
	struct gx_m *none = NULL;
	if (wepfd < 0 || !atomic_load(&gx_kassist_active) || !atomic_compare_exchange_strong(&waiter, &none, mp))
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, gx_kring_fd, NULL); /* we are the consumer now */
	struct epoll_event evs[2];
	while (atomic_load(&mp->park.key) == 0 && atomic_load(&gx_kassist_active)) {
		int n = epoll_pwait2(wepfd, evs, 2, NULL, NULL);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == wevfd)
				evdrain(wevfd);
		struct gx_p *pp = NULL;
		gx_kring_drain(gx_nanotime(), &pp);
		if (!pp)
			continue;
		gx_lock(&gx_sched.lock);
		bool mine = gx_midle_remove(mp);
		gx_unlock(&gx_sched.lock);
		if (!mine) {
			gx_handoffp(pp); /* startm is waking us already: the usual way */
			continue;
		}
		mp->nextp = pp; /* stopm takes it; nobody sleeps on our note: no futex wake */
		atomic_store_explicit(&mp->park.key, 1, memory_order_release);
	}
	epoll_add(epfd, gx_kring_fd, EPOLLIN); /* sysmon again */
	atomic_store(&waiter, NULL);
}

void gx_ktrace_wakem(struct gx_m *mp)
{
	gx_storeload_fence(); /* our note store before the load; pairs with the CAS above */
	if (atomic_load_explicit(&waiter, memory_order_relaxed) == mp)
		evpoke(wevfd);
}

void gx_ktrace_fallback(void)
{
	if (wevfd >= 0)
		evpoke(wevfd); /* the waiter goes back to its futex */
}

const struct gx_kassist_ops gx_kassist_trace = {
	.name = "trace",
	.mode = GX_KASSIST_TRACE,
	.minit = gx_ktrace_minit,
	.start = gx_off_start,	     /* as off mode: nothing to start, */
	.newp = gx_off_newp,	     /* nothing to publish but the slot, */
	.acquirep = gx_off_acquirep, /* no placement, */
	.mget = gx_off_mget,	     /* no preferred M */
	.wakem = gx_ktrace_wakem,
	.idle = gx_ktrace_idle,
	.retake = gx_ktrace_retake,
	.sysmon_slices = true,
	.kernel_mstate = true,
	.sysmon_tick = gx_ktrace_sysmon_tick,
	.sysmon_sleep = gx_ktrace_sysmon_sleep,
	.sysmon_wake = gx_ktrace_sysmon_wake,
	.entersyscall = gx_ktrace_entersyscall,
	.preempt = gx_off_preempt, /* a signal, as in off mode */
	.event = gx_kassist_block_event,
};
