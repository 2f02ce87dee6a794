/* SPDX-License-Identifier: MIT */
/*
 * loader.c - the BPF side as the daemon holds it: bpffs mounted, one BPF
 * object loaded and attached, its maps pinned.
 *
 * The object: trace mode, bpf/gmpx_trace.bpf.c (the tracing programs);
 * scx mode, bpf/gmpx_scx.bpf.c (the sched_ext scheduler, which carries the
 * same tracing programs, so both share the maps). Both are embedded in the
 * daemon by their bpftool skeletons and opened from those bytes; programs
 * and maps are then found by name, so one loader serves both.
 *
 * Two tracing families do the same work: tp_btf (typed arguments, the
 * cheaper one) and raw_tp (BPF_CORE_READ, for kernels where tp_btf does
 * not load). We try tp_btf and, if loading or attaching fails, close the
 * object, reopen it and use raw_tp. Only the chosen family is loaded. The
 * links are attached one by one so the daemon knows exactly which
 * GXS_NLINKS link fds to hand to clients.
 *
 * scx mode: of the two struct_ops maps (partial and whole-machine: libbpf
 * 1.1 cannot change a struct_ops map's flags after open) the other one is
 * not created; the one used gets BPF_F_LINK before load, ops.init is made
 * sleepable, the configuration map is written after load, and the
 * scheduler is enabled by a BPF link of our own (bpf_link_create,
 * BPF_STRUCT_OPS): the kernel unloads it when the daemon dies, even by
 * SIGKILL. (libbpf 1.1's bpf_map__attach_struct_ops() only writes the
 * map's value for such a map.) Its exit record comes through the
 * gx_scx_exit_rb ring buffer (gxs_scx_poll).
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
#ifdef GXS_HAVE_SCX
#include "gmpx_scx.skel.h"
#endif
#include "gmpx_sched.h"
#include "gmpx_scx.h"

#define BPFFS "/sys/fs/bpf"

/* not in Debian 12's linux/bpf.h (6.1): Linux 6.4 */
#ifndef BPF_F_LINK
#define BPF_F_LINK (1U << 13)
#endif
#define GXS_BPF_STRUCT_OPS 44 /* enum bpf_attach_type */

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

/* the tracing programs of each family, in link order */
static const char *const tp_names[GXS_NLINKS] = {"gx_tp_switch", "gx_tp_wakeup", "gx_tp_sys_enter", "gx_tp_sys_exit"};
static const char *const raw_names[GXS_NLINKS] = {"gx_raw_switch", "gx_raw_wakeup", "gx_raw_sys_enter",
						  "gx_raw_sys_exit"};

static struct bpf_object *open_object(int mode, char *why, size_t n)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct bpf_object *obj;
	const void *bytes;
	size_t sz = 0;

	if (mode == GX_KABI_SCX) {
#ifdef GXS_HAVE_SCX
		bytes = gmpx_scx_bpf__elf_bytes(&sz);
		opts.object_name = "gmpx_scx";
#else
		snprintf(why, n, "built without the sched_ext scheduler");
		errno = ENOTSUP;
		return NULL;
#endif
	} else {
		bytes = gmpx_trace_bpf__elf_bytes(&sz);
		opts.object_name = "gmpx_trace";
	}
	obj = bpf_object__open_mem(bytes, sz, &opts);
	if (!obj)
		snprintf(why, n, "open: %s", strerror(errno));
	return obj;
}

static struct bpf_program *prog(struct bpf_object *obj, const char *name, char *why, size_t n)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	if (!p) {
		snprintf(why, n, "no program %s in the object", name);
		errno = ENOENT;
	}
	return p;
}

static struct bpf_map *map(struct bpf_object *obj, const char *name, char *why, size_t n)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	if (!m) {
		snprintf(why, n, "no map %s in the object", name);
		errno = ENOENT;
	}
	return m;
}

/* scx: before load. The struct_ops map to use, as a link; the other one
 * not created; ops.init sleepable. */
static int scx_prepare(struct gxs_bpf *b, struct bpf_object *obj, char *why, size_t n)
{
	struct bpf_map *use = map(obj, b->whole ? "gx_ops_whole" : "gx_ops_partial", why, n);
	struct bpf_map *skip = map(obj, b->whole ? "gx_ops_partial" : "gx_ops_whole", why, n);
	struct bpf_program *init = prog(obj, "gx_init", why, n);
	int err;

	if (!use || !skip || !init)
		return -errno;
	err = bpf_map__set_autocreate(skip, false);
	if (!err)
		err = bpf_map__set_map_flags(use, bpf_map__map_flags(use) | BPF_F_LINK);
	if (!err)
		err = bpf_program__set_flags(init, bpf_program__flags(init) | BPF_F_SLEEPABLE);
	if (err)
		snprintf(why, n, "preparing the struct_ops map: %s", strerror(-err));
	b->ops_map = use;
	return err;
}

/* scx: after load and the tracing links. Configure, then enable the
 * scheduler (ops.init runs now). */
