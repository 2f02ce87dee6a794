/* SPDX-License-Identifier: MIT */
/*
 * policy.c - who is admitted and how much of the daemon's tables each user
 * may hold. Pure functions over what admit.c and server.c gathered (no
 * syscalls, no globals): the daemon and the fuzz target
 * (selftests/fuzz/fuzz_admit.c) run the same code.
 *
 * Admitted: root, the daemon's own euid, members of --group (primary gid
 * or a supplementary group).
 *
 * Limits: each table (connections, attached processes, registered
 * threads) has a per-user cap well below its size, and the users other
 * than root together may fill it only up to its size minus a reserve kept
 * for root. So no user can fill a table, and root is always served.
 */
#include <errno.h>
#include <stdio.h>
#include "gmpx_sched.h"

bool gxs_admit_decide(const struct gxs_admit_in *in, char *why, size_t n)
{
	char who[96];
	size_t i;

	if (in->uid == 0 || in->uid == in->daemon_euid)
		return true;
	if (in->group) {
		if (in->gid == in->group_gid)
			return true;
		for (i = 0; i < in->ngroups; i++)
			if (in->groups[i] == in->group_gid)
				return true;
	}
	if (in->daemon_euid != 0 && in->group)
		snprintf(who, sizeof(who), "root, uid %u or group %s", (unsigned)in->daemon_euid, in->group);
	else if (in->daemon_euid != 0)
		snprintf(who, sizeof(who), "root or uid %u", (unsigned)in->daemon_euid);
	else if (in->group)
		snprintf(who, sizeof(who), "root or group %s", in->group);
	else
		snprintf(who, sizeof(who), "root");
	snprintf(why, n, "uid %u is not admitted (%s only)", (unsigned)in->uid, who);
	return false;
}

const struct gxs_limits gxs_default_limits = {
	.table = {GXS_MAX_CONNS, GX_KABI_MAX_PROCS, GX_KABI_MAX_TIDS},
	.per_user = {GXS_USER_CONNS, GXS_USER_PROCS, GXS_USER_TIDS},
	.root_reserve = {GXS_ROOT_CONNS, GXS_ROOT_PROCS, GXS_ROOT_TIDS},
};

static const char *const res_name[GXS_NRES] = {"connections", "attached processes", "registered threads"};
static const char *const res_fix[GXS_NRES] = {"close some", "end some of them", "run fewer Ms (GOMAXPROCS)"};

int gxs_limit_check(enum gxs_res r, uid_t uid, const struct gxs_usage *user, const struct gxs_usage *nonroot,
		    const struct gxs_usage *all, const struct gxs_limits *l, char *why, size_t n)
{
	unsigned table, reserve;

	if ((unsigned)r >= GXS_NRES) {
		snprintf(why, n, "unknown resource");
		return -EINVAL;
	}
	table = l->table[r];
	reserve = l->root_reserve[r];
	if (all->n[r] >= table) {
		snprintf(why, n, "all %u %s of the daemon are in use (the limit): try again later", table, res_name[r]);
		return -E2BIG;
	}
	if (uid == 0)
		return 0;
	if (user->n[r] >= l->per_user[r]) {
		snprintf(why, n, "uid %u has %u %s (the limit per user): %s, or run as root", (unsigned)uid, user->n[r],
			 res_name[r], res_fix[r]);
		return -E2BIG;
	}
	if (reserve > table || nonroot->n[r] >= table - reserve) {
		snprintf(why, n, "users other than root hold %u %s (the limit; %u kept for root): try again later",
			 nonroot->n[r], res_name[r], reserve);
		return -E2BIG;
	}
	return 0;
}
