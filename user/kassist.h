/* SPDX-License-Identifier: MIT */
/*
 * kassist.h - what kassist.c (trace mode, the daemon, the shared state)
 * and kassist_scx.c (scx mode) share inside the runtime. The rest of the
 * runtime sees the kernel assist through runtime.h.
 */
#ifndef GMPX_KASSIST_H
#define GMPX_KASSIST_H

#include "runtime.h"

#define GX_READ_ONCE(x)	    (*(volatile __typeof__(x) *)&(x))
#define GX_WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* kassist.c */
/* Take pp from its M, blocked in the kernel in goroutine code, if pp has
 * work (the CAS on the M's word). take: the caller gets pp (Pidle, on no
 * list) instead of it being handed off. */
GX_HIDDEN bool gx_kassist_revoke(struct gx_p *pp, int64_t now, bool take);
/* The same for a P in a wrapped syscall whose M blocked at blocked_at. */
GX_HIDDEN bool gx_kassist_handoff_syscall(struct gx_p *pp, int64_t blocked_at, int64_t now, bool take);
/* Take mp off the idle M list if it is still there. sched.lock held. */
GX_HIDDEN bool gx_kassist_midle_remove(struct gx_m *mp);

/* kassist_scx.c */
/* HELLO granted scx: m0 becomes SCHED_EXT (undone by gx_scx_detach if
 * the attach fails later); then, with the Ps pointing into the shared
 * state, gx_scx_publish gives each P its CPU and turns scx on. */
GX_HIDDEN int gx_scx_attach(char *why, size_t whylen);
GX_HIDDEN void gx_scx_detach(void);
GX_HIDDEN void gx_scx_publish(int kickfd);
/* A new M (after its MREG): make it SCHED_EXT. */
GX_HIDDEN void gx_scx_minit(struct gx_m *mp);
/* Back to off: scx off, every M SCHED_OTHER again. */
GX_HIDDEN void gx_scx_fallback(void);
/* A GX_EV_PREEMPT event: signal the G if it still runs that slice. */
GX_HIDDEN void gx_kassist_scx_preempt(const struct gx_kabi_event *ev);

#endif
