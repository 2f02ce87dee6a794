/* SPDX-License-Identifier: MIT */
/*
 * server.c - the daemon proper: single-instance lock, the unix socket,
 * one epoll loop over the listener, the clients and a signalfd, and the
 * protocol's messages (include/gmpx/sched_proto.h: HELLO, MREG, MUNREG).
 *
 * Connections: every accepted peer is pinned down (admit.c: a pidfd of
 * the process that connected) and checked at once: not admitted (-EPERM),
 * over a limit (-E2BIG, policy.c), or already exited (-ESRCH), it is sent
 * its reply and closed straight away (the client reads the queued reply
 * even when its own send() fails with EPIPE). An admitted peer may HELLO
 * once; each request gets exactly one reply; bad packets get -EINVAL
 * (proto.c) and the connection stays. Every request first checks that the
 * process that connected is alive: the socket may have outlived it, in
 * another process's hands. A peer that hangs up, or whose process exits
 * (its pidfd, in the epoll set, turns readable), is detached at once: its
 * map entries go (attach.c). Lines a peer can cause are rate-limited.
 *
 * The lock file and the socket: the socket's directory must not be
 * writable by others unless it is sticky and root's (as /tmp), and the
 * lock file is opened without following symlinks and must be a plain file
 * of ours: planted files cannot make us write elsewhere.
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
#include <stdint.h>
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

#define NFDS	     (2 + GXS_NLINKS + 1) /* state, ring, links, scx: the kick */
#define SCX_CHECK_MS 500

struct client {
	int fd;
	struct gxs_peer peer; /* peer.pidfd is in the epoll set too (tagged: pointer + 1) */
	struct gxs_proc *proc;
	struct client *next;
	bool gone; /* dropped: freed after this round of events */
	struct client *gone_next;
};

struct server {
	const struct gxs_opts *o;
	struct gxs_bpf bpf;
	int ep, lfd, sfd, lockfd, spare;
	struct client *clients;
	struct client *gone; /* dropped this round: later events may still name them */
	int nconns;
	bool sock_made;
	/* lines a peer can cause */
	struct gxs_ratelimit rl_refused, rl_bad, rl_attach;
};

/* epoll tags for the fds that are not clients */
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

/* The socket's directory: refused (one line saying why) if users other
 * than root could plant files in it: writable by group or others and not
 * sticky and root's, or owned by another user. 0 or -errno. */
