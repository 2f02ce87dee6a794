/* SPDX-License-Identifier: MIT */
/*
 * kassist_client.c - the runtime's side of the gmpx-sched protocol
 * (gmpx/sched_proto.h: struct gx_sched_msg): one SOCK_SEQPACKET connection per
 * process, one request and one reply at a time under the client lock.
 *
 *   HELLO   at attach (kassist.c): the daemon grants a mode and passes the
 *           process's state map, its ring buffer, the tracing links and
 *           (scx) the kick program.
 *   MREG    each M's thread id as it starts (gx_kclient_mreg); until its
 *           registration succeeds an M writes kslot_local, which BPF never
 *           sees, and behaves as in off mode.
 *   EXIT    unsolicited, scx: the sched_ext scheduler is gone. It may be
 *           waiting in the socket when a reply is expected, or be read
 *           after the hang-up (gx_kclient_exit_text).
 *
 * The links the HELLO reply passed stay open here until the fallback
 * closes the connection: they keep the BPF programs that maintain the M
 * words attached for as long as the runtime relies on those words, even
 * if the daemon dies first (kassist_revoke.c).
 */
#include "runtime.h"
#include "kassist.h"
#include <gmpx/sched_proto.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int gx_kclient_sock = -1;   /* to gmpx-sched; requests under socklock */
static char exit_text[200]; /* a GX_MSG_EXIT's report, under socklock */
static pthread_mutex_t socklock = PTHREAD_MUTEX_INITIALIZER;
static int linkfds[GX_KASSIST_MAX_FDS];
static int nlinkfds;

int gx_kclient_connect(const char *path, char *why, size_t whylen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "GX_KASSIST_SOCK is too long");
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			snprintf(why, whylen,
				 "no gmpx-sched daemon at %s (start gmpx-sched as root, or set GX_KASSIST_LOAD)", path);
		else
			snprintf(why, whylen, "cannot connect to gmpx-sched at %s: %s", path, strerror(e));
		close(s);
		return -e;
	}
	struct timeval tv = {GX_KASSIST_DAEMON_TIMEOUT_S, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	gx_kclient_sock = s;
	return 0;
}

/* exit_report - the daemon says its sched_ext scheduler is gone. */
static void exit_report(struct gx_sched_msg *m)
{
	m->text[sizeof(m->text) - 1] = 0;
	snprintf(exit_text, sizeof(exit_text), "the sched_ext scheduler exited (kind %u%s): %s", m->arg0,
		 m->arg0 == 1026 ? ", runnable task stall" : (m->arg0 == 64 ? ", unregistered" : ""),
		 m->text[0] ? m->text : "no message");
}

const char *gx_kclient_exit_text(void)
{
	struct gx_sched_msg m;
	pthread_mutex_lock(&socklock);
	while (gx_kclient_sock >= 0 && !exit_text[0]) {
		ssize_t n = recv(gx_kclient_sock, &m, sizeof(m), MSG_DONTWAIT);
		if (n <= 0)
			break;
		if (n == (ssize_t)sizeof(m) && m.magic == GX_KABI_MAGIC && m.type == GX_MSG_EXIT)
			exit_report(&m);
	}
	pthread_mutex_unlock(&socklock);
	return exit_text;
}

/* request - one request/reply; fds received (if any) go to fds/nfds.
 * Returns the reply's status, or -errno of the transport; why gets the
 * reason on failure. socklock held. A daemon that refuses a connection
 * (not admitted, a limit) queues its reply and closes at once: our send()
 * may then fail with EPIPE, and the reply waiting in gx_kclient_sock says why. */
