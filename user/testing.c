/* SPDX-License-Identifier: MIT */
/* testing.c - accessors behind testing.h (see there). */
#include "runtime.h"
#include "testing.h"

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
