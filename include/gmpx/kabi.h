/* SPDX-License-Identifier: MIT */
/*
 * gmpx/kabi.h - the runtime <-> kernel ABI: what the BPF programs (bpf/)
 * and a gmpx runtime process share in memory. The socket protocol between
 * a runtime and gmpx-sched, which BPF never sees, is gmpx/sched_proto.h;
 * both carry GX_KABI_VERSION, so a daemon and a runtime agree on both or
 * on neither.
 *
 * Included by BPF programs (after vmlinux.h, which defines __u32 etc.) and
 * by userspace (which gets them from <linux/types.h>). Plain C, no
 * pointers: every field has a fixed size and offset. Bump GX_KABI_VERSION
 * on any change; the daemon refuses a client of another version.
 *
 * Shared memory. Every attached process gets its own BPF_F_MMAPABLE array
 * map with one element, a struct gx_kabi_proc: a header, GX_KABI_MAX_M M
 * slots and GX_KABI_MAX_P P slots, one cache line each. The process mmaps
 * it; the BPF programs find it through the gx_procs hash-of-maps (key: the
 * process's tgid), so a process can only ever see and write its own
 * memory. A per-process ring buffer (gx_rbufs, same key) carries the
 * events that must wake the process's sysmon.
 *
 * Who writes what (a field has one writer, except mword):
 *   runtime, owner M/P only (plain stores on lines the writer owns):
 *     m.p, m.rstate, m.tid; p.owner, p.nrunq, p.status, p.schedtick,
 *     p.slice_start_ns, p.standby, p.want; the header's runtime fields.
 *     Exception: whoever revokes a P (sysmon, the trace waiter, the P's
 *     scx standby) writes its p.owner and p.status, having won the CAS
 *     on the old owner's mword. p.cpu: at attach or when the P is made
 *     (before any M owns it).
 *   runtime, under the P's timer lock (any M that changes its heap):
 *     p.timer0_ns.
 *   BPF: m.block_ns, m.wake_ns, m.sys_nr, m.sys_ns, m counters, the
 *     header's BPF counters.
 *   m.mword, the M's kernel state, is the one shared word: a 64-bit
 *     (seq << 8 | GX_KM_*) changed only by compare-and-swap:
 *       BPF     RUNNING/RUNNABLE/UNKNOWN -> BLOCKED(seq+1)  the M blocked
 *               BLOCKED -> RUNNABLE(seq)       sched_wakeup: woken, no CPU yet
 *               RUNNING -> RUNNABLE(seq)       preempted by the kernel
 *               anything but REVOKED -> RUNNING(seq)  it got a CPU
 *       runtime BLOCKED(seq)     -> REVOKED(seq)     its P was taken (sysmon,
 *                                                   the waiter or a standby)
 *       the M   REVOKED          -> RUNNING          it noticed
 *     A REVOKED word is never changed by BPF. Because the revoker's CAS and
 *     BPF's wake-up CAS hit the same word, exactly one wins: either the M
 *     had not run since it blocked (the P is taken, and the M sees REVOKED
 *     at its next runtime entry), or it had (the P stays).
 *
 * Revocation rule (runtime side, user/kassist_revoke.c): sysmon, the trace
 * waiter M or the P's scx standby
 * takes the P of an M whose word is BLOCKED only if the M was running goroutine code (not
 * the runtime) when it blocked; the seq makes the check and the CAS refer
 * to the same block.
 */
#ifndef GMPX_KABI_H
#define GMPX_KABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GX_KABI_VERSION 2
#define GX_KABI_MAGIC	0x67786b61u /* "gxka" */

#define GX_KABI_MAX_M 1024
#define GX_KABI_MAX_P 1024

/* M's kernel state: low 8 bits of m.mword. */
enum gx_kabi_kstate {
	GX_KM_UNKNOWN = 0,  /* not seen by BPF yet */
	GX_KM_RUNNING = 1,  /* on a CPU */
	GX_KM_RUNNABLE = 2, /* preempted by the kernel, waiting for a CPU */
	GX_KM_BLOCKED = 3,  /* asleep in the kernel (prev_state != 0) */
	GX_KM_REVOKED = 4,  /* blocked, and sysmon took its P */
};
#define GX_KM_STATE(w)	    ((__u32)((w)&0xff))
#define GX_KM_SEQ(w)	    ((w) >> 8)
#define GX_KM_WORD(seq, st) (((__u64)(seq) << 8) | (__u64)(st))

