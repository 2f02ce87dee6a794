/* SPDX-License-Identifier: MIT */
/*
 * gmpx/net.h - I/O that parks the goroutine, not the thread (Go's netpoll
 * and internal/poll). Included by gmpx.h.
 *
 * A file descriptor is registered once with gx_fd_open (it becomes
 * non-blocking and joins the runtime's edge-triggered epoll set); then
 * gx_read, gx_write, gx_accept, gx_connect, ... try the call and, on EAGAIN,
 * park the calling goroutine until epoll reports the fd ready, the deadline
 * passes (-ETIMEDOUT) or the fd is closed with gx_fd_close (-EBADF for the
 * waiters). Works for TCP and UDP sockets (IPv4 and IPv6), Unix sockets,
 * pipes and eventfds. Regular files cannot be polled: use the gx_sys_*
 * wrappers (gmpx/syscall.h), which hand the P off while the thread blocks.
 *
 * Deadlines: every call takes one (GX_FOREVER, GX_NOW, or absolute
 * monotonic ns); gx_fd_set_deadline also sets per-fd read and write
 * deadlines (Go's SetReadDeadline/SetWriteDeadline), which apply to calls
 * already blocked. The earlier of the two wins. All calls return the result
 * or -errno, retry EINTR, and never return -EAGAIN except for GX_NOW.
 * Before gx_main (no poller yet) every call here returns -EPERM.
 *
 * Concurrent reads (and accepts) on one fd queue behind each other, as do
 * concurrent writes (Go's fdMutex); a queued call still honours its own
 * deadline. A write that a deadline interrupts returns the bytes already
 * written if any (a TCP socket keeps accepting some data for a while).
 * gx_main sets SIGPIPE to ignored if the program left it at its default,
 * so writing to a closed pipe or socket returns -EPIPE instead of killing
 * the process, and raises the soft RLIMIT_NOFILE to the hard limit (as Go).
 */
#ifndef GMPX_NET_H
#define GMPX_NET_H

#include <gmpx.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* gx_fd_open - register fd with the netpoller (sets O_NONBLOCK). 0, -EBADF,
 * -EEXIST (already registered), -EPERM (a regular file: epoll refuses it),
 * -ENOMEM. */
int gx_fd_open(int fd);
/* gx_fd_close - wake every goroutine blocked on fd (they get -EBADF),
 * unregister it and close it. 0 or -errno. */
int gx_fd_close(int fd);
/* gx_fd_set_deadline - per-fd deadlines for reads and writes (GX_FOREVER:
 * none). Blocked calls see the new deadline at once. 0, -EBADF. */
int gx_fd_set_deadline(int fd, int64_t read_deadline, int64_t write_deadline);

/* Reads and writes. gx_write writes everything (looping over short writes)
 * unless an error or the deadline stops it: then it returns the bytes
 * written if any, else -errno. gx_read returns what one read(2) returns
 * (0 at end of file). [G] to block. */
ssize_t gx_read(int fd, void *buf, size_t n, int64_t deadline);
ssize_t gx_write(int fd, const void *buf, size_t n, int64_t deadline);
ssize_t gx_readv(int fd, const struct iovec *iov, int iovcnt, int64_t deadline);
ssize_t gx_writev(int fd, const struct iovec *iov, int iovcnt, int64_t deadline);
ssize_t gx_recv(int fd, void *buf, size_t n, int flags, int64_t deadline);
ssize_t gx_send(int fd, const void *buf, size_t n, int flags, int64_t deadline);
ssize_t gx_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen,
		    int64_t deadline);
ssize_t gx_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen,
		  int64_t deadline);

/* gx_accept - accept a connection on a registered listening socket; the
 * new fd is non-blocking, close-on-exec and already registered. */
int gx_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen, int64_t deadline);
/* gx_connect - connect a registered socket; waits for completion. */
int gx_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t deadline);

/* gx_listen_tcp - socket, SO_REUSEADDR, bind, listen on "host:port"
 * ("[::1]:8080", ":0" for any address and a free port), registered.
 * Returns the fd or -errno (-EINVAL for a malformed address). Name
 * resolution (getaddrinfo) blocks its thread: it runs as a blocking
 * syscall (the P is handed off). */
int gx_listen_tcp(const char *hostport, int backlog);
/* gx_dial_tcp - connect to "host:port" (tries each resolved address),
 * TCP_NODELAY set; returns a registered fd or -errno. */
int gx_dial_tcp(const char *hostport, int64_t deadline);
/* gx_local_port - the local port of a bound socket, or -errno. */
int gx_local_port(int fd);

#ifdef __cplusplus
}
#endif
#endif /* GMPX_NET_H */
