/* SPDX-License-Identifier: MIT */
/*
 * net.c - goroutine I/O on the netpoller (Go's internal/poll.FD and the
 * net package's dial/listen helpers): see gmpx/net.h for the contract.
 *
 * Every call follows one loop: try the system call on the non-blocking
 * fd; on EAGAIN, wait on the fd's read or write slot (netpollblock) until
 * epoll reports it ready, the effective deadline passes, or the fd is
 * closed; repeat. The effective deadline is the earlier of the call's and
 * the fd's (gx_fd_set_deadline); it is enforced by a runtime timer armed
 * for the wait, whose callback unblocks the slot so the waiter re-checks.
 * gx_fd_set_deadline and gx_fd_close also unblock waiters to re-check.
 *
 * Concurrent reads (and accepts) on one fd, and concurrent writes, queue
 * on the descriptor's read or write mutex (Go's fdMutex): each wait slot
 * has at most one waiter.
 *
 * Close: gx_fd_close marks the descriptor closing, wakes its waiters (they
 * return -EBADF), waits until no call is inside the fd (a reference count
 * taken by every call), and only then removes it from epoll and closes the
 * fd number, so a concurrent call never touches a reused number.
 *
 * Descriptors live in a two-level table indexed by fd (1,024 pages of
 * 1,024), allocated on demand and never freed.
 */
#define _GNU_SOURCE
#include "runtime.h"
#include "netpoll.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PD_PAGE	 1024
#define PD_PAGES 1024 /* fds up to 1,048,575 */
/* A call with a deadline queued behind another on the same fd checks for
 * its turn this often (GX_FOREVER callers simply queue on the mutex). */
#define QUEUE_POLL_NS ((int64_t)1000000)

static _Atomic(struct gx_polldesc *) pdpages[PD_PAGES];
static gx_lock_t pdlock;

/* pdget - the descriptor for fd, created if create; NULL if fd is out of
 * range or (create == false) never registered. */
static struct gx_polldesc *pdget(int fd, bool create)
{
	if (fd < 0 || fd >= PD_PAGE * PD_PAGES)
		return NULL;
	struct gx_polldesc *page = atomic_load_explicit(&pdpages[fd / PD_PAGE], memory_order_acquire);
	if (!page) {
		if (!create)
			return NULL;
		gx_lock(&pdlock);
		page = atomic_load(&pdpages[fd / PD_PAGE]);
		if (!page) {
			page = calloc(PD_PAGE, sizeof(*page));
			if (page) {
				for (int i = 0; i < PD_PAGE; i++)
					atomic_store(&page[i].fd, -1);
				atomic_store_explicit(&pdpages[fd / PD_PAGE], page, memory_order_release);
			}
		}
		gx_unlock(&pdlock);
		if (!page)
			return NULL;
	}
	return &page[fd % PD_PAGE];
}

/* pdref - take a reference on a registered, open descriptor. */
static struct gx_polldesc *pdref(int fd)
{
	struct gx_polldesc *pd = pdget(fd, false);
	if (!pd || atomic_load(&pd->fd) != fd)
		return NULL;
	atomic_fetch_add(&pd->refs, 1);
	if (atomic_load(&pd->closing) || atomic_load(&pd->fd) != fd) {
		atomic_fetch_sub(&pd->refs, 1);
		return NULL;
	}
	return pd;
}

static void pdunref(struct gx_polldesc *pd)
{
	atomic_fetch_sub(&pd->refs, 1);
}

/*
 * pdbegin - start an operation on fd in one direction: a reference (close
 * waits for it) and the direction's mutex (one reader, one writer at a
 * time). Returns the descriptor, or NULL with *err set. A thread outside
 * the runtime only gets in if nobody else is inside.
 */
