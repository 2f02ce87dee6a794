/* SPDX-License-Identifier: MIT */
/*
 * admit.c - who is at the other end of a connection. The socket is mode
 * 0666 so that anybody gets a clear answer; admission is decided per
 * connection (policy.c) from the kernel's record of the peer (SO_PEERCRED:
 * its tgid, euid and egid at connect() time).
 *
 * Identity. A pid number alone is not a process: the process that
 * connected may exit (its socket living on in another process) and its pid
 * be reused, by root's process as well. So each connection is bound to the
 * connecting process itself when it is accepted: SO_PEERPIDFD (Linux 6.5+)
 * gives a pidfd the kernel took at connect(); without it, pidfd_open() of
 * the SO_PEERCRED pid, checked to be the same process (same euid, and its
 * start time from /proc/PID/stat kept to compare later). A pidfd turns
 * readable when its process exits: server.c polls it to detach at once,
 * and every request checks it first (gxs_peer_alive), so nothing is ever
 * done for a pid whose process is not the live peer.
 *
 * Supplementary groups come from SO_PEERGROUPS (also recorded at
 * connect()); on kernels without it, from the peer's /proc/PID/status
 * "Groups:" line, trusted only if the peer is still alive afterwards.
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "gmpx_sched.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define MAX_GROUPS 1024

/* The start time (field 22 of /proc/PID/stat, clock ticks after boot), 0
 * if the process is gone. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
	if (!p)
		return 0;
	/* after ")": field 3 (state) ... field 22 (starttime) */
	for (i = 3; i <= 22 && p; i++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

/* A /proc/PID/status line's first number ("Uid:" gives the real uid, then
 * the effective one: field = 1 for it). -1 if not found. */
static long status_field(pid_t pid, const char *key, int field)
{
	char path[64], line[4096];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + kl, *end;
		int i;

		if (strncmp(line, key, kl) != 0)
			continue;
		for (i = 0; i <= field; i++, p = end) {
			v = strtol(p, &end, 10);
			if (end == p) {
				v = -1;
				break;
			}
		}
		break;
	}
	fclose(f);
	return v;
}

/* true once the process behind a pidfd has exited */
static bool pidfd_exited(int pidfd)
{
	struct pollfd pf = {.fd = pidfd, .events = POLLIN};

	return poll(&pf, 1, 0) != 0; /* readable (exited), or an error */
}

bool gxs_no_peerpidfd;

int gxs_peer_identify(int fd, struct gxs_peer *peer, char *why, size_t n)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int pidfd = -1;

	memset(peer, 0, sizeof(*peer));
	peer->pidfd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		int e = errno;

		snprintf(why, n, "SO_PEERCRED: %s", strerror(e));
		return -e;
	}
	peer->pid = uc.pid;
	peer->uid = uc.uid;
	peer->gid = uc.gid;
	if (uc.pid <= 0) {
		snprintf(why, n, "your pid is not visible in the daemon's pid namespace");
		return -ESRCH;
	}
	len = sizeof(pidfd);
	if (!gxs_no_peerpidfd && getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
		/* the kernel's own reference to the connecting process */
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
		peer->pidfd = pidfd;
		if (pidfd_exited(pidfd))
			goto gone;
		return 0;
	}
	if (!gxs_no_peerpidfd && errno == ESRCH)
		goto gone;
	/* No SO_PEERPIDFD: pin the pid now, then check it is still the
	 * process that connected: the same euid, alive. A pid reused
	 * between connect() and this accept() by a process of the same
	 * euid cannot be told apart here (see README.md, Security model). */
	peer->start = start_time(uc.pid);
	pidfd = (int)syscall(SYS_pidfd_open, uc.pid, 0);
	if (pidfd >= 0) {
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
		peer->pidfd = pidfd;
	}
	if (peer->start == 0 || status_field(uc.pid, "Uid:", 1) != (long)uc.uid || !gxs_peer_alive(peer))
		goto gone;
	return 0;
gone:
	snprintf(why, n, "the process that connected (pid %d) has exited", (int)uc.pid);
	return -ESRCH;
}

bool gxs_peer_alive(const struct gxs_peer *peer)
{
	if (peer->pid <= 0)
		return false;
	if (peer->pidfd >= 0 && pidfd_exited(peer->pidfd))
		return false;
	/* fallback identity: the start time has to be the same as at accept */
	if (peer->start && start_time(peer->pid) != peer->start)
		return false;
	return peer->pidfd >= 0 || peer->start != 0;
}

/* The peer's supplementary groups: SO_PEERGROUPS, else /proc. Count, or
 * -errno. */
static int peer_groups(int fd, const struct gxs_peer *peer, gid_t *g, size_t max)
{
	socklen_t len = (socklen_t)(max * sizeof(gid_t));
	char path[64], line[4096];
	FILE *f;
	int k = -ENOENT;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0)
		return (int)(len / sizeof(gid_t));
	if (errno == ERANGE)
		return -E2BIG;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)peer->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		k = 0;
		for (p = line + 7; (size_t)k < max; p = end) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p)
				break;
			g[k++] = (gid_t)v;
		}
		break;
	}
	fclose(f);
	/* what /proc said is about the peer only if it is still the peer */
	if (k >= 0 && !gxs_peer_alive(peer))
		return -ESRCH;
	return k;
}

bool gxs_admit(int fd, const struct gxs_peer *peer, const struct gxs_opts *o, char *why, size_t n)
{
	static gid_t groups[MAX_GROUPS];
	struct gxs_admit_in in = {
		.uid = peer->uid,
		.daemon_euid = geteuid(),
		.gid = peer->gid,
		.groups = groups,
		.group = o->group,
		.group_gid = o->gid,
	};
	int k = 0;

	if (o->group && peer->uid != 0 && peer->uid != in.daemon_euid && peer->gid != o->gid)
		k = peer_groups(fd, peer, groups, MAX_GROUPS);
	in.ngroups = k > 0 ? (size_t)k : 0;
	return gxs_admit_decide(&in, why, n);
}
