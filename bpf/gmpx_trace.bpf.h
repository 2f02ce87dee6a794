/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * gmpx_trace.bpf.h - the tracing programs of the kernel assist, included by
 * gmpx_trace.bpf.c (trace mode: these programs alone) and gmpx_scx.bpf.c
 * (scx mode: the sched_ext scheduler and these programs in one object, so
 * they share the maps). The includer defines, before including this file:
 *
 *   static __always_inline bool gx_handed_off(struct gx_kabi_proc *proc, __u32 pid, __u64 word)
 *       true if the M with thread id pid, blocking on this CPU now (its
 *       word just became word), had its P handed to a standby by the
 *       scheduler for this very block: then no GX_EV_BLOCK is sent.
 *       Called once per block of an M that holds a P with work; trace
 *       mode: always false.
 *
 * Why. A gmpx runtime, like Go's, multiplexes goroutines (G) onto threads
 * (M) that hold a processor token (P). When an M blocks in the kernel in a
 * call the runtime did not wrap (a page fault, a blocking read() in C code,
 * a futex in a library), its P and the goroutines queued on it sit idle
 * until sysmon notices by polling, 20 us to 10 ms later (as in Go, whose
 * sysmon finds such Ps the same way).
 * The scheduler already knows, at the instant of the sched_switch: these
 * programs publish that knowledge into memory the process can read.
 *
 * How. The gmpx-sched daemon gives every attached process one
 * BPF_F_MMAPABLE array holding a struct gx_kabi_proc (include/gmpx/kabi.h),
 * found here through gx_procs[tgid], and one ring buffer, gx_rbufs[tgid].
 * gx_tids maps each registered M thread to its (tgid, M slot). Then:
 *
 *   sched_switch, prev is an M that blocked    RUNNING... -> BLOCKED(seq+1),
 *       block_ns, nblocks; and if the M holds a P (or left one for a
 *       wrapped syscall) with runnable work around: a GX_EV_BLOCK record on
 *       the process's ring buffer, which wakes its sysmon.
 *   sched_switch, prev is an M still runnable  RUNNING -> RUNNABLE(seq)
 *   sched_switch, next is an M                 * -> RUNNING(seq), run_ns
 *   sched_wakeup of an M                       BLOCKED -> RUNNABLE(seq), wake_ns
 *   sys_enter / sys_exit of an M               sys_nr, sys_ns
 *
 * m.mword is shared with userspace (sysmon revokes a blocked M's P by
 * BLOCKED -> REVOKED; the M clears REVOKED itself), so it is only ever
 * changed by a 64-bit compare-and-swap, and a REVOKED word is never touched
 * here. The timestamps are stored before the CAS that publishes the state
 * (the CAS is a full barrier), so a reader that sees the new word sees them.
 *
 * Cost. sched_switch and sys_enter/exit run for every task on the machine:
 * a task that is not an M costs one hash lookup (two per switch: prev and
 * next) and nothing else.
 *
 * Every program comes twice: a tp_btf flavour (BTF-typed arguments, direct
 * task_struct loads) and a raw_tp fallback (the arguments are plain u64s,
 * task fields are read with BPF_CORE_READ). The loader enables one family
 * with bpf_program__set_autoload() before loading. The logic is in the
 * always-inline helpers both flavours share.
 */
#ifndef GMPX_TRACE_BPF_H
#define GMPX_TRACE_BPF_H

#include "gmpx_state.bpf.h"

/* Sends GX_EV_BLOCK if the M holds a P (or left one for a wrapped syscall)
 * and there is work that P could run, unless the includer's
 * gx_handed_off() says the sched_ext scheduler already gave that P's
 * standby this CPU for this very block (scx mode: no sysmon in the path). */
static __always_inline void gx_block_event(struct gx_kabi_proc *proc, struct gx_kabi_m *m, __u32 tgid, __u32 slot,
					   __u32 pid, __u64 word, __u64 now)
{
	__u32 rstate = GX_READ_ONCE(m->rstate);
	__s32 p = GX_READ_ONCE(m->p);

	if (rstate != GX_RM_RUNNING && rstate != GX_RM_SYSCALL)
		return;
	if (p < 0 || p >= GX_KABI_MAX_P)
		return;
	if (!gx_p_has_work(proc, p))
		return;
	if (gx_handed_off(proc, pid, word))
		return;
	if (gx_send_event(proc, tgid, GX_EV_BLOCK, slot, p, word, now))
		m->nevents++;
}

