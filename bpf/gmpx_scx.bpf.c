/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * gmpx_scx - the kernel assist's scx mode: a sched_ext scheduler that
 * knows a gmpx process's Ms and Ps, plus the trace mode's programs (the
 * same code, gmpx_trace.bpf.h, in this object so that both share the maps).
 *
 * Why. A gmpx runtime, like Go's, runs goroutines on threads (Ms) holding
 * a processor token (P), GOMAXPROCS of them. When an M blocks in the
 * kernel, its P must go to another M at once or its goroutines wait.
 * Trace mode tells sysmon, which wakes a parked M: two wake-ups and a
 * cross-CPU hop. Here the scheduler does it inside the blocking M's own
 * pass through schedule(): a spare M, the P's standby, is kept runnable
 * but parked in a BPF queue, and runs on the CPU the instant its owner
 * blocks. No thread is woken, no CPU leaves idle, sysmon is not involved.
 *
 * Policy. All of it comes from the process's struct gx_kabi_proc
 * (include/gmpx/kabi.h), found through gx_tids[pid] -> (tgid, M slot) ->
 * gx_procs[tgid]:
 *
 *   select_cpu/enqueue  An M holding P k (rstate RUNNING or SYSCALL,
 *       p[k].owner is it) runs on p[k].cpu (local DSQ of that CPU), when
 *       its cpumask allows (inserting on a disallowed CPU would eject the
 *       scheduler). A standby of P k (rstate STANDBY) is parked in the
 *       per-CPU DSQ GX_KABI_DSQ_STANDBY + p[k].cpu, unless it is wanted
 *       now (p[k].want, or the owner's word is BLOCKED while P k has
 *       work: it blocked between the standby's check and its
 *       sched_yield()); then it goes straight to the CPU. Other tasks
 *       (SCHED_EXT ones in partial mode, all in whole-machine mode): an
 *       idle CPU if there is one, else the shared DSQ. Not SCX_DSQ_GLOBAL:
 *       the kernel consumes it before calling ops.dispatch, which would
 *       skip the hand-off below.
 *   dispatch            If the task leaving the CPU is an M that just
 *       blocked holding P k on this CPU, and P k has work, P k's standby
 *       is moved from the standby DSQ onto this CPU: it runs next,
 *       CASes the owner's word BLOCKED -> REVOKED and takes the P. The
 *       CPU remembers it (gx_handoffs) so that the sched_switch program,
 *       which runs after this for the same switch, sends no GX_EV_BLOCK:
 *       every such block is handled by a standby or by sysmon, never by
 *       both, never by neither. Then the shared DSQ.
 *   gx_kick (syscall)   startm's offer of an idle P to its standby: moves
 *       the standby onto the P's CPU at once (BPF_PROG_TEST_RUN).
 *   keep-alive timer    A parked standby is runnable in the kernel's
 *       eyes: the sched_ext watchdog ejects the scheduler if one waits
 *       longer than timeout_ms. Every 250 ms, while any is parked, a
 *       standby that has not run for 500 ms is moved onto its CPU once;
 *       it finds nothing to do and yields back. Never a busy loop.
 *   quantum timer       While an M with a P runs, every eighth of the
 *       shortest quantum, 250 us to 2.5 ms (an
 *       hrtimer; ops.tick at HZ=250 is too coarse for a 1 ms quantum):
 *       a P whose slice is older than hdr.quantum_ns gets p.preempt (the
 *       runtime polls it at every runtime entry); one still in the same
 *       slice GX_GRACE_NS later gets a GX_EV_PREEMPT event, and sysmon
 *       signals its M (again every GX_PREEMPT_AGAIN_NS while the slice
 *       goes on, as sysmon itself re-asks in off mode).
 *   exit                ops.exit leaves kind, reason and message in
 *       gx_scx_exit_rb for the daemon, which reports them and tells its
 *       clients.
 *
 * One idea per callback; the callbacks not defined keep the kernel's
 * defaults (no ops.yield: sched_yield() ends the slice and the yielder is
 * enqueued again, with SCX_ENQ_LAST when it was the last task: the flag
 * SCX_OPS_ENQ_LAST is what lets a lone standby be parked at all).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <gmpx/kabi.h>
