/* SPDX-License-Identifier: MIT */
/*
 * gmpx_sched.h - what the files of gmpx-sched share. gmpx-sched is the
 * daemon that loads the kernel assist's BPF programs (bpf/gmpx_trace.bpf.c
 * in trace mode, the sched_ext scheduler bpf/gmpx_scx.bpf.c in scx mode),
 * pins their maps and attaches gmpx processes to them over a unix socket;
 * the ABI and the protocol are include/gmpx_kabi.h.
 *
 *   main.c    options, --help, which of the two jobs to run
 *   log.c     the "gmpx-sched: " lines on stderr, libbpf's messages
 *   loader.c  bpffs, the object (tp_btf, else raw_tp; scx: the struct_ops
 *             link), pins
 *   scx.c     scx mode: the scheduler's exit record, the kernel's sched_ext
 *             state and counters
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
	const char *sock;	 /* socket path */
	const char *group;	 /* --group NAME, or NULL */
	gid_t gid;		 /* its gid (valid when group != NULL) */
	const char *pin_dir;	 /* where the maps are pinned */
	int mode;		 /* GX_KABI_TRACE or GX_KABI_SCX */
	bool whole;		 /* scx: --whole-machine (else partial: SCHED_EXT tasks only) */
	unsigned error_after_ms; /* scx: --test-error-after MS, 0 none */
	int verbose;		 /* times --verbose was given */
	int watch_fd;		 /* --watch-fd: exit when it hangs up, -1 none */
	bool stats;		 /* --stats: print and exit, no daemon */
	double interval;	 /* --stats: seconds between reports, 0 once */
	long count;		 /* --stats: reports, 0 unlimited */
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
struct bpf_object;
struct bpf_link;
struct bpf_map;
struct ring_buffer;
struct gxs_bpf {
	int mode;		 /* set by the caller: GX_KABI_TRACE or GX_KABI_SCX */
	bool whole;		 /* set by the caller: scx whole-machine */
	unsigned error_after_ms; /* set by the caller: scx --test-error-after */
	struct bpf_object *obj;
	const char *family; /* "tp_btf" or "raw_tp" */
	int procs_fd;	    /* gx_procs: tgid -> state array */
	int rbufs_fd;	    /* gx_rbufs: tgid -> ring buffer */
	int tids_fd;	    /* gx_tids: tid -> struct gx_kabi_tid */
	struct bpf_link *links[GXS_NLINKS];
	int link_fds[GXS_NLINKS];
	/* scx mode */
	struct bpf_map *ops_map;    /* the struct_ops map in use */
	struct bpf_link *ops_value; /* libbpf's handle on its value (not the registration) */
	int ops_link_fd;	    /* the registration: closing it unloads the scheduler */
	int kick_fd;		    /* the gx_kick program, for clients */
	int exit_rb_fd;		    /* gx_scx_exit_rb */
	struct ring_buffer *exit_rb;
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
/* scx: unregister the scheduler (ops.exit runs, kind 64) */
void gxs_bpf_scx_disable(struct gxs_bpf *b);
void gxs_bpf_destroy(struct gxs_bpf *b);

/* ---- scx.c ---- */
struct gxs_scx_exit {
	bool seen; /* the exit record came */
	int kind;  /* SCX_EXIT_* */
	long long code;
	char reason[128];
	char msg[1024];
};
/* The exit ring buffer's epoll fd (add it to the loop), or -errno. */
int gxs_scx_watch(struct gxs_bpf *b);
/* Reads the exit record if it came: true then. */
bool gxs_scx_poll(struct gxs_bpf *b, struct gxs_scx_exit *x);
/* false when the kernel says no scheduler is enabled (ours was unloaded
 * without a record reaching us) */
bool gxs_scx_enabled(void);
const char *gxs_scx_kind_name(int kind);
/* --stats: the kernel's sched_ext state, ops and event counters */
void gxs_scx_kernel_stats(void);
void gxs_scx_watch_close(struct gxs_bpf *b);

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
/* mode: the mode granted, recorded in the header (hdr.mode) */
int gxs_proc_attach(const struct gxs_bpf *b, pid_t tgid, uid_t uid, int mode, struct gxs_proc **out, char *why,
		    size_t n);
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
