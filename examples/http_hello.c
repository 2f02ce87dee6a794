/* SPDX-License-Identifier: MIT */
/*
 * http_hello.c - a minimal HTTP/1.1 server: one goroutine per connection,
 * keep-alive, pipelining; answers every GET (and HEAD) with "Hello, world!\n".
 * It is also the gmpx side of the http_hello benchmark (tools/bench), which
 * drives it with wrk next to a Go net/http server doing the same.
 *
 *   http_hello [HOST:PORT]     default ":8080"; ":0" picks a free port.
 *                              Prints "listening on :PORT" when ready;
 *                              exits cleanly on SIGTERM or SIGINT.
 *
 * A request is read up to its blank line ("\r\n\r\n"); requests with a body
 * (Content-Length or Transfer-Encoding) are not supported (400 and close).
 * All complete requests in the buffer are answered with one write, so a
 * pipelining client costs one system call per batch. "Connection: close" or
 * an HTTP/1.0 request without "Connection: keep-alive" closes after the
 * response, as HTTP/1.1 says.
 *
 *   cc -O2 -Iinclude examples/http_hello.c build/libgmpx.a -pthread -o http_hello
 */
#ifndef _GNU_SOURCE /* g++ defines it */
#define _GNU_SOURCE
#endif
#include <gmpx.h>
#include <gmpx/net.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX	 8192 /* request head limit (like Go's default: 1 MB; ours is smaller) */
#define OUT_MAX	 16384
#define IDLE_SEC 120 /* close a connection idle this long */

static const char body[] = "Hello, world!\n";

/* A connection's Date header, refreshed when the second changes. */
struct date_cache {
	time_t sec;
	char text[40];
};

static const char *http_date(struct date_cache *dc)
{
	time_t now = time(NULL);
	if (now != dc->sec) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(dc->text, sizeof(dc->text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		dc->sec = now;
	}
	return dc->text;
}

/* The value of header name in head[0..len) (lines after the request line), or NULL. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = (const char *)memchr(head, '\n', len), *end = head + len;
	while (p && p + 1 < end) {
		const char *line = p + 1;
		const char *eol = (const char *)memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			break;
		if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol;
	}
	return NULL;
}

static bool has_token(const char *v, size_t vlen, const char *tok)
{
	size_t tl = strlen(tok);
	for (size_t i = 0; i + tl <= vlen; i++)
		if (strncasecmp(v + i, tok, tl) == 0)
			return true;
	return false;
}

/* Appends the response to the request head[0..len) to out (room bytes) and
 * returns its length, or 0 if it does not fit. Clears *keep if the
 * connection must close after it. */
static size_t respond(const char *head, size_t len, char *out, size_t room, struct date_cache *dc, bool *keep)
{
	const char *sp1 = (const char *)memchr(head, ' ', len);
	const char *eol = (const char *)memchr(head, '\r', len);
	const char *status = "200 OK", *text = body;
	size_t vlen;
	bool head_only = false;

	if (!sp1 || !eol || eol < sp1) {
		status = "400 Bad Request", text = "bad request\n", *keep = false;
	} else {
		size_t mlen = (size_t)(sp1 - head);
		bool http10 = eol - head >= 8 && memcmp(eol - 8, "HTTP/1.0", 8) == 0;
		const char *conn = header(head, len, "Connection", &vlen);
		if (conn && has_token(conn, vlen, "close"))
			*keep = false;
		else if (http10 && !(conn && has_token(conn, vlen, "keep-alive")))
			*keep = false;
		if (header(head, len, "Content-Length", &vlen) || header(head, len, "Transfer-Encoding", &vlen)) {
			status = "400 Bad Request", text = "request bodies are not supported\n";
			*keep = false;
		} else if (mlen == 4 && memcmp(head, "HEAD", 4) == 0) {
			head_only = true;
		} else if (!(mlen == 3 && memcmp(head, "GET", 3) == 0)) {
			status = "405 Method Not Allowed", text = "method not allowed\n";
		}
	}
	size_t tlen = strlen(text);
	int n = snprintf(out, room,
			 "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
			 "Date: %s\r\n%s\r\n%.*s",
			 status, tlen, http_date(dc), *keep ? "" : "Connection: close\r\n", head_only ? 0 : (int)tlen,
			 text);
	return n > 0 && (size_t)n < room ? (size_t)n : 0;
}

static void serve_conn(void *arg)
{
	int fd = *(int *)arg;
	char in[REQ_MAX], out[OUT_MAX];
	size_t have = 0;
	bool keep = true;
	struct date_cache dc = {0, ""};
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* as Go does */

	while (keep) {
		ssize_t n = gx_read(fd, in + have, sizeof(in) - have, gx_now() + IDLE_SEC * GX_SEC);
		if (n <= 0)
			break; /* EOF, reset, idle timeout */
		have += (size_t)n;

		/* Answer every complete request in the buffer, in one write. */
		size_t used = 0, olen = 0;
		for (;;) {
			char *end = (char *)memmem(in + used, have - used, "\r\n\r\n", 4);
			if (!end)
				break;
			size_t hlen = (size_t)(end + 4 - (in + used));
			size_t r = respond(in + used, hlen, out + olen, sizeof(out) - olen, &dc, &keep);
			if (r == 0) { /* out is full: send what we have, then retry this one */
				if (olen == 0)
					goto done;
				if (gx_write(fd, out, olen, gx_now() + IDLE_SEC * GX_SEC) != (ssize_t)olen)
					goto done;
				olen = 0;
				continue;
			}
			olen += r;
			used += hlen;
			if (!keep)
				break;
		}
		if (olen && gx_write(fd, out, olen, gx_now() + IDLE_SEC * GX_SEC) != (ssize_t)olen)
			break;
		memmove(in, in + used, have - used);
		have -= used;
		if (have == sizeof(in)) { /* a head larger than we accept */
			static const char big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
						  "Content-Length: 0\r\nConnection: close\r\n\r\n";
			gx_write(fd, big, sizeof(big) - 1, gx_now() + GX_SEC);
			break;
		}
	}
done:
	gx_fd_close(fd);
}

static void watch_signals(void *arg)
{
	int sfd = *(int *)arg;
	struct signalfd_siginfo si;
	if (gx_read(sfd, &si, sizeof(si), GX_FOREVER) == (ssize_t)sizeof(si))
		gx_exit(0);
}

static int http_main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : ":8080";
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	int sfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd >= 0 && gx_fd_open(sfd) == 0)
		gx_go_copy(watch_signals, &sfd, sizeof(sfd));

	int lfd = gx_listen_tcp(addr, 4096);
	if (lfd < 0) {
		fprintf(stderr, "http_hello: listen %s: %s\n", addr, strerror(-lfd));
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
			fprintf(stderr, "http_hello: accept: %s\n", strerror(-fd));
			return 1;
		}
		gx_go_copy(serve_conn, &fd, sizeof(fd));
	}
}

int main(int argc, char **argv)
{
	sigset_t stop; /* delivered only through the signalfd, in every thread */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	gx_main(http_main, argc, argv);
}
