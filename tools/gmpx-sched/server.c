/* SPDX-License-Identifier: MIT */
/*
 * server.c - the daemon proper: single-instance lock, the unix socket,
 * one epoll loop over the listener, the clients and a signalfd, and the
 * protocol's messages (include/gmpx_kabi.h: HELLO, MREG, MUNREG).
 *
 * Connections: every accepted peer is checked at once (admit.c). A refused
 * peer is sent its -EPERM reply straight away and closed when it sends
 * anything, hangs up, or after REFUSED_LINGER_MS: the reply is already
 * queued when its HELLO arrives, and its send() does not fail with EPIPE
 * before it can read why. An admitted peer may HELLO once; each request
 * gets exactly one reply; bad packets get -EINVAL and the connection
 * stays. A peer that hangs up (or dies: EOF) is detached: its map entries
 * go (attach.c).
 *
 * scx mode: HELLO grants scx to a client asking for it (the kick program
 * is the last fd), trace to one asking for trace. The scheduler can be
 * unloaded under us (the sched_ext watchdog, scx_bpf_error, SysRq-S): its
 * exit record (gx_scx_exit_rb, in the epoll set; /sys/kernel/sched_ext/state
 * is looked at twice a second in case a record never comes) makes us log
 * it, send every client an unsolicited GX_MSG_EXIT (arg0 = the kind, text
 * = reason: message) and exit with status 1. On a signal we unregister it
 * ourselves (kind 64) and tell the clients the same way, status 0.
 *
 * Exit (SIGINT, SIGTERM, SIGHUP): the clients' sockets are closed but
 * their map entries are left alone: they hold the links, and the programs
 * keep their state maps true until each runtime notices the hang-up and
 * stops relying on them. Then the pins, the socket file and the skeleton
 * go. The lock file stays (removing it would let a second daemon lock a
 * different inode than a third).
 */
#define _GNU_SOURCE /* accept4, sigabbrev_np */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "gmpx_sched.h"

#define MAX_CONNS	  512
#define REFUSED_LINGER_MS 5000
#define NFDS		  (2 + GXS_NLINKS + 1) /* state, ring, links, scx: the kick */
#define SCX_CHECK_MS	  500

struct client {
	int fd;
	struct gxs_peer peer;
	bool refused;
	long long deadline; /* refused: close at (ms, CLOCK_MONOTONIC) */
	struct gxs_proc *proc;
	struct client *next;
};

struct server {
	const struct gxs_opts *o;
	struct gxs_bpf bpf;
	int ep, lfd, sfd, lockfd, spare;
	struct client *clients;
	int nconns;
	bool sock_made;
};

/* epoll tags for the two fds that are not clients */
static char tag_listen, tag_signal, tag_watch, tag_scx;

static const char *mode_str(const struct gxs_opts *o)
{
	if (o->mode != GX_KABI_SCX)
		return "trace";
	return o->whole ? "scx (whole-machine)" : "scx (partial)";
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = dir[i];
	}
	return 0;
}

/* 0 locked, 1 another daemon holds it, -errno failure */
static int take_lock(struct server *s, const char *sock)
{
	char path[PATH_MAX], pid[32];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s.lock", sock) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		gxs_log("cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			gxs_log("already running (pid %s)", pid[0] ? pid : "?");
			close(fd);
			return 1;
		}
		gxs_log("cannot lock %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, n, 0) != n)
		gxs_log("cannot write %s: %s (continuing)", path, strerror(errno));
	s->lockfd = fd;
	return 0;
}

static int make_socket(struct server *s, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		gxs_log("socket path too long (max %zu): %s", sizeof(a.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	/* we hold the lock: a socket file there is a dead daemon's */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			gxs_log("%s exists and is not a socket", path);
			return -EEXIST;
		}
		if (unlink(path) < 0) {
			int e = errno;
			gxs_log("cannot remove stale %s: %s", path, strerror(e));
			return -e;
		}
	}
	/* Bound, opened to all and listening under a temporary name, then
	 * renamed into place: whoever sees the path can connect at once. */
	char tmp[sizeof(a.sun_path) + 32];
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(a.sun_path)) {
		gxs_log("socket path too long (max %zu with its temporary suffix): %s", sizeof(a.sun_path) - 16, path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, tmp);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		gxs_log("socket: %s", strerror(e));
		return -e;
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		gxs_log("cannot bind %s: %s", tmp, strerror(e));
		close(fd);
		return -e;
	}
	/* anybody may connect, to be told whether they are admitted */
	if (chmod(tmp, 0666) < 0 || listen(fd, 64) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		gxs_log("%s: %s", path, strerror(e));
		unlink(tmp);
		close(fd);
		return -e;
	}
	s->sock_made = true;
	s->lfd = fd;
	return 0;
}