/* M's runtime state (m.rstate), written by the M itself. */
enum gx_kabi_rstate {
	GX_RM_IDLE = 0,	   /* no P: parked, or spinning without one */
	GX_RM_RUNNING = 1, /* holds P m.p */
	GX_RM_SYSCALL = 2, /* in a wrapped syscall; m.p is the P it left (Psyscall) */
	GX_RM_SYSMON = 3,  /* reserved (sysmon has no M slot) */
	GX_RM_STANDBY = 4, /* scx: a standby for P m.p (it does not hold it): runnable,
			    * parked by BPF in the standby DSQ of p[m.p].cpu */
};

/* P's status (p.status) mirrors the runtime's: */
enum gx_kabi_pstatus {
	GX_KP_IDLE = 0,
	GX_KP_RUNNING = 1,
	GX_KP_SYSCALL = 2,
	GX_KP_DEAD = 3,
};

/* Hand-off latency histogram: bucket i counts [2^i, 2^(i+1)) us, bucket 0
 * also < 1 us; the last bucket is open-ended. */
#define GX_KABI_HIST_BUCKETS 24

struct gx_kabi_m {
	__u64 mword;	/* seq << 8 | GX_KM_* (see above) */
	__s32 tid;	/* runtime: thread id (0: slot unused) */
	__s32 p;	/* runtime: P held (RUNNING) or left (SYSCALL), -1 none */
	__u32 rstate;	/* runtime: GX_RM_* */
	__u32 sys_nr;	/* BPF: current syscall number, or ~0 outside one */
	__u64 block_ns; /* BPF: when it last blocked (bpf_ktime_get_ns, CLOCK_MONOTONIC) */
	__u64 wake_ns;	/* BPF: when it was last woken (sched_wakeup) */
	__u64 run_ns;	/* BPF: when it last got a CPU */
	__u64 sys_ns;	/* BPF: when the current syscall began */
	__u32 nblocks;	/* BPF: blocks seen */
	__u32 nevents;	/* BPF: block events sent to sysmon */
} __attribute__((aligned(64)));

struct gx_kabi_p {
	__s32 owner;	      /* runtime: M slot holding it, -1 none */
	__u32 status;	      /* runtime: GX_KP_* */
	__u32 nrunq;	      /* runtime: local queue length as the owner last saw it (a hint: stealing lowers it) */
	__s32 cpu;	      /* runtime: CPU this P runs on (scx), -1 any */
	__u32 schedtick;      /* runtime: bumped at every new time slice */
	__u32 preempt;	      /* BPF (scx): non-zero: the G running here overran the quantum and
			       * should yield; valid only while preempt_tick == schedtick (a new
			       * slice makes it stale: nobody clears it) */
	__u64 slice_start_ns; /* runtime: CLOCK_MONOTONIC start of the current slice */
	__u64 timer0_ns;      /* runtime: earliest timer on this P (CLOCK_MONOTONIC), 0 none: a due one is work */
	/* scx mode */
	__s32 standby;	    /* runtime: M slot of this P's standby (GX_RM_STANDBY), -1 none */
	__u32 want;	    /* runtime: non-zero while startm has offered this idle P to its
			     * standby (BPF then runs the standby at once, even mid-yield) */
	__u32 preempt_tick; /* BPF: schedtick the preempt request is for */
	__u32 ndispatch;    /* BPF: standby dispatches for this P */
	__u64 preempt_ns;   /* BPF: when the preempt request was set */
} __attribute__((aligned(64)));

