/* SPDX-License-Identifier: MIT */
/*
 * netpoll.h - the poll descriptor shared by the poller (netpoll_epoll.c)
 * and the I/O calls (net.c).
 */
#ifndef GX_NETPOLL_H
#define GX_NETPOLL_H

#include "runtime.h"

#define PD_READY ((uintptr_t)1)
#define PD_WAIT	 ((uintptr_t)2)

/* One per registered fd (Go's pollDesc). Allocated on first use of an fd
 * number and reused when the number is, never freed: a late epoll event for
 * a closed fd finds a valid descriptor and at worst wakes a waiter that
 * then sees EAGAIN and waits again. */
struct gx_polldesc {
	_Atomic uintptr_t rg, wg; /* wait slots: 0, PD_READY, PD_WAIT or a G */
	_Atomic int32_t fd;	  /* -1 when not registered */
	_Atomic bool closing;	  /* gx_fd_close began: waiters get -EBADF */
	_Atomic int64_t rd, wd;	  /* per-fd deadlines, 0: none */
	_Atomic int32_t refs;	  /* calls in progress (close waits for 0) */
	bool sock;		  /* a socket: writes use send(MSG_NOSIGNAL) */
	/* Concurrent reads (accepts) and concurrent writes are serialized, as
	 * Go's fdMutex does: one waiter per slot. */
	gx_mutex rmu, wmu;
};

GX_HIDDEN int gx_netpollopen(int fd, struct gx_polldesc *pd);
GX_HIDDEN int gx_netpollclose(int fd);
GX_HIDDEN bool gx_netpollblock(_Atomic uintptr_t *slot, bool (*checkerr)(void *), void *arg);
GX_HIDDEN gx_g *gx_netpollunblock(_Atomic uintptr_t *slot, bool ioready);
/* Start an M for an idle P, if any (injectglist). */
GX_HIDDEN void gx_startm_idle(void);

#endif
