/* SPDX-License-Identifier: MIT */
/*
 * kassist_scx.c - the kernel assist, scx mode: the runtime side of the
 * sched_ext scheduler (bpf/gmpx_scx.bpf.c, loaded by gmpx-sched --mode
 * scx). Everything of trace mode (kassist_trace.c) holds: the same shared
 * state, the same words, sysmon asleep on the ring buffer, the revocation
 * protocol. On top of it:
 *
 * Placement. Each P gets a CPU at attach (p.cpu: the process's allowed
 * CPUs in order, round robin when there are more Ps). Each M makes itself
 * SCHED_EXT (with SCHED_RESET_ON_FORK: threads the program creates are
 * not), so the BPF scheduler runs an M that holds P i on p[i].cpu. An M
 * that acquires a P while it runs on another CPU yields once, and the BPF
 * scheduler puts it back on the right one (scx_acquirep).
 *
 * Standbys. An idle M in stopm (already on the idle M list) stands by for
 * a P that has no standby: it publishes itself (m.rstate = STANDBY, m.p =
 * i, p[i].standby = its slot), then loops { look; sched_yield() }. The BPF
 * scheduler parks a yielding standby in the standby queue of p[i].cpu:
 * runnable in the kernel's eyes, but not run, so it costs no CPU and needs
 * no futex wake. It runs again when
 *   - P i's owner M blocks in the kernel while P i has work: BPF moves the
 *     standby onto the CPU inside the owner's own pass through the
 *     scheduler. The standby finds the owner's word BLOCKED, takes the P by
 *     the same CAS sysmon uses (BLOCKED -> REVOKED; for a wrapped syscall
 *     Psyscall -> Pidle) and runs it. No sysmon and no futex in the path;
 *     the woken owner finds its P gone and follows exitsyscall.
 *   - startm offers it P i (wakep for an idle P, handoffp): p[i].want is
 *     set, the standby's note is woken and the kick program (BPF, run with
 *     BPF_PROG_TEST_RUN) moves the standby onto the CPU at once.
 *   - the keep-alive: the sched_ext watchdog ejects a scheduler whose
 *     runnable tasks wait too long, so BPF lets each parked standby run now
 *     and then; it finds nothing and yields again.
 * A standby is on the idle M list the whole time, and whoever removes it
 * from the list decides: startm (its mget, or scx_mget for the offered P's
 * own standby) gives it nextp and wakes its note, as for any
 * idle M; the standby that takes a P itself removes itself first, and if
 * it is no longer there (startm got it) hands the P it took to startm.
 *
 * Quantum. BPF's timer sets p.preempt when the G on a P overran the
 * quantum (p.schedtick and p.slice_start_ns are published at every new
 * slice); the runtime's cooperative checks honour it (gx_preempt_point),
 * and sysmon gets a GX_EV_PREEMPT event only if the G did not yield by
 * itself within a grace period: it then sends the signal. sysmon's own
 * per-quantum polling is off in this mode.
 *
 * Fallback. The scheduler ejected (GX_MSG_EXIT) or the daemon gone: the
 * kernel runs every SCHED_EXT task in the fair class again; fallback()
 * turns scx off (standbys leave their loop at their next look and park on
 * their futex) and sets every M back to SCHED_OTHER.
 */
#include "runtime.h"
#include "kassist.h"

#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SCHED_EXT 7 /* glibc has no name for it */
/* At most this long at start for the standbys to stand by (~1 ms natively;
 * tens of ms in an emulated guest). */
#define STANDBY_START_WAIT_NS ((int64_t)200000000)

static _Atomic bool scx_on; /* until the fallback */
static int kickfd = -1;

/* setext - make thread tid (0: the caller) SCHED_EXT, or back to
 * SCHED_OTHER. */
static int setpolicy(pid_t tid, bool ext)
{
	struct sched_param sp = {0};
	int pol = ext ? SCHED_EXT | SCHED_RESET_ON_FORK : SCHED_OTHER;
	return sched_setscheduler(tid, pol, &sp) == 0 ? 0 : -errno;
}

