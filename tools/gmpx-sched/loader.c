/* SPDX-License-Identifier: MIT */
/*
 * loader.c - the BPF side as the daemon holds it: bpffs mounted, the
 * gmpx_trace skeleton loaded and attached, its maps pinned.
 *
 * Two program families do the same work: tp_btf (typed arguments, the
 * cheaper one) and raw_tp (BPF_CORE_READ, for kernels where tp_btf does
 * not load). We try tp_btf and, if loading or attaching fails, destroy the
 * skeleton, reopen it and use raw_tp. Only the chosen family is loaded.
 *
 * The links are attached one by one (not by the skeleton's attach) so the
 * daemon knows exactly which GXS_NLINKS link fds to hand to clients; they
 * are stored in the skeleton's links so __destroy() detaches them.
 *
 * Pins: gx_procs, gx_rbufs and gx_tids under the pin directory, so --stats
 * (and bpftool) can find them. Pins a previous daemon left (SIGKILL) are
 * removed first; ours are removed at exit. Nothing else in the directory
 * is touched.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "gmpx_trace.skel.h"
#include "gmpx_sched.h"

#define BPFFS "/sys/fs/bpf"

int gxs_bpffs_mount(void)
{
	struct statfs st;

	if (statfs(BPFFS, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700") < 0) {
		int e = errno;
		gxs_log("cannot mount bpffs at %s: %s", BPFFS, strerror(e));
		return -e;
	}
	gxs_log("mounted bpffs at %s", BPFFS);
	return 0;
}

struct family {
	const char *name;
	struct bpf_program *progs[GXS_NLINKS];
	struct bpf_link **links[GXS_NLINKS];
};

static void family_tp(struct gmpx_trace_bpf *s, struct family *f)
{
	f->name = "tp_btf";
	f->progs[0] = s->progs.gx_tp_switch;
	f->progs[1] = s->progs.gx_tp_wakeup;
	f->progs[2] = s->progs.gx_tp_sys_enter;
	f->progs[3] = s->progs.gx_tp_sys_exit;
	f->links[0] = &s->links.gx_tp_switch;
	f->links[1] = &s->links.gx_tp_wakeup;
	f->links[2] = &s->links.gx_tp_sys_enter;
	f->links[3] = &s->links.gx_tp_sys_exit;
}

static void family_raw(struct gmpx_trace_bpf *s, struct family *f)
{
	f->name = "raw_tp";
	f->progs[0] = s->progs.gx_raw_switch;
	f->progs[1] = s->progs.gx_raw_wakeup;
	f->progs[2] = s->progs.gx_raw_sys_enter;
	f->progs[3] = s->progs.gx_raw_sys_exit;
	f->links[0] = &s->links.gx_raw_switch;
	f->links[1] = &s->links.gx_raw_wakeup;
	f->links[2] = &s->links.gx_raw_sys_enter;
	f->links[3] = &s->links.gx_raw_sys_exit;
}

/* Open, load and attach one family; on failure destroy and return -errno
 * with what failed in why. */
static int try_family(struct gxs_bpf *b, bool raw, char *why, size_t n)
{
	struct gmpx_trace_bpf *s;
	struct family use, skip;
	int err, i;

	s = gmpx_trace_bpf__open();
	if (!s) {
		err = -errno;
		snprintf(why, n, "open: %s", strerror(-err));
		return err;
	}
	if (raw) {
		family_raw(s, &use);
		family_tp(s, &skip);
	} else {
		family_tp(s, &use);
		family_raw(s, &skip);
	}
	for (i = 0; i < GXS_NLINKS; i++) {
		err = bpf_program__set_autoload(skip.progs[i], false);
		if (err) {
			snprintf(why, n, "%s: set_autoload: %s", bpf_program__name(skip.progs[i]), strerror(-err));
			goto fail;
		}
	}
	err = gmpx_trace_bpf__load(s);
	if (err) {
		snprintf(why, n, "load: %s", strerror(-err));
		goto fail;
	}
	for (i = 0; i < GXS_NLINKS; i++) {
		struct bpf_link *l = bpf_program__attach(use.progs[i]);

		if (!l) {
			err = -errno;
			snprintf(why, n, "attach %s: %s", bpf_program__name(use.progs[i]), strerror(-err));
			goto fail;
		}
		*use.links[i] = l;
		b->link_fds[i] = bpf_link__fd(l);
	}
	b->skel = s;
	b->family = use.name;
	b->procs_fd = bpf_map__fd(s->maps.gx_procs);
	b->rbufs_fd = bpf_map__fd(s->maps.gx_rbufs);
	b->tids_fd = bpf_map__fd(s->maps.gx_tids);
	return 0;
fail:
	if (err == 0)
		err = -EINVAL;
	gmpx_trace_bpf__destroy(s);
	return err;
}

