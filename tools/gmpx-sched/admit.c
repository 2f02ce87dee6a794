/* SPDX-License-Identifier: MIT */
/*
 * admit.c - who may attach to the daemon. The socket is mode 0666 so that
 * anybody gets a clear answer; admission is decided here, per connection,
 * from the kernel's record of the peer (SO_PEERCRED: its tgid, euid and
 * egid at connect() time):
 *   root, the daemon's own euid, or a member of --group (primary gid or
 *   supplementary groups).
 * Supplementary groups come from SO_PEERGROUPS (also recorded at connect(),
 * so there is no pid-reuse race); on kernels without it, from the peer's
 * /proc/PID/status "Groups:" line.
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "gmpx_sched.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

int gxs_peer_creds(int fd, struct gxs_peer *peer)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	peer->pid = uc.pid;
	peer->uid = uc.uid;
	peer->gid = uc.gid;
	return 0;
}

/* 1 member, 0 not, -errno unknown */
static int peergroups_has(int fd, gid_t gid)
{
	gid_t small[64], *g = small;
	socklen_t len = sizeof(small);
	int r = 0;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE)
			return -errno;
		g = malloc(len);
		if (!g)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
			r = -errno;
			free(g);
			return r;
		}
	}
	for (i = 0; i < len / sizeof(gid_t); i++) {
		if (g[i] == gid) {
			r = 1;
			break;
		}
	}
	if (g != small)
		free(g);
	return r;
}

static int proc_groups_has(pid_t pid, gid_t gid)
{
	char path[64], line[4096];
	FILE *f;
	int r = -ENOENT;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		r = 0;
		for (p = line + 7;; p = end) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p)
				break;
			if ((gid_t)v == gid) {
				r = 1;
				break;
			}
		}
		break;
	}
	fclose(f);
	return r;
}

bool gxs_admit(int fd, const struct gxs_peer *peer, const struct gxs_opts *o, char *why, size_t n)
{
	uid_t me = geteuid();
	char who[96];
	int r;

	if (peer->uid == 0 || peer->uid == me)
		return true;
	if (o->group) {
		if (peer->gid == o->gid)
			return true;
		r = peergroups_has(fd, o->gid);
		if (r < 0)
			r = proc_groups_has(peer->pid, o->gid);
		if (r > 0)
			return true;
	}
	if (me != 0 && o->group)
		snprintf(who, sizeof(who), "root, uid %u or group %s", (unsigned)me, o->group);
	else if (me != 0)
		snprintf(who, sizeof(who), "root or uid %u", (unsigned)me);
	else if (o->group)
		snprintf(who, sizeof(who), "root or group %s", o->group);
	else
		snprintf(who, sizeof(who), "root");
	snprintf(why, n, "uid %u is not admitted (%s only)", (unsigned)peer->uid, who);
	return false;
}
