/* SPDX-License-Identifier: MIT */
/*
 * gmpx/sched_proto.h - the socket protocol between a gmpx runtime and the
 * gmpx-sched daemon (user/kassist_client.c, tools/gmpx-sched/server.c).
 * The memory the two then share with BPF is gmpx/kabi.h; this header is
 * userspace only (a BPF program that includes it does not build).
 */
#ifndef GMPX_SCHED_PROTO_H
#define GMPX_SCHED_PROTO_H

#ifdef __bpf__
#error "gmpx/sched_proto.h is the daemon's socket protocol: BPF programs include gmpx/kabi.h only"
#endif

#include <gmpx/kabi.h>

/* The daemon's socket unless --socket / GX_KASSIST_SOCK say otherwise. */
#define GX_SCHED_SOCK_DEFAULT "/run/gmpx/sched.sock"

/*
 * The gmpx-sched protocol: SOCK_SEQPACKET on GX_SCHED_SOCK_DEFAULT (or the
 * path in GX_KASSIST_SOCK). One struct gx_sched_msg per packet; every
 * request gets one reply. The daemon learns the client's pid/uid/gid from
 * SO_PEERCRED and admits root, its own uid, and members of its --group.
 * The client is the process that connected (the daemon holds a pidfd of
 * it): requests after it exited are refused, and it is detached when it
 * exits. Requests are exactly one message with status, unused arguments
 * and text zero; anything else gets -EINVAL (tools/gmpx-sched/README.md).
 *
 *   HELLO  client: arg0 = mode wanted (GX_KABI_TRACE/SCX), arg1 = gomaxprocs.
 *          reply: status 0, arg0 = mode granted, arg1 = number of fds
 *          passed by SCM_RIGHTS, arg2 = how many of them are links:
 *          [0] the process's state map (mmap it,
 *          sizeof(struct gx_kabi_proc) rounded up to a page), [1] its ring
 *          buffer, [2 .. 2+arg2) the daemon's tracing BPF links, and in scx
 *          mode one more, last: the startm kick program (struct
 *          gx_kabi_kick). The sched_ext scheduler's own struct_ops link is
 *          never passed: it dies with the daemon. The client keeps the links
 *          open while it uses the kassist and closes them when it falls
 *          back: so the programs that keep m.mword true stay attached
 *          until the client itself stops relying on them, even if the
 *          daemon dies first (sysmon must never act on a stale word).
 *          Or status -errno and text saying why.
 *   MREG   client: arg0 = tid, arg1 = M slot. The daemon checks the tid is
 *          a thread of the client and maps it (gx_tids). reply: status.
 *   MUNREG client: arg0 = tid. reply: status.
 *   EXIT   daemon -> client, unsolicited, scx: the sched_ext scheduler was
 *          unloaded (ejected by the kernel, or the daemon stops). arg0 =
 *          the kernel's exit kind (SCX_EXIT_*: 64 unregistered, 67 SysRq,
 *          1024+ errors, 1026 runnable task stall), text = its reason and
 *          message. The daemon then closes the socket; the client falls
 *          back to off and reports the text.
 * Closing the socket detaches: the daemon deletes the process's entries.
 * The daemon going away closes the socket: the runtime falls back to off.
 */
enum gx_sched_msgtype {
	GX_MSG_HELLO = 1,
	GX_MSG_MREG = 2,
	GX_MSG_MUNREG = 3,
	GX_MSG_EXIT = 4,
	GX_MSG_REPLY = 0x80,
};
struct gx_sched_msg {
	__u32 magic;   /* GX_KABI_MAGIC */
	__u16 version; /* GX_KABI_VERSION */
	__u16 type;    /* GX_MSG_* (| GX_MSG_REPLY in replies) */
	__s32 status;  /* replies: 0 or -errno */
	__u32 arg0, arg1, arg2;
	char text[104]; /* replies: why, when status < 0 (NUL-terminated) */
};

#endif
