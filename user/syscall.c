/* SPDX-License-Identifier: MIT */
/*
 * syscall.c - system calls that block the thread (Go's entersyscall,
 * exitsyscall, entersyscallblock), the public gx_syscall_enter/exit pair
 * and wrappers for common blocking calls.
 *
 * While a goroutine is in a system call its M keeps its P loosely: the M
 * drops m->p (remembering it in m->oldp) and the P's status becomes
 * Psyscall, owned by nobody. Then:
 *  - if the call returns quickly, exitsyscall CASes the P from Psyscall
 *    back to Prunning and carries on (the fast path: two atomic ops);
 *  - if the call blocks, sysmon (or, in the kernel-assisted modes, an
 *    event from the kernel) CASes the P from Psyscall to Pidle and hands it
 *    to another M (handoffp), so the P's other goroutines keep running;
 *    exitsyscall then takes an idle P if there is one, or queues the
 *    goroutine on the global run queue and parks the M.
 * The CAS on the P's status decides every race between the two sides.
 *
 * A call known to block for long (waitpid, a thread sleep) uses
 * entersyscallblock, which hands the P off at once.
 *
 * Between gx_syscall_enter and gx_syscall_exit a goroutine has no P: it may
 * only make the blocking call (no gx_ calls; they return -EPERM).
 * Parallelism can briefly exceed GOMAXPROCS by the number of goroutines
 * returning from syscalls, as in Go.
 *
 * Wrappers return the result, or -errno; they retry EINTR (the runtime's
 * preemption signal is installed with SA_RESTART, but some calls, like
 * nanosleep, are never restarted by the kernel) and never return -EINTR.
 */
#include "runtime.h"
#include "trace.h"
#include "kassist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void gx_entersyscall(void)
{
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	struct gx_p *pp = mp->p;
	int64_t now = gx_nanotime();
	mp->locks++; /* no preemption while the P changes hands */
	atomic_store_explicit(&gp->status, Gsyscall, memory_order_release);
	atomic_fetch_add_explicit(&pp->syscalltick, 1, memory_order_relaxed);
	gx_pstat_inc(&pp->nsyscall);
	gx_trace(GX_TEV_SYSENTER, pp->id, 0, gp->goid, 0);
	atomic_store_explicit(&pp->syscallwhen, now, memory_order_relaxed);
	mp->oldp = pp;
	gx_kpub_releasep(mp, pp, GX_KP_SYSCALL);
	mp->p = NULL;
	atomic_store_explicit(&pp->m, NULL, memory_order_relaxed);
	atomic_store_explicit(&pp->status, Psyscall, memory_order_release);
	GX_KASSIST(entersyscall, mp, pp, now);
	mp->locks--;
}

void gx_entersyscallblock(void)
{
	gx_entersyscall();
	struct gx_m *mp = getm();
	struct gx_p *pp = mp->oldp;
	uint32_t st = Psyscall;
	if (atomic_compare_exchange_strong(&pp->status, &st, Pidle)) {
		mp->oldp = NULL;
		gx_trace(GX_TEV_PRETAKE, pp->id, 0, 0, 0);
		gx_handoffp(pp);
	}
}

/* exitsyscall0 - on g0: no P could be had on the fast paths. */
static gx_g *exitsyscall0(gx_g *gp)
{
	struct gx_m *mp = getm();
	gx_schedlat_stamp(gp);
	atomic_store_explicit(&gp->status, Grunnable, memory_order_release);
	gx_trace(GX_TEV_GOSTOP, -1, GX_TSTOP_SYSCALL, gp->goid, 0);
	mp->curg = NULL;
	gp->m = NULL;
	gx_lock(&gx_sched.lock);
	struct gx_p *pp = gx_pidleget();
	if (!pp)
		gx_globrunqput(gp);
	gx_unlock(&gx_sched.lock);
	if (pp) {
		gx_acquirep(pp);
		return gp; /* run it here */
	}
	/* A goroutine locked to this thread must come back here: schedule()
	 * waits in stoplockedm until whoever dequeues it hands it back with a
	 * P (Go's exitsyscall0). Any other: park until an M hands us a P. */
	if (!mp->lockedg)
		gx_stopm();
	return NULL;
}