static struct gx_polldesc *pdbegin(int fd, int mode, int64_t deadline, int *err)
{
	if (!gx_runtime_ready()) {
		*err = -EPERM; /* before gx_main: no poller, no fd is registered */
		return NULL;
	}
	struct gx_polldesc *pd = pdref(fd);
	if (!pd) {
		*err = -EBADF;
		return NULL;
	}
	gx_mutex *mu = mode == 'r' ? &pd->rmu : &pd->wmu;
	int r = gx_mutex_trylock(mu);
	if (r && getg()) {
		if (deadline < 0) {
			r = gx_mutex_lock(mu);
		} else {
			/* queued behind another caller, with a deadline of our own:
			 * wait for our turn, but not past the deadline */
			while ((r = gx_mutex_trylock(mu)) != 0 && deadline != GX_NOW) {
				int64_t left = deadline - gx_nanotime();
				if (left <= 0) {
					r = -ETIMEDOUT;
					break;
				}
				gx_sleep(left < QUEUE_POLL_NS ? left : QUEUE_POLL_NS);
			}
		}
	}
	if (r) {
		pdunref(pd);
		*err = r == -EBUSY ? -EAGAIN : r;
		return NULL;
	}
	if (atomic_load(&pd->closing)) { /* closed while we queued */
		gx_mutex_unlock(mu);
		pdunref(pd);
		*err = -EBADF;
		return NULL;
	}
	return pd;
}

static void pdend(struct gx_polldesc *pd, int mode)
{
	gx_mutex_unlock(mode == 'r' ? &pd->rmu : &pd->wmu);
	pdunref(pd);
}

