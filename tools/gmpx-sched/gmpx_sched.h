/* SPDX-License-Identifier: MIT */
/*
 * gmpx_sched.h - what the files of gmpx-sched share. gmpx-sched is the
 * daemon that loads the kernel assist's BPF programs (bpf/gmpx_trace.bpf.c
 * in trace mode, the sched_ext scheduler bpf/gmpx_scx.bpf.c in scx mode),
 * pins their maps and attaches gmpx processes to them over a unix socket;
 * the shared memory is include/gmpx/kabi.h, the protocol include/gmpx/sched_proto.h.
 *
 *   main.c    options, --help, which of the two jobs to run
 *   log.c     the "gmpx-sched: " lines on stderr, libbpf's messages
 *   loader.c  bpffs, the object (tp_btf, else raw_tp; scx: the struct_ops
 *             link), pins
 *   scx.c     scx mode: the scheduler's exit record, the kernel's sched_ext
 *             state and counters
 *   proto.c   the protocol's requests, parsed strictly (pure: fuzzed)
 *   policy.c  admission and the per-user limits (pure: fuzzed)
 *   admit.c   the peer's identity (SO_PEERCRED, its pidfd, groups)
 *   attach.c  the attached processes: their maps and their threads
 *   server.c  lock file, socket, epoll loop, the protocol's messages
 *   stats.c   --stats: reads the pinned maps, prints per process
 */
#ifndef GMPX_SCHED_H
#define GMPX_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <gmpx/sched_proto.h>

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

/* ---- log.c: rate-limited lines ---- */
/* At most GXS_LOG_BURST lines per GXS_LOG_WINDOW_MS per limiter; the
 * lines dropped are counted and reported with the next one let through. */
#define GXS_LOG_BURST	  10
#define GXS_LOG_WINDOW_MS 10000
struct gxs_ratelimit {
	long long start; /* ms, CLOCK_MONOTONIC */
	unsigned n, dropped;
};
void gxs_log_limited(struct gxs_ratelimit *rl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- proto.c: requests (pure) ---- */
#define GXS_MAX_GOMAXPROCS 65536
struct gxs_req {
	unsigned type;	  /* GX_MSG_HELLO, MREG, MUNREG (valid when parsed) */
	__u32 arg0, arg1; /* HELLO: mode, gomaxprocs; MREG: tid, slot; MUNREG: tid */
	__u16 reply_type; /* the type the reply carries, also for a bad packet */
};
/* Parses one packet of n bytes (truncated: the kernel cut it, MSG_TRUNC).
 * 0, or -EINVAL (-EPROTO: a HELLO of another version) with why filled. */
int gxs_parse_request(const void *buf, size_t n, bool truncated, struct gxs_req *req, char *why, size_t whylen);
/* A reply: type | GX_MSG_REPLY, status, and (status < 0) why, terminated. */
void gxs_reply_init(struct gx_sched_msg *r, unsigned reply_type, int status, const char *why);

/* ---- policy.c: admission and limits (pure) ---- */
struct gxs_admit_in {
	uid_t uid, daemon_euid;
	gid_t gid;	     /* the peer's primary gid */
	const gid_t *groups; /* its supplementary groups */
	size_t ngroups;
	const char *group; /* --group NAME, or NULL */
	gid_t group_gid;
};
/* true if admitted; else why (for the reply's text) */
bool gxs_admit_decide(const struct gxs_admit_in *in, char *why, size_t n);

enum gxs_res { GXS_RES_CONNS, GXS_RES_PROCS, GXS_RES_TIDS, GXS_NRES };
/* table sizes; per user caps; what users other than root leave free */
#define GXS_MAX_CONNS  512
#define GXS_USER_CONNS 32
#define GXS_ROOT_CONNS 64
#define GXS_USER_PROCS 32
#define GXS_ROOT_PROCS 32
#define GXS_USER_TIDS  4096
#define GXS_ROOT_TIDS  8192
struct gxs_limits {
	unsigned table[GXS_NRES], per_user[GXS_NRES], root_reserve[GXS_NRES];
};
extern const struct gxs_limits gxs_default_limits;
struct gxs_usage {
	unsigned n[GXS_NRES];
};
/* May uid take one more of r? user: what it holds, nonroot: what all users
 * but root hold, all: everybody. 0, or -E2BIG with a one-line why naming
 * the limit and what to do. */
int gxs_limit_check(enum gxs_res r, uid_t uid, const struct gxs_usage *user, const struct gxs_usage *nonroot,
		    const struct gxs_usage *all, const struct gxs_limits *l, char *why, size_t n);

/* ---- admit.c: the peer ---- */
struct gxs_peer {
	pid_t pid; /* the peer's tgid at connect(), 0 if not in our pid namespace */
	uid_t uid;
	gid_t gid;
	int pidfd; /* the connecting process itself (SO_PEERPIDFD, else pidfd_open + start time), -1 none */
	unsigned long long start; /* fallback: its start time (/proc/PID/stat), 0 unknown */
};
/* --test-no-peerpidfd: identify peers as without SO_PEERPIDFD */
extern bool gxs_no_peerpidfd;
/* Fills peer from the connection: -errno, with why, when the process that
 * connected cannot be pinned down (it has exited, or its pid was reused). */
int gxs_peer_identify(int fd, struct gxs_peer *peer, char *why, size_t n);
/* true while the process that connected is alive (not exited) */
bool gxs_peer_alive(const struct gxs_peer *peer);
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
