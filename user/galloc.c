/* SPDX-License-Identifier: MIT */
/*
 * galloc.c - allocating Gs (Go's allgs, gfget/gfput): Gs are carved out of
 * slabs of GSLAB_N that are never freed, so a G pointer stays valid for
 * the life of the process (gx_forallg walks every slab without a lock, for
 * deadlock reports and scheddetail). A dead G goes to its P's free list; a
 * P with more than GFREE_LOCAL_MAX moves half to the global list (gflock),
 * and a P with none takes a batch back, as Go does. Goroutine ids come from
 * a global counter in per-P batches of GOIDCACHE_BATCH, so gx_go takes no
 * shared cache line per spawn. The two paths every spawn and exit take,
 * gx_gfput and gx_newgoid, are inline in runtime.h.
 */
#include "runtime.h"

#include <stdlib.h>

#define GSLAB_N 64 /* Gs allocated at once */

struct gx_gslab {
	struct gx_gslab *next;
	gx_g gs[GSLAB_N];
};
static _Atomic(struct gx_gslab *) allgslabs;

GX_NO_TSAN void gx_forallg(void (*fn)(gx_g *gp, void *arg), void *arg)
{
	for (struct gx_gslab *s = atomic_load(&allgslabs); s; s = s->next)
		for (int i = 0; i < GSLAB_N; i++)
			if (atomic_load_explicit(&s->gs[i].status, memory_order_relaxed) != Gidle)
				fn(&s->gs[i], arg);
}

void gx_gfspill(struct gx_p *pp)
{
	gx_lock(&gx_sched.gflock);
	while (pp->gfreecnt > GFREE_LOCAL_MAX / 2) {
		gx_g *g = pp->gfree;
		pp->gfree = g->schedlink;
		pp->gfreecnt--;
		g->schedlink = gx_sched.gfree;
		gx_sched.gfree = g;
		atomic_fetch_add_explicit(&gx_sched.ngfree, 1, memory_order_relaxed);
	}
	gx_unlock(&gx_sched.gflock);
}

/* gx_gfget - a dead G from pp's list, the global list, or a new slab. */
gx_g *gx_gfget(struct gx_p *pp)
{
	if (!pp->gfree && atomic_load_explicit(&gx_sched.ngfree, memory_order_relaxed) > 0) {
		gx_lock(&gx_sched.gflock);
		while (pp->gfreecnt < GFREE_LOCAL_MAX / 2 && gx_sched.gfree) {
			gx_g *g = gx_sched.gfree;
			gx_sched.gfree = g->schedlink;
			atomic_fetch_sub_explicit(&gx_sched.ngfree, 1, memory_order_relaxed);
			g->schedlink = pp->gfree;
			pp->gfree = g;
			pp->gfreecnt++;
		}
		gx_unlock(&gx_sched.gflock);
	}
	if (!pp->gfree) {
		struct gx_gslab *s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		for (int i = GSLAB_N - 1; i >= 0; i--) {
			gx_g *g = &s->gs[i];
			atomic_store_explicit(&g->status, Gdead, memory_order_relaxed);
			g->schedlink = pp->gfree;
			pp->gfree = g;
			pp->gfreecnt++;
		}
		s->next = atomic_load(&allgslabs);
		while (!atomic_compare_exchange_weak(&allgslabs, &s->next, s))
			;
	}
	gx_g *gp = pp->gfree;
	pp->gfree = gp->schedlink;
	pp->gfreecnt--;
	gp->schedlink = NULL;
	return gp;
}
