/* SPDX-License-Identifier: MIT */
/*
 * gmpx_scx.h - what the sched_ext scheduler (gmpx_scx.bpf.c) and the
 * daemon that loads it (tools/gmpx-sched) share beyond the runtime ABI
 * (include/gmpx/kabi.h): its configuration, written by the daemon after
 * loading and before attaching, and the exit record ops.exit leaves for
 * the daemon. Not part of the runtime's ABI.
 */
#ifndef GMPX_SCX_H
#define GMPX_SCX_H

/* gx_scx_conf[0] */
struct gx_scx_conf {
	__u32 error_after_ms; /* > 0: scx_bpf_error() this long after ops.init (tests) */
	__u32 pad;
};

/* gx_scx_exit_rb records: one, from ops.exit */
#define GX_SCX_REASON_LEN 128
#define GX_SCX_MSG_LEN	  1024
struct gx_scx_exit {
	__s32 kind; /* enum scx_exit_kind */
	__u32 pad;
	__s64 exit_code;
	char reason[GX_SCX_REASON_LEN];
	char msg[GX_SCX_MSG_LEN];
};

/* the shared queue of the tasks that are not Ms with a P nor standbys */
#define GX_SCX_DSQ_SHARED (GX_KABI_DSQ_STANDBY - 1)

/* ops.timeout_ms: the sched_ext watchdog ejects the scheduler when a
 * runnable task waits longer; well above the standby keep-alive (500 ms),
 * and above 4096 (7.3 warns about shorter ones) */
#define GX_SCX_TIMEOUT_MS 10000

#endif