static int cpus[GX_KABI_MAX_CPUS], ncpus; /* the CPUs we may use, in order */

int gx_scx_attach(char *why, size_t whylen)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		snprintf(why, whylen, "sched_getaffinity: %s", strerror(errno));
		return -errno;
	}
	ncpus = 0;
	for (int c = 0; c < CPU_SETSIZE && c < GX_KABI_MAX_CPUS; c++)
		if (CPU_ISSET(c, &set))
			cpus[ncpus++] = c;
	if (ncpus == 0) {
		snprintf(why, whylen, "no CPU below %d in the affinity mask", GX_KABI_MAX_CPUS);
		return -EINVAL;
	}
	int err = setpolicy(0, true);
	if (err) {
		snprintf(why, whylen, "cannot make threads SCHED_EXT: %s", strerror(-err));
		return err;
	}
	getm()->kscx = true;
	return 0;
}

void gx_scx_detach(void)
{
	setpolicy(0, false);
	getm()->kscx = false;
}

/* publishp - pp's CPU (the allowed CPUs in turn), no standby yet, and
 * its slice clock: BPF times every slice (kslot.h). A slice under way
 * (goroutine 1 inherits it from runnext) is timed from here. */
static void publishp(struct gx_p *pp)
{
	if (pp->id >= GX_KABI_MAX_P)
		return;
	pp->kslot->cpu = cpus[pp->id % ncpus];
	pp->kslot->standby = -1;
	pp->kslot->slice_start_ns = (uint64_t)gx_nanotime();
	pp->kslot_clock = true;
}

void gx_scx_publish(int fd)
{
	/* Only m0 exists: nothing runs concurrently. */
	for (int32_t i = 0; i < atomic_load(&gx_sched.nallp); i++)
		if (gx_allp[i])
			publishp(gx_allp[i]); /* (it skips Ps beyond the ABI's slots) */
	kickfd = fd;
	atomic_store(&scx_on, true);
}

/* A P that gx_maxprocs grew the runtime by: placed like the first ones.
 * No standby is started for it: an idle M may still stand by for it
 * (claim), else startm's futex path serves it. */
static void scx_newp(struct gx_p *pp)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	if (atomic_load(&scx_on))
		publishp(pp);
}

static void scx_minit(struct gx_m *mp)
{
	gx_ktrace_minit(mp); /* MREG first: BPF places only Ms it knows */
	if (!atomic_load(&scx_on))
		return;
	int err = setpolicy(0, true);
	if (err) {
		static _Atomic bool warned;
		if (!atomic_exchange(&warned, true))
			gx_print("gmpx: kassist: thread %d (M%lld) cannot be SCHED_EXT (%s): the BPF scheduler does "
				 "not place it\n",
				 mp->tid, (long long)mp->id, strerror(-err));
		return;
	}
	mp->kscx = true;
}

static void scx_start(void)
{
	if (!atomic_load(&scx_on))
		return;
	int32_t n = atomic_load(&gx_sched.gomaxprocs), made = 0;
	for (; made < n; made++)
		if (gx_newm_idle() != 0)
			break; /* fewer standbys: the futex path covers the rest */
	/* Wait (a bounded while) until they stand by: their start-up (thread
	 * creation, registration with the daemon, SCHED_EXT) is the runtime's
	 * start-up, not the program's first milliseconds' work. */
	for (int64_t t0 = gx_nanotime(); gx_nanotime() - t0 < STANDBY_START_WAIT_NS;) {
		int32_t ready = 0;
		for (int32_t i = 0; i < n; i++)
			ready += gx_allp[i] && atomic_load(&gx_allp[i]->standby) != NULL;
		if (ready >= made)
			break;
		struct timespec ts = {0, 50000};
		nanosleep(&ts, NULL);
	}
}

