/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * gmpx_trace - the kernel assist's trace mode: keep each registered M's
 * kernel state word (m.mword) true, and tell sysmon at once when an M that
 * holds a P blocks while there is work for that P.
 *
 * Why. A gmpx runtime, like Go's, multiplexes goroutines (G) onto threads
 * (M) that hold a processor token (P). When an M blocks in the kernel in a
 * call the runtime did not wrap (a page fault, a blocking read() in C code,
 * a futex in a library), its P and the goroutines queued on it sit idle
 * until sysmon notices by polling, 20 us to 10 ms later (Go issue #29734).
 * The scheduler already knows, at the instant of the sched_switch: these
 * programs publish that knowledge into memory the process can read.
 *
 * How. The gmpx-sched daemon gives every attached process one
 * BPF_F_MMAPABLE array holding a struct gx_kabi_proc (include/gmpx_kabi.h),
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
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "gmpx_kabi.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* clang-format cannot lay out __array(values, struct { ... }). */
/* clang-format off */
/*
 * tgid -> the process's state array (one struct gx_kabi_proc at key 0).
 *
 * The inner value type is an anonymous struct wrapping struct gx_kabi_proc
 * (same size and layout) on purpose: clang 14 describes a named struct seen
 * only through a pointer inside __array() (or through a typedef of it) as a
 * BTF forward declaration, and libbpf then fails to open the object ("map
 * 'gx_procs.inner': can't determine value size"). The members of an
 * anonymous struct are emitted in full.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, GX_KABI_MAX_PROCS);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(map_flags, BPF_F_MMAPABLE);
		__type(key, __u32);
		__type(value, struct { struct gx_kabi_proc proc; });
		__uint(max_entries, 1);
	});
} gx_procs SEC(".maps");

/* tgid -> the process's ring buffer of struct gx_kabi_event. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, GX_KABI_MAX_PROCS);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		__uint(max_entries, GX_KABI_RINGBUF_SIZE);
	});
} gx_rbufs SEC(".maps");

/* clang-format on */

/* thread id -> (tgid, M slot), written by the daemon after checking. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GX_KABI_MAX_TIDS);
	__type(key, __u32);
	__type(value, struct gx_kabi_tid);
} gx_tids SEC(".maps");

/* Attempts per compare-and-swap: the word has at most two other writers
 * (sysmon and the M itself), each changing it once per block. */
#define GX_CAS_TRIES 8

#define gx_barrier()	    asm volatile("" ::: "memory")
#define GX_READ_ONCE(x)	    (*(volatile typeof(x) *)&(x))
#define GX_WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))

/* Transitions of m.mword (include/gmpx_kabi.h). */
enum gx_op {
	GX_OP_BLOCK,   /* anything but REVOKED -> BLOCKED(seq+1) */
	GX_OP_PREEMPT, /* RUNNING -> RUNNABLE(seq) */
	GX_OP_RUN,     /* anything but REVOKED -> RUNNING(seq) */
	GX_OP_WAKE,    /* BLOCKED -> RUNNABLE(seq) */
};

/* The word op makes of old, or 0 when op leaves old alone. No valid word
 * is 0 as a result: every target state is non-zero. */
static __always_inline __u64 gx_next_word(__u64 old, enum gx_op op)
{
	__u32 st = GX_KM_STATE(old);
	__u64 seq = GX_KM_SEQ(old);

	switch (op) {
	case GX_OP_BLOCK:
		return st == GX_KM_REVOKED ? 0 : GX_KM_WORD(seq + 1, GX_KM_BLOCKED);
	case GX_OP_PREEMPT:
		return st == GX_KM_RUNNING ? GX_KM_WORD(seq, GX_KM_RUNNABLE) : 0;
	case GX_OP_RUN:
		return st == GX_KM_REVOKED || st == GX_KM_RUNNING ? 0 : GX_KM_WORD(seq, GX_KM_RUNNING);
	case GX_OP_WAKE:
		return st == GX_KM_BLOCKED ? GX_KM_WORD(seq, GX_KM_RUNNABLE) : 0;
	}
	return 0;
}

/* Applies op to *w by compare-and-swap. Returns the word written, or 0 if
 * op did not apply (or the word kept changing under us). */
static __always_inline __u64 gx_cas_word(__u64 *w, enum gx_op op)
{
	__u64 old = GX_READ_ONCE(*w);

	for (int i = 0; i < GX_CAS_TRIES; i++) {
		__u64 new = gx_next_word(old, op);
		__u64 seen;

		if (!new)
			return 0;
		seen = __sync_val_compare_and_swap(w, old, new);
		if (seen == old)
			return new;
		old = seen;
	}
	return 0;
}

static __always_inline struct gx_kabi_tid *gx_tid_lookup(__u32 pid)
{
	return bpf_map_lookup_elem(&gx_tids, &pid);
}

/* The registered M with thread id pid_ in process tgid_, or NULL: the common
 * path. tgid_ is evaluated only on a hit (raw_tp reads it with a probe
 * read); the check guards against a registered tid reused by another
 * process. */
#define gx_tid(pid_, tgid_)                                            \
	({                                                             \
		struct gx_kabi_tid *gx_t_ = gx_tid_lookup(pid_);       \
		gx_t_ && gx_t_->tgid == (__u32)(tgid_) ? gx_t_ : NULL; \
	})

/* The process memory and the M slot of t, or NULL. */
static __always_inline struct gx_kabi_proc *gx_proc(const struct gx_kabi_tid *t, __u32 *slot)
{
	__u32 tgid = t->tgid, zero = 0, m = t->m;
	void *inner;

	if (m >= GX_KABI_MAX_M)
		return NULL;
	inner = bpf_map_lookup_elem(&gx_procs, &tgid);
	if (!inner)
		return NULL;
	*slot = m;
	return bpf_map_lookup_elem(inner, &zero);
}

static __always_inline __u64 gx_now(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_ns();
	return *now;
}

/* Sends GX_EV_BLOCK if the M holds a P (or left one for a wrapped syscall)
 * and there is work that P could run. */
static __always_inline void gx_block_event(struct gx_kabi_proc *proc, struct gx_kabi_m *m, __u32 tgid, __u32 slot,
					   __u64 word, __u64 now)
{
	struct gx_kabi_event *ev;
	__u32 rstate = GX_READ_ONCE(m->rstate);
	__s32 p = GX_READ_ONCE(m->p);
	void *rb;

	if (rstate != GX_RM_RUNNING && rstate != GX_RM_SYSCALL)
		return;
	if (p < 0 || p >= GX_KABI_MAX_P)
		return;
	if (!GX_READ_ONCE(proc->p[p].nrunq) && !GX_READ_ONCE(proc->hdr.globrunq))
		return;
	rb = bpf_map_lookup_elem(&gx_rbufs, &tgid);
	if (!rb)
		return;
	ev = bpf_ringbuf_reserve(rb, sizeof(*ev), 0);
	if (!ev) {
		__sync_fetch_and_add(&proc->hdr.drops, 1);
		return;
	}
	ev->type = GX_EV_BLOCK;
	ev->m = slot;
	ev->p = p;
	ev->pad = 0;
	ev->mword = word;
	ev->ts = now;
	bpf_ringbuf_submit(ev, 0);
	m->nevents++;
	__sync_fetch_and_add(&proc->hdr.events, 1);
}

/* prev, an M, leaves its CPU: blocked, or still runnable. */
static __always_inline void gx_switch_out(const struct gx_kabi_tid *t, bool preempt, unsigned int prev_state,
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
		return;
	}
	GX_WRITE_ONCE(m->block_ns, gx_now(now));
	m->nblocks++;
	gx_barrier();
	word = gx_cas_word(&m->mword, GX_OP_BLOCK);
	if (word)
		gx_block_event(proc, m, tgid, slot, word, *now);
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
		gx_switch_out(t, preempt, prev_state, &now);
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

	t = gx_tid(BPF_CORE_READ(prev, pid), BPF_CORE_READ(prev, tgid));
	if (t)
		gx_switch_out(t, preempt, prev_state, &now);
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
