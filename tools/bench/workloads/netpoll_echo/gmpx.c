/* SPDX-License-Identifier: MIT */
/*
 * netpoll_echo: a TCP echo server, one goroutine per connection (the server
 * half of the netpoll_echo workload; the client is netpoll_echo_client.c).
 *
 * Definition (identical in tools/bench/workloads/netpoll_echo/go/main.go):
 *  - Arguments: --maxprocs=P (the runner uses 2), --port=N (0: any free port).
 *  - Raises RLIMIT_NOFILE's soft limit to the hard limit (Go's os package
 *    does this at start-up since Go 1.19).
 *  - Listens on 127.0.0.1:N with backlog 4096 and prints
 *    "listening on :PORT" on stdout once it accepts connections.
 *  - Accept loop in the main goroutine; each accepted connection gets
 *    TCP_NODELAY (Go sets it on every TCP connection) and a goroutine that
 *    loops: read up to 4096 bytes into its buffer, write them all back,
 *    until EOF or an error; then it closes the connection and adds the
 *    bytes it echoed to a shared total (one atomic add per connection).
 *  - On SIGTERM it waits (up to 2 s) until no connection is open, prints ONE
 *    line of JSON with the totals and exits 0.
 *
 * The runner (tools/bench/run.py) starts this server, runs the client
 * against it (which does the timing and prints the workload's metrics) and
 * checks the server's totals against the client's work.
 *
 * Output at exit: {"workload":"netpoll_echo_server","maxprocs":P,"conns":C,"bytes":B}
 */
#define _GNU_SOURCE
#include "bench.h"
#include <gmpx/net.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

enum { OPT_MAXPROCS, OPT_PORT };
static struct bench_opt opts[] = {
	[OPT_MAXPROCS] = {"maxprocs", 0},
	[OPT_PORT] = {"port", 0},
};

static _Atomic long open_conns, total_conns, total_bytes;
static int maxprocs;

static void echo_conn(void *arg)
{
	int fd = *(int *)arg;
	char buf[4096];
	long bytes = 0;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		ssize_t n = gx_read(fd, buf, sizeof(buf), GX_FOREVER);
		if (n <= 0)
			break;
		if (gx_write(fd, buf, (size_t)n, GX_FOREVER) != n)
			break;
		bytes += n;
	}
	gx_fd_close(fd);
	atomic_fetch_add(&total_bytes, bytes);
	atomic_fetch_add(&open_conns, -1);
}

/* On SIGTERM: let the last connections finish, report, exit. */
static void on_term(void *arg)
{
	int sfd = *(int *)arg;
	struct signalfd_siginfo si;
	if (gx_read(sfd, &si, sizeof(si), GX_FOREVER) != (ssize_t)sizeof(si))
		bench_fail("signalfd read failed");
	int64_t until = gx_now() + 2 * GX_SEC;
	while (atomic_load(&open_conns) > 0 && gx_now() < until)
		gx_sleep(GX_MS);
	printf("{\"workload\":\"netpoll_echo_server\",\"maxprocs\":%d,\"conns\":%ld,\"bytes\":%ld,"
	       "\"kassist\":\"%s\"}\n",
	       maxprocs, atomic_load(&total_conns), atomic_load(&total_bytes), bench_kassist());
	gx_exit(0);
}

static int bench_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	maxprocs = bench_check_maxprocs(opts[OPT_MAXPROCS].value);

	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	int sfd = signalfd(-1, &term, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || gx_fd_open(sfd) < 0 || gx_go_copy(on_term, &sfd, sizeof(sfd)) < 0)
		bench_fail("signalfd: %s", strerror(errno));

	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%ld", opts[OPT_PORT].value);
	int lfd = gx_listen_tcp(addr, 4096);
	if (lfd < 0)
		bench_fail("listen %s: %s", addr, strerror(-lfd));
	printf("listening on :%d\n", gx_local_port(lfd));
	fflush(stdout);
	for (;;) {
		int fd = gx_accept(lfd, NULL, NULL, GX_FOREVER);
		if (fd < 0)
			bench_fail("accept: %s", strerror(-fd));
		atomic_fetch_add(&open_conns, 1);
		atomic_fetch_add(&total_conns, 1);
		if (gx_go_copy(echo_conn, &fd, sizeof(fd)) < 0)
			bench_fail("gx_go_copy failed");
	}
}

int main(int argc, char **argv)
{
	bench_parse_args("netpoll_echo", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (opts[OPT_PORT].value > 65535)
		bench_usage("--port must be <= 65535");
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigset_t term; /* SIGTERM only through the signalfd, in every thread */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	gx_main(bench_main, argc, argv);
}