#include "gmpx_scx.h"
#include "gmpx_scx_kfuncs.bpf.h"
#include "gmpx_state.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define GX_CLOCK_MONOTONIC 1
#define GX_EINVAL	   22
#define GX_ENOENT	   2

#define GX_KEEPALIVE_PERIOD_NS (250ull * 1000 * 1000)
#define GX_KEEPALIVE_IDLE_NS   (500ull * 1000 * 1000) /* a standby not run this long runs once */
/*
 * The quantum check runs every quantum/8 of the shortest quantum among the
 * Ms it saw running, within these bounds: overruns are seen at most an
 * eighth of a quantum late, and a 10 ms quantum costs 800 timer interrupts
 * a second, not 4,000 (each one a pass over every CPU).
 */
#define GX_QUANTUM_PERIOD_MIN_NS (250ull * 1000)
#define GX_QUANTUM_PERIOD_MAX_NS (2500ull * 1000)
/*
 * Grace between the preempt request (p.preempt, a flag the G sees at its
 * next runtime entry: a cooperative yield costs nothing) and the event that
 * makes sysmon signal the M (an asynchronous preemption: a signal, a full
 * register save). A quarter of the quantum bounds the overrun to 1.25
 * quanta; the 200 us floor keeps short quanta from turning every slice
 * into a signal (the check itself runs at best every 250 us, so a shorter grace
 * would not be honoured anyway).
 */
#define GX_GRACE_MIN_NS 200000ull
/*
 * A slice still overrunning this long after its GX_EV_PREEMPT gets another
 * one, as sysmon re-asks (its ASK_AGAIN_NS): the signal can land where the
 * G cannot be stopped (libc, the vDSO), and a G that yielded cooperatively
 * to a successor that inherits the slice (runnext) leaves the same
 * schedtick running.
 */
#define GX_PREEMPT_AGAIN_NS 1000000ull

static __always_inline __u64 gx_grace_ns(__u64 quantum)
{
	return quantum / 4 > GX_GRACE_MIN_NS ? quantum / 4 : GX_GRACE_MIN_NS;
}

/* ---- maps ---- */

/* Per CPU: the last hand-off ops.dispatch did here, for the sched_switch
 * program that follows it on this CPU (gx_handed_off). */
struct gx_handoff {
	__u32 pid; /* the blocked owner */
	__u32 pad;
	__u64 word; /* its word once the block is recorded: BLOCKED(seq + 1) */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gx_handoff);
} gx_handoffs SEC(".maps");

/* Per CPU: the slice a GX_EV_PREEMPT was last sent for, and when. */
struct gx_preempted {
	__u32 tgid;
	__s32 p;
	__u32 tick;
	__u32 sent;
	__u64 ns;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GX_KABI_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct gx_preempted);
} gx_preempted SEC(".maps");

enum gx_timer_id {
	GX_T_QUANTUM,
	GX_T_KEEPALIVE,
	GX_T_ERROR,
	GX_NTIMERS,
};
struct gx_timer {
	struct bpf_timer t;
	__u32 armed; /* 1 while started (or about to be) */
	__u32 poked; /* set by whoever wants it to run on */
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GX_NTIMERS);
	__type(key, __u32);
	__type(value, struct gx_timer);
} gx_timers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gx_scx_conf);
} gx_scx_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 4096);
} gx_scx_exit_rb SEC(".maps");

/* ---- the tracing programs, with the hand-off check ---- */

static __always_inline bool gx_handed_off(struct gx_kabi_proc *proc, __u32 pid, __u64 word)
{
	struct gx_handoff *h;
	__u32 zero = 0;

	if (GX_READ_ONCE(proc->hdr.mode) != GX_KABI_SCX)
		return false;
	h = bpf_map_lookup_elem(&gx_handoffs, &zero);
	if (!h || h->pid != pid || h->word != word)
		return false;
	h->pid = 0;
	return true;
}

