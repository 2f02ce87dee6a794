/* SPDX-License-Identifier: MIT */
/*
 * netpoll_epoll.c - the network poller on epoll (Go's netpoll.go and
 * netpoll_epoll.go).
 *
 * One edge-triggered epoll instance. Each registered fd has a poll
 * descriptor (struct gx_polldesc, net.c) with two wait slots, rg and wg
 * (readers, writers), each holding:
 *    0         nothing happened, nobody waits
 *    PD_READY  an I/O notification arrived and was not consumed yet
 *    PD_WAIT   a goroutine is about to park (between its check and park)
 *    a G       that goroutine is parked waiting
 * netpollblock and netpollunblock move a slot between these with CAS, as
 * Go does. A waiter sets PD_WAIT, re-checks close/deadline, parks (the
 * commit CASes PD_WAIT -> G); a waker swaps in PD_READY (I/O) or 0 (close,
 * deadline, which the waiter re-checks) and readies the G it found. No
 * lock on the I/O path.
 *
 * Who polls:
 *  - findrunnable polls without blocking before it steals, when goroutines
 *    wait on I/O and nobody is blocked in epoll already;
 *  - the last M to go idle blocks in epoll_wait (epoll_pwait2, ns timeout)
 *    until the next timer or forever, woken by an eventfd (netpollbreak)
 *    when an earlier timer is armed; sched.lastpoll == 0 while it does;
 *  - sysmon polls when nobody has for 10 ms (every P busy).
 * Goroutines made ready go to the global queue (injectglist), which also
 * starts Ms for idle Ps.
 */
#include "runtime.h"
#include "netpoll.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

#define NETPOLL_BATCH  128
#define SYSMON_POLL_NS ((int64_t)10000000) /* Go: sysmon polls if nobody has for 10 ms */

static int epfd = -1;
static int breakfd = -1;
static _Atomic uint32_t breakpending; /* a break is written and not yet consumed */
static bool no_pwait2;
_Atomic int32_t gx_netpollwaiters;

void gx_netpollinit(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	breakfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || breakfd < 0) {
		int e = errno;
		struct rlimit rl = {0, 0};
		getrlimit(RLIMIT_NOFILE, &rl);
		gx_fatal("netpollinit: cannot create the poller's %s: %s (RLIMIT_NOFILE is %llu)",
			 epfd < 0 ? "epoll fd" : "eventfd", strerror(e), (unsigned long long)rl.rlim_cur);
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &breakfd};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, breakfd, &ev) < 0)
		gx_fatal("netpollinit: epoll_ctl failed (errno %d)", errno);
	atomic_store(&gx_sched.lastpoll, gx_nanotime());
}

int gx_netpollopen(int fd, struct gx_polldesc *pd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = pd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int gx_netpollclose(int fd)
{
	struct epoll_event ev = {0};
	return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev) == 0 ? 0 : -errno;
}

void gx_netpollbreak(void)
{
	/* One outstanding break is enough. */
	uint32_t zero = 0;
	if (!atomic_compare_exchange_strong(&breakpending, &zero, 1))
		return;
	uint64_t one = 1;
	for (;;) {
		ssize_t n = write(breakfd, &one, sizeof(one));
		if (n == sizeof(one) || (n < 0 && errno == EAGAIN))
			return;
		if (n < 0 && errno != EINTR)
			gx_fatal("netpollbreak: write to eventfd failed (errno %d)", errno);
	}
}

/* ---- the wait slots ------------------------------------------------------- */

static bool netpollblockcommit(gx_g *gp, void *slot)
{
	uintptr_t wait = PD_WAIT;
	if (!atomic_compare_exchange_strong((_Atomic uintptr_t *)slot, &wait, (uintptr_t)gp))
		return false; /* unblocked meanwhile: do not park */
	atomic_fetch_add(&gx_netpollwaiters, 1);
	return true;
}

/*
 * gx_netpollblock - wait for I/O readiness on a slot. Returns true if a
 * notification was consumed (retry the call), false if woken for another
 * reason (close, deadline: the caller re-checks). checkerr is called after
 * the slot is set to PD_WAIT and must return true if the wait should not
 * happen (closed, deadline passed).
 */
bool gx_netpollblock(_Atomic uintptr_t *slot, bool (*checkerr)(void *), void *arg)
{
	for (;;) {
		uintptr_t v = PD_READY;
		if (atomic_compare_exchange_strong(slot, &v, 0))
			return true;
		v = 0;
		if (atomic_compare_exchange_strong(slot, &v, PD_WAIT))
			break;
		if (v != PD_READY && v != 0)
			gx_fatal("netpollblock: two goroutines wait on one fd in the same direction");
	}
	/* The close/deadline side stores its state, then looks at the slot: we
	 * set the slot, then look at the state (both sequentially consistent). */
	if (!checkerr(arg))
		gx_gopark(netpollblockcommit, (void *)slot, "IO wait");
	uintptr_t old = atomic_exchange(slot, 0);
	if (old > PD_WAIT)
		gx_fatal("netpollblock: corrupted poll descriptor");
	return old == PD_READY;
}

