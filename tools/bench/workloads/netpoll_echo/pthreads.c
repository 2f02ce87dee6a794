/* SPDX-License-Identifier: MIT */
/*
 * netpoll_echo (pthreads): a TCP echo server, one thread per connection
 * (the server half of the netpoll_echo workload; the client is
 * tools/bench/workloads/netpoll_echo/client.c, the same for every implementation).
 * The analogue of tools/bench/workloads/netpoll_echo/gmpx.c: a detached thread (64 KiB
 * stack) per accepted connection doing blocking read(2)/write(2) where the
 * goroutine parks in the netpoller; --maxprocs=P is the number of CPUs.
 *
 * Definition:
 *  - Arguments: --maxprocs=P (the runner uses 2), --port=N (0: any free).
 *  - Raises RLIMIT_NOFILE's soft limit to the hard limit.
 *  - Listens on 127.0.0.1:N with backlog 4096, prints "listening on :PORT".
 *  - The main thread accepts; each connection gets TCP_NODELAY and a thread
 *    that loops: read up to 4096 bytes, write them all back, until EOF or
 *    an error; then closes it and adds its byte count to a shared total.
 *  - SIGTERM (blocked in every thread, taken by a sigwait thread): wait up
 *    to 2 s until no connection is open, print ONE line of JSON with the
 *    totals, exit 0.
 *
 * Output at exit: {"workload":"netpoll_echo_server","maxprocs":P,"conns":C,"bytes":B}
 */
#include "pt_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>

enum { OPT_MAXPROCS, OPT_PORT };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_PORT] = {"port", 0},
};

static atomic_long open_conns, total_conns, total_bytes;
static int cpus;

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;
	char buf[4096];
	long bytes = 0;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += w;
		}
		bytes += n;
	}
out:
	close(fd);
	atomic_fetch_add(&total_bytes, bytes);
	atomic_fetch_add(&open_conns, -1);
	return NULL;
}

static void *on_term(void *arg)
{
	sigset_t *set = arg;
	int sig;
	while (sigwait(set, &sig) != 0)
		;
	int64_t until = bench_now_ns() + 2000000000LL;
	while (atomic_load(&open_conns) > 0 && bench_now_ns() < until)
		pt_sleep_ns(1000000);
	printf("{\"workload\":\"netpoll_echo_server\",\"maxprocs\":%d,\"conns\":%ld,\"bytes\":%ld}\n", cpus,
	       atomic_load(&total_conns), atomic_load(&total_bytes));
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	cpus = pt_parse_args("netpoll_echo", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_PORT].value > 65535)
		bench_usage("--port must be <= 65535");
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	static sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	pt_start(NULL, on_term, &term, 64 * 1024, true, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts[OPT_PORT].value)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0)
		bench_fail("listen on 127.0.0.1:%ld: %s", opts[OPT_PORT].value, strerror(errno));
	socklen_t len = sizeof(a);
	getsockname(lfd, (struct sockaddr *)&a, &len);
	printf("listening on :%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			bench_fail("accept: %s", strerror(errno));
		}
		atomic_fetch_add(&open_conns, 1);
		atomic_fetch_add(&total_conns, 1);
		pt_start(NULL, echo_conn, (void *)(intptr_t)fd, 64 * 1024, true, NULL);
	}
}