int gxs_bpf_load(struct gxs_bpf *b)
{
	char why_tp[160], why_raw[160];
	int err;

	b->procs_fd = b->rbufs_fd = b->tids_fd = -1;
	err = try_family(b, false, why_tp, sizeof(why_tp));
	if (err == 0)
		return 0;
	gxs_debug("tp_btf programs: %s; trying raw_tp", why_tp);
	err = try_family(b, true, why_raw, sizeof(why_raw));
	if (err == 0) {
		gxs_log("tp_btf programs failed (%s): using raw_tp", why_tp);
		return 0;
	}
	gxs_log("cannot load the BPF programs: tp_btf: %s; raw_tp: %s%s", why_tp, why_raw,
		gxs_verbose ? "" : " (--verbose shows libbpf's log)");
	return err;
}

static int pin_path(char *buf, size_t n, const char *dir, const char *name)
{
	int len = snprintf(buf, n, "%s/%s", dir, name);

	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int gxs_bpf_pin(struct gxs_bpf *b, const char *dir)
{
	static const char *const names[] = {GXS_PIN_PROCS, GXS_PIN_RBUFS, GXS_PIN_TIDS};
	const int fds[] = {b->procs_fd, b->rbufs_fd, b->tids_fd};
	char path[PATH_MAX];
	int stale = 0, i;

	if (strlen(dir) >= sizeof(b->pin_dir)) {
		gxs_log("pin directory name too long: %s", dir);
		return -ENAMETOOLONG;
	}
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		gxs_log("cannot create %s: %s", dir, strerror(e));
		return -e;
	}
	for (i = 0; i < 3; i++) {
		if (pin_path(path, sizeof(path), dir, names[i]))
			return -ENAMETOOLONG;
		if (unlink(path) == 0) {
			stale++;
		} else if (errno != ENOENT) {
			int e = errno;
			gxs_log("cannot remove stale pin %s: %s", path, strerror(e));
			return -e;
		}
	}
	if (stale)
		gxs_log("removed %d stale pin(s) under %s (a previous daemon did not exit cleanly)", stale, dir);
	for (i = 0; i < 3; i++) {
		pin_path(path, sizeof(path), dir, names[i]);
		if (bpf_obj_pin(fds[i], path) < 0) {
			int e = errno;
			gxs_log("cannot pin %s: %s", path, strerror(e));
			b->pinned = true;
			gxs_bpf_unpin(b);
			return -e;
		}
	}
	b->pinned = true;
	return 0;
}

void gxs_bpf_unpin(struct gxs_bpf *b)
{
	static const char *const names[] = {GXS_PIN_PROCS, GXS_PIN_RBUFS, GXS_PIN_TIDS};
	char path[PATH_MAX];
	int i;

	if (!b->pinned)
		return;
	b->pinned = false;
	for (i = 0; i < 3; i++) {
		if (pin_path(path, sizeof(path), b->pin_dir, names[i]) == 0 && unlink(path) < 0 && errno != ENOENT)
			gxs_log("cannot unpin %s: %s", path, strerror(errno));
	}
	/* only if empty: anything else there is not ours */
	if (rmdir(b->pin_dir) < 0 && errno != ENOTEMPTY && errno != ENOENT && errno != EEXIST)
		gxs_debug("rmdir %s: %s", b->pin_dir, strerror(errno));
}

void gxs_bpf_destroy(struct gxs_bpf *b)
{
	if (b->skel)
		gmpx_trace_bpf__destroy(b->skel);
	b->skel = NULL;
	b->procs_fd = b->rbufs_fd = b->tids_fd = -1;
}