#include "gmpx_trace.bpf.h"

/* ---- who a task is ---- */

enum gx_role {
	GX_OTHER,   /* not an M we place: scheduled like any task */
	GX_OWNER,   /* an M holding P k, which runs on cpu */
	GX_STANDBY, /* P k's standby, parked on (or run on) cpu */
};
struct gx_who {
	struct gx_kabi_proc *proc;
	__u32 slot; /* its M slot */
	__s32 k;    /* the P */
	__s32 cpu;  /* p[k].cpu: in range and in the task's cpumask */
};

static __always_inline enum gx_role gx_role(const struct task_struct *p, struct gx_who *w)
{
	struct gx_kabi_tid *t = gx_tid(p->pid, p->tgid);
	struct gx_kabi_m *m;
	__u32 rstate;
	__s32 k, cpu;

	if (!t)
		return GX_OTHER;
	w->proc = gx_proc(t, &w->slot);
	if (!w->proc)
		return GX_OTHER;
	m = &w->proc->m[w->slot];
	rstate = GX_READ_ONCE(m->rstate);
	k = GX_READ_ONCE(m->p);
	if (k < 0 || k >= GX_KABI_MAX_P)
		return GX_OTHER;
	cpu = GX_READ_ONCE(w->proc->p[k].cpu);
	if (cpu < 0 || cpu >= GX_KABI_MAX_CPUS || !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
		return GX_OTHER;
	w->k = k;
	w->cpu = cpu;
	if (rstate == GX_RM_STANDBY)
		return GX_STANDBY;
	if ((rstate == GX_RM_RUNNING || rstate == GX_RM_SYSCALL) && GX_READ_ONCE(w->proc->p[k].owner) == (__s32)w->slot)
		return GX_OWNER;
	return GX_OTHER;
}

/* P k's standby must run now: startm offered it the P, or the owner
 * blocked with work around before the standby got parked. */
static __always_inline bool gx_standby_wanted(struct gx_kabi_proc *proc, __s32 k)
{
	__s32 owner;
	__u64 w;

	if (GX_READ_ONCE(proc->p[k].want))
		return true;
	owner = GX_READ_ONCE(proc->p[k].owner);
	if (owner < 0 || owner >= GX_KABI_MAX_M)
		return false;
	w = GX_READ_ONCE(proc->m[owner].mword);
	return GX_KM_STATE(w) == GX_KM_BLOCKED && gx_p_has_work(proc, k);
}

/* ---- timers ---- */

/* Starts timer id unless it runs already; poked tells a callback that is
 * just giving up that there is work again (see gx_timer_rearm). */
static __always_inline void gx_timer_want(__u32 id, __u64 ns)
{
	struct gx_timer *v = bpf_map_lookup_elem(&gx_timers, &id);

	if (!v)
		return;
	__sync_lock_test_and_set(&v->poked, 1);
	if (__sync_val_compare_and_swap(&v->armed, 0, 1) == 0)
		bpf_timer_start(&v->t, ns, 0);
}

/* End of a callback of timer v: run again in ns if busy; else stop, unless
 * somebody poked it since the callback began (it saw armed == 1 and left
 * the starting to us). */
static __always_inline void gx_timer_rearm(struct gx_timer *v, bool busy, __u64 ns)
{
	if (busy) {
		bpf_timer_start(&v->t, ns, 0);
		return;
	}
	__sync_lock_test_and_set(&v->armed, 0);
	if (__sync_lock_test_and_set(&v->poked, 0) && __sync_val_compare_and_swap(&v->armed, 0, 1) == 0)
		bpf_timer_start(&v->t, ns, 0);
}

static __always_inline __u32 gx_ncpus(void)
{
	__u32 n = scx_bpf_nr_cpu_ids();

	return n < GX_KABI_MAX_CPUS ? n : GX_KABI_MAX_CPUS;
}

/* Moves the standby with thread id tid of process tgid from the standby
 * DSQ of cpu onto that CPU. */
static __always_inline bool gx_move_standby(__s32 cpu, __u32 tid, __u32 tgid)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *q;
	bool moved = false;

	gx_dsq_each(q, it, GX_KABI_DSQ_STANDBY + cpu)
	{
		if (q->pid != tid || q->tgid != tgid)
			continue;
		if (bpf_cpumask_test_cpu(cpu, q->cpus_ptr)) {
			scx_bpf_dsq_move_set_slice(&it, SCX_SLICE_DFL);
			moved = scx_bpf_dsq_move(&it, q, SCX_DSQ_LOCAL_ON | (__u32)cpu, 0);
		}
		break;
	}
	bpf_iter_scx_dsq_destroy(&it);
	return moved;
}

