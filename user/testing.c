/* SPDX-License-Identifier: MIT */
/* testing.c - accessors behind testing.h (see there). Compiled into the
 * test binaries only (Makefile: TESTING_SRCS), never into libgmpx: they
 * reach the runtime's hidden symbols through the static library. */
#include "runtime.h"
#include "testing.h"
#include "kassist.h"

int gx_test_current_p(void)
{
	struct gx_m *mp = getm();
	return mp && mp->p ? mp->p->id : -1;
}

uint64_t gx_test_p_executions(int pid)
{
	if (pid < 0 || pid >= GX_MAXPROCS_LIMIT || !gx_allp[pid])
		return 0;
	return atomic_load_explicit(&gx_allp[pid]->executions, memory_order_relaxed);
}

int gx_test_guard_mode(void)
{
	return gx_stack_guard_is_madvise() ? 1 : 2;
}

uintptr_t gx_test_stack_lo(void)
{
	gx_g *gp = getg();
	return gp ? gp->stack.lo : 0;
}

size_t gx_test_stack_size(void)
{
	gx_g *gp = getg();
	return gp ? gp->stack.size : 0;
}

int gx_test_cgroup_limit(void)
{
	return gx_cgroup_limit();
}
int gx_test_default_maxprocs(void)
{
	return gx_default_maxprocs();
}
int gx_test_sanitized(void)
{
	return GX_TSAN ? 2 : GX_ASAN ? 1 : 0;
}

uint64_t gx_test_async_preemptions(void)
{
	return atomic_load(&gx_async_preemptions);
}
int gx_test_async_preempt_enabled(void)
{
	return gx_asyncpreempt_enabled;
}

int gx_test_fake_kblock(int pid)
{
	if (pid < 0 || pid >= atomic_load(&gx_sched.nallp) || !gx_allp[pid])
		return -1;
	struct gx_p *pp = gx_allp[pid];
	struct gx_m *mp = atomic_load(&pp->m);
	if (!mp)
		return -1;
	_Atomic uint64_t *wp = (_Atomic uint64_t *)&mp->kslot->mword;
	uint64_t w = atomic_load(wp);
	if (GX_KM_STATE(w) == GX_KM_REVOKED ||
	    !atomic_compare_exchange_strong(wp, &w, GX_KM_WORD(GX_KM_SEQ(w) + 1, GX_KM_BLOCKED)))
		return 0;
	mp->kslot->block_ns = (uint64_t)gx_nanotime();
	gx_kassist_testing = true;
	bool r = gx_kassist_revoke(pp, gx_nanotime(), false);
	if (!r) { /* not taken: the M "wakes" as BPF would mark it */
		w = atomic_load(wp);
		if (GX_KM_STATE(w) == GX_KM_BLOCKED)
			atomic_compare_exchange_strong(wp, &w, GX_KM_WORD(GX_KM_SEQ(w), GX_KM_RUNNING));
	}
	return r;
}

int gx_test_p_mtid(int pid)
{
	if (pid < 0 || pid >= atomic_load(&gx_sched.nallp) || !gx_allp[pid])
		return 0;
	struct gx_m *mp = atomic_load(&gx_allp[pid]->m);
	return mp ? mp->tid : 0;
}

const struct gx_kabi_proc *gx_test_kabi(void)
{
	return gx_kabi;
}

int gx_test_mtid(void)
{
	struct gx_m *mp = getm();
	return mp ? mp->tid : 0;
}

void gx_chanwaiters(struct gx_chan *c, int *nsend, int *nrecv)
{
	gx_channwaiters(c, nsend, nrecv);
}

int gx_test_lock_checks(void)
{
	return GX_LOCK_CHECKS;
}

void gx_test_assert_sched_lock(bool take)
{
	if (take)
		gx_lock(&gx_sched.lock);
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	if (take)
		gx_unlock(&gx_sched.lock);
}