static int ep_add(struct server *s, int fd, void *ptr, unsigned events)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};

	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* ---- replies ---- */

static void reply_init(struct gx_kabi_msg *r, unsigned type, int status, const char *why)
{
	memset(r, 0, sizeof(*r));
	r->magic = GX_KABI_MAGIC;
	r->version = GX_KABI_VERSION;
	r->type = (__u16)(type | GX_MSG_REPLY);
	r->status = status;
	if (status < 0 && why)
		snprintf(r->text, sizeof(r->text), "%s", why);
}

/* 0 sent, -errno: the client is gone or not reading (drop it) */
static int send_reply(struct client *c, const struct gx_kabi_msg *r, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * NFDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)r, .iov_len = sizeof(*r)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*r) ? 0 : -EIO;
}

/* ---- clients ---- */

static void drop_client(struct server *s, struct client *c, const char *how);

/* A reply could not be sent: the peer hung up, or does not read its
 * replies (its queue is full). Either way it goes. */
static void reply_failed(struct server *s, struct client *c, int err)
{
	drop_client(s, c, err == -EPIPE || err == -ECONNRESET ? "hung up" : "not reading its replies");
}

static void drop_client(struct server *s, struct client *c, const char *how)
{
	struct client **pp;

	if (c->proc) {
		gxs_log("detached pid %d (uid %u): %s", (int)c->peer.pid, (unsigned)c->peer.uid, how);
		gxs_proc_detach(&s->bpf, c->proc, true);
		c->proc = NULL;
	} else {
		gxs_debug("connection of pid %d (uid %u) closed: %s", (int)c->peer.pid, (unsigned)c->peer.uid, how);
	}
	for (pp = &s->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	close(c->fd); /* also leaves the epoll set */
	s->nconns--;
	free(c);
}

static void accept_one(struct server *s, int fd)
{
	char why[sizeof(((struct gx_kabi_msg *)0)->text)];
	struct gx_kabi_msg r;
	struct client *c;
	int err;

	if (s->nconns >= MAX_CONNS) {
		gxs_log("too many connections (%d): closing a new one", s->nconns);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		gxs_log("out of memory: closing a new connection");
		close(fd);
		return;
	}
	c->fd = fd;
	err = gxs_peer_creds(fd, &c->peer);
	if (err) {
		gxs_log("SO_PEERCRED: %s: closing a new connection", strerror(-err));
		free(c);
		close(fd);
		return;
	}
	if (ep_add(s, fd, c, EPOLLIN | EPOLLRDHUP) < 0) {
		gxs_log("epoll_ctl: %s: closing a new connection", strerror(errno));
		free(c);
		close(fd);
		return;
	}
	c->next = s->clients;
	s->clients = c;
	s->nconns++;
	if (gxs_admit(fd, &c->peer, s->o, why, sizeof(why)))
		return;
	gxs_log("refused pid %d (uid %u): %s", (int)c->peer.pid, (unsigned)c->peer.uid, why);
	c->refused = true;
	c->deadline = now_ms() + REFUSED_LINGER_MS;
	reply_init(&r, GX_MSG_HELLO, -EPERM, why);
	if (send_reply(c, &r, NULL, 0) < 0)
		drop_client(s, c, "refused");
}

static void on_listen(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(s, fd);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		if ((errno == EMFILE || errno == ENFILE) && s->spare >= 0) {
			/* out of fds: use the spare one to take the
			 * connection off the queue and close it, else epoll
			 * would report it for ever */
			gxs_log("accept: %s: closing a new connection", strerror(errno));
			close(s->spare);
			fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
			return;
		}
		gxs_log("accept: %s", strerror(errno));
		return;
	}
}