/* The quantum check of the M running on cpu; true if it is an M with a P
 * in a process with a quantum (the timer goes on). */
static __always_inline bool gx_quantum_check(__u32 cpu, __u64 now, __u64 *minq)
{
	struct task_struct *curr = scx_bpf_cpu_curr(cpu);
	struct gx_preempted *e;
	struct gx_kabi_proc *proc;
	struct gx_kabi_tid *t;
	struct gx_kabi_p *pk;
	__u64 q, start, over;
	__u32 slot = 0, tick;
	__s32 k;

	if (!curr)
		return false;
	t = gx_tid(curr->pid, curr->tgid);
	if (!t)
		return false;
	proc = gx_proc(t, &slot);
	if (!proc || GX_READ_ONCE(proc->m[slot].rstate) != GX_RM_RUNNING)
		return false;
	k = GX_READ_ONCE(proc->m[slot].p);
	if (k < 0 || k >= GX_KABI_MAX_P)
		return false;
	q = GX_READ_ONCE(proc->hdr.quantum_ns);
	if (!q)
		return false; /* no quantum: nothing to watch (running re-arms) */
	if (q < *minq)
		*minq = q;
	pk = &proc->p[k];
	tick = GX_READ_ONCE(pk->schedtick);
	start = GX_READ_ONCE(pk->slice_start_ns);
	gx_barrier();
	if (!start || now <= start || GX_READ_ONCE(pk->schedtick) != tick)
		return true; /* no slice published yet, or a new one under way */
	over = now - start;
	if (over <= q)
		return true;
	if (!GX_READ_ONCE(pk->preempt) || GX_READ_ONCE(pk->preempt_tick) != tick) {
		GX_WRITE_ONCE(pk->preempt_tick, tick);
		GX_WRITE_ONCE(pk->preempt_ns, now);
		__sync_lock_test_and_set(&pk->preempt, 1); /* publishes the two above */
		__sync_fetch_and_add(&proc->hdr.preempt_requests, 1);
		return true;
	}
	if (over <= q + gx_grace_ns(q))
		return true;
	e = bpf_map_lookup_elem(&gx_preempted, &cpu);
	if (!e || (e->sent && e->tgid == t->tgid && e->p == k && e->tick == tick && now - e->ns < GX_PREEMPT_AGAIN_NS))
		return true;
	if (gx_send_event(proc, t->tgid, GX_EV_PREEMPT, slot, k, tick, now)) {
		e->tgid = t->tgid;
		e->p = k;
		e->tick = tick;
		e->sent = 1;
		e->ns = now;
		__sync_fetch_and_add(&proc->hdr.preempt_events, 1);
	}
	return true;
}

/* Runs once each standby parked on cpu that has not run for
 * GX_KEEPALIVE_IDLE_NS; true if any stays parked. */
