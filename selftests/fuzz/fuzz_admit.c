/* SPDX-License-Identifier: MIT */
/*
 * fuzz_admit.c - libFuzzer target for gmpx-sched's admission and per-user
 * limits (tools/gmpx-sched/policy.c). The input is read as: the peer's
 * uid and gid, the daemon's euid, whether --group is set and its gid, the
 * supplementary groups, then a resource, limits and usage. Checks, beyond
 * the sanitizers: root is always admitted; nobody else is admitted without
 * a reason (own uid, --group); a refusal says why in a terminated line;
 * a limit check lets no user but root past its cap or into root's
 * reserve, and nobody past a table's size.
 *
 *   make fuzz; build/fuzz/fuzz_admit selftests/fuzz/corpus/admit
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gmpx_sched.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct in *in, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->n) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

/* small ids, so that equal ones are common */
static uint32_t take_id(struct in *in)
{
	uint32_t v = take(in, 1);

	return v < 0xf0 ? v % 4 : take(in, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	gid_t groups[64];
	char why[104];
	struct gxs_admit_in a;
	struct gxs_limits l;
	struct gxs_usage user, nonroot, all;
	size_t i;
	bool ok, member = false;

	memset(&a, 0, sizeof(a));
	a.uid = take_id(&in);
	a.gid = take_id(&in);
	a.daemon_euid = take_id(&in);
	a.group = take(&in, 1) & 1 ? "gmpx" : NULL;
	a.group_gid = take_id(&in);
	a.ngroups = take(&in, 1) % 65;
	for (i = 0; i < a.ngroups; i++)
		groups[i] = take_id(&in);
	a.groups = groups;
	memset(why, 'x', sizeof(why));
	ok = gxs_admit_decide(&a, why, sizeof(why));
	if (a.group) {
		member = a.gid == a.group_gid;
		for (i = 0; i < a.ngroups; i++)
			member |= groups[i] == a.group_gid;
	}
	check(ok == (a.uid == 0 || a.uid == a.daemon_euid || member));
	if (!ok) {
		check(memchr(why, 0, sizeof(why)) != NULL);
		check(strstr(why, "not admitted") != NULL);
	}

	enum gxs_res r = (enum gxs_res)(take(&in, 1) % (GXS_NRES + 1));
	for (i = 0; i < GXS_NRES; i++) {
		l.table[i] = take(&in, 2);
		l.per_user[i] = take(&in, 2);
		l.root_reserve[i] = take(&in, 2);
		all.n[i] = take(&in, 2);
		nonroot.n[i] = take(&in, 2);
		user.n[i] = take(&in, 2);
	}
	if (take(&in, 1) & 1)
		l = gxs_default_limits;
	memset(why, 'x', sizeof(why));
	int err = gxs_limit_check(r, a.uid, &user, &nonroot, &all, &l, why, sizeof(why));
	if ((unsigned)r >= GXS_NRES) {
		check(err == -EINVAL);
		return 0;
	}
	if (err) {
		check(err == -E2BIG);
		check(memchr(why, 0, sizeof(why)) != NULL);
		check(strstr(why, "limit") != NULL);
		return 0;
	}
	check(all.n[r] < l.table[r]);
	if (a.uid != 0) {
		check(user.n[r] < l.per_user[r]);
		check(l.root_reserve[r] <= l.table[r] && nonroot.n[r] < l.table[r] - l.root_reserve[r]);
	}
	return 0;
}
