/* SPDX-License-Identifier: MIT */
/*
 * netpoll_epoll.c - the network poller on epoll (Go's netpoll_epoll.go).
 *
 * Today it is where an idle runtime sleeps: when no M has work, the last one
 * to go idle blocks here (findrunnable), without a P, until the earliest
 * timer (sched.polluntil) or until gx_netpollbreak writes the eventfd
 * because an earlier timer or new work arrived. Every other idle M parks on
 * its futex. sched.lastpoll == 0 means an M is blocked here.
 *
 * Waiting uses epoll_pwait2 (Linux 5.11+) for nanosecond timeouts, so a
 * sleeping goroutine is not woken up to a millisecond late; older kernels
 * fall back to epoll_wait with the timeout rounded up to a millisecond.
 *
 * The I/O layer (poll descriptors with reader/writer wait slots, deadlines)
 * registers its fds on the same epoll instance and returns the goroutines
 * that became ready from gx_netpoll.
 */
#include "runtime.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static int epfd = -1;
static int breakfd = -1;
static _Atomic uint32_t breakpending; /* a break is written and not yet consumed */
static bool no_pwait2;

void gx_netpollinit(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	breakfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || breakfd < 0)
		gx_fatal("netpollinit: epoll_create1/eventfd failed (errno %d)", errno);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &breakfd};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, breakfd, &ev) < 0)
		gx_fatal("netpollinit: epoll_ctl failed (errno %d)", errno);
	atomic_store(&gx_sched.lastpoll, gx_nanotime());
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

gx_g *gx_netpoll(int64_t delay)
{
	struct epoll_event events[128];
	int n;
	if (!no_pwait2) {
		struct timespec ts, *tsp = NULL;
		if (delay >= 0) {
			ts.tv_sec = delay / 1000000000;
			ts.tv_nsec = delay % 1000000000;
			tsp = &ts;
		}
		n = (int)syscall(SYS_epoll_pwait2, epfd, events, 128, tsp, NULL, 0);
		if (n < 0 && errno == ENOSYS) {
			no_pwait2 = true;
			return NULL; /* caller loops back; next time epoll_wait */
		}
	} else {
		int ms = delay < 0 ? -1 : (int)((delay + 999999) / 1000000);
		n = epoll_wait(epfd, events, 128, ms);
	}
	for (int i = 0; i < n; i++) {
		if (events[i].data.ptr == &breakfd) {
			uint64_t v;
			ssize_t r = read(breakfd, &v, sizeof(v));
			(void)r;
			atomic_store(&breakpending, 0);
		}
	}
	return NULL;
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
