/* SPDX-License-Identifier: MIT */
/*
 * echo.c - a TCP echo server with one goroutine per connection, and a client
 * to check it. Every read and write parks only its goroutine: the runtime's
 * netpoller (epoll) wakes it when the socket is ready.
 *
 *   echo [HOST:PORT]                 serve (default ":7777"; ":0" picks a free port);
 *                                    prints "listening on :PORT" when ready,
 *                                    exits cleanly on SIGTERM or SIGINT
 *   echo --client HOST:PORT [CONNS [BYTES]]
 *                                    CONNS connections (default 100) each send
 *                                    BYTES (default 1 MiB) in 16 KiB pieces and read
 *                                    every piece back; prints the totals and exits 1
 *                                    if anything was lost or changed
 *
 *   cc -O2 -Iinclude examples/echo.c build/libgmpx.a -pthread -o echo
 */
#ifndef _GNU_SOURCE /* g++ defines it */
#define _GNU_SOURCE
#endif
#include <gmpx.h>
#include <gmpx/net.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define PIECE 16384

/* ---- server ---------------------------------------------------------------- */

static void serve_conn(void *arg)
{
	int fd = *(int *)arg; /* our own copy, made by gx_go_copy */
	char buf[PIECE];
	for (;;) {
		ssize_t n = gx_read(fd, buf, sizeof(buf), GX_FOREVER);
		if (n <= 0) /* 0: the client is done; < 0: reset, ... */
			break;
		if (gx_write(fd, buf, (size_t)n, GX_FOREVER) != n)
			break;
	}
	gx_fd_close(fd);
}

/* Waits for SIGTERM or SIGINT on a signalfd, which the netpoller watches like any other fd. */
static void watch_signals(void *arg)
{
	int sfd = *(int *)arg;
	struct signalfd_siginfo si;
	if (gx_read(sfd, &si, sizeof(si), GX_FOREVER) == (ssize_t)sizeof(si)) {
		printf("echo: signal %u, exiting\n", si.ssi_signo);
		gx_exit(0);
	}
}

static int serve(const char *addr)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	int sfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd >= 0 && gx_fd_open(sfd) == 0)
		gx_go_copy(watch_signals, &sfd, sizeof(sfd));

	int lfd = gx_listen_tcp(addr, 1024);
	if (lfd < 0) {
		fprintf(stderr, "echo: listen %s: %s\n", addr, strerror(-lfd));
		return 1;
	}
	printf("listening on :%d\n", gx_local_port(lfd));
	fflush(stdout);
	for (;;) {
		int fd = gx_accept(lfd, NULL, NULL, GX_FOREVER);
		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
			gx_sleep(10 * GX_MS); /* out of descriptors or memory: back off */
			continue;
		}
		if (fd < 0) {
			fprintf(stderr, "echo: accept: %s\n", strerror(-fd));
			return 1;
		}
		gx_go_copy(serve_conn, &fd, sizeof(fd));
	}
}

/* ---- client ---------------------------------------------------------------- */

static struct {
	const char *addr;
	long bytes;
	gx_waitgroup wg;
	long sent, received, bad; /* updated with count() from every connection */
} cl = {NULL, 0, GX_WAITGROUP_INIT, 0, 0, 0};

/* count - add to a counter the connection goroutines share (the GCC/Clang
 * builtin, so that this file also compiles as C++) */
static void count(long *c, long n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static unsigned char pattern(long conn, long i)
{
	return (unsigned char)(conn * 31 + i * 7 + i / 4096);
}

static void client_conn(void *arg)
{
	long id = *(long *)arg;
	unsigned char out[PIECE], in[PIECE];
	int fd = gx_dial_tcp(cl.addr, gx_now() + 10 * GX_SEC);
	if (fd < 0) {
		fprintf(stderr, "echo: dial %s: %s\n", cl.addr, strerror(-fd));
		count(&cl.bad, 1);
		gx_wg_done(&cl.wg);
		return;
	}
	for (long off = 0; off < cl.bytes; off += PIECE) {
		size_t n = (size_t)(cl.bytes - off < PIECE ? cl.bytes - off : PIECE);
		for (size_t i = 0; i < n; i++)
			out[i] = pattern(id, off + (long)i);
		if (gx_write(fd, out, n, gx_now() + 10 * GX_SEC) != (ssize_t)n) {
			count(&cl.bad, 1);
			break;
		}
		count(&cl.sent, (long)n);
		size_t got = 0;
		while (got < n) {
			ssize_t r = gx_read(fd, in + got, n - got, gx_now() + 10 * GX_SEC);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		count(&cl.received, (long)got);
		if (got != n || memcmp(in, out, n) != 0) {
			count(&cl.bad, 1);
			break;
		}
	}
	gx_fd_close(fd);
	gx_wg_done(&cl.wg);
}

static int client(int argc, char **argv)
{
	cl.addr = argv[2];
	long conns = argc > 3 ? atol(argv[3]) : 100;
	cl.bytes = argc > 4 ? atol(argv[4]) : 1 << 20;
	if (conns <= 0 || cl.bytes <= 0) {
		fprintf(stderr, "echo: bad CONNS or BYTES\n");
		return 2;
	}
	int64_t t0 = gx_now();
	for (long i = 0; i < conns; i++) {
		gx_wg_add(&cl.wg, 1);
		gx_go_copy(client_conn, &i, sizeof(i));
	}
	gx_wg_wait(&cl.wg);
	double secs = (double)(gx_now() - t0) / GX_SEC;
	long want = conns * cl.bytes;
	bool ok = cl.bad == 0 && cl.sent == want && cl.received == want;
	printf("%ld connections: sent %ld bytes, received %ld bytes in %.2f s (%.1f MB/s): %s\n", conns, cl.sent,
	       cl.received, secs, (double)cl.received / 1e6 / secs, ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

static int echo_main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--client") == 0) {
		if (argc < 3) {
			fprintf(stderr, "usage: echo --client HOST:PORT [CONNS [BYTES]]\n");
			return 2;
		}
		return client(argc, argv);
	}
	return serve(argc > 1 ? argv[1] : ":7777");
}

int main(int argc, char **argv)
{
	/* Block the stop signals in every thread (the runtime's threads inherit
	 * this mask) so that they arrive only through the signalfd. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (!(argc > 1 && strcmp(argv[1], "--client") == 0))
		sigprocmask(SIG_BLOCK, &stop, NULL);
	gx_main(echo_main, argc, argv);
}
