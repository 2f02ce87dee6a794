/* SPDX-License-Identifier: MIT */
/*
 * kassist_revoke.c - the revocation protocol: the P of an M blocked in the
 * kernel, in goroutine code the runtime never saw (an unwrapped read(), a
 * futex, a page fault), is taken from it and handed to another M, as
 * handoffp does for a syscall. Trace and scx mode use it; the fake kernel
 * of the tests (testing.c, selftests/test_kassist.c) drives it in any mode.
 *
 * The M still owns its P (Prunning) and will carry on with goroutine code
 * when the call returns, so taking the P must be decided against the M's
 * wake-up. The M's kernel word (m.mword) settles it: sysmon (or the trace
 * waiter, or an scx standby) CASes it BLOCKED(seq) -> REVOKED(seq), BPF CASes it to RUNNABLE/RUNNING when the M is
 * woken or scheduled, and BPF never changes a REVOKED word. So exactly one wins:
 *   - sysmon's CAS succeeded: the M had not run since that block. Whatever
 *     the M left in memory before blocking (curg, curg->rtdepth, m->locks)
 *     was stable when sysmon checked it, and the seq ties the check to the
 *     same block. sysmon hands the P off (handoffp). The M, once woken,
 *     runs goroutine code without a P until its next runtime entry
 *     (GX_ENTER), where one load of its word shows REVOKED: it drops the
 *     P pointer and takes the exitsyscall path (an idle P, or the global
 *     queue and park), exactly as a G returning from a syscall whose P
 *     was retaken. Parallelism can briefly exceed gomaxprocs by the number
 *     of such goroutines, as in Go during syscalls.
 *   - BPF's CAS came first: the M ran; nothing is taken.
 * sysmon revokes only if the M blocked in goroutine code: curg set,
 * curg->rtdepth == 0 (GX_ENTER marks runtime entries), no runtime lock, no
 * direct switch in progress. An M blocked inside the runtime (a contended
 * runtime lock, a page fault in the scheduler) keeps its P, as in off mode.
 *
 * The daemon going away (its socket hangs up): sysmon switches to off
 * first, then closes the BPF links it holds. The links keep the programs
 * attached until then, so a word sysmon acts on is never stale. The
 * mapped memory stays mapped for good: Ms and Ps keep pointing into it.
 *
 * Who acts: events are consumed by one thread at a time, the trace waiter
 * (an idle M parked on the ring buffer, which takes the freed P itself) or
 * else sysmon; sysmon's periodic scan may revoke too, and in scx mode the
 * P's standby, run by BPF the moment the owner blocked. They can race for
 * the same P: the CAS on the M's word (or on the P's status, for a
 * wrapped syscall) lets exactly one win. Only the owner writes its slots
 * (gmpx/kabi.h lists the writers). The fallback to off mode is sysmon's.
 *
 * A revoked goroutine that keeps running goroutine code without a P for a
 * quantum is signalled (gx_kassist_kick), so parallelism above gomaxprocs
 * lasts about a quantum at most.
 */
#include "runtime.h"
#include "trace.h"
#include "kassist.h"

/* A revoked goroutine still in goroutine code a quantum after it woke is
 * signalled, and again this often while the signal lands where it cannot
 * act (libc, the vDSO): as sysmon re-asks an unpreempted slice. */
#define KICK_AGAIN_NS ((int64_t)1000000)

bool gx_kassist_testing; /* testing.c's fake kernel may act on local slots */