static int check_sock_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		int e = errno;
		gxs_log("socket directory %s: %s", dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		gxs_log("socket directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		gxs_log("socket directory %s is owned by uid %u: refusing it (its owner could replace the socket); use "
			"a directory of root's, e.g. /run/gmpx",
			dir, (unsigned)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !((st.st_mode & S_ISVTX) && st.st_uid == 0)) {
		gxs_log("socket directory %s is writable by other users and not sticky and root's (mode %04o): "
			"refusing it (planted files could redirect the lock and the socket); use a directory only "
			"root can write, e.g. /run/gmpx",
			dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* 0 locked, 1 another daemon holds it, -errno failure. The lock file is
 * never followed through a symlink (O_NOFOLLOW) and must be a plain file of
 * ours with one link: a planted one makes us refuse, never write. */
static int take_lock(struct server *s, const char *sock)
{
	char path[PATH_MAX], pid[32];
	struct stat st;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s.lock", sock) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	if (fd < 0) {
		int e = errno;
		struct stat lst;

		/* ELOOP from O_NOFOLLOW; or EACCES where the kernel's
		 * protected_symlinks/protected_regular got there first */
		if (e == ELOOP || (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)))
			gxs_log("lock file %s is a symlink: refusing it (remove it, and keep --socket in a directory "
				"only "
				"root can write)",
				path);
		else
			gxs_log("cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) {
		gxs_log("lock file %s is not a plain file of ours (a hard link or another user's?): refusing it "
			"(remove it, and keep --socket in a directory only root can write)",
			path);
		close(fd);
		return -EPERM;
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
	/* anybody may connect, to be told whether they are admitted: mode
	 * 0666 from bind() itself (the umask), no chmod() of a path that
	 * could be swapped for a symlink in between */
	mode_t old = umask(0111);
	int br = bind(fd, (struct sockaddr *)&a, sizeof(a));
	int be = errno;
	umask(old);
	if (br < 0) {
		gxs_log("cannot bind %s: %s", tmp, strerror(be));
		close(fd);
		return -be;
	}
	if (listen(fd, 64) < 0 || rename(tmp, path) < 0) {
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

/* 0 sent, -errno: the client is gone or not reading (drop it) */
static int send_reply(struct client *c, const struct gx_sched_msg *r, const int *fds, int nfds)
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

/* What uid holds, what all users but root hold, what everybody holds. */
static void usage_of(const struct server *s, uid_t uid, struct gxs_usage *user, struct gxs_usage *nonroot,
		     struct gxs_usage *all)
{
	const struct client *c;

	memset(user, 0, sizeof(*user));
	memset(nonroot, 0, sizeof(*nonroot));
	memset(all, 0, sizeof(*all));
	for (c = s->clients; c; c = c->next) {
		struct gxs_usage u = {{1, c->proc ? 1 : 0, c->proc ? (unsigned)c->proc->ntids : 0}};
		int r;

		for (r = 0; r < GXS_NRES; r++) {
			all->n[r] += u.n[r];
			if (c->peer.uid != 0)
				nonroot->n[r] += u.n[r];
			if (c->peer.uid == uid)
				user->n[r] += u.n[r];
		}
	}
}

static int limit_check(const struct server *s, enum gxs_res r, uid_t uid, char *why, size_t n)
{
	struct gxs_usage user, nonroot, all;

	usage_of(s, uid, &user, &nonroot, &all);
	return gxs_limit_check(r, uid, &user, &nonroot, &all, &gxs_default_limits, why, n);
}

/* Lines about an admitted peer's attachment: rate-limited for users other
 * than root (one of them could attach and detach in a loop). */
#define log_peer(s, c, ...)                                            \
	do {                                                           \
		if ((c)->peer.uid == 0)                                \
			gxs_log(__VA_ARGS__);                          \
		else                                                   \
			gxs_log_limited(&(s)->rl_attach, __VA_ARGS__); \
	} while (0)

static void drop_client(struct server *s, struct client *c, const char *how)
{
	struct client **pp;

	if (c->gone)
		return;
	if (c->proc) {
		log_peer(s, c, "detached pid %d (uid %u): %s", (int)c->peer.pid, (unsigned)c->peer.uid, how);
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
	c->fd = -1;
	if (c->peer.pidfd >= 0)
		close(c->peer.pidfd);
	c->peer.pidfd = -1;
	s->nconns--;
	/* freed after this round of events: one may still name it */
	c->gone = true;
	c->gone_next = s->gone;
	s->gone = c;
}

static void free_gone(struct server *s)
{
	while (s->gone) {
		struct client *c = s->gone;

		s->gone = c->gone_next;
		free(c);
	}
}

/* Refuse a new connection: its reply, then close at once (the reply stays
 * queued for the client to read). One rate-limited line. */
static void refuse(struct server *s, int fd, const struct gxs_peer *peer, int err, const char *why)
{
	struct gx_sched_msg r;

	gxs_log_limited(&s->rl_refused, "refused pid %d (uid %u): %s", (int)peer->pid, (unsigned)peer->uid, why);
	gxs_reply_init(&r, GX_MSG_HELLO, err, why);
	(void)!send(fd, &r, sizeof(r), MSG_NOSIGNAL | MSG_DONTWAIT);
	if (peer->pidfd >= 0)
		close(peer->pidfd);
	close(fd);
}

static void accept_one(struct server *s, int fd)
{
	char why[sizeof(((struct gx_sched_msg *)0)->text)];
	struct gxs_peer peer;
	struct client *c;
	int err;

	err = gxs_peer_identify(fd, &peer, why, sizeof(why));
	if (err) {
		refuse(s, fd, &peer, err, why);
		return;
	}
	if (!gxs_admit(fd, &peer, s->o, why, sizeof(why))) {
		refuse(s, fd, &peer, -EPERM, why);
		return;
	}
	err = limit_check(s, GXS_RES_CONNS, peer.uid, why, sizeof(why));
	if (err) {
		refuse(s, fd, &peer, err, why);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse(s, fd, &peer, -ENOMEM, "daemon out of memory");
		return;
	}
	c->fd = fd;
	c->peer = peer;
	if (ep_add(s, fd, c, EPOLLIN | EPOLLRDHUP) < 0 ||
	    (peer.pidfd >= 0 && ep_add(s, peer.pidfd, (char *)c + 1, EPOLLIN) < 0)) {
		gxs_log("epoll_ctl: %s: closing a new connection", strerror(errno));
		refuse(s, fd, &peer, -ENOMEM, "daemon out of resources (epoll)");
		free(c);
		return;
	}
	c->next = s->clients;
	s->clients = c;
	s->nconns++;
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
			gxs_log_limited(&s->rl_refused, "accept: %s: closing a new connection", strerror(errno));
			close(s->spare);
			fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
			return;
		}
		gxs_log_limited(&s->rl_refused, "accept: %s", strerror(errno));
		return;
	}
}

static void do_hello(struct server *s, struct client *c, const struct gxs_req *m)
{
	char why[sizeof(((struct gx_sched_msg *)0)->text)];
	struct gx_sched_msg r;
	int fds[NFDS], nfds, err, i;
	int grant = s->o->mode == GX_KABI_SCX && m->arg0 == GX_KABI_SCX ? GX_KABI_SCX : GX_KABI_TRACE;

	if (c->proc) {
		gxs_reply_init(&r, m->reply_type, -EBUSY, "already attached");
		goto send;
	}
	err = limit_check(s, GXS_RES_PROCS, c->peer.uid, why, sizeof(why));
	if (err) {
		gxs_log_limited(&s->rl_refused, "cannot attach pid %d (uid %u): %s", (int)c->peer.pid,
				(unsigned)c->peer.uid, why);
		gxs_reply_init(&r, m->reply_type, err, why);
		goto send;
	}
	err = gxs_proc_attach(&s->bpf, c->peer.pid, c->peer.uid, grant, &c->proc, why, sizeof(why));
	if (err) {
		log_peer(s, c, "cannot attach pid %d (uid %u): %s", (int)c->peer.pid, (unsigned)c->peer.uid, why);
		gxs_reply_init(&r, m->reply_type, err, why);
		goto send;
	}
	/* the entries are keyed by pid: they are the peer's only if it did
	 * not exit while we made them */
	if (!gxs_peer_alive(&c->peer)) {
		drop_client(s, c, "exited");
		return;
	}
	gxs_reply_init(&r, m->reply_type, 0, NULL);
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
		log_peer(s, c, "pid %d: cannot send the HELLO reply: %s", (int)c->peer.pid, strerror(-err));
		reply_failed(s, c, err);
		return;
	}
	log_peer(s, c, "attached pid %d (uid %u): mode %s%s, gomaxprocs %u", (int)c->peer.pid, (unsigned)c->peer.uid,
		 grant == GX_KABI_SCX ? "scx" : "trace", grant != (int)m->arg0 ? " (scx asked)" : "", m->arg1);
	return;
send:
	err = send_reply(c, &r, NULL, 0);
	if (err)
		reply_failed(s, c, err);
}

static bool has_tid(const struct gxs_proc *p, __u32 tid)
{
	size_t i;

	for (i = 0; i < p->ntids; i++)
		if (p->tids[i].tid == tid)
			return true;
	return false;
}

static void on_client(struct server *s, struct client *c, unsigned events)
{
	char why[sizeof(((struct gx_sched_msg *)0)->text)];
	/* one byte more than a message: a longer packet is seen as such
	 * even where MSG_TRUNC is not reported */
	char buf[sizeof(struct gx_sched_msg) + 1];
	struct gx_sched_msg r;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct gxs_req m;
	ssize_t n;
	int err;

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
	/* whoever holds this socket now, it speaks for the process that
	 * connected only while that process lives */
	if (!gxs_peer_alive(&c->peer)) {
		snprintf(why, sizeof(why), "the process that connected (pid %d) has exited", (int)c->peer.pid);
		gxs_reply_init(&r, GX_MSG_HELLO, -ESRCH, why);
		(void)send_reply(c, &r, NULL, 0);
		drop_client(s, c, "exited");
		return;
	}
	err = gxs_parse_request(buf, (size_t)n, (mh.msg_flags & MSG_TRUNC) != 0, &m, why, sizeof(why));
	if (err) {
		gxs_debug("pid %d: bad packet: %s", (int)c->peer.pid, why);
		gxs_reply_init(&r, m.reply_type, err, why);
	} else if (m.type == GX_MSG_HELLO) {
		do_hello(s, c, &m);
		return;
	} else if (!c->proc) {
		gxs_reply_init(&r, m.reply_type, -EINVAL, "not attached (HELLO first)");
	} else {
		why[0] = '\0';
		err = 0;
		if (m.type == GX_MSG_MREG && !has_tid(c->proc, m.arg0))
			err = limit_check(s, GXS_RES_TIDS, c->peer.uid, why, sizeof(why));
		if (err)
			gxs_log_limited(&s->rl_refused, "pid %d (uid %u): MREG refused: %s", (int)c->peer.pid,
					(unsigned)c->peer.uid, why);
		else if (m.type == GX_MSG_MREG)
			err = gxs_proc_mreg(&s->bpf, c->proc, m.arg0, m.arg1, why, sizeof(why));
		else
			err = gxs_proc_munreg(&s->bpf, c->proc, m.arg0, why, sizeof(why));
		/* MREG looked the thread up in /proc by number: that was the
		 * peer's thread only if the peer is still the same process */
		if (!gxs_peer_alive(&c->peer)) {
			drop_client(s, c, "exited");
			return;
		}
		if (err)
			gxs_debug("pid %d: %s: %s", (int)c->peer.pid, m.type == GX_MSG_MREG ? "MREG" : "MUNREG", why);
		else
			gxs_debug("pid %d: %s tid %u slot %u", (int)c->peer.pid,
				  m.type == GX_MSG_MREG ? "MREG" : "MUNREG", m.arg0, m.arg1);
		gxs_reply_init(&r, m.reply_type, err, why);
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

/* scx: tell every client the scheduler is gone (GX_MSG_EXIT), before
 * their sockets are closed. Best effort: one that does not read is not
 * waited for. */
static void tell_exit(struct server *s, const struct gxs_scx_exit *x)
{
	char text[sizeof(x->reason) + sizeof(x->msg) + 2];
	struct gx_sched_msg m;
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
	if (check_sock_dir(dir_of(o->sock, dir, sizeof(dir)) ? dir : ".") < 0)
		return 1;
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
		int i, n, timeout = -1;
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
				continue;	     /* read at the top of the loop */
			else if ((uintptr_t)p & 1) { /* a client's pidfd: its process exited */
				struct client *c = (struct client *)((char *)p - 1);

				drop_client(&s, c, "exited");
			} else if (!((struct client *)p)->gone) {
				on_client(&s, p, evs[i].events);
			}
		}
		free_gone(&s);
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
		if (c->peer.pidfd >= 0)
			close(c->peer.pidfd);
		free(c);
	}
	free_gone(&s);
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
