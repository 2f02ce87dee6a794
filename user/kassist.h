/* SPDX-License-Identifier: MIT */
/*
 * kassist.h - the kernel-assist interface: the one table of hooks through
 * which the scheduler core (proc.c, procresize.c, sysmon.c, syscall.c) lets the kernel
 * help, and what the kernel-assist files share among themselves.
 *
 * The core knows no mode. At each point where the kernel can help it calls
 * gx_kassist->HOOK(...), as Go's scheduler calls netpoll() without knowing
 * epoll from kqueue. There is one table per mode:
 *
 *   gx_kassist_off    sysmon.c         Go's design: sysmon polls syscalls
 *                                      and time slices; preemption is a
 *                                      signal; idle Ms sleep on their futex
 *   gx_kassist_trace  kassist_trace.c  BPF reports every M that blocks in
 *                                      the kernel: sysmon (or the waiter
 *                                      M) sleeps on the ring buffer and
 *                                      revokes the blocked M's P
 *   gx_kassist_scx    kassist_scx.c    trace, plus the sched_ext scheduler:
 *                                      Ms on their P's CPU, a standby M per
 *                                      P parked in BPF, quantum from BPF
 *
 * gx_kassist points at the table in force: gx_kassist_off until an attach
 * succeeds, and again after a fallback (kassist.c). It changes only at
 * start (before any M but m0 exists) and at a fallback, which is always to
 * gx_kassist_off, whose hooks are safe to call at any moment; a hook of the
 * old table may still be running on another thread when it changes, so a
 * mode's hooks check that their mode is still on before they act on the
 * kernel's state. A fourth mode is one file with one table.
 *
 * The kernel-assist files (one concept each):
 *   kassist.c         mode choice, attach, fallback, the public API
 *   kassist_client.c  the gmpx-sched protocol (HELLO, MREG, EXIT)
 *   kassist_ring.c    the ring buffer: mapping and draining events
 *   kassist_revoke.c  the revocation protocol (a blocked M's P taken)
 *   kassist_trace.c   trace mode: sysmon on the ring buffer, the waiter M
 *   kassist_scx.c     scx mode
 * What every mode writes on the hot path (the M's and P's published state)
 * is kslot.h: plain inline stores, the same in every mode.
 */
#ifndef GMPX_KASSIST_H
#define GMPX_KASSIST_H

#include "runtime.h"

#define GX_READ_ONCE(x)	    (*(volatile __typeof__(x) *)&(x))
#define GX_WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