/* prev, an M, leaves its CPU: blocked, or still runnable. */
static __always_inline void gx_switch_out(const struct gx_kabi_tid *t, __u32 pid, bool preempt, unsigned int prev_state,
					  __u64 *now)
{
	struct gx_kabi_proc *proc;
	struct gx_kabi_m *m;
	__u32 slot = 0, tgid = t->tgid;
	__u64 word;

	proc = gx_proc(t, &slot);
	if (!proc)
		return;
	m = &proc->m[slot];
	if (preempt || !prev_state) {
		gx_cas_word(&m->mword, GX_OP_PREEMPT);
		gx_trace_switch(proc, tgid, GX_EV_KSWITCH, slot, GX_KSW_PREEMPTED, gx_now(now));
		return;
	}
	gx_trace_switch(proc, tgid, GX_EV_KSWITCH, slot, GX_KSW_BLOCKED, gx_now(now));
	GX_WRITE_ONCE(m->block_ns, gx_now(now));
	m->nblocks++;
	gx_barrier();
	word = gx_cas_word(&m->mword, GX_OP_BLOCK);
	if (word)
		gx_block_event(proc, m, tgid, slot, pid, word, *now);
}

/* next, an M, gets a CPU. */
static __always_inline void gx_switch_in(const struct gx_kabi_tid *t, __u64 *now)
{
	struct gx_kabi_proc *proc;
	struct gx_kabi_m *m;
	__u32 slot = 0;

	proc = gx_proc(t, &slot);
	if (!proc)
		return;
	m = &proc->m[slot];
	GX_WRITE_ONCE(m->run_ns, gx_now(now));
	gx_barrier();
	gx_cas_word(&m->mword, GX_OP_RUN);
	gx_trace_switch(proc, t->tgid, GX_EV_KRUN, slot, 0, *now);
}

static __always_inline void gx_wakeup(const struct gx_kabi_tid *t)
{
	struct gx_kabi_proc *proc;
	struct gx_kabi_m *m;
	__u32 slot = 0;

	proc = gx_proc(t, &slot);
	if (!proc)
		return;
	m = &proc->m[slot];
	GX_WRITE_ONCE(m->wake_ns, bpf_ktime_get_ns());
	gx_barrier();
	gx_cas_word(&m->mword, GX_OP_WAKE);
}

/* sys_enter (nr >= 0) or sys_exit (nr == ~0) of the current task. */
static __always_inline void gx_syscall(__u32 nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gx_kabi_tid *t = gx_tid((__u32)id, (__u32)(id >> 32));
	struct gx_kabi_proc *proc;
	struct gx_kabi_m *m;
	__u32 slot = 0;

	if (!t)
		return;
	proc = gx_proc(t, &slot);
	if (!proc)
		return;
	m = &proc->m[slot];
	if (nr != ~0u) {
		GX_WRITE_ONCE(m->sys_ns, bpf_ktime_get_ns());
		gx_barrier();
	}
	GX_WRITE_ONCE(m->sys_nr, nr);
}

/* tp_btf: typed arguments, task fields read directly. */

SEC("tp_btf/sched_switch")
int BPF_PROG(gx_tp_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	struct gx_kabi_tid *t;
	__u64 now = 0;

	t = gx_tid(prev->pid, prev->tgid);
	if (t)
		gx_switch_out(t, prev->pid, preempt, prev_state, &now);
	t = gx_tid(next->pid, next->tgid);
	if (t)
		gx_switch_in(t, &now);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(gx_tp_wakeup, struct task_struct *p)
{
	struct gx_kabi_tid *t = gx_tid(p->pid, p->tgid);

	if (t)
		gx_wakeup(t);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(gx_tp_sys_enter, struct pt_regs *regs, long id)
{
	gx_syscall((__u32)id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(gx_tp_sys_exit, struct pt_regs *regs, long ret)
{
	gx_syscall(~0u);
	return 0;
}

/* raw_tp: untyped arguments, task fields read with CO-RE probe reads. */

SEC("raw_tp/sched_switch")
int BPF_PROG(gx_raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	struct gx_kabi_tid *t;
	__u64 now = 0;

	__u32 pid = BPF_CORE_READ(prev, pid);

	t = gx_tid(pid, BPF_CORE_READ(prev, tgid));
	if (t)
		gx_switch_out(t, pid, preempt, prev_state, &now);
	t = gx_tid(BPF_CORE_READ(next, pid), BPF_CORE_READ(next, tgid));
	if (t)
		gx_switch_in(t, &now);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(gx_raw_wakeup, struct task_struct *p)
{
	struct gx_kabi_tid *t = gx_tid(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid));

	if (t)
		gx_wakeup(t);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(gx_raw_sys_enter, struct pt_regs *regs, long id)
{
	gx_syscall((__u32)id);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(gx_raw_sys_exit, struct pt_regs *regs, long ret)
{
	gx_syscall(~0u);
	return 0;
}

#endif