static __always_inline bool gx_keepalive_cpu(__s32 cpu, __u64 now)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *q;
	bool parked = false;

	gx_dsq_each(q, it, GX_KABI_DSQ_STANDBY + cpu)
	{
		struct gx_kabi_tid *t = gx_tid(q->pid, q->tgid);
		struct gx_kabi_proc *proc;
		__u32 slot = 0;

		parked = true;
		if (!t)
			continue;
		proc = gx_proc(t, &slot);
		if (!proc || now - GX_READ_ONCE(proc->m[slot].run_ns) < GX_KEEPALIVE_IDLE_NS)
			continue;
		if (!bpf_cpumask_test_cpu(cpu, q->cpus_ptr))
			continue;
		scx_bpf_dsq_move_set_slice(&it, SCX_SLICE_DFL);
		if (scx_bpf_dsq_move(&it, q, SCX_DSQ_LOCAL_ON | (__u32)cpu, 0)) {
			__sync_fetch_and_add(&proc->hdr.keepalive_runs, 1);
			scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
	return parked;
}

/* The quantum and keep-alive timers: one pass over the CPUs, then again
 * in a period while there is something to watch. */
static int gx_timer_fire(void *map, __u32 *key, struct gx_timer *v)
{
	bool quantum = *key == GX_T_QUANTUM, busy = false;
	__u64 minq = ~0ull, period;
	__u64 now = bpf_ktime_get_ns();
	struct bpf_iter_num it;
	int cpu;

	gx_for(cpu, it, 0, gx_ncpus())
	{
		if (quantum ? gx_quantum_check(cpu, now, &minq) : gx_keepalive_cpu(cpu, now))
			busy = true;
	}
	bpf_iter_num_destroy(&it);
	period = minq / 8 < GX_QUANTUM_PERIOD_MIN_NS ? GX_QUANTUM_PERIOD_MIN_NS : minq / 8;
	if (period > GX_QUANTUM_PERIOD_MAX_NS)
		period = GX_QUANTUM_PERIOD_MAX_NS;
	gx_timer_rearm(v, busy, quantum ? period : GX_KEEPALIVE_PERIOD_NS);
	return 0;
}

/* --test-error-after: eject ourselves, as a real error would. */
static char gx_test_error_fmt[] = "gmpx-sched --test-error-after %u ms: test error";

static int gx_error_fire(void *map, __u32 *key, struct gx_timer *v)
{
	struct gx_scx_conf *c;
	unsigned long long data[1] = {0};
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&gx_scx_conf, &zero);
	if (c)
		data[0] = c->error_after_ms;
	scx_bpf_error_bstr(gx_test_error_fmt, data, sizeof(data));
	return 0;
}

/* ---- the ops ---- */

/* Where a waking task should run: an M's P's CPU, else an idle CPU (the
 * task then goes straight to it), else where select_cpu_dfl says. */
s32 BPF_STRUCT_OPS(gx_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	struct gx_who w;
	bool idle = false;
	s32 cpu;

	if (gx_role(p, &w) != GX_OTHER) {
		/* claimed: the idle-CPU picks of other tasks skip it */
		scx_bpf_test_and_clear_cpu_idle(w.cpu);
		return w.cpu;
	}
	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &idle);
	if (idle)
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
	return cpu;
}

/*
 * An owner (or a wanted standby) goes onto its CPU now: whatever else runs
 * there is preempted, unless it is an owner too (another process's M on
 * the same CPU: two owners kicking each other off would never stop; they
 * share the CPU by slices). Without this an M without a P (spinning for
 * work, or back from a syscall) or a fair-weather task placed on the CPU
 * held a P's M off it for a whole 20 ms slice: measured in the guest,
 * fib_fanout at 2 Ps took 3x as long in about one run in two.
 */
static __always_inline void gx_insert_on(struct task_struct *p, __s32 cpu, u64 enq_flags)
{
	struct task_struct *curr;
	struct gx_who w;
	u64 kick = SCX_KICK_IDLE;

	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL_ON | (__u32)cpu, SCX_SLICE_DFL, enq_flags);
	curr = scx_bpf_cpu_curr(cpu);
	if (curr && curr != p && curr->pid != 0 && gx_role(curr, &w) != GX_OWNER)
		kick = SCX_KICK_PREEMPT;
	if (kick == SCX_KICK_PREEMPT || cpu != (__s32)bpf_get_smp_processor_id())
		scx_bpf_kick_cpu(cpu, kick);
}

/* Owners to their CPU, standbys to their parking, the rest to an idle
 * CPU or the shared queue. */