struct gx_kassist_ops {
	const char *name;
	int mode; /* GX_KASSIST_OFF, _TRACE or _SCX */
	/* A new M, on its own thread (minit): register it with the kernel. */
	void (*minit)(struct gx_m *mp);
	/* gx_main, after sysmon is started, before goroutine 1 runs: start
	 * what the mode needs besides (scx: a standby M per P). */
	void (*start)(void);
	/* procresize made pp (a P id new since attach), sched.lock held, pp
	 * not yet in use: publish what the mode needs for it (scx: its CPU
	 * and its slice clock). */
	void (*newp)(struct gx_p *pp);
	/* mp has just taken pp (acquirep): place it (scx: on pp's CPU). */
	void (*acquirep)(struct gx_m *mp, struct gx_p *pp);
	/* startm, sched.lock held: the idle M to prefer for pp, taken off the
	 * idle list, or NULL for the usual choice (scx: pp's own standby). */
	struct gx_m *(*mget)(struct gx_p *pp);
	/* startm has given mp a P and woken its note: wake it wherever else
	 * it may be waiting (the trace waiter's epoll, an scx standby). */
	void (*wakem)(struct gx_m *mp);
	/* stopm, mp on the idle list: wait here rather than on the note, until
	 * startm wakes the note or the mode can hold mp no longer; stopm then
	 * sleeps on the note (at once past it if woken). */
	void (*idle)(struct gx_m *mp);
	/* sysmon's retake of pp, Prunning: take pp if the kernel says its M is
	 * blocked (the revocation protocol); true if it did. */
	bool (*retake)(struct gx_p *pp, int64_t now);
	/* sysmon times slices itself and signals overruns (false: the kernel
	 * watches the quantum and sends GX_EV_PREEMPT). */
	bool sysmon_slices;
	/* The kernel's per-M state (m.mword, m.sys_nr) says when an M is in
	 * the kernel, so a preemption signal can be held back in one look
	 * (false: sysmon looks in /proc, in two stages: sysmon.c, ask). */
	bool kernel_mstate;
	/* Once per sysmon round: when to look again (0: nothing to watch). */
	int64_t (*sysmon_tick)(int64_t now);
	/* sysmon sleeps until `until` (ns, -1: until woken), or until woken. */
	void (*sysmon_sleep)(int64_t until);
	/* Wake a sleeping sysmon. */
	void (*sysmon_wake)(void);
	/* mp entered a syscall holding pp loosely (may wake sysmon). */
	void (*entersyscall)(struct gx_m *mp, struct gx_p *pp, int64_t now);
	/* Ask the G running on pp (its M mp) to yield, the flag set already;
	 * false if it could not be delivered now (sysmon retries). */
	bool (*preempt)(struct gx_p *pp, struct gx_m *mp);
	/* A kernel event (kassist_ring.c drains them): act on it. take: a
	 * P it frees comes back to the caller instead of being handed off. */
	struct gx_p *(*event)(const struct gx_kabi_event *ev, int64_t now, bool take);
};

extern GX_HIDDEN const struct gx_kassist_ops *_Atomic gx_kassist;
extern GX_HIDDEN const struct gx_kassist_ops gx_kassist_off, gx_kassist_trace, gx_kassist_scx;

/* The hooks the core calls (one load of the table in force each). */
#define GX_KASSIST(hook, ...) (atomic_load_explicit(&gx_kassist, memory_order_acquire)->hook(__VA_ARGS__))
#define GX_KASSIST_FIELD(f)   (atomic_load_explicit(&gx_kassist, memory_order_acquire)->f)

/* ---- shared by the kernel-assist files ---- */

/* kassist.c: true while a kernel-assisted mode is attached (before the
 * table switches back at a fallback). */
extern GX_HIDDEN _Atomic bool gx_kassist_active;
/* kassist.c: back to off mode with one log line (sysmon, or a hook that
 * learns the daemon or the scheduler is gone). */
GX_HIDDEN void gx_kassist_fallback(const char *why);
/* Off mode's preemption: the signal (sysmon.c). */
GX_HIDDEN bool gx_off_preempt(struct gx_p *pp, struct gx_m *mp);
GX_HIDDEN void gx_off_entersyscall(struct gx_m *mp, struct gx_p *pp, int64_t now);
/* Off mode's hooks that do nothing, for the modes that need nothing there. */
GX_HIDDEN void gx_off_start(void);
GX_HIDDEN void gx_off_newp(struct gx_p *pp);
GX_HIDDEN void gx_off_acquirep(struct gx_m *mp, struct gx_p *pp);
GX_HIDDEN struct gx_m *gx_off_mget(struct gx_p *pp);

/* kassist_client.c: the daemon connection. */
#define GX_KASSIST_MAX_FDS 16
/* Never wait longer than this for the daemon: a reply, or a private daemon
 * (GX_KASSIST_LOAD) to start. Start-up must not hang on a sick daemon. */
#define GX_KASSIST_DAEMON_TIMEOUT_S 2
extern GX_HIDDEN int gx_kclient_sock; /* -1 when not connected */
/* Connect to path; -errno with why. */
GX_HIDDEN int gx_kclient_connect(const char *path, char *why, size_t whylen);
struct gx_sched_msg; /* <gmpx/sched_proto.h> */
/* One request/reply under the client lock; fds received go to fds/nfds.
 * The reply's status, or -errno of the transport, with why. */
