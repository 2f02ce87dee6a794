/* SPDX-License-Identifier: MIT */
/*
 * netpoll_echo_client: the client half of the netpoll_echo workload. Plain
 * C (threads + epoll, no gmpx), so that one and the same client drives the
 * gmpx server (netpoll_echo.c) and the Go server (go/netpoll_echo).
 *
 * Definition:
 *  - Arguments: --port=N (the server's, on 127.0.0.1; required),
 *    --conns=C (default 1000), --trips=T (round trips per connection,
 *    default 200), --size=S (bytes per message, default 64, at most 4096),
 *    --threads=K (client threads, default 2).
 *  - Raises RLIMIT_NOFILE's soft limit to the hard limit.
 *  - Connection i (0..C-1) belongs to thread i % K. Each thread connects its
 *    connections (blocking connect, then TCP_NODELAY and O_NONBLOCK, in its
 *    own level-triggered epoll set); all threads then meet at a barrier.
 *  - Timed region, from the barrier until every thread is done: each
 *    thread sends the first message on each of its connections, then loops
 *    on epoll_wait: a readable connection reads what has arrived of the
 *    echo; once all S bytes are back it checks them, counts a round trip
 *    (its latency is the time from the write of the message to the read
 *    that completed the echo) and, unless it has done T, writes the next
 *    message. Message j on connection i is S bytes, byte k being
 *    (i * 7 + j * 13 + k) & 0xff. A connection that is done is closed.
 *  - Report: requests_per_s = C * T / wall time of the timed region; the
 *    round-trip latency p50 and p99 over all C * T round trips.
 *  - Verify: every echo is byte-for-byte the message sent; no errors,
 *    short writes or early EOF; no 10 s without progress.
 *
 * Output: {"workload":"netpoll_echo","conns":C,"trips":T,"size":S,"threads":K,
 *          "wall_ns":...,"requests_per_s":...,"lat_p50_us":...,"lat_p99_us":...}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 4096

static long port = -1, conns = 1000, trips = 200, size = 64, nthreads = 2;

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "netpoll_echo_client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct conn {
	int fd;
	long id, trip; /* next message to complete */
	size_t got;    /* bytes of its echo received */
	int64_t sent_at;
	unsigned char buf[MSG_MAX];
};

struct worker {
	pthread_t th;
	int ep;
	long first, n; /* its connections: conns[first + k * nthreads] */
	struct conn *c;
	int64_t *lat; /* n * trips samples */
	long nlat;
};

static pthread_barrier_t start_line;
static struct sockaddr_in server;

static void fill(unsigned char *p, long id, long trip)
{
	for (long k = 0; k < size; k++)
		p[k] = (unsigned char)((id * 7 + trip * 13 + k) & 0xff);
}

static void send_msg(struct conn *c)
{
	unsigned char msg[MSG_MAX];
	fill(msg, c->id, c->trip);
	c->got = 0;
	c->sent_at = now_ns();
	ssize_t w = write(c->fd, msg, (size_t)size);
	if (w != size) /* at most S bytes are ever in flight: there is room */
		fail("conn %ld: write returned %zd (%s)", c->id, w, w < 0 ? strerror(errno) : "short");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (long k = 0; k < w->n; k++) {
		struct conn *c = &w->c[k];
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
		if (fd < 0)
			fail("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&server, sizeof(server)) < 0)
			fail("connect to port %ld: %s", port, strerror(errno));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		c->fd = fd;
		c->id = w->first + k * nthreads;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			fail("epoll_ctl: %s", strerror(errno));
	}
	pthread_barrier_wait(&start_line);

	long live = w->n;
	for (long k = 0; k < w->n; k++)
		send_msg(&w->c[k]);
	struct epoll_event evs[256];
	while (live > 0) {
		int n = epoll_wait(w->ep, evs, 256, 10000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("no progress for 10 s (%ld connections unfinished)", live);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->got, (size_t)size - c->got);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0)
				fail("conn %ld: read returned %zd (%s)", c->id, r, r < 0 ? strerror(errno) : "EOF");
			c->got += (size_t)r;
			if (c->got < (size_t)size)
				continue;
			unsigned char want[MSG_MAX];
			fill(want, c->id, c->trip);
			if (memcmp(want, c->buf, (size_t)size) != 0)
				fail("conn %ld: echo of message %ld differs", c->id, c->trip);
			w->lat[w->nlat++] = now_ns() - c->sent_at;
			if (++c->trip < trips) {
				send_msg(c);
			} else {
				close(c->fd);
				live--;
			}
		}
	}
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t percentile(const int64_t *v, long n, int k)
{
	long rank = (long)(((int64_t)k * n + 99) / 100);
	return v[rank > 0 ? rank - 1 : 0];
}