int gx_fd_open(int fd)
{
	GX_ENTER();
	if (!gx_runtime_ready())
		return -EPERM; /* the poller starts in gx_main */
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	struct gx_polldesc *pd = pdget(fd, true);
	if (!pd)
		return fd >= PD_PAGE * PD_PAGES ? -EMFILE : -ENOMEM;
	int32_t none = -1;
	if (!atomic_compare_exchange_strong(&pd->fd, &none, fd))
		return -EEXIST;
	atomic_store(&pd->rg, 0);
	atomic_store(&pd->wg, 0);
	atomic_store(&pd->rd, 0);
	atomic_store(&pd->wd, 0);
	atomic_store(&pd->closing, false);
	pd->sock = S_ISSOCK(st.st_mode);
	pd->rmu = (gx_mutex)GX_MUTEX_INIT;
	pd->wmu = (gx_mutex)GX_MUTEX_INIT;
	int fl = fcntl(fd, F_GETFL);
	int err = fl < 0 ? -errno : 0;
	if (!err && !(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		err = -errno;
	if (!err)
		err = gx_netpollopen(fd, pd); /* -EPERM for regular files */
	if (err)
		atomic_store(&pd->fd, -1);
	return err;
}

static void pdwake(struct gx_polldesc *pd, bool r, bool w)
{
	gx_g *gp;
	if (r && (gp = gx_netpollunblock(&pd->rg, false)))
		gx_ready_g(gp, false);
	if (w && (gp = gx_netpollunblock(&pd->wg, false)))
		gx_ready_g(gp, false);
}

int gx_fd_close(int fd)
{
	GX_ENTER();
	if (!gx_runtime_ready())
		return -EPERM;
	struct gx_polldesc *pd = pdget(fd, false);
	if (!pd || atomic_load(&pd->fd) != fd)
		return -EBADF;
	bool was = false;
	if (!atomic_compare_exchange_strong(&pd->closing, &was, true))
		return -EBADF; /* another close is under way */
	pdwake(pd, true, true);
	/* wait for the calls inside the fd to leave (they see closing) */
	while (atomic_load(&pd->refs) > 0) {
		if (getg())
			gx_yield();
		else
			gx_osyield();
		pdwake(pd, true, true);
	}
	gx_netpollclose(fd);
	atomic_store(&pd->fd, -1);
	return close(fd) == 0 ? 0 : -errno;
}

int gx_fd_set_deadline(int fd, int64_t rd, int64_t wd)
{
	GX_ENTER();
	if (!gx_runtime_ready())
		return -EPERM;
	struct gx_polldesc *pd = pdref(fd);
	if (!pd)
		return -EBADF;
	atomic_store(&pd->rd, rd < 0 ? 0 : rd);
	atomic_store(&pd->wd, wd < 0 ? 0 : wd);
	pdwake(pd, true, true); /* blocked calls re-check against the new deadline */
	pdunref(pd);
	return 0;
}

/* ---- waiting ----------------------------------------------------------------- */

struct waitarg {
	struct gx_polldesc *pd;
	int64_t deadline; /* effective, 0: none */
};

static bool waitcheckerr(void *arg)
{
	struct waitarg *w = arg;
	return atomic_load(&w->pd->closing) || (w->deadline && gx_nanotime() >= w->deadline);
}

struct deadlinetimer {
	_Atomic uintptr_t *slot;
};

static void deadlinefired(void *arg, uintptr_t seq)
{
	(void)seq;
	struct deadlinetimer *dt = arg;
	gx_g *gp = gx_netpollunblock(dt->slot, false);
	if (gp)
		gx_ready_g(gp, false);
}

static int64_t effdeadline(int64_t call, int64_t fdl)
{
	if (call <= 0)
		return fdl;
	if (fdl <= 0)
		return call;
	return call < fdl ? call : fdl;
}

/*
 * pdwait - the fd said EAGAIN: wait for it (mode 'r' or 'w'). Returns 0 to
 * retry the call, -EBADF (closing), -ETIMEDOUT, -EAGAIN (GX_NOW), -EPERM
 * (would block outside a goroutine).
 */
static int pdwait(struct gx_polldesc *pd, int mode, int64_t call_deadline)
{
	if (call_deadline == GX_NOW)
		return -EAGAIN;
	if (!getg())
		return -EPERM;
	_Atomic uintptr_t *slot = mode == 'r' ? &pd->rg : &pd->wg;
	struct waitarg w = {pd, effdeadline(call_deadline, atomic_load(mode == 'r' ? &pd->rd : &pd->wd))};
	if (atomic_load(&pd->closing))
		return -EBADF;
	if (w.deadline && gx_nanotime() >= w.deadline)
		return -ETIMEDOUT;
	struct gx_rtimer t = {.when = 0};
	struct deadlinetimer dt = {slot};
	if (w.deadline)
		gx_addtimer(&t, w.deadline, 0, deadlinefired, &dt, 0);
	gx_netpollblock(slot, waitcheckerr, &w);
	if (w.deadline)
		gx_deltimer(&t);
	if (atomic_load(&pd->closing))
		return -EBADF;
	/* A deadline that passed: report it, unless the fd's deadline moved
	 * (re-check with the new one on the next round). */
	int64_t now_deadline = effdeadline(call_deadline, atomic_load(mode == 'r' ? &pd->rd : &pd->wd));
	if (now_deadline && gx_nanotime() >= now_deadline)
		return -ETIMEDOUT;
	return 0;
}

/* IOLOOP - run expr on fd until it does not say EAGAIN. */
#define IOLOOP(fd, mode, deadline, type, expr)                              \
	do {                                                                \
		int e0_;                                                    \
		struct gx_polldesc *pd = pdbegin(fd, mode, deadline, &e0_); \
		if (!pd)                                                    \
			return e0_;                                         \
		gx_preempt_point();                                         \
		type r_;                                                    \
		for (;;) {                                                  \
			r_ = (expr);                                        \
			if (r_ >= 0)                                        \
				break;                                      \
			int e_ = errno;                                     \
			if (e_ == EINTR)                                    \
				continue;                                   \
			if (e_ != EAGAIN && e_ != EWOULDBLOCK) {            \
				r_ = -e_;                                   \
				break;                                      \
			}                                                   \
			int w_ = pdwait(pd, mode, deadline);                \
			if (w_) {                                           \
				r_ = w_;                                    \
				break;                                      \
			}                                                   \
		}                                                           \
		pdend(pd, mode);                                            \
		return r_;                                                  \
	} while (0)

ssize_t gx_read(int fd, void *buf, size_t n, int64_t deadline)
{
	GX_ENTER();
	IOLOOP(fd, 'r', deadline, ssize_t, read(fd, buf, n));
}

ssize_t gx_readv(int fd, const struct iovec *iov, int iovcnt, int64_t deadline)
{
	GX_ENTER();
	IOLOOP(fd, 'r', deadline, ssize_t, readv(fd, iov, iovcnt));
}

ssize_t gx_recv(int fd, void *buf, size_t n, int flags, int64_t deadline)
{
	GX_ENTER();
	IOLOOP(fd, 'r', deadline, ssize_t, recv(fd, buf, n, flags));
}

ssize_t gx_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen, int64_t deadline)
{
	GX_ENTER();
	IOLOOP(fd, 'r', deadline, ssize_t, recvfrom(fd, buf, n, flags, from, fromlen));
}

ssize_t gx_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen,
		  int64_t deadline)
{
	GX_ENTER();
	IOLOOP(fd, 'w', deadline, ssize_t, sendto(fd, buf, n, flags | MSG_NOSIGNAL, to, tolen));
}

