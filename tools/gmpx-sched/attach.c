/* SPDX-License-Identifier: MIT */
/*
 * attach.c - the attached processes and what the kernel knows of them.
 *
 * Per attached process (one per tgid): its state map (a BPF_F_MMAPABLE
 * array holding one struct gx_kabi_proc, initialised here), its ring
 * buffer, both inserted in gx_procs/gx_rbufs under the tgid, and the
 * threads it registered as Ms (gx_tids[tid] = {tgid, slot}).
 *
 * Invariants:
 *   - a gx_tids entry names a thread of the process it points to, checked
 *     at MREG (/proc/TGID/task/TID and /proc/TID/status Tgid);
 *   - within a process, a live thread holds at most one slot and a slot at
 *     most one live thread (two threads on one slot would both write its
 *     mword);
 *   - a tid is only deleted from gx_tids if the entry still points to the
 *     process being cleaned up: tids are reused, and a thread of another
 *     process may have taken it over since (a stale registration from an
 *     exited thread is replaced, never refused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "gmpx_sched.h"

static struct gxs_proc *procs;
static size_t nprocs;

size_t gxs_proc_count(void)
{
	return nprocs;
}

struct gxs_proc *gxs_proc_find(pid_t tgid)
{
	struct gxs_proc *p;

	for (p = procs; p; p = p->next)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

static size_t state_map_len(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (sizeof(struct gx_kabi_proc) + pg - 1) / pg * pg;
}

static int init_state(int fd, pid_t tgid, int mode)
{
	size_t len = state_map_len();
	struct gx_kabi_proc *s;
	int i;

	s = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		return -errno;
	memset(s, 0, sizeof(*s));
	for (i = 0; i < GX_KABI_MAX_M; i++) {
		s->m[i].p = -1;
		s->m[i].sys_nr = ~0u;
	}
	for (i = 0; i < GX_KABI_MAX_P; i++) {
		s->p[i].owner = -1;
		s->p[i].cpu = -1;
		s->p[i].standby = -1;
	}
	s->hdr.tgid = (__u32)tgid;
	s->hdr.mode = (__u32)mode;
	s->hdr.version = GX_KABI_VERSION;
	__atomic_store_n(&s->hdr.magic, GX_KABI_MAGIC, __ATOMIC_RELEASE);
	if (munmap(s, len) < 0)
		return -errno;
	return 0;
}

/* 1: tid is a thread of tgid; 0: not; */
static int is_thread_of(pid_t tgid, __u32 tid)
{
	char path[64], line[256];
	struct stat st;
	FILE *f;
	int r = 0;

	if (tgid <= 0 || tid == 0 || tid > 0x7fffffffu)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%u", (int)tgid, tid);
	if (stat(path, &st) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Tgid:", 5) == 0) {
			r = strtol(line + 5, NULL, 10) == (long)tgid;
			break;
		}
	}
	fclose(f);
	return r;
}

int gxs_proc_attach(const struct gxs_bpf *b, pid_t tgid, uid_t uid, int mode, struct gxs_proc **out, char *why,
		    size_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_MMAPABLE);
	__u32 key = (__u32)tgid;
	struct gxs_proc *p;
	int err;

	if (tgid <= 0) {
		snprintf(why, n, "your pid is not visible in the daemon's pid namespace");
		return -ESRCH;
	}
	if (gxs_proc_find(tgid)) {
		snprintf(why, n, "pid %d is already attached", (int)tgid);
		return -EBUSY;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(why, n, "daemon out of memory");
		return -ENOMEM;
	}
	p->tgid = tgid;
	p->uid = uid;
	p->rbuf_fd = -1;
	p->state_fd =
		bpf_map_create(BPF_MAP_TYPE_ARRAY, "gx_proc", sizeof(__u32), sizeof(struct gx_kabi_proc), 1, &mopts);
	if (p->state_fd < 0) {
		err = -errno;
		snprintf(why, n, "cannot create the state map: %s", strerror(-err));
		goto fail;
	}
	err = init_state(p->state_fd, tgid, mode);
	if (err) {
		snprintf(why, n, "cannot initialise the state map: %s", strerror(-err));
		goto fail;
	}
	p->rbuf_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "gx_rbuf", 0, 0, GX_KABI_RINGBUF_SIZE, NULL);
	if (p->rbuf_fd < 0) {
		err = -errno;
		snprintf(why, n, "cannot create the ring buffer: %s", strerror(-err));
		goto fail;
	}
	if (bpf_map_update_elem(b->rbufs_fd, &key, &p->rbuf_fd, BPF_ANY) < 0) {
		err = -errno;
		snprintf(why, n, "gx_rbufs: %s%s", strerror(-err), err == -E2BIG ? " (too many processes)" : "");
		goto fail;
	}
	if (bpf_map_update_elem(b->procs_fd, &key, &p->state_fd, BPF_ANY) < 0) {
		err = -errno;
		snprintf(why, n, "gx_procs: %s%s", strerror(-err), err == -E2BIG ? " (too many processes)" : "");
		bpf_map_delete_elem(b->rbufs_fd, &key);
		goto fail;
	}
	p->next = procs;
	procs = p;
	nprocs++;
	*out = p;
	return 0;
fail:
	if (p->state_fd >= 0)
		close(p->state_fd);
	if (p->rbuf_fd >= 0)
		close(p->rbuf_fd);
	free(p);
	return err;
}