int main(int argc, char **argv)
{
	struct {
		const char *name;
		long *v;
	} known[] = {{"port", &port}, {"conns", &conns}, {"trips", &trips}, {"size", &size}, {"threads", &nthreads}};
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t j, nk = sizeof(known) / sizeof(known[0]);
		if (strncmp(argv[i], "--", 2) != 0 || !eq)
			fail("bad argument '%s' (want --name=value)", argv[i]);
		for (j = 0; j < nk; j++)
			if ((size_t)(eq - argv[i] - 2) == strlen(known[j].name) &&
			    strncmp(argv[i] + 2, known[j].name, strlen(known[j].name)) == 0)
				break;
		if (j == nk)
			fail("unknown option '%s'", argv[i]);
		char *end;
		*known[j].v = strtol(eq + 1, &end, 10);
		if (*end || end == eq + 1)
			fail("bad value in '%s'", argv[i]);
	}
	if (port <= 0 || port > 65535 || conns <= 0 || trips <= 0 || size <= 0 || size > MSG_MAX || nthreads <= 0)
		fail("need --port=1..65535 and positive --conns, --trips, --size (<= %d), --threads", MSG_MAX);
	if (nthreads > conns)
		nthreads = conns;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)port);
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	struct worker *ws = calloc((size_t)nthreads, sizeof(*ws));
	if (!ws)
		fail("out of memory");
	pthread_barrier_init(&start_line, NULL, (unsigned)nthreads + 1);
	for (long t = 0; t < nthreads; t++) {
		struct worker *w = &ws[t];
		w->first = t;
		w->n = (conns - t + nthreads - 1) / nthreads;
		w->c = calloc((size_t)w->n, sizeof(*w->c));
		w->lat = malloc((size_t)(w->n * trips) * sizeof(int64_t));
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (!w->c || !w->lat || w->ep < 0)
			fail("out of memory or descriptors");
		if (pthread_create(&w->th, NULL, worker_main, w) != 0)
			fail("pthread_create failed");
	}
	pthread_barrier_wait(&start_line);
	int64_t start = now_ns();
	for (long t = 0; t < nthreads; t++)
		pthread_join(ws[t].th, NULL);
	int64_t wall = now_ns() - start;

	long total = conns * trips, k = 0;
	int64_t *lat = malloc((size_t)total * sizeof(int64_t));
	if (!lat)
		fail("out of memory");
	for (long t = 0; t < nthreads; t++) {
		memcpy(lat + k, ws[t].lat, (size_t)ws[t].nlat * sizeof(int64_t));
		k += ws[t].nlat;
	}
	if (k != total)
		fail("%ld round trips done, want %ld", k, total);
	qsort(lat, (size_t)total, sizeof(int64_t), cmp64);
	printf("{\"workload\":\"netpoll_echo\",\"conns\":%ld,\"trips\":%ld,\"size\":%ld,\"threads\":%ld,"
	       "\"wall_ns\":%" PRId64 ",\"requests_per_s\":%.1f,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f}\n",
	       conns, trips, size, nthreads, wall, (double)total * 1e9 / (double)wall,
	       (double)percentile(lat, total, 50) / 1e3, (double)percentile(lat, total, 99) / 1e3);
	return 0;
}
