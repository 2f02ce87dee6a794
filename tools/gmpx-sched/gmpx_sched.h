/* SPDX-License-Identifier: MIT */
/*
 * gmpx_sched.h - what the files of gmpx-sched share. gmpx-sched is the
 * daemon that loads the kernel assist's BPF programs (bpf/gmpx_trace.bpf.c),
 * pins their maps and attaches gmpx processes to them over a unix socket;
 * the ABI and the protocol are include/gmpx_kabi.h.
 *
 *   main.c    options, --help, which of the two jobs to run
 *   log.c     the "gmpx-sched: " lines on stderr, libbpf's messages
 *   loader.c  bpffs, the skeleton (tp_btf, else raw_tp), pins
 *   admit.c   who may attach (SO_PEERCRED, groups)
 *   attach.c  the attached processes: their maps and their threads
 *   server.c  lock file, socket, epoll loop, the protocol's messages
 *   stats.c   --stats: reads the pinned maps, prints per process
 */
#ifndef GMPX_SCHED_H
#define GMPX_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "gmpx_kabi.h"

/* ---- main.c: options ---- */
struct gxs_opts {
	const char *sock;    /* socket path */
	const char *group;   /* --group NAME, or NULL */
	gid_t gid;	     /* its gid (valid when group != NULL) */
	const char *pin_dir; /* where the maps are pinned */
	int mode;	     /* GX_KABI_TRACE (GX_KABI_SCX: not built yet) */
	int verbose;	     /* times --verbose was given */
	int watch_fd;	     /* --watch-fd: exit when it hangs up, -1 none */
	bool stats;	     /* --stats: print and exit, no daemon */
	double interval;     /* --stats: seconds between reports, 0 once */
	long count;	     /* --stats: reports, 0 unlimited */
};

/* ---- log.c ---- */
extern int gxs_verbose; /* times --verbose was given */
void gxs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gxs_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* libbpf's messages: warnings with --verbose, debug with it twice, none
 * otherwise (our own lines say what failed). */
void gxs_libbpf_logging(void);

/* ---- loader.c ---- */
#define GXS_NLINKS 4 /* sched_switch, sched_wakeup, sys_enter, sys_exit */
struct gmpx_trace_bpf;
struct gxs_bpf {
	struct gmpx_trace_bpf *skel;
	const char *family; /* "tp_btf" or "raw_tp" */
	int procs_fd;	    /* gx_procs: tgid -> state array */
	int rbufs_fd;	    /* gx_rbufs: tgid -> ring buffer */
	int tids_fd;	    /* gx_tids: tid -> struct gx_kabi_tid */
	int link_fds[GXS_NLINKS];
	char pin_dir[256];
	bool pinned;
};
#define GXS_PIN_PROCS "gx_procs"
#define GXS_PIN_RBUFS "gx_rbufs"
#define GXS_PIN_TIDS  "gx_tids"
int gxs_bpffs_mount(void);
int gxs_bpf_load(struct gxs_bpf *b);
int gxs_bpf_pin(struct gxs_bpf *b, const char *dir);
void gxs_bpf_unpin(struct gxs_bpf *b);
void gxs_bpf_destroy(struct gxs_bpf *b);

/* ---- admit.c ---- */
struct gxs_peer {
	pid_t pid; /* the peer's tgid at connect(), 0 if not in our pid namespace */
	uid_t uid;
	gid_t gid;
};
int gxs_peer_creds(int fd, struct gxs_peer *peer);
/* true if admitted; else why (for the reply's text) */
bool gxs_admit(int fd, const struct gxs_peer *peer, const struct gxs_opts *o, char *why, size_t n);

/* ---- attach.c ---- */
struct gxs_tidreg {
	__u32 tid;
	__u32 slot;
};
struct gxs_proc {
	pid_t tgid;
	uid_t uid;
	int state_fd; /* its BPF_F_MMAPABLE array (one struct gx_kabi_proc) */
	int rbuf_fd;  /* its ring buffer */
	struct gxs_tidreg *tids;
	size_t ntids, cap;
	struct gxs_proc *next;
};
size_t gxs_proc_count(void);
struct gxs_proc *gxs_proc_find(pid_t tgid);
/* Each returns 0 or -errno with why filled. */
int gxs_proc_attach(const struct gxs_bpf *b, pid_t tgid, uid_t uid, struct gxs_proc **out, char *why, size_t n);
int gxs_proc_mreg(const struct gxs_bpf *b, struct gxs_proc *p, __u32 tid, __u32 slot, char *why, size_t n);
int gxs_proc_munreg(const struct gxs_bpf *b, struct gxs_proc *p, __u32 tid, char *why, size_t n);
/* Forget p and close its fds; with delete_entries, also remove its entries
 * from gx_procs/gx_rbufs/gx_tids (a detach; not at daemon exit, where the
 * clients keep using them until they notice the hang-up). */
void gxs_proc_detach(const struct gxs_bpf *b, struct gxs_proc *p, bool delete_entries);

/* ---- server.c ---- */
int gxs_serve(const struct gxs_opts *o);

/* ---- stats.c ---- */
int gxs_stats(const struct gxs_opts *o);

#endif