int gx_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen, int64_t deadline)
{
	GX_ENTER();
	int nfd;
	{
		struct gx_polldesc *pd = pdbegin(lfd, 'r', deadline, &nfd);
		if (!pd)
			return nfd;
		gx_preempt_point();
		for (;;) {
			nfd = accept4(lfd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (nfd >= 0)
				break;
			int e = errno;
			if (e == EINTR || e == ECONNABORTED)
				continue;
			if (e != EAGAIN && e != EWOULDBLOCK) {
				nfd = -e;
				break;
			}
			int w = pdwait(pd, 'r', deadline);
			if (w) {
				nfd = w;
				break;
			}
		}
		pdend(pd, 'r');
	}
	if (nfd < 0)
		return nfd;
	int err = gx_fd_open(nfd);
	if (err) {
		close(nfd);
		return err;
	}
	return nfd;
}

/* writeall - loop over short writes; report progress if any, else the error. */
#define WRITEALL(fd, deadline, total, call)                                \
	do {                                                               \
		int e0_;                                                   \
		struct gx_polldesc *pd = pdbegin(fd, 'w', deadline, &e0_); \
		if (!pd)                                                   \
			return e0_;                                        \
		gx_preempt_point();                                        \
		size_t done_ = 0;                                          \
		ssize_t err_ = 0;                                          \
		while (done_ < (total) || (total) == 0) {                  \
			ssize_t r_ = (call);                               \
			if (r_ >= 0) {                                     \
				done_ += (size_t)r_;                       \
				if ((total) == 0)                          \
					break;                             \
				continue;                                  \
			}                                                  \
			int e_ = errno;                                    \
			if (e_ == EINTR)                                   \
				continue;                                  \
			if (e_ != EAGAIN && e_ != EWOULDBLOCK) {           \
				err_ = -e_;                                \
				break;                                     \
			}                                                  \
			int w_ = pdwait(pd, 'w', deadline);                \
			if (w_) {                                          \
				err_ = w_;                                 \
				break;                                     \
			}                                                  \
		}                                                          \
		pdend(pd, 'w');                                            \
		return done_ > 0 ? (ssize_t)done_ : err_;                  \
	} while (0)

/* send(2) with MSG_NOSIGNAL on sockets (a closed peer gives -EPIPE, not
 * SIGPIPE); write(2) on pipes and eventfds. */
static ssize_t rawwrite(const struct gx_polldesc *pd, int fd, const void *buf, size_t n, int flags)
{
	return pd->sock ? send(fd, buf, n, flags | MSG_NOSIGNAL) : write(fd, buf, n);
}

ssize_t gx_write(int fd, const void *buf, size_t n, int64_t deadline)
{
	GX_ENTER();
	const char *p = buf;
	WRITEALL(fd, deadline, n, rawwrite(pd, fd, p + done_, n - done_, 0));
}

ssize_t gx_send(int fd, const void *buf, size_t n, int flags, int64_t deadline)
{
	GX_ENTER();
	const char *p = buf;
	WRITEALL(fd, deadline, n, rawwrite(pd, fd, p + done_, n - done_, flags));
}

/* writev with progress: advance through iov as bytes go out */
static ssize_t writev_from(int fd, const struct iovec *iov, int iovcnt, size_t skip)
{
	struct iovec tmp[64];
	int k = 0;
	for (int i = 0; i < iovcnt && k < 64; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		tmp[k].iov_base = (char *)iov[i].iov_base + skip;
		tmp[k].iov_len = iov[i].iov_len - skip;
		skip = 0;
		k++;
	}
	return writev(fd, tmp, k);
}

ssize_t gx_writev(int fd, const struct iovec *iov, int iovcnt, int64_t deadline)
{
	GX_ENTER();
	if (iovcnt < 0 || iovcnt > 64)
		return -EINVAL;
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	WRITEALL(fd, deadline, total, writev_from(fd, iov, iovcnt, done_));
}

int gx_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t deadline)
{
	GX_ENTER();
	int r;
	struct gx_polldesc *pd = pdbegin(fd, 'w', deadline, &r);
	if (!pd)
		return r;
	gx_preempt_point();
	r = connect(fd, addr, addrlen);
	if (r < 0)
		r = -errno;
	while (r == -EINPROGRESS || r == -EINTR || r == -EALREADY) {
		int w = pdwait(pd, 'w', deadline);
		if (w) {
			r = w;
			break;
		}
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			r = -errno;
		else
			r = soerr ? -soerr : 0;
		if (r == 0) {
			/* writable with no error: connected (or spurious; check) */
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
				r = errno == ENOTCONN ? -EINPROGRESS : -errno;
		}
	}
	pdend(pd, 'w');
	return r;
}