void gx_exitsyscall(void)
{
	struct gx_m *mp = getm();
	gx_g *gp = mp->curg;
	mp->locks++;
	struct gx_p *oldp = mp->oldp;
	mp->oldp = NULL;
	uint32_t st = Psyscall;
	if (oldp && atomic_compare_exchange_strong(&oldp->status, &st, Prunning)) {
		/* fast path: nobody took our P */
		mp->p = oldp;
		atomic_store_explicit(&oldp->m, mp, memory_order_relaxed);
		gx_kpub_acquirep(mp, oldp);
		atomic_store_explicit(&gp->status, Grunning, memory_order_release);
		gx_trace(GX_TEV_SYSEXIT, oldp->id, 1, gp->goid, 0);
		mp->locks--;
		gx_preempt_point();
		return;
	}
	/* our P was handed off: no P until we get one */
	gx_trace(GX_TEV_SYSEXIT, -1, 0, gp->goid, 0);
	gx_kpub_mnop(mp);
	/* an idle P? */
	gx_lock(&gx_sched.lock);
	struct gx_p *pp = gx_pidleget();
	gx_unlock(&gx_sched.lock);
	if (pp) {
		gx_acquirep(pp);
		atomic_store_explicit(&gp->status, Grunning, memory_order_release);
		mp->locks--;
		gx_preempt_point();
		return;
	}
	mp->locks--;
	gx_mcall(exitsyscall0, false, false);
	/* resumed, maybe on another M, holding a P */
}

/* ---- public ------------------------------------------------------------- */

int gx_syscall_enter(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg || !mp->p)
		return -EPERM;
	gx_entersyscall();
	return 0;
}

int gx_syscall_enter_block(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg || !mp->p)
		return -EPERM;
	gx_entersyscallblock();
	return 0;
}

/* seterrno - set the calling thread's errno. Out of line on purpose: the
 * compiler may keep errno's address (__errno_location is "const") from
 * before a switch to another thread; a fresh call finds the right one. */
static __attribute__((noinline, noipa)) void seterrno(int e)
{
	errno = e;
}

int gx_syscall_exit(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg || atomic_load(&mp->curg->status) != Gsyscall)
		return -EPERM;
	int saved = errno; /* the caller reads errno after us, maybe on another thread */
	gx_exitsyscall();
	seterrno(saved);
	return 0;
}

/* WRAP - run expr as a syscall: -errno on failure, EINTR retried. Outside
 * the runtime it is just the call. */
#define WRAP(type, enter, expr)                   \
	do {                                      \
		bool in = enter() == 0;           \
		type r_;                          \
		do                                \
			r_ = (expr);              \
		while (r_ < 0 && errno == EINTR); \
		int e_ = errno;                   \
		if (in)                           \
			gx_exitsyscall();         \
		return r_ < 0 ? -e_ : r_;         \
	} while (0)

ssize_t gx_sys_read(int fd, void *buf, size_t n)
{
	GX_ENTER();
	WRAP(ssize_t, gx_syscall_enter, read(fd, buf, n));
}
ssize_t gx_sys_write(int fd, const void *buf, size_t n)
{
	GX_ENTER();
	WRAP(ssize_t, gx_syscall_enter, write(fd, buf, n));
}
ssize_t gx_sys_pread(int fd, void *buf, size_t n, off_t off)
{
	GX_ENTER();
	WRAP(ssize_t, gx_syscall_enter, pread(fd, buf, n, off));
}
ssize_t gx_sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	GX_ENTER();
	WRAP(ssize_t, gx_syscall_enter, pwrite(fd, buf, n, off));
}
int gx_sys_fsync(int fd)
{
	GX_ENTER();
	WRAP(int, gx_syscall_enter, fsync(fd));
}
int gx_sys_stat(const char *path, struct stat *st)
{
	GX_ENTER();
	WRAP(int, gx_syscall_enter, stat(path, st));
}

int gx_sys_open(const char *path, int flags, ...)
{
	GX_ENTER();
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	WRAP(int, gx_syscall_enter, open(path, flags, mode));
}

pid_t gx_sys_waitpid(pid_t pid, int *status, int options)
{
	GX_ENTER();
	if (options & WNOHANG)
		WRAP(pid_t, gx_syscall_enter, waitpid(pid, status, options));
	WRAP(pid_t, gx_syscall_enter_block, waitpid(pid, status, options));
}

int gx_sys_sleep(int64_t ns)
{
	GX_ENTER();
	if (ns <= 0)
		return 0;
	struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	bool in = gx_syscall_enter_block() == 0;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		; /* continue with the time left */
	if (in)
		gx_exitsyscall();
	return 0;
}