static void do_hello(struct server *s, struct client *c, const struct gx_kabi_msg *m)
{
	char why[sizeof(m->text)];
	struct gx_kabi_msg r;
	int fds[NFDS], nfds, err, i;
	int grant = s->o->mode == GX_KABI_SCX && m->arg0 == GX_KABI_SCX ? GX_KABI_SCX : GX_KABI_TRACE;

	if (c->proc) {
		reply_init(&r, m->type, -EBUSY, "already attached");
		goto send;
	}
	if (m->arg0 != GX_KABI_TRACE && m->arg0 != GX_KABI_SCX) {
		snprintf(why, sizeof(why), "mode %u unknown (trace %d, scx %d)", m->arg0, GX_KABI_TRACE, GX_KABI_SCX);
		reply_init(&r, m->type, -EINVAL, why);
		goto send;
	}
	err = gxs_proc_attach(&s->bpf, c->peer.pid, c->peer.uid, grant, &c->proc, why, sizeof(why));
	if (err) {
		gxs_log("cannot attach pid %d (uid %u): %s", (int)c->peer.pid, (unsigned)c->peer.uid, why);
		reply_init(&r, m->type, err, why);
		goto send;
	}
	reply_init(&r, m->type, 0, NULL);
	fds[0] = c->proc->state_fd;
	fds[1] = c->proc->rbuf_fd;
	for (i = 0; i < GXS_NLINKS; i++)
		fds[2 + i] = s->bpf.link_fds[i];
	nfds = 2 + GXS_NLINKS;
	if (grant == GX_KABI_SCX)
		fds[nfds++] = s->bpf.kick_fd;
	r.arg0 = (__u32)grant;
	r.arg1 = (__u32)nfds;
	r.arg2 = GXS_NLINKS;
	err = send_reply(c, &r, fds, nfds);
	if (err) {
		gxs_log("pid %d: cannot send the HELLO reply: %s", (int)c->peer.pid, strerror(-err));
		reply_failed(s, c, err);
		return;
	}
	gxs_log("attached pid %d (uid %u): mode %s%s, gomaxprocs %u", (int)c->peer.pid, (unsigned)c->peer.uid,
		grant == GX_KABI_SCX ? "scx" : "trace", grant != (int)m->arg0 ? " (scx asked)" : "", m->arg1);
	return;
send:
	err = send_reply(c, &r, NULL, 0);
	if (err)
		reply_failed(s, c, err);
}

static void on_client(struct server *s, struct client *c, unsigned events)
{
	char why[sizeof(((struct gx_kabi_msg *)0)->text)];
	struct gx_kabi_msg m, r;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	unsigned type;
	ssize_t n;
	int err;

	memset(&m, 0, sizeof(m));
	/* no control buffer: fds a client might send are discarded by the
	 * kernel (MSG_CTRUNC) */
	n = recvmsg(c->fd, &mh, MSG_DONTWAIT);
	/* 0 is EOF or an empty packet (SOCK_SEQPACKET): the hang-up flags
	 * tell; an empty packet gets its -EINVAL (and if the peer has gone
	 * meanwhile, the reply fails and drops it) */
	if (n == 0 && (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))) {
		drop_client(s, c, "hung up");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			if (events & (EPOLLHUP | EPOLLERR))
				drop_client(s, c, "hung up");
			return;
		}
		drop_client(s, c, strerror(errno));
		return;
	}
	if (c->refused) {
		drop_client(s, c, "refused");
		return;
	}
	type = n >= (ssize_t)(offsetof(struct gx_kabi_msg, type) + sizeof(m.type)) ? m.type : 0;
	type &= ~(unsigned)GX_MSG_REPLY;
	if (mh.msg_flags & MSG_TRUNC) {
		snprintf(why, sizeof(why), "packet too long (want %zu bytes)", sizeof(m));
		reply_init(&r, type, -EINVAL, why);
	} else if (n < (ssize_t)sizeof(m)) {
		snprintf(why, sizeof(why), "short packet (%zd bytes, want %zu)", n, sizeof(m));
		reply_init(&r, type, -EINVAL, why);
	} else if (m.magic != GX_KABI_MAGIC || m.version != GX_KABI_VERSION) {
		snprintf(why, sizeof(why), "protocol magic %#x version %u, daemon speaks %#x version %d", m.magic,
			 m.version, GX_KABI_MAGIC, GX_KABI_VERSION);
		reply_init(&r, type, type == GX_MSG_HELLO ? -EPROTO : -EINVAL, why);
	} else if (type == GX_MSG_HELLO) {
		do_hello(s, c, &m);
		return;
	} else if (type == GX_MSG_MREG || type == GX_MSG_MUNREG) {
		if (!c->proc) {
			reply_init(&r, type, -EINVAL, "not attached (HELLO first)");
		} else {
			why[0] = '\0';
			if (type == GX_MSG_MREG)
				err = gxs_proc_mreg(&s->bpf, c->proc, m.arg0, m.arg1, why, sizeof(why));
			else
				err = gxs_proc_munreg(&s->bpf, c->proc, m.arg0, why, sizeof(why));
			if (err)
				gxs_debug("pid %d: %s: %s", (int)c->peer.pid, type == GX_MSG_MREG ? "MREG" : "MUNREG",
					  why);
			else
				gxs_debug("pid %d: %s tid %u slot %u", (int)c->peer.pid,
					  type == GX_MSG_MREG ? "MREG" : "MUNREG", m.arg0, m.arg1);
			reply_init(&r, type, err, why);
		}
	} else {
		snprintf(why, sizeof(why), "unknown message type %u", type);
		reply_init(&r, type, -EINVAL, why);
	}
	err = send_reply(c, &r, NULL, 0);
	if (err)
		reply_failed(s, c, err);
}