static void record(int64_t blocked_at, int64_t now, bool revoked)
{
	struct gx_kabi_hdr *h = &gx_kabi->hdr;
	__atomic_fetch_add(&h->handoffs, 1, __ATOMIC_RELAXED);
	if (revoked)
		__atomic_fetch_add(&h->revokes, 1, __ATOMIC_RELAXED);
	int64_t us = blocked_at > 0 && now > blocked_at ? (now - blocked_at) / 1000 : 0;
	int b = 0;
	while (us > 1 && b < GX_KABI_HIST_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	__atomic_fetch_add(&h->hist[b], 1, __ATOMIC_RELAXED);
}

/* gx_kassist_revoke - take pp from its M if the M is blocked in the kernel in
 * goroutine code and pp has work. See the top of the file. */
bool gx_kassist_revoke(struct gx_p *pp, int64_t now, bool take)
{
	struct gx_m *mp = atomic_load(&pp->m);
	if (!mp || (mp->kslot == &mp->kslot_local && !gx_kassist_testing))
		return false;
	_Atomic uint64_t *wp = (_Atomic uint64_t *)&mp->kslot->mword;
	uint64_t w = atomic_load(wp);
	if (GX_KM_STATE(w) != GX_KM_BLOCKED)
		return false;
	/* If the M has run since that block, the CAS below fails; until then
	 * what it left in memory holds still. */
	gx_g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
	if (__atomic_load_n(&mp->p, __ATOMIC_RELAXED) != pp || __atomic_load_n(&mp->locks, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&mp->switchunlock, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&mp->switchparked, __ATOMIC_RELAXED) || !gp ||
	    atomic_load_explicit(&gp->rtdepth, memory_order_relaxed) != 0 ||
	    atomic_load_explicit(&gp->status, memory_order_relaxed) != Grunning)
		return false;
	if (!gx_p_haswork(pp, now))
		return false;
	if (!atomic_compare_exchange_strong(wp, &w, GX_KM_WORD(GX_KM_SEQ(w), GX_KM_REVOKED)))
		return false;
	/* pp is ours to give away; the M learns at its next runtime entry. */
	gx_kpub_pidle(pp);
	atomic_store_explicit(&pp->m, NULL, memory_order_relaxed);
	atomic_store_explicit(&pp->status, Pidle, memory_order_release);
	gx_trace(GX_TEV_PRETAKE, pp->id, 1, mp->id, 0);
	if (gx_kabi)
		record((int64_t)mp->kslot->block_ns, now, true);
	if (!take)
		gx_handoffp(pp);
	return true;
}

/* A P in a wrapped syscall whose M blocked: hand it off now (Go waits for
 * sysmon's 20 us tick; the kernel says the M is asleep). */
bool gx_kassist_handoff_syscall(struct gx_p *pp, int64_t blocked_at, int64_t now, bool take)
{
	uint32_t st = Psyscall;
	if (!gx_p_haswork(pp, now) || !atomic_compare_exchange_strong(&pp->status, &st, Pidle))
		return false;
	gx_trace(GX_TEV_PRETAKE, pp->id, 0, 0, 0);
	record(blocked_at, now, false);
	if (!take)
		gx_handoffp(pp);
	return true;
}

/* gx_kassist_block_event - hand off the P the event is about, if it is
 * still stuck and has work. take: return it to the caller instead (NULL if
 * not). */
struct gx_p *gx_kassist_block_event(const struct gx_kabi_event *ev, int64_t now, bool take)
{
	if (ev->type != GX_EV_BLOCK || ev->p < 0 || ev->p >= atomic_load(&gx_sched.nallp) || ev->m >= GX_KABI_MAX_M)
		return NULL;
	struct gx_p *pp = gx_allp[ev->p];
	if (!pp)
		return NULL;
	uint32_t st = atomic_load(&pp->status);
	bool got = false;
	if (st == Psyscall)
		got = gx_kassist_handoff_syscall(pp, (int64_t)ev->ts, now, take);
	else if (st == Prunning)
		got = gx_kassist_revoke(pp, now, take);
	return got && take ? pp : NULL;
}

/*
 * gx_kassist_kick - a goroutine whose P was revoked runs on without one
 * until its next gx_ call. One that keeps running goroutine code for a
 * quantum gets the preemption signal: the handler sends it through
 * GX_ENTER, which gives it back to the scheduler. So parallelism above
 * gomaxprocs lasts at most about a quantum (sysmon, trace mode). As every
 * preemption signal, not while the M is in a system call or asleep in the
 * kernel (gx_preemptm: the signal would end an unwrapped nanosleep or poll
 * with EINTR); a goroutine that only loops over such calls is not kicked,
 * it waits in the kernel without a P.
 */
int64_t gx_kassist_kick(int64_t now)
{
	static int64_t kicked[GX_KABI_MAX_M];
	int64_t next = 0;
	if (!atomic_load_explicit(&gx_kassist_active, memory_order_relaxed))
		return 0;
	for (struct gx_m *mp = atomic_load(&gx_sched.allm); mp; mp = mp->alllink) {
		if (mp->kslot == &mp->kslot_local || mp->id >= GX_KABI_MAX_M)
			continue;
		struct gx_kabi_m *k = mp->kslot;
		uint64_t w = atomic_load((_Atomic uint64_t *)&k->mword);
		/* woken since the block that cost it its P, a quantum ago */
		int64_t woke = (int64_t)__atomic_load_n(&k->wake_ns, __ATOMIC_RELAXED);
		if (GX_KM_STATE(w) != GX_KM_REVOKED || woke <= (int64_t)k->block_ns)
			continue;
		int64_t due = woke + gx_quantum_ns;
		if (kicked[mp->id] + KICK_AGAIN_NS > due)
			due = kicked[mp->id] + KICK_AGAIN_NS;
		if (now >= due) {
			kicked[mp->id] = now;
			gx_preemptm(mp);
			due = now + KICK_AGAIN_NS;
		}
		if (!next || due < next)
			next = due;
	}
	return next;
}

/* gx_revoked - GX_ENTER found our word REVOKED: sysmon gave our P away
 * while we were blocked. Become a goroutine returning from a syscall. */
void gx_revoked(void)
{
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	_Atomic uint64_t *wp = (_Atomic uint64_t *)&mp->kslot->mword;
	mp->p = NULL;
	mp->oldp = NULL;
	gx_kpub_mnop(mp);
	uint64_t w = atomic_load(wp);
	while (GX_KM_STATE(w) == GX_KM_REVOKED &&
	       !atomic_compare_exchange_weak(wp, &w, GX_KM_WORD(GX_KM_SEQ(w), GX_KM_RUNNING)))
		;
	atomic_store_explicit(&gp->status, Gsyscall, memory_order_release);
	gx_trace(GX_TEV_SYSENTER, -1, 0, gp->goid, 0); /* the trace pairs it with exitsyscall's */
	gx_exitsyscall();
}