void BPF_STRUCT_OPS(gx_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct gx_who w;
	s32 cpu;

	switch (gx_role(p, &w)) {
	case GX_OWNER:
		gx_insert_on(p, w.cpu, enq_flags);
		return;
	case GX_STANDBY:
		if (gx_standby_wanted(w.proc, w.k)) {
			gx_insert_on(p, w.cpu, enq_flags);
			return;
		}
		scx_bpf_dsq_insert(p, GX_KABI_DSQ_STANDBY + w.cpu, SCX_SLICE_DFL, enq_flags);
		gx_timer_want(GX_T_KEEPALIVE, GX_KEEPALIVE_PERIOD_NS);
		return;
	case GX_OTHER:
		break;
	}
	if (p->nr_cpus_allowed == 1) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, enq_flags);
		return;
	}
	scx_bpf_dsq_insert(p, GX_SCX_DSQ_SHARED, SCX_SLICE_DFL, enq_flags);
	cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
	if (cpu >= 0)
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
}

/* prev, the owner of P k on this CPU, just blocked: its standby takes
 * the CPU (and then the P). */
static __always_inline void gx_handoff(s32 cpu, struct task_struct *prev)
{
	struct gx_handoff *h;
	struct gx_kabi_m *m;
	struct gx_who w;
	__u32 zero = 0;
	__s32 s, tid;

	if (gx_role(prev, &w) != GX_OWNER || w.cpu != cpu || !gx_p_has_work(w.proc, w.k))
		return;
	s = GX_READ_ONCE(w.proc->p[w.k].standby);
	if (s < 0 || s >= GX_KABI_MAX_M)
		return;
	tid = GX_READ_ONCE(w.proc->m[s].tid);
	if (tid <= 0 || !gx_move_standby(cpu, tid, prev->tgid))
		return;
	m = &w.proc->m[w.slot];
	h = bpf_map_lookup_elem(&gx_handoffs, &zero);
	if (h) {
		h->pid = prev->pid;
		h->word = GX_KM_WORD(GX_KM_SEQ(GX_READ_ONCE(m->mword)) + 1, GX_KM_BLOCKED);
	}
	__sync_fetch_and_add(&w.proc->hdr.standby_dispatches, 1);
	__sync_fetch_and_add(&w.proc->p[w.k].ndispatch, 1);
}

/* This CPU has nothing queued: the hand-off, then the shared queue. */
void BPF_STRUCT_OPS(gx_dispatch, s32 cpu, struct task_struct *prev)
{
	if (prev && !(prev->scx.flags & SCX_TASK_QUEUED))
		gx_handoff(cpu, prev);
	scx_bpf_dsq_move_to_local(GX_SCX_DSQ_SHARED);
}

/* An M got a CPU: the quantum timer runs while Ms do. */
void BPF_STRUCT_OPS(gx_running, struct task_struct *p)
{
	struct gx_who w;

	if (gx_role(p, &w) == GX_OWNER)
		gx_timer_want(GX_T_QUANTUM, GX_QUANTUM_PERIOD_MIN_NS);
}

static __always_inline int gx_timer_init(__u32 id, int (*cb)(void *, __u32 *, struct gx_timer *))
{
	struct gx_timer *v = bpf_map_lookup_elem(&gx_timers, &id);
	int err;

	if (!v)
		return -GX_ENOENT;
	err = bpf_timer_init(&v->t, &gx_timers, GX_CLOCK_MONOTONIC);
	if (err)
		return err;
	return bpf_timer_set_callback(&v->t, cb);
}