/* 1 stop */
static int on_signal(struct server *s, int *signo)
{
	struct signalfd_siginfo si;
	ssize_t n = read(s->sfd, &si, sizeof(si));

	if (n != (ssize_t)sizeof(si))
		return 0;
	*signo = (int)si.ssi_signo;
	return 1;
}

static int expire_refused(struct server *s)
{
	long long now = now_ms(), next = -1;
	struct client *c, *nx;

	for (c = s->clients; c; c = nx) {
		nx = c->next;
		if (!c->refused)
			continue;
		if (c->deadline <= now) {
			drop_client(s, c, "refused, timed out");
			continue;
		}
		if (next < 0 || c->deadline - now < next)
			next = c->deadline - now;
	}
	return next < 0 ? -1 : (int)next + 1;
}

/* scx: tell every client the scheduler is gone (GX_MSG_EXIT), before
 * their sockets are closed. Best effort: one that does not read is not
 * waited for. */
static void tell_exit(struct server *s, const struct gxs_scx_exit *x)
{
	char text[sizeof(x->reason) + sizeof(x->msg) + 2];
	struct gx_kabi_msg m;
	struct client *c;

	memset(&m, 0, sizeof(m));
	m.magic = GX_KABI_MAGIC;
	m.version = GX_KABI_VERSION;
	m.type = GX_MSG_EXIT;
	m.arg0 = (__u32)x->kind;
	snprintf(text, sizeof(text), "%s%s%s", x->reason, x->msg[0] ? ": " : "", x->msg);
	/* truncated to fit */
	snprintf(m.text, sizeof(m.text), "%.*s", (int)sizeof(m.text) - 1, text);
	for (c = s->clients; c; c = c->next) {
		if (c->refused)
			continue;
		if (send_reply(c, &m, NULL, 0) < 0)
			gxs_debug("pid %d: cannot send EXIT: %s", (int)c->peer.pid, strerror(errno));
	}
}

/* The scheduler's exit, as scx schedulers print it. */
static void log_exit(const struct gxs_scx_exit *x)
{
	gxs_log("EXIT: kind %d (%s): %s%s%s", x->kind, gxs_scx_kind_name(x->kind), x->reason, x->msg[0] ? ": " : "",
		x->msg);
}

/* scx: true once the scheduler is gone; *x says why (from its record, or
 * made up when the kernel says disabled and no record came). */