void gx_scx_fallback(void)
{
	if (!atomic_exchange(&scx_on, false))
		return;
	for (int32_t i = 0; i < atomic_load(&gx_sched.nallp); i++)
		if (gx_allp[i])
			gx_allp[i]->kslot_clock = false;
	/* Standbys see the flag at their next look; the kernel runs them (and
	 * every SCHED_EXT thread) in the fair class already. */
	for (struct gx_m *mp = atomic_load(&gx_sched.allm); mp; mp = mp->alllink) {
		if (mp->kscx && mp->tid > 0)
			setpolicy(mp->tid, false);
		mp->kscx = false;
	}
}

static void scx_acquirep(struct gx_m *mp, struct gx_p *pp)
{
	int c = pp->kslot->cpu;
	if (mp->kscx && c >= 0 && atomic_load_explicit(&scx_on, memory_order_relaxed) && sched_getcpu() != c)
		sched_yield(); /* the BPF scheduler enqueues us on c */
}

/* kick - run the kick program: move P i's parked standby onto its CPU. */
static int kick(int32_t i)
{
	struct gx_kabi_kick ctx = {.p = i, .ret = 0};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)kickfd;
	attr.test.ctx_in = (uint64_t)(uintptr_t)&ctx;
	attr.test.ctx_size_in = sizeof(ctx);
	if (syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr)) != 0)
		return -errno;
	return (int)attr.test.retval;
}

static struct gx_m *scx_mget(struct gx_p *pp)
{
	if (!atomic_load_explicit(&scx_on, memory_order_relaxed))
		return NULL;
	struct gx_m *mp = atomic_load_explicit(&pp->standby, memory_order_acquire);
	if (!mp || !gx_midle_remove(mp))
		return NULL;
	return mp;
}

/* scx_kick - startm woke nmp's note: if it stands by, have BPF run it now. */
static void scx_kick(struct gx_m *nmp)
{
	/* nmp's note is woken. If it stands by (for the P it was given, or
	 * another), it is parked in BPF, not on the futex: move it onto its
	 * CPU now, or it would run only at the next keep-alive. */
	struct gx_kabi_m *k = nmp->kslot;
	if (GX_READ_ONCE(k->rstate) != GX_RM_STANDBY)
		return;
	int32_t i = GX_READ_ONCE(k->p);
	if (i < 0 || i >= atomic_load(&gx_sched.nallp) || kickfd < 0)
		return;
	struct gx_p *sp = gx_allp[i];
	GX_WRITE_ONCE(sp->kslot->want, 1);
	__atomic_fetch_add(&gx_kabi->hdr.standby_wakes, 1, __ATOMIC_RELAXED);
	gx_storeload_fence(); /* want before the kick; pairs with the standby's yield */
	kick(i);
}

/* An idle M waits as a standby, or (every P has one) as trace mode's
 * waiter in epoll: wake whichever it is. */
static void scx_wakem(struct gx_m *nmp)
{
	scx_kick(nmp);
	gx_ktrace_wakem(nmp);
}

/* claim - a P without a standby, starting from a spread-out one. */
static struct gx_p *claim(struct gx_m *mp)
{
	int32_t n = atomic_load(&gx_sched.gomaxprocs);
	for (int32_t j = 0; j < n; j++) {
		struct gx_p *pp = gx_allp[(int32_t)((mp->id + j) % n)];
		struct gx_m *none = NULL;
		if (pp && atomic_compare_exchange_strong(&pp->standby, &none, mp))
			return pp;
	}
	return NULL;
}

/* take - P pp's owner is blocked in the kernel (the kernel ran us for it):
 * take pp if it has work, as sysmon would. */
static bool take(struct gx_p *pp, int64_t now)
{
	uint32_t st = atomic_load(&pp->status);
	if (st == Prunning)
		return gx_kassist_revoke(pp, now, true);
	if (st != Psyscall)
		return false;
	struct gx_m *owner = atomic_load(&pp->m);
	if (!owner || owner->kslot == &owner->kslot_local)
		return false;
	uint64_t w = atomic_load((_Atomic uint64_t *)&owner->kslot->mword);
	if (GX_KM_STATE(w) != GX_KM_BLOCKED)
		return false;
	return gx_kassist_handoff_syscall(pp, (int64_t)owner->kslot->block_ns, now, true);
}