/*
 * gx_netpollunblock - wake the waiter of a slot: with ioready, leave (or
 * hand it) a notification; without, just make it re-check. Returns the G to
 * ready, or NULL.
 */
gx_g *gx_netpollunblock(_Atomic uintptr_t *slot, bool ioready)
{
	for (;;) {
		uintptr_t old = atomic_load(slot);
		if (old == PD_READY)
			return NULL;
		if (old == 0 && !ioready)
			return NULL; /* the waiter checks close/deadline before waiting */
		uintptr_t new = ioready ? PD_READY : 0;
		if (atomic_compare_exchange_strong(slot, &old, new)) {
			if (old == PD_WAIT || old == 0)
				return NULL;
			atomic_fetch_sub(&gx_netpollwaiters, 1);
			return (gx_g *)old;
		}
	}
}

/* ---- polling ----------------------------------------------------------------- */

gx_g *gx_netpoll(int64_t delay, int32_t *count)
{
	struct epoll_event events[NETPOLL_BATCH];
	int n;
	*count = 0;
	if (!no_pwait2) {
		struct timespec ts, *tsp = NULL;
		if (delay >= 0) {
			ts.tv_sec = delay / 1000000000;
			ts.tv_nsec = delay % 1000000000;
			tsp = &ts;
		}
		n = (int)syscall(SYS_epoll_pwait2, epfd, events, NETPOLL_BATCH, tsp, NULL, 0);
		if (n < 0 && errno == ENOSYS) {
			no_pwait2 = true;
			return NULL; /* caller loops back; next time epoll_wait */
		}
	} else {
		int ms = delay < 0 ? -1 : (int)((delay + 999999) / 1000000);
		n = epoll_wait(epfd, events, NETPOLL_BATCH, ms);
	}
	gx_g *list = NULL;
	for (int i = 0; i < n; i++) {
		if (events[i].data.ptr == &breakfd) {
			uint64_t v;
			ssize_t r = read(breakfd, &v, sizeof(v));
			(void)r;
			atomic_store(&breakpending, 0);
			continue;
		}
		struct gx_polldesc *pd = events[i].data.ptr;
		uint32_t ev = events[i].events;
		gx_g *gp;
		if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && (gp = gx_netpollunblock(&pd->rg, true))) {
			gp->schedlink = list;
			list = gp;
			(*count)++;
		}
		if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && (gp = gx_netpollunblock(&pd->wg, true))) {
			gp->schedlink = list;
			list = gp;
			(*count)++;
		}
	}
	if (*count)
		atomic_fetch_add_explicit(&gx_rtstats.netpollready, (uint64_t)*count, memory_order_relaxed);
	return list;
}

void gx_injectglist(gx_g *list, int32_t n)
{
	if (!list)
		return;
	gx_g *tail = list;
	for (gx_g *gp = list; gp; gp = gp->schedlink) {
		gx_casgstatus(gp, Gwaiting, Grunnable);
		tail = gp;
	}
	gx_lock(&gx_sched.lock);
	gx_globrunqputbatch(list, tail, n);
	gx_unlock(&gx_sched.lock);
	for (int32_t i = 0; i < n && atomic_load(&gx_sched.npidle) > 0; i++)
		gx_startm_idle();
}

void gx_sysmon_netpoll(int64_t now)
{
	int64_t last = atomic_load(&gx_sched.lastpoll);
	if (last == 0 || now - last < SYSMON_POLL_NS || atomic_load(&gx_netpollwaiters) == 0)
		return;
	if (!atomic_compare_exchange_strong(&gx_sched.lastpoll, &last, now))
		return;
	int32_t n;
	gx_g *list = gx_netpoll(0, &n);
	gx_injectglist(list, n);
}

void gx_wakenetpoller(int64_t when)
{
	if (atomic_load(&gx_sched.lastpoll) == 0) {
		/* An M is blocked in netpoll: wake it if it would sleep past when. */
		int64_t until = atomic_load(&gx_sched.polluntil);
		if (until == 0 || until > when)
			gx_netpollbreak();
	} else {
		/* Nobody polls: get an M going, it will poll with the right
		 * deadline once it finds nothing to run. */
		gx_wakep();
	}
}