struct gx_kabi_hdr {
	__u32 magic;	  /* GX_KABI_MAGIC */
	__u32 version;	  /* GX_KABI_VERSION */
	__u32 tgid;	  /* daemon: the owning process */
	__u32 mode;	  /* daemon: GX_KASSIST_* granted */
	__u32 nm;	  /* runtime: M slots in use (highest + 1) */
	__u32 np;	  /* runtime: gomaxprocs */
	__u32 globrunq;	  /* runtime: global run queue length (hint) */
	__u32 ktrace;	  /* runtime: 1 while an execution trace runs: GX_EV_KSWITCH/KRUN per M switch */
	__u64 quantum_ns; /* runtime: preemption quantum */
	/* runtime statistics, read by gmpx-sched --stats */
	__u64 handoffs;			  /* Ps handed off after a kernel event */
	__u64 revokes;			  /* ... of which taken from an M blocked in an unwrapped call */
	__u64 wakeups;			  /* sysmon wake-ups by an event */
	__u64 hist[GX_KABI_HIST_BUCKETS]; /* block -> P handed off, us */
	/* BPF statistics */
	__u64 events; /* ring buffer events sent */
	__u64 drops;  /* events lost (ring buffer full) */
	/* scx mode */
	__u64 standby_takes;	  /* runtime: Ps taken by a standby the BPF scheduler ran */
	__u64 standby_wakes;	  /* runtime: startm offers of an idle P to its standby */
	__u64 standby_dispatches; /* BPF: standbys moved onto a CPU for a blocked owner */
	__u64 wake_dispatches;	  /* BPF: standbys moved onto a CPU for a startm offer */
	__u64 keepalive_runs;	  /* BPF: standbys run by the watchdog keep-alive */
	__u64 preempt_requests;	  /* BPF: quantum overruns flagged in p.preempt */
	__u64 preempt_events;	  /* BPF: GX_EV_PREEMPT sent (the G did not yield) */
	__u64 ktrace_drops;	  /* BPF: GX_EV_KSWITCH/KRUN lost (ring buffer full) */
} __attribute__((aligned(64)));

struct gx_kabi_proc {
	struct gx_kabi_hdr hdr;
	struct gx_kabi_m m[GX_KABI_MAX_M];
	struct gx_kabi_p p[GX_KABI_MAX_P];
};

/* Ring buffer records (BPF -> sysmon). */
enum gx_kabi_evtype {
	GX_EV_BLOCK = 1,   /* an M holding a P (or in a wrapped syscall) blocked with work around */
	GX_EV_PREEMPT = 2, /* scx: P p's G ran past quantum + grace without yielding: signal it
			    * (mword = the schedtick of the overrun slice) */
	/* While hdr.ktrace is set, for the execution trace (sent without
	 * waking the consumer; p = the CPU, pad = GX_KSW_*): */
	GX_EV_KSWITCH = 3, /* M m left CPU p: blocked (pad GX_KSW_BLOCKED) or preempted */
	GX_EV_KRUN = 4,	   /* M m runs on CPU p */
};
enum { GX_KSW_BLOCKED = 1, GX_KSW_PREEMPTED = 2 };
struct gx_kabi_event {
	__u32 type; /* GX_EV_* */
	__u32 m;    /* M slot */
	__s32 p;    /* its P */
	__u32 pad;
	__u64 mword; /* the M's word after the block */
	__u64 ts;    /* bpf_ktime_get_ns() */
};

#define GX_KABI_RINGBUF_SIZE (64 * 1024)

/* gx_tids values: thread id -> (process, M slot). Written by the loader
 * after checking the thread belongs to the process. */
struct gx_kabi_tid {
	__u32 tgid;
	__u32 m;
};

/*
 * scx mode: the startm kick. A BPF_PROG_TYPE_SYSCALL program whose fd the
 * daemon passes in the HELLO reply (the last fd); the runtime runs it with
 * BPF_PROG_TEST_RUN, ctx_in = struct gx_kabi_kick. For the calling process
 * (bpf_get_current_pid_tgid: a process can only kick its own standbys) it
 * finds P p's standby (p[p].standby) in the standby DSQ of p[p].cpu and
 * moves it onto that CPU at once. ret: 0 moved, -ENOENT not parked (it is
 * running, or between its check and sched_yield: then p.want makes the
 * enqueue put it on the CPU), -EINVAL bad p.
 */
struct gx_kabi_kick {
	__s32 p;
	__s32 ret;
};

/* Standby dispatch queues: one per CPU, id GX_KABI_DSQ_STANDBY + cpu. */
#define GX_KABI_DSQ_STANDBY 0x67780000ull
#define GX_KABI_MAX_CPUS    256

/* Map and pin names (bpf/gmpx_trace.bpf.c, tools/gmpx-sched). */
#define GX_KABI_PIN_DIR	  "/sys/fs/bpf/gmpx"
#define GX_KABI_MAX_PROCS 256
#define GX_KABI_MAX_TIDS  65536

/* Modes (also the C API's gx_kassist values). */
enum gx_kabi_mode {
	GX_KABI_OFF = 0,
	GX_KABI_TRACE = 1,
	GX_KABI_SCX = 2,
};

#endif
