/* SPDX-License-Identifier: MIT */
/*
 * kassist.c - the kernel assist: which mode runs, attaching to gmpx-sched
 * for it, and falling back to off mode. The interface the core calls is
 * kassist.h (struct gx_kassist_ops); the modes are kassist_trace.c and
 * kassist_scx.c (off mode is sysmon.c's).
 *
 * Mode choice (gx_kassist_attach, from gx_main before any other M or
 * goroutine exists): gx_kassist_set, else GX_KASSIST=off|trace|scx|auto,
 * else off. auto asks the daemon for the best mode and takes what it
 * grants, in one attachment.
 *
 * Attaching: connect to the daemon's socket (or, with GX_KASSIST_LOAD,
 * to a private daemon this process starts), say HELLO, receive the
 * process's state map, ring buffer, the daemon's BPF links and (scx) the
 * kick program; map the first two; point every P's kslot and m0's into the
 * map; then switch gx_kassist to the mode's table. Each later M registers
 * its thread as it starts (the mode's minit). Any failure: one log line,
 * and off mode; nothing has changed for the core.
 *
 * Fallback (the daemon's socket hangs up, or the sched_ext scheduler is
 * ejected): gx_kassist switches to gx_kassist_off first, so sysmon never
 * acts on a word after the links close; then the mode undoes what it did
 * (scx: every M SCHED_OTHER again; the trace waiter back to its futex) and
 * the connection and links close. The mapped memory stays mapped for good:
 * Ms and Ps keep pointing into it, and writing it costs what writing
 * kslot_local would.
 */
#include "runtime.h"
#include "kassist.h"
#include <gmpx/sched_proto.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* The protocol's modes are the API's (gmpx/kabi.h, gmpx.h): one set of
 * values on both sides of the socket and of the BPF boundary. */
_Static_assert((int)GX_KABI_OFF == (int)GX_KASSIST_OFF && (int)GX_KABI_TRACE == (int)GX_KASSIST_TRACE &&
		       (int)GX_KABI_SCX == (int)GX_KASSIST_SCX,
	       "gmpx/kabi.h's modes are gmpx.h's");

struct gx_kabi_proc *gx_kabi;
_Atomic bool gx_kassist_active;

static int want_mode = -1; /* gx_kassist_set before gx_main; -1: GX_KASSIST */
static char status_text[320];

static const char *modename(int mode)
{
	switch (mode) {
	case GX_KASSIST_OFF:
		return "off";
	case GX_KASSIST_TRACE:
		return "trace";
	case GX_KASSIST_SCX:
		return "scx";
	case GX_KASSIST_AUTO:
		return "auto";
	}
	return "?";
}

/* ---- public ----------------------------------------------------------------- */

int gx_kassist_set(int mode)
{
	if (mode < GX_KASSIST_OFF || mode > GX_KASSIST_AUTO)
		return -EINVAL;
	if (atomic_load(&gx_sched.started))
		return -EBUSY;
	want_mode = mode;
	return 0;
}

int gx_kassist_mode(void)
{
	return atomic_load_explicit(&gx_kassist, memory_order_acquire)->mode;
}

const char *gx_kassist_status(void)
{
	return status_text;
}

/* ---- fallback ------------------------------------------------------------------ */

void gx_kassist_fallback(const char *why)
{
	if (!atomic_exchange(&gx_kassist_active, false))
		return;
	atomic_fetch_add_explicit(&gx_rtstats.fallbacks, 1, memory_order_relaxed);
	atomic_store_explicit(&gx_kassist, &gx_kassist_off, memory_order_release);
	snprintf(status_text, sizeof(status_text), "%s; running in off mode", why);
	gx_print("gmpx: kassist: %s; falling back to off mode\n", why);
	gx_scx_fallback();
	gx_ktrace_fallback();
	gx_kclient_close();
}

/* ---- attach ------------------------------------------------------------------------- */

static void closefds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * spawn_loader - GX_KASSIST_LOAD=/path/to/gmpx-sched: load the BPF programs
 * ourselves (root only), through a private daemon on a private socket. It
 * lives exactly as long as this process: it exits cleanly when the pipe
 * whose write end we keep (and never close) hangs up. Returns the socket
 * path, or NULL with why.
 */