/* ---- "host:port" helpers --------------------------------------------------------- */

static int splithostport(const char *hp, char *host, size_t hostsz, char *port, size_t portsz)
{
	if (!hp)
		return -EINVAL;
	const char *colon;
	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');
		if (!end || end[1] != ':' || (size_t)(end - hp - 1) >= hostsz)
			return -EINVAL;
		memcpy(host, hp + 1, (size_t)(end - hp - 1));
		host[end - hp - 1] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon || (size_t)(colon - hp) >= hostsz || memchr(hp, ':', (size_t)(colon - hp)))
			return -EINVAL;
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = 0;
	}
	if (!colon[1] || strlen(colon + 1) >= portsz)
		return -EINVAL;
	strcpy(port, colon + 1);
	for (const char *c = port; *c; c++)
		if (*c < '0' || *c > '9')
			return -EINVAL;
	if (strtol(port, NULL, 10) > 65535) /* digits only, checked above */
		return -EINVAL;
	return 0;
}

/* resolve - getaddrinfo as a blocking syscall (the P is handed off). */
static int resolve(const char *hostport, bool passive, struct addrinfo **res)
{
	char host[256], port[16];
	int err = splithostport(hostport, host, sizeof(host), port, sizeof(port));
	if (err)
		return err;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
	bool in = getg() && gx_syscall_enter_block() == 0;
	*res = NULL;
	int r = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
	if (in)
		gx_syscall_exit();
	if (r == 0 && !*res)
		return -ENOENT;
	if (r == EAI_SYSTEM)
		return -errno;
	if (r == EAI_NONAME || r == EAI_SERVICE)
		return -ENOENT;
	if (r == EAI_MEMORY)
		return -ENOMEM;
	return r ? -EINVAL : 0;
}

int gx_listen_tcp(const char *hostport, int backlog)
{
	GX_ENTER();
	if (!gx_runtime_ready())
		return -EPERM;
	struct addrinfo *res;
	int err = resolve(hostport, true, &res);
	if (err)
		return err;
	if (!res)
		return -ENOENT;
	/* prefer an IPv6 wildcard (dual stack) for ":port", else the first */
	struct addrinfo *ai = res;
	for (struct addrinfo *a = res; a; a = a->ai_next)
		if (a->ai_family == AF_INET6) {
			ai = a;
			break;
		}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		freeaddrinfo(res);
		return err;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
		err = -errno;
		close(fd);
		freeaddrinfo(res);
		return err;
	}
	freeaddrinfo(res);
	err = gx_fd_open(fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int gx_dial_tcp(const char *hostport, int64_t deadline)
{
	GX_ENTER();
	if (!gx_runtime_ready())
		return -EPERM;
	struct addrinfo *res;
	int err = resolve(hostport, false, &res);
	if (err)
		return err;
	err = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		err = gx_fd_open(fd);
		if (err) {
			close(fd);
			continue;
		}
		err = gx_connect(fd, ai->ai_addr, ai->ai_addrlen, deadline);
		if (err == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			freeaddrinfo(res);
			return fd;
		}
		gx_fd_close(fd);
		if (err == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return err;
}

int gx_local_port(int fd)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}
