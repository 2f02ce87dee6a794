/* SPDX-License-Identifier: MIT */
/*
 * kslot.h - what the runtime publishes for the kernel, on its hot paths.
 *
 * Every M and P has a slot of the state shared with BPF (gmpx/kabi.h:
 * struct gx_kabi_m, struct gx_kabi_p). While the kernel assist is attached
 * the slot lives in the mmapped map; otherwise it is kslot_local, a copy
 * nobody else reads. The code that writes it is the same in every mode:
 * plain stores on cache lines the writer owns (its M, its P), never a
 * syscall or a map update, so off mode pays a few stores and nothing else,
 * and a mode never needs a branch of its own here.
 *
 * "The P has work" has one definition, gx_p_haswork, used by handoffp,
 * sysmon's retake, the revocation protocol and the scx standby; the BPF
 * programs test the same three things on what is published here (p.nrunq,
 * hdr.globrunq, p.timer0_ns: bpf/gmpx_state.bpf.h, gx_p_has_work).
 */
#ifndef GMPX_KSLOT_H
#define GMPX_KSLOT_H

/* included by runtime.h, after the types */

extern GX_HIDDEN struct gx_kabi_proc *gx_kabi; /* the mmapped state, NULL if never attached */

static inline void gx_kslot_initm(struct gx_m *mp)
{
	mp->kslot = &mp->kslot_local;
	mp->kslot_local.p = -1;
	mp->kslot_local.mword = GX_KM_WORD(0, GX_KM_RUNNING);
}
static inline void gx_kslot_initp(struct gx_p *pp)
{
	pp->kslot = gx_kabi && pp->id < GX_KABI_MAX_P ? &gx_kabi->p[pp->id] : &pp->kslot_local;
	pp->kslot->owner = -1;
	pp->kslot->cpu = -1;
}

/* gx_p_haswork - pp has something an M could run now: its local queue,
 * the global queue, or a timer that is due. now: the time, or 0 to read
 * the clock only if pp has a timer to compare. */
static inline bool gx_p_haswork(struct gx_p *pp, int64_t now)
{
	if (!gx_runqempty(pp) || atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed) != 0)
		return true;
	int64_t t0 = atomic_load_explicit(&pp->timer0when, memory_order_relaxed);
	return t0 != 0 && t0 <= (now ? now : gx_nanotime());
}

/* The global queue's length. sched.lock held. */
static inline void gx_kpub_globrunq(void)
{
	if (gx_kabi)
		gx_kabi->hdr.globrunq = (uint32_t)atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed);
}
/* The quantum (BPF's quantum timer measures slices against it). */
static inline void gx_kpub_quantum(int64_t ns)
{
	if (gx_kabi)
		gx_kabi->hdr.quantum_ns = (uint64_t)ns;
}
/* gomaxprocs, for the daemon's stats (sched.lock held, or only m0 runs). */
static inline void gx_kpub_np(int32_t n)
{
	if (gx_kabi)
		gx_kabi->hdr.np = (uint32_t)n;
}
/* pp's earliest timer (0: none). pp->timerslock held. */
static inline void gx_kpub_timer0(struct gx_p *pp, int64_t when)
{
	pp->kslot->timer0_ns = (uint64_t)when;
}
static inline void gx_kpub_acquirep(struct gx_m *mp, struct gx_p *pp)
{
	mp->kslot->p = pp->id;
	mp->kslot->rstate = GX_RM_RUNNING;
	pp->kslot->owner = (int32_t)mp->id;
	pp->kslot->status = GX_KP_RUNNING;
}
static inline void gx_kpub_releasep(struct gx_m *mp, struct gx_p *pp, uint32_t pstatus)
{
	pp->kslot->owner = -1;
	pp->kslot->status = pstatus;
	mp->kslot->rstate = pstatus == GX_KP_SYSCALL ? GX_RM_SYSCALL : GX_RM_IDLE;
	if (pstatus != GX_KP_SYSCALL)
		mp->kslot->p = -1;
}
/* pp left the idle list's view of a running P (pidleput). */
static inline void gx_kpub_pidle(struct gx_p *pp)
{
	pp->kslot->owner = -1;
	pp->kslot->status = GX_KP_IDLE;
}
/* mp has no P any more (its P was handed off while it was in a syscall). */
static inline void gx_kpub_mnop(struct gx_m *mp)
{
	mp->kslot->rstate = GX_RM_IDLE;
	mp->kslot->p = -1;
}

/* A new time slice on pp (schedtick bumped). Where the kernel times slices
 * (scx: BPF's quantum timer), pp->kslot_clock is set at attach and the
 * slice's start time goes with it; elsewhere that costs one load of a
 * flag on the P's own line. */
static inline void gx_kpub_slice(struct gx_p *pp)
{
	pp->kslot->schedtick = atomic_load_explicit(&pp->schedtick, memory_order_relaxed);
	if (unlikely(pp->kslot_clock))
		pp->kslot->slice_start_ns = (uint64_t)gx_nanotime();
}
/* BPF flagged this slice as past the quantum (scx; nobody writes
 * kslot->preempt in the other modes). */
static inline bool gx_kpreempt_requested(struct gx_p *pp)
{
	const struct gx_kabi_p *k = pp->kslot;
	return __atomic_load_n(&k->preempt, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&k->preempt_tick, __ATOMIC_RELAXED) == k->schedtick;
}
static inline void gx_kpub_runq(struct gx_p *pp)
{
	pp->kslot->nrunq = atomic_load_explicit(&pp->runqtail, memory_order_relaxed) -
			   atomic_load_explicit(&pp->runqhead, memory_order_relaxed) +
			   (atomic_load_explicit(&pp->runnext, memory_order_relaxed) != NULL);
}

#endif