static const char *loader_dir; /* the private daemon's directory, until removed */

/* loader_forget - once attached (or refused), nobody connects to the
 * private daemon again: remove its socket, lock file and directory now,
 * while we can. The connection and the daemon's lock outlive their names,
 * and the daemon goes when we do; an exit of any kind then leaves nothing
 * behind in /tmp. */
static void loader_forget(void)
{
	if (!loader_dir)
		return;
	char path[96];
	snprintf(path, sizeof(path), "%s/sched.sock", loader_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sched.sock.lock", loader_dir);
	unlink(path);
	rmdir(loader_dir);
	loader_dir = NULL;
}

static const char *spawn_loader(const char *bin, char *why, size_t whylen)
{
	static char sockpath[96], pins[64], dir[64];
	if (geteuid() != 0) {
		snprintf(why, whylen, "GX_KASSIST_LOAD needs root (loading BPF programs)");
		return NULL;
	}
	snprintf(dir, sizeof(dir), "/tmp/gmpx-kassist-%d", (int)getpid());
	snprintf(sockpath, sizeof(sockpath), "%s/sched.sock", dir);
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/gmpx-%d", (int)getpid());
	unlink(sockpath); /* a killed process with our pid may have left one */
	int watch[2];
	if (pipe2(watch, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return NULL;
	}
	char fd[16];
	snprintf(fd, sizeof(fd), "%d", watch[0]);
	char *argv[] = {(char *)bin, (char *)"--socket",   sockpath, (char *)"--pin-dir",
			pins,	     (char *)"--watch-fd", fd,	     NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, watch[0], watch[0]); /* clears close-on-exec */
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	extern char **environ;
	int err = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(watch[0]);
	if (err) {
		close(watch[1]);
		snprintf(why, whylen, "cannot start %s: %s", bin, strerror(err));
		return NULL;
	}
	/* watch[1] stays open for the life of the process */
	loader_dir = dir;
	for (int64_t t0 = gx_nanotime(); access(sockpath, F_OK) != 0;) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid ||
		    gx_nanotime() - t0 > (int64_t)GX_KASSIST_DAEMON_TIMEOUT_S * 1000000000) {
			snprintf(why, whylen, "%s did not start (cannot load BPF here?)", bin);
			return NULL;
		}
		usleep(1000);
	}
	return sockpath;
}