static void drop_tid(struct gxs_proc *p, size_t i)
{
	p->tids[i] = p->tids[--p->ntids];
}

/* Delete gx_tids[tid] if it still points to tgid. */
static void delete_tid(const struct gxs_bpf *b, pid_t tgid, __u32 tid)
{
	struct gx_kabi_tid v;

	if (bpf_map_lookup_elem(b->tids_fd, &tid, &v) == 0 && v.tgid == (__u32)tgid &&
	    bpf_map_delete_elem(b->tids_fd, &tid) < 0 && errno != ENOENT)
		gxs_log("gx_tids: cannot delete tid %u: %s", tid, strerror(errno));
}

int gxs_proc_mreg(const struct gxs_bpf *b, struct gxs_proc *p, __u32 tid, __u32 slot, char *why, size_t n)
{
	struct gx_kabi_tid v;
	size_t i;

	if (slot >= GX_KABI_MAX_M) {
		snprintf(why, n, "M slot %u out of range (0..%d)", slot, GX_KABI_MAX_M - 1);
		return -EINVAL;
	}
	if (tid == 0 || tid > 0x7fffffffu) {
		snprintf(why, n, "bad tid %u", tid);
		return -EINVAL;
	}
	if (!is_thread_of(p->tgid, tid)) {
		snprintf(why, n, "tid %u is not a thread of pid %d", tid, (int)p->tgid);
		return -ESRCH;
	}
	if (bpf_map_lookup_elem(b->tids_fd, &tid, &v) == 0) {
		if (v.tgid == (__u32)p->tgid && v.m == slot)
			return 0; /* again: nothing to do */
		if (v.tgid == (__u32)p->tgid) {
			snprintf(why, n, "tid %u is already M slot %u (MUNREG it first)", tid, v.m);
			return -EEXIST;
		}
		if (is_thread_of((pid_t)v.tgid, tid)) { /* cannot be: it is ours */
			snprintf(why, n, "tid %u is registered by pid %u", tid, v.tgid);
			return -EEXIST;
		}
		/* a thread of another process had this tid and exited without
		 * MUNREG: its registration is stale */
		struct gxs_proc *o = gxs_proc_find((pid_t)v.tgid);
		if (o) {
			for (i = 0; i < o->ntids; i++) {
				if (o->tids[i].tid == tid) {
					drop_tid(o, i);
					break;
				}
			}
		}
		gxs_debug("tid %u: replacing the stale registration of pid %u", tid, v.tgid);
	}
	for (i = 0; i < p->ntids; i++) {
		struct gxs_tidreg *r = &p->tids[i];

		if (r->tid == tid) { /* map entry lost? re-add below */
			drop_tid(p, i);
			break;
		}
	}
	for (i = 0; i < p->ntids; i++) {
		struct gxs_tidreg *r = &p->tids[i];

		if (r->slot != slot)
			continue;
		if (is_thread_of(p->tgid, r->tid)) {
			snprintf(why, n, "M slot %u is taken by tid %u", slot, r->tid);
			return -EEXIST;
		}
		gxs_debug("pid %d: M slot %u: tid %u exited without MUNREG", (int)p->tgid, slot, r->tid);
		delete_tid(b, p->tgid, r->tid);
		drop_tid(p, i);
		break;
	}
	if (p->ntids == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct gxs_tidreg *t = realloc(p->tids, cap * sizeof(*t));

		if (!t) {
			snprintf(why, n, "daemon out of memory");
			return -ENOMEM;
		}
		p->tids = t;
		p->cap = cap;
	}
	v.tgid = (__u32)p->tgid;
	v.m = slot;
	if (bpf_map_update_elem(b->tids_fd, &tid, &v, BPF_ANY) < 0) {
		int err = -errno;
		snprintf(why, n, "gx_tids: %s%s", strerror(-err), err == -E2BIG ? " (too many threads)" : "");
		return err;
	}
	p->tids[p->ntids].tid = tid;
	p->tids[p->ntids].slot = slot;
	p->ntids++;
	return 0;
}

int gxs_proc_munreg(const struct gxs_bpf *b, struct gxs_proc *p, __u32 tid, char *why, size_t n)
{
	size_t i;

	for (i = 0; i < p->ntids; i++) {
		if (p->tids[i].tid == tid) {
			delete_tid(b, p->tgid, tid);
			drop_tid(p, i);
			return 0;
		}
	}
	snprintf(why, n, "tid %u is not registered", tid);
	return -ENOENT;
}

void gxs_proc_detach(const struct gxs_bpf *b, struct gxs_proc *p, bool delete_entries)
{
	struct gxs_proc **pp;
	__u32 key = (__u32)p->tgid;
	size_t i;

	if (delete_entries) {
		for (i = 0; i < p->ntids; i++)
			delete_tid(b, p->tgid, p->tids[i].tid);
		if (bpf_map_delete_elem(b->procs_fd, &key) < 0 && errno != ENOENT)
			gxs_log("gx_procs: cannot delete pid %d: %s", (int)p->tgid, strerror(errno));
		if (bpf_map_delete_elem(b->rbufs_fd, &key) < 0 && errno != ENOENT)
			gxs_log("gx_rbufs: cannot delete pid %d: %s", (int)p->tgid, strerror(errno));
	}
	for (pp = &procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			nprocs--;
			break;
		}
	}
	close(p->state_fd);
	close(p->rbuf_fd);
	free(p->tids);
	free(p);
}
