/* SPDX-License-Identifier: MIT */
/*
 * procresize.c - GOMAXPROCS and the thread cap, before gx_main (the values
 * it will start with) and while goroutines run (Go's procresize and
 * debug.SetMaxThreads). Ps are allocated once and never freed (gx_allp):
 * shrinking retires the Ps beyond n (idle ones at once, running ones at
 * their M's next schedule(), pretire in proc.c), growing makes new Ps idle
 * and wakes Ms for them. A retired P's timers move to P0.
 */
#include "runtime.h"
#include "kassist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gx_preset_maxprocs;	  /* gx_maxprocs before gx_main (0: the default) */
int gx_preset_maxthreads; /* gx_set_max_threads before gx_main (0: the default) */

static struct gx_p *allocp(int32_t id)
{
	struct gx_p *pp = gx_allp[id];
	if (pp)
		return pp;
	pp = aligned_alloc(GX_CACHELINE, (sizeof(*pp) + GX_CACHELINE - 1) & ~(size_t)(GX_CACHELINE - 1));
	if (!pp)
		return NULL;
	memset(pp, 0, sizeof(*pp));
	pp->id = id;
	gx_kslot_initp(pp);
	atomic_store(&pp->status, Pdead);
	gx_allp[id] = pp;
	return pp;
}

/* gx_procresize - set gomaxprocs to n. sched.lock held. Ps beyond n that are
 * running retire themselves at their next schedule(); idle ones retire
 * now. Returns -ENOMEM if a new P cannot be allocated. */
int gx_procresize(int32_t n)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	for (int32_t i = gx_sched.nallp; i < n; i++) {
		struct gx_p *pp = allocp(i);
		if (!pp)
			return -ENOMEM;
		GX_KASSIST(newp, pp);
		gx_sched.nallp = i + 1;
	}
	int32_t old = gx_sched.gomaxprocs;
	atomic_store(&gx_sched.gomaxprocs, n);
	gx_kpub_np(n);
	if (n < old) {
		struct gx_p **pl = &gx_sched.pidle;
		while (*pl) {
			struct gx_p *pp = *pl;
			if (pp->id >= n) {
				*pl = pp->link;
				pp->link = NULL;
				atomic_store(&pp->status, Pdead);
				atomic_fetch_sub(&gx_sched.npidle, 1);
			} else {
				pl = &pp->link;
			}
		}
	}
	for (int32_t i = 0; i < n; i++) {
		struct gx_p *pp = gx_allp[i];
		if (atomic_load(&pp->status) == Pdead && pp->m == NULL)
			gx_pidleput(pp);
	}
	return 0;
}

int gx_maxprocs(int n)
{
	GX_ENTER();
	if (n < 0 || n > GX_MAXPROCS_LIMIT)
		return -EINVAL;
	if (!atomic_load(&gx_sched.started)) {
		int old = gx_preset_maxprocs ? gx_preset_maxprocs : gx_default_maxprocs();
		if (n > 0)
			gx_preset_maxprocs = n;
		return old;
	}
	if (n == 0)
		return atomic_load(&gx_sched.gomaxprocs);
	gx_lock(&gx_sched.lock);
	int old = gx_sched.gomaxprocs;
	int err = gx_procresize(n);
	gx_unlock(&gx_sched.lock);
	if (err)
		return err;
	/* Idle Ps retired by the resize keep their timers until moved (a
	 * running P moves its own in pretire). Not under sched.lock: timer
	 * callbacks take sched.lock while holding a heap lock. */
	for (int i = n; i < old; i++)
		if (atomic_load(&gx_allp[i]->status) == Pdead)
			gx_movetimers(gx_allp[i], gx_allp[0]);
	if (n > old)
		for (int i = old; i < n; i++)
			gx_wakep();
	/* If our own P was retired, give it up now rather than at our next
	 * scheduling point. */
	struct gx_m *mp = getm();
	if (mp && mp->curg && mp->p && mp->p->id >= n)
		gx_yield();
	return old;
}

int gx_set_max_threads(int n)
{
	if (n < 1)
		return -EINVAL;
	if (!atomic_load(&gx_sched.started)) {
		int old = gx_preset_maxthreads ? gx_preset_maxthreads : GX_MAXMCOUNT_DEFAULT;
		gx_preset_maxthreads = n;
		return old;
	}
	gx_lock(&gx_sched.lock);
	int old = gx_sched.maxmcount;
	gx_sched.maxmcount = n;
	if (gx_sched.mnext > n) {
		gx_unlock(&gx_sched.lock);
		gx_fatal("thread exhaustion: program exceeds %d-thread limit", n);
	}
	gx_unlock(&gx_sched.lock);
	return old;
}