static int request(uint16_t type, uint32_t a0, uint32_t a1, int *fds, int *nfds, struct gx_sched_msg *reply, char *why,
		   size_t whylen)
{
	struct gx_sched_msg m = {
		.magic = GX_KABI_MAGIC, .version = GX_KABI_VERSION, .type = type, .arg0 = a0, .arg1 = a1};
	int send_err = 0;
	if (send(gx_kclient_sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		send_err = errno ? errno : EIO;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * GX_KASSIST_MAX_FDS)];
	} cb;
	struct iovec iov = {reply, sizeof(*reply)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof(cb.buf)};
	ssize_t n;
	bool reset = false;
	for (;;) {
		n = recvmsg(gx_kclient_sock, &mh, MSG_CMSG_CLOEXEC | (send_err || reset ? MSG_DONTWAIT : 0));
		if (n < 0 && errno == EINTR)
			continue;
		/* a daemon that closed with our request unread: the kernel
		 * reports the reset first, then the reply it queued */
		if (n < 0 && errno == ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		break;
	}
	int recv_err = n < 0 ? (reset ? ECONNRESET : errno) : 0;
	if (nfds)
		*nfds = 0;
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds && nfds && *nfds < GX_KASSIST_MAX_FDS)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	bool whole = n == (ssize_t)sizeof(*reply) && reply->magic == GX_KABI_MAGIC && reply->version == GX_KABI_VERSION;
	if (whole && reply->type == GX_MSG_EXIT) {
		exit_report(reply);
		snprintf(why, whylen, "%s", exit_text);
		return -ECONNRESET;
	}
	if (send_err && !(whole && reply->type == (type | GX_MSG_REPLY))) {
		snprintf(why, whylen, "cannot talk to gmpx-sched: %s", strerror(send_err));
		return -send_err;
	}
	if (n < 0) {
		if (recv_err == EAGAIN || recv_err == EWOULDBLOCK)
			snprintf(why, whylen, "no reply from gmpx-sched in %d s (timed out)",
				 GX_KASSIST_DAEMON_TIMEOUT_S);
		else
			snprintf(why, whylen, "cannot read gmpx-sched's reply: %s", strerror(recv_err));
		return -(recv_err == EWOULDBLOCK ? EAGAIN : recv_err);
	}
	if (n == 0) {
		snprintf(why, whylen, "gmpx-sched closed the connection");
		return -ECONNRESET;
	}
	if (!whole || reply->type != (type | GX_MSG_REPLY) || reply->status > 0) {
		snprintf(why, whylen, "gmpx-sched sent a bad reply (%zd bytes, type %#x)", n,
			 n >= 8 ? (unsigned)reply->type : 0u);
		return -EPROTO;
	}
	reply->text[sizeof(reply->text) - 1] = 0;
	if (reply->status < 0)
		snprintf(why, whylen, "gmpx-sched refused: %s",
			 reply->text[0] ? reply->text : strerror(-reply->status));
	return reply->status;
}

int gx_kclient_request(uint16_t type, uint32_t a0, uint32_t a1, int *fds, int *nfds, struct gx_sched_msg *reply,
		       char *why, size_t whylen)
{
	pthread_mutex_lock(&socklock);
	int err = gx_kclient_sock < 0 ? -ENOTCONN : request(type, a0, a1, fds, nfds, reply, why, whylen);
	if (err == -ENOTCONN && gx_kclient_sock < 0)
		snprintf(why, whylen, "not connected to gmpx-sched");
	pthread_mutex_unlock(&socklock);
	return err;
}

void gx_kclient_mreg(struct gx_m *mp)
{
	if (mp->id >= GX_KABI_MAX_M)
		return; /* untracked: behaves as in off mode */
	struct gx_kabi_m *slot = &gx_kabi->m[mp->id];
	slot->tid = mp->tid;
	slot->p = mp->kslot_local.p;
	slot->rstate = mp->kslot_local.rstate;
	slot->sys_nr = ~0u;
	atomic_store((_Atomic uint64_t *)&slot->mword, GX_KM_WORD(0, GX_KM_RUNNING));
	char why[256];
	struct gx_sched_msg reply = {0};
	int err = gx_kclient_request(GX_MSG_MREG, (uint32_t)mp->tid, (uint32_t)mp->id, NULL, NULL, &reply, why,
				     sizeof(why));
	if (err) {
		slot->tid = 0;
		if (err != -ENOTCONN)
			gx_print("gmpx: kassist: thread %d (M%lld) not tracked: %s\n", mp->tid, (long long)mp->id, why);
		return;
	}
	mp->kslot = slot;
	uint32_t nm = (uint32_t)mp->id + 1;
	uint32_t cur = __atomic_load_n(&gx_kabi->hdr.nm, __ATOMIC_RELAXED);
	while (cur < nm &&
	       !__atomic_compare_exchange_n(&gx_kabi->hdr.nm, &cur, nm, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void gx_kclient_keep_links(const int *fds, int n)
{
	pthread_mutex_lock(&socklock);
	for (int i = 0; i < n && nlinkfds < GX_KASSIST_MAX_FDS; i++)
		linkfds[nlinkfds++] = fds[i];
	pthread_mutex_unlock(&socklock);
}

void gx_kclient_close(void)
{
	pthread_mutex_lock(&socklock);
	for (int i = 0; i < nlinkfds; i++)
		close(linkfds[i]);
	nlinkfds = 0;
	if (gx_kclient_sock >= 0) {
		close(gx_kclient_sock);
		gx_kclient_sock = -1;
	}
	pthread_mutex_unlock(&socklock);
}