static int attach_mode(int mode, char *why, size_t whylen)
{
	const char *path = getenv("GX_KASSIST_SOCK");
	if (!path || !*path)
		path = GX_SCHED_SOCK_DEFAULT;
	static const char *loaded; /* one private loader per process */
	const char *load = getenv("GX_KASSIST_LOAD");
	if (load && *load) {
		if (!loaded)
			loaded = spawn_loader(load, why, whylen);
		if (!loaded)
			return -ENOENT;
		path = loaded;
	}
	int err = gx_kclient_connect(path, why, whylen);
	if (err)
		return err;
	int fds[GX_KASSIST_MAX_FDS], nfds = 0;
	struct gx_sched_msg reply = {0};
	/* auto asks for the best and takes what the daemon grants (one
	 * attachment per process: no second HELLO) */
	uint32_t want = mode == GX_KASSIST_TRACE ? GX_KASSIST_TRACE : GX_KASSIST_SCX;
	err = gx_kclient_request(GX_MSG_HELLO, want, (uint32_t)atomic_load(&gx_sched.gomaxprocs), fds, &nfds, &reply,
				 why, whylen);
	/* trace and scx take only what they asked for; auto the best granted */
	uint32_t got = reply.arg0;
	bool granted = mode == GX_KASSIST_AUTO ? got == GX_KASSIST_TRACE || got == GX_KASSIST_SCX : got == want;
	int nlinks = (int)reply.arg2;
	if (err == 0 && (nlinks < 0 || 2 + nlinks + (got == GX_KASSIST_SCX) != nfds))
		granted = false; /* not the fds the protocol promises */
	if (err == 0 && (nfds < 2 || !granted)) {
		snprintf(why, whylen, "gmpx-sched offers %s mode only",
			 got == GX_KASSIST_SCX ? "scx" : (got == GX_KASSIST_TRACE ? "trace" : "no"));
		err = -EOPNOTSUPP;
	}
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (sizeof(struct gx_kabi_proc) + pg - 1) & ~(pg - 1);
	void *st = MAP_FAILED;
	int kfd = -1;
	if (err)
		goto fail;
	if (got == GX_KASSIST_SCX) {
		if ((err = gx_scx_attach(why, whylen)) != 0)
			goto fail;
		kfd = fds[2 + nlinks];
	}
	st = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	struct gx_kabi_proc *kp = st;
	if (st == MAP_FAILED || kp->hdr.magic != GX_KABI_MAGIC || kp->hdr.version != GX_KABI_VERSION ||
	    kp->hdr.tgid != (uint32_t)getpid()) {
		snprintf(why, whylen, "the state map from gmpx-sched is %s",
			 st == MAP_FAILED ? "not mappable" : "not ours (magic, version or pid)");
		err = -EPROTO;
		goto fail;
	}
	if (gx_kring_map(fds[1], why, whylen) != 0 || gx_ktrace_setup(why, whylen) != 0) {
		err = -EPROTO;
		goto fail;
	}
	close(fds[0]); /* the mapping keeps the map */
	gx_kclient_keep_links(fds + 2, nlinks);

	/* Point every P and the running M (m0) into the shared state. Only m0
	 * exists, so nothing runs concurrently. */
	gx_kabi = kp;
	gx_kpub_np(atomic_load(&gx_sched.gomaxprocs));
	gx_kpub_quantum(gx_quantum_ns);
	for (int32_t i = 0; i < atomic_load(&gx_sched.nallp) && i < GX_KABI_MAX_P; i++) {
		struct gx_p *pp = gx_allp[i];
		if (!pp)
			continue;
		kp->p[i] = pp->kslot_local;
		pp->kslot = &kp->p[i];
	}
	if (kfd >= 0)
		gx_scx_publish(kfd);
	atomic_store_explicit(&gx_kassist_active, true, memory_order_release);
	gx_kclient_mreg(getm());
	const struct gx_kassist_ops *ops = kfd >= 0 ? &gx_kassist_scx : &gx_kassist_trace;
	atomic_store_explicit(&gx_kassist, ops, memory_order_release);
	snprintf(status_text, sizeof(status_text), "%s mode (gmpx-sched at %s)", ops->name, path);
	return 0;
fail:
	if (kfd >= 0)
		gx_scx_detach();
	if (st != MAP_FAILED)
		munmap(st, len);
	closefds(fds, nfds);
	gx_kclient_close();
	return err;
}

static bool env_says_off(void)
{
	const char *env = getenv("GX_KASSIST");
	return env && strcmp(env, "off") == 0;
}

void gx_kassist_attach(void)
{
	int mode = want_mode;
	if (mode < 0) {
		const char *env = getenv("GX_KASSIST");
		mode = GX_KASSIST_OFF;
		if (env && *env) {
			if (strcmp(env, "trace") == 0)
				mode = GX_KASSIST_TRACE;
			else if (strcmp(env, "scx") == 0)
				mode = GX_KASSIST_SCX;
			else if (strcmp(env, "auto") == 0)
				mode = GX_KASSIST_AUTO;
			else if (strcmp(env, "off") != 0)
				gx_print("gmpx: GX_KASSIST=%s is not off, trace, scx or auto; using off\n", env);
		}
	}
	if (mode == GX_KASSIST_OFF) {
		snprintf(status_text, sizeof(status_text), "off mode (%s)",
			 want_mode == GX_KASSIST_OFF || env_says_off() ? "requested" : "the default");
		return;
	}
	snprintf(status_text, sizeof(status_text), "off mode");
	char why[256] = "";
	int err;
	err = attach_mode(mode, why, sizeof(why));
	loader_forget();
	if (err) {
		snprintf(status_text, sizeof(status_text), "%s mode unavailable: %s; running in off mode",
			 modename(mode), why);
		gx_print("gmpx: kassist: %s\n", status_text);
	}
}