GX_HIDDEN int gx_kclient_request(uint16_t type, uint32_t a0, uint32_t a1, int *fds, int *nfds,
				 struct gx_sched_msg *reply, char *why, size_t whylen);
/* Register mp's thread (MREG); its slot takes over from kslot_local. */
GX_HIDDEN void gx_kclient_mreg(struct gx_m *mp);
/* After a hang-up: the daemon's EXIT report if one came ("" if not). */
GX_HIDDEN const char *gx_kclient_exit_text(void);
/* Close the connection and the links it brought. */
GX_HIDDEN void gx_kclient_close(void);
/* Keep the tracing links the HELLO reply passed (closed by gx_kclient_close). */
GX_HIDDEN void gx_kclient_keep_links(const int *fds, int n);

/* kassist_ring.c: the ring buffer of events. */
GX_HIDDEN int gx_kring_map(int fd, char *why, size_t whylen);
extern GX_HIDDEN int gx_kring_fd;
/* Consume every record (one consumer at a time: the other returns 0);
 * the number of events. taken: the first P an event frees comes back
 * there (the waiter M) instead of being handed off. */
GX_HIDDEN int gx_kring_drain(int64_t now, struct gx_p **taken);

/* kassist_revoke.c: the revocation protocol. */
/* Take pp from its M, blocked in the kernel in goroutine code, if pp has
 * work (the CAS on the M's word). take: the caller gets pp (Pidle, on no
 * list) instead of it being handed off. */
GX_HIDDEN bool gx_kassist_revoke(struct gx_p *pp, int64_t now, bool take);
/* The same for a P in a wrapped syscall whose M blocked at blocked_at. */
GX_HIDDEN bool gx_kassist_handoff_syscall(struct gx_p *pp, int64_t blocked_at, int64_t now, bool take);
/* A GX_EV_BLOCK event: the P it names, revoked or handed off if still
 * stuck with work. */
GX_HIDDEN struct gx_p *gx_kassist_block_event(const struct gx_kabi_event *ev, int64_t now, bool take);
/* sysmon: signal revoked Ms that run goroutine code for a quantum; when to
 * look again (0: nothing to watch). */
GX_HIDDEN int64_t gx_kassist_kick(int64_t now);
/* testing.c's fake kernel may act on local (untracked) slots. */
extern GX_HIDDEN bool gx_kassist_testing;

/* kassist_trace.c: what scx mode shares of trace mode. */
GX_HIDDEN int gx_ktrace_setup(char *why, size_t whylen); /* epoll sets, eventfds */
GX_HIDDEN void gx_ktrace_minit(struct gx_m *mp);
GX_HIDDEN bool gx_ktrace_retake(struct gx_p *pp, int64_t now);
GX_HIDDEN int64_t gx_ktrace_sysmon_tick(int64_t now);
GX_HIDDEN void gx_ktrace_sysmon_sleep(int64_t until);
GX_HIDDEN void gx_ktrace_sysmon_wake(void);
GX_HIDDEN void gx_ktrace_entersyscall(struct gx_m *mp, struct gx_p *pp, int64_t now);
GX_HIDDEN void gx_ktrace_idle(struct gx_m *mp);
GX_HIDDEN void gx_ktrace_wakem(struct gx_m *mp);
GX_HIDDEN void gx_ktrace_fallback(void); /* the waiter goes back to its futex */

/* kassist_scx.c: the attach steps of scx mode. */
/* HELLO granted scx: m0 becomes SCHED_EXT (undone by gx_scx_detach if the
 * attach fails later); then, with the Ps pointing into the shared state,
 * gx_scx_publish gives each P its CPU. */
GX_HIDDEN int gx_scx_attach(char *why, size_t whylen);
GX_HIDDEN void gx_scx_detach(void);
GX_HIDDEN void gx_scx_publish(int kickfd);
/* Back to off: every M SCHED_OTHER again. */
GX_HIDDEN void gx_scx_fallback(void);

#endif