static int scx_enable(struct gxs_bpf *b, struct bpf_object *obj, char *why, size_t n)
{
	struct gx_scx_conf conf = {.error_after_ms = b->error_after_ms};
	struct bpf_map *confm = map(obj, "gx_scx_conf", why, n);
	struct bpf_map *exitm = map(obj, "gx_scx_exit_rb", why, n);
	struct bpf_program *kick = prog(obj, "gx_kick", why, n);
	struct bpf_link *l;
	__u32 zero = 0;
	int fd;

	if (!confm || !exitm || !kick)
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(confm), &zero, &conf, BPF_ANY) < 0) {
		snprintf(why, n, "gx_scx_conf: %s", strerror(errno));
		return -errno;
	}
	b->kick_fd = bpf_program__fd(kick);
	b->exit_rb_fd = bpf_map__fd(exitm);
	/* fills the map's value (our programs' fds); registers nothing */
	l = bpf_map__attach_struct_ops(b->ops_map);
	if (!l) {
		snprintf(why, n, "struct_ops map value: %s", strerror(errno));
		return -errno;
	}
	b->ops_value = l;
	fd = bpf_link_create(bpf_map__fd(b->ops_map), 0, (enum bpf_attach_type)GXS_BPF_STRUCT_OPS, NULL);
	if (fd < 0) {
		int e = errno;

		snprintf(why, n, "enabling: bpf_link_create(BPF_STRUCT_OPS): %s%s", strerror(e),
			 e == EBUSY || e == EEXIST ? " (another sched_ext scheduler is loaded)" : "");
		return -e;
	}
	b->ops_link_fd = fd;
	return 0;
}

/* Open, load and attach one family; on failure close everything and
 * return -errno with what failed in why. */
static int try_family(struct gxs_bpf *b, bool raw, char *why, size_t n)
{
	const char *const *use = raw ? raw_names : tp_names, *const *skip = raw ? tp_names : raw_names;
	struct bpf_object *obj;
	int err = 0, i;

	obj = open_object(b->mode, why, n);
	if (!obj)
		return -errno;
	for (i = 0; i < GXS_NLINKS; i++) {
		struct bpf_program *p = prog(obj, skip[i], why, n);

		if (!p) {
			err = -errno;
			goto fail;
		}
		err = bpf_program__set_autoload(p, false);
		if (err) {
			snprintf(why, n, "%s: set_autoload: %s", skip[i], strerror(-err));
			goto fail;
		}
	}
	if (b->mode == GX_KABI_SCX) {
		err = scx_prepare(b, obj, why, n);
		if (err)
			goto fail;
	}
	err = bpf_object__load(obj);
	if (err) {
		snprintf(why, n, "load: %s", strerror(-err));
		goto fail;
	}
	b->obj = obj;
	for (i = 0; i < GXS_NLINKS; i++) {
		struct bpf_program *p = prog(obj, use[i], why, n);
		struct bpf_link *l = p ? bpf_program__attach(p) : NULL;

		if (!l) {
			err = -errno;
			snprintf(why, n, "attach %s: %s", use[i], strerror(-err));
			goto fail;
		}
		b->links[i] = l;
		b->link_fds[i] = bpf_link__fd(l);
	}
	b->family = raw ? "raw_tp" : "tp_btf";
	b->procs_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "gx_procs"));
	b->rbufs_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "gx_rbufs"));
	b->tids_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "gx_tids"));
	if (b->procs_fd < 0 || b->rbufs_fd < 0 || b->tids_fd < 0) {
		snprintf(why, n, "the object lacks gx_procs, gx_rbufs or gx_tids");
		err = -ENOENT;
		goto fail;
	}
	if (b->mode == GX_KABI_SCX) {
		err = scx_enable(b, obj, why, n);
		if (err)
			goto fail;
	}
	return 0;
fail:
	if (err == 0)
		err = -EINVAL;
	if (b->obj)
		gxs_bpf_destroy(b);
	else
		bpf_object__close(obj);
	return err;
}

int gxs_bpf_load(struct gxs_bpf *b)
{
	char why_tp[200], why_raw[200];
	int err;

	b->procs_fd = b->rbufs_fd = b->tids_fd = b->kick_fd = b->exit_rb_fd = b->ops_link_fd = -1;
	err = try_family(b, false, why_tp, sizeof(why_tp));
	if (err == 0)
		return 0;
	if (b->mode == GX_KABI_SCX && strncmp(why_tp, "enabling: ", 10) == 0) {
		/* the tracing programs were fine: raw_tp would not help */
		gxs_log("cannot enable the sched_ext scheduler: %s%s", why_tp + 10,
			gxs_verbose ? "" : " (--verbose shows libbpf's log)");
		return err;
	}
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

void gxs_bpf_scx_disable(struct gxs_bpf *b)
{
	if (b->ops_link_fd >= 0)
		close(b->ops_link_fd); /* the kernel runs ops.exit (kind 64) before this returns */
	b->ops_link_fd = -1;
	if (b->ops_value)
		bpf_link__destroy(b->ops_value); /* deletes nothing from a link map: harmless */
	b->ops_value = NULL;
}

void gxs_bpf_destroy(struct gxs_bpf *b)
{
	int i;

	gxs_bpf_scx_disable(b);
	for (i = 0; i < GXS_NLINKS; i++) {
		if (b->links[i])
			bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
		b->link_fds[i] = -1;
	}
	if (b->obj)
		bpf_object__close(b->obj);
	b->obj = NULL;
	b->procs_fd = b->rbufs_fd = b->tids_fd = b->kick_fd = b->exit_rb_fd = -1;
}
