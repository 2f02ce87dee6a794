/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * gmpx_state.bpf.h - what every gmpx BPF object shares: the maps that hold
 * the attached processes' state (include/gmpx/kabi.h) and the helpers that
 * find an M's slot and change its kernel state word. Included by
 * gmpx_trace.bpf.h (the tracing programs) and gmpx_scx.bpf.c (the sched_ext
 * scheduler), so that in scx mode one object holds both and they share the
 * maps.
 *
 * m.mword is shared with userspace (sysmon, the trace waiter or the scx
 * standby revokes a blocked
 * M's P by BLOCKED -> REVOKED; the M clears REVOKED itself), so it is only
 * ever changed by a 64-bit compare-and-swap, and a REVOKED word is never
 * touched here.
 */
#ifndef GMPX_STATE_BPF_H
#define GMPX_STATE_BPF_H

#include <gmpx/kabi.h>

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

/* clang 14 cannot compile __sync_synchronize() for BPF; the atomics used
 * to publish are full barriers, this keeps the compiler in order. */
#define gx_barrier()	    asm volatile("" ::: "memory")
#define GX_READ_ONCE(x)	    (*(volatile typeof(x) *)&(x))
#define GX_WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))

/* Transitions of m.mword (include/gmpx/kabi.h). */
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

/* The memory of process tgid, or NULL. */
static __always_inline struct gx_kabi_proc *gx_proc_of(__u32 tgid)
{
	__u32 zero = 0;
	void *inner;

	inner = bpf_map_lookup_elem(&gx_procs, &tgid);
	if (!inner)
		return NULL;
	return bpf_map_lookup_elem(inner, &zero);
}

/* The process memory and the M slot of t, or NULL. */
static __always_inline struct gx_kabi_proc *gx_proc(const struct gx_kabi_tid *t, __u32 *slot)
{
	__u32 m = t->m;

	if (m >= GX_KABI_MAX_M)
		return NULL;
	*slot = m;
	return gx_proc_of(t->tgid);
}

static __always_inline __u64 gx_now(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_ns();
	return *now;
}

/* True if P p (an index the caller has range-checked) has work some M
 * could run: its local queue, the global one, or a timer that is due. The
 * runtime's gx_p_haswork (user/kslot.h) tests the same three things. */
static __always_inline bool gx_p_has_work(struct gx_kabi_proc *proc, __s32 p)
{
	if (GX_READ_ONCE(proc->p[p].nrunq) || GX_READ_ONCE(proc->hdr.globrunq))
		return true;
	__u64 t0 = GX_READ_ONCE(proc->p[p].timer0_ns);
	return t0 && t0 <= bpf_ktime_get_ns();
}

/* While the process traces (hdr.ktrace): one GX_EV_KSWITCH / GX_EV_KRUN
 * record of M slot on this CPU, without waking the consumer (sysmon
 * drains the ring at its next wake-up anyway). */
static __always_inline void gx_trace_switch(struct gx_kabi_proc *proc, __u32 tgid, __u32 type, __u32 slot, __u32 state,
					    __u64 now)
{
	struct gx_kabi_event *ev;
	void *rb;

	if (!GX_READ_ONCE(proc->hdr.ktrace))
		return;
	rb = bpf_map_lookup_elem(&gx_rbufs, &tgid);
	if (!rb)
		return;
	/* Half the ring stays for the events sysmon acts on. */
	if (bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) > GX_KABI_RINGBUF_SIZE / 2) {
		__sync_fetch_and_add(&proc->hdr.ktrace_drops, 1);
		return;
	}
	ev = bpf_ringbuf_reserve(rb, sizeof(*ev), 0);
	if (!ev) {
		__sync_fetch_and_add(&proc->hdr.ktrace_drops, 1);
		return;
	}
	ev->type = type;
	ev->m = slot;
	ev->p = (__s32)bpf_get_smp_processor_id();
	ev->pad = state;
	ev->mword = 0;
	ev->ts = now;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

/* Puts one event on process tgid's ring buffer, which wakes its sysmon.
 * Returns false if there is no ring (detached) or it is full (counted in
 * hdr.drops). */
static __always_inline bool gx_send_event(struct gx_kabi_proc *proc, __u32 tgid, __u32 type, __u32 slot, __s32 p,
					  __u64 word, __u64 now)
{
	struct gx_kabi_event *ev;
	void *rb;

	rb = bpf_map_lookup_elem(&gx_rbufs, &tgid);
	if (!rb)
		return false;
	ev = bpf_ringbuf_reserve(rb, sizeof(*ev), 0);
	if (!ev) {
		__sync_fetch_and_add(&proc->hdr.drops, 1);
		return false;
	}
	ev->type = type;
	ev->m = slot;
	ev->p = p;
	ev->pad = 0;
	ev->mword = word;
	ev->ts = now;
	/* The default wake-up is sent only if the consumer has read all
	 * before this record: behind an unread trace record (sent without
	 * one) it would not be, and sysmon would sleep through the block. */
	bpf_ringbuf_submit(ev, GX_READ_ONCE(proc->hdr.ktrace) ? BPF_RB_FORCE_WAKEUP : 0);
	__sync_fetch_and_add(&proc->hdr.events, 1);
	return true;
}

#endif