static bool scx_gone(struct server *s, struct gxs_scx_exit *x, bool check_state)
{
	if (s->o->mode != GX_KABI_SCX)
		return false;
	if (gxs_scx_poll(&s->bpf, x))
		return true;
	if (!check_state || gxs_scx_enabled())
		return false;
	if (gxs_scx_poll(&s->bpf, x)) /* it may have come meanwhile */
		return true;
	memset(x, 0, sizeof(*x));
	x->kind = 1024;
	snprintf(x->reason, sizeof(x->reason), "sched_ext disabled");
	snprintf(x->msg, sizeof(x->msg), "no exit record came from the scheduler");
	return true;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			gxs_debug("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	}
}

static char *dir_of(const char *path, char *buf, size_t n)
{
	char *slash;

	snprintf(buf, n, "%s", path);
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	return buf;
}

int gxs_serve(const struct gxs_opts *o)
{
	struct server s = {.o = o, .ep = -1, .lfd = -1, .sfd = -1, .lockfd = -1, .spare = -1};
	char dir[PATH_MAX];
	sigset_t set;
	int rc = 1, signo = 0, err;
	bool watched_gone = false;

	struct gxs_scx_exit x = {0};
	bool ejected = false;
	long long next_check = 0;

	s.bpf.procs_fd = s.bpf.rbufs_fd = s.bpf.tids_fd = s.bpf.kick_fd = s.bpf.exit_rb_fd = s.bpf.ops_link_fd = -1;
	s.bpf.mode = o->mode;
	s.bpf.whole = o->whole;
	s.bpf.error_after_ms = o->error_after_ms;
	if (dir_of(o->sock, dir, sizeof(dir)) && (err = mkdir_p(dir)) < 0) {
		gxs_log("cannot create %s: %s", dir, strerror(-err));
		return 1;
	}
	err = take_lock(&s, o->sock);
	if (err)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (s.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		gxs_log("signalfd: %s", strerror(errno));
		goto out;
	}
	raise_nofile();
	s.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	gxs_libbpf_logging();
	if (gxs_bpffs_mount() < 0)
		goto out;
	if (gxs_bpf_load(&s.bpf) < 0)
		goto out;
	if (gxs_bpf_pin(&s.bpf, o->pin_dir) < 0)
		goto out;
	if (make_socket(&s, o->sock) < 0)
		goto out;
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (s.ep < 0 || ep_add(&s, s.lfd, &tag_listen, EPOLLIN) < 0 || ep_add(&s, s.sfd, &tag_signal, EPOLLIN) < 0) {
		gxs_log("epoll: %s", strerror(errno));
		goto out;
	}
	if (o->watch_fd >= 0 && ep_add(&s, o->watch_fd, &tag_watch, EPOLLIN | EPOLLRDHUP) < 0) {
		gxs_log("--watch-fd %d: %s", o->watch_fd, strerror(errno));
		goto out;
	}
	if (o->mode == GX_KABI_SCX) {
		int fd = gxs_scx_watch(&s.bpf);

		if (fd < 0 || ep_add(&s, fd, &tag_scx, EPOLLIN) < 0) {
			gxs_log("the scheduler's exit ring buffer: %s", strerror(fd < 0 ? -fd : errno));
			goto out;
		}
		gxs_log("sched_ext scheduler gmpx enabled (%s)%s", o->whole ? "whole-machine" : "partial",
			o->error_after_ms ? ", --test-error-after set" : "");
	}
	gxs_log("started (pid %d): mode %s, programs %s, socket %s, pins %s%s%s", (int)getpid(), mode_str(o),
		s.bpf.family, o->sock, o->pin_dir, o->group ? ", group " : "", o->group ? o->group : "");

	while (!signo && !watched_gone) {
		struct epoll_event evs[64];
		int i, n, timeout = expire_refused(&s);
		long long now = now_ms();
		bool check = false;

		if (o->mode == GX_KABI_SCX) {
			if (now >= next_check) {
				check = true;
				next_check = now + SCX_CHECK_MS;
			}
			if (scx_gone(&s, &x, check)) {
				ejected = true;
				break;
			}
			if (timeout < 0 || timeout > next_check - now)
				timeout = (int)(next_check - now);
		}

		n = epoll_wait(s.ep, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			gxs_log("epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &tag_listen)
				on_listen(&s);
			else if (p == &tag_signal)
				on_signal(&s, &signo);
			else if (p == &tag_watch)
				watched_gone = true;
			else if (p == &tag_scx)
				continue; /* read at the top of the loop */
			else
				on_client(&s, p, evs[i].events);
		}
	}
	if (ejected) {
		log_exit(&x);
		gxs_log("exiting: the sched_ext scheduler was unloaded: %zu process(es) attached", gxs_proc_count());
		tell_exit(&s, &x);
		goto out;
	}
	if (watched_gone)
		gxs_log("exiting: --watch-fd %d hung up (whoever started us is gone): %zu process(es) attached",
			o->watch_fd, gxs_proc_count());
	else
		gxs_log("exiting on SIG%s: %zu process(es) attached", sigabbrev_np(signo) ? sigabbrev_np(signo) : "?",
			gxs_proc_count());
	if (o->mode == GX_KABI_SCX) {
		gxs_bpf_scx_disable(&s.bpf);
		if (!gxs_scx_poll(&s.bpf, &x)) {
			x.kind = 64;
			snprintf(x.reason, sizeof(x.reason), "unregistered from user space");
		}
		log_exit(&x);
		tell_exit(&s, &x);
	}
	rc = 0;
out:
	/* close the clients' sockets first, leave their map entries: see
	 * the top of this file */
	while (s.clients) {
		struct client *c = s.clients;

		s.clients = c->next;
		if (c->proc)
			gxs_proc_detach(&s.bpf, c->proc, false);
		close(c->fd);
		free(c);
	}
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.sock_made && unlink(o->sock) < 0)
		gxs_log("cannot remove %s: %s", o->sock, strerror(errno));
	gxs_bpf_unpin(&s.bpf);
	gxs_scx_watch_close(&s.bpf);
	gxs_bpf_destroy(&s.bpf);
	if (s.ep >= 0)
		close(s.ep);
	if (s.sfd >= 0)
		close(s.sfd);
	if (s.spare >= 0)
		close(s.spare);
	if (s.lockfd >= 0)
		close(s.lockfd);
	return rc;
}