/* Sleepable: the shared DSQ, one standby DSQ per possible CPU, timers. */
s32 BPF_STRUCT_OPS_SLEEPABLE(gx_init)
{
	struct bpf_iter_num it;
	struct gx_scx_conf *c;
	__u32 zero = 0;
	s32 err;
	int cpu;

	err = scx_bpf_create_dsq(GX_SCX_DSQ_SHARED, -1);
	if (err)
		return err;
	gx_for(cpu, it, 0, gx_ncpus())
	{
		err = scx_bpf_create_dsq(GX_KABI_DSQ_STANDBY + cpu, -1);
		if (err)
			break;
	}
	bpf_iter_num_destroy(&it);
	if (err)
		return err;
	err = gx_timer_init(GX_T_QUANTUM, gx_timer_fire);
	if (!err)
		err = gx_timer_init(GX_T_KEEPALIVE, gx_timer_fire);
	if (!err)
		err = gx_timer_init(GX_T_ERROR, gx_error_fire);
	if (err)
		return err;
	c = bpf_map_lookup_elem(&gx_scx_conf, &zero);
	if (c && c->error_after_ms) {
		__u32 id = GX_T_ERROR;
		struct gx_timer *v = bpf_map_lookup_elem(&gx_timers, &id);

		if (v)
			bpf_timer_start(&v->t, (__u64)c->error_after_ms * 1000000, 0);
	}
	return 0;
}

/* Why we were unloaded, for the daemon (gmpx_scx.h). */
void BPF_STRUCT_OPS(gx_exit, struct scx_exit_info *ei)
{
	struct gx_scx_exit *x = bpf_ringbuf_reserve(&gx_scx_exit_rb, sizeof(*x), 0);

	if (!x)
		return;
	x->kind = ei->kind;
	x->pad = 0;
	x->exit_code = ei->exit_code;
	bpf_probe_read_kernel_str(x->reason, sizeof(x->reason), ei->reason);
	bpf_probe_read_kernel_str(x->msg, sizeof(x->msg), ei->msg);
	bpf_ringbuf_submit(x, 0);
}

/*
 * The startm kick (include/gmpx/kabi.h, struct gx_kabi_kick): run by the
 * runtime with BPF_PROG_TEST_RUN; the kernel copies ctx back into the
 * caller's ctx_in buffer, so ret is read from there. Only the caller's own
 * process is looked at.
 */
SEC("syscall")
int gx_kick(struct gx_kabi_kick *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct gx_kabi_proc *proc = gx_proc_of(tgid);
	__s32 k = ctx->p, cpu, s, tid;
	bool moved;

	ctx->ret = -GX_EINVAL;
	if (!proc || k < 0 || k >= GX_KABI_MAX_P)
		return 0;
	cpu = GX_READ_ONCE(proc->p[k].cpu);
	s = GX_READ_ONCE(proc->p[k].standby);
	if (cpu < 0 || cpu >= GX_KABI_MAX_CPUS || s < 0 || s >= GX_KABI_MAX_M)
		return 0;
	tid = GX_READ_ONCE(proc->m[s].tid);
	if (tid <= 0)
		return 0;
	/* a syscall program runs outside RCU: the DSQ iterator needs it */
	bpf_rcu_read_lock();
	moved = gx_move_standby(cpu, tid, tgid);
	bpf_rcu_read_unlock();
	if (!moved) {
		ctx->ret = -GX_ENOENT;
		return 0;
	}
	scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	__sync_fetch_and_add(&proc->hdr.wake_dispatches, 1);
	ctx->ret = 0;
	return 0;
}

/* Two maps, one used (the loader disables the other): libbpf 1.1 cannot
 * change flags of a struct_ops map after open. */
#define GX_OPS(name_, flags_)                         \
	SEC(".struct_ops")                            \
	struct sched_ext_ops name_ = {                \
		.select_cpu = (void *)gx_select_cpu,  \
		.enqueue = (void *)gx_enqueue,        \
		.dispatch = (void *)gx_dispatch,      \
		.running = (void *)gx_running,        \
		.init = (void *)gx_init,              \
		.exit = (void *)gx_exit,              \
		.flags = SCX_OPS_ENQ_LAST | (flags_), \
		.timeout_ms = GX_SCX_TIMEOUT_MS,      \
		.name = "gmpx",                       \
	}

GX_OPS(gx_ops_partial, SCX_OPS_SWITCH_PARTIAL);
GX_OPS(gx_ops_whole, 0);