/* standby - stand by for a P until given one; false if this M cannot (not
 * SCHED_EXT, or every P has its standby). */
static bool standby(struct gx_m *mp)
{
	if (!mp->kscx || !atomic_load(&scx_on))
		return false;
	struct gx_p *pp = claim(mp);
	if (!pp)
		return false; /* every P has one: the futex */
	struct gx_kabi_m *k = mp->kslot;
	k->p = pp->id;
	GX_WRITE_ONCE(k->rstate, GX_RM_STANDBY);
	__atomic_store_n(&pp->kslot->standby, (int32_t)mp->id, __ATOMIC_RELEASE);
	for (;;) {
		if (atomic_load_explicit(&mp->park.key, memory_order_acquire) ||
		    !atomic_load_explicit(&scx_on, memory_order_relaxed))
			break; /* startm gave us a P (nextp), or scx is over */
		if (take(pp, gx_nanotime())) {
			gx_lock(&gx_sched.lock);
			bool mine = gx_midle_remove(mp);
			gx_unlock(&gx_sched.lock);
			if (!mine) {
				gx_handoffp(pp); /* startm is waking us already: the usual way */
				continue;
			}
			__atomic_fetch_add(&gx_kabi->hdr.standby_takes, 1, __ATOMIC_RELAXED);
			mp->nextp = pp; /* stopm takes it; nobody sleeps on our note */
			atomic_store_explicit(&mp->park.key, 1, memory_order_release);
			break;
		}
		GX_WRITE_ONCE(pp->kslot->want, 0);
		gx_storeload_fence(); /* want cleared before the last look; pairs with scx_kick */
		if (atomic_load_explicit(&mp->park.key, memory_order_acquire))
			break;
		sched_yield(); /* parked by BPF until our P needs us */
	}
	GX_WRITE_ONCE(pp->kslot->want, 0);
	__atomic_store_n(&pp->kslot->standby, -1, __ATOMIC_RELEASE);
	GX_WRITE_ONCE(k->rstate, GX_RM_IDLE);
	k->p = -1;
	atomic_store(&pp->standby, NULL);
	return true;
}

static void scx_idle(struct gx_m *mp)
{
	if (!standby(mp))
		gx_ktrace_idle(mp); /* every P has its standby: the waiter, or the futex */
}

/* A GX_EV_PREEMPT event: signal the G if it still runs that slice. */
static void preempt_event(const struct gx_kabi_event *ev)
{
	if (ev->p < 0 || ev->p >= atomic_load(&gx_sched.nallp))
		return;
	struct gx_p *pp = gx_allp[ev->p];
	/* still the slice BPF saw overrun */
	if (pp && atomic_load(&pp->status) == Prunning &&
	    atomic_load_explicit(&pp->schedtick, memory_order_relaxed) == (uint32_t)ev->mword)
		gx_preemptone(pp);
}

static struct gx_p *scx_event(const struct gx_kabi_event *ev, int64_t now, bool take)
{
	if (ev->type == GX_EV_PREEMPT) {
		preempt_event(ev);
		return NULL;
	}
	return gx_kassist_block_event(ev, now, take);
}

const struct gx_kassist_ops gx_kassist_scx = {
	.name = "scx",
	.mode = GX_KASSIST_SCX,
	.minit = scx_minit,
	.start = scx_start,
	.newp = scx_newp,
	.acquirep = scx_acquirep,
	.mget = scx_mget,
	.wakem = scx_wakem,
	.idle = scx_idle,
	.retake = gx_ktrace_retake,
	.sysmon_slices = false, /* BPF's quantum timer: GX_EV_PREEMPT */
	.kernel_mstate = true,
	.sysmon_tick = gx_ktrace_sysmon_tick,
	.sysmon_sleep = gx_ktrace_sysmon_sleep,
	.sysmon_wake = gx_ktrace_sysmon_wake,
	.entersyscall = gx_ktrace_entersyscall,
	.preempt = gx_off_preempt,
	.event = scx_event,
};
