/* SPDX-License-Identifier: MIT */
/*
 * preempt.c - preemption: cooperative (a flag checked at runtime entry
 * points and gx_preempt_check) and asynchronous (a signal, like Go's
 * SIGURG preemption).
 *
 * sysmon sets pp->preempt when the goroutine on pp has run for a quantum
 * and sends SIGURG to the P's M. The handler decides whether the
 * interrupted instruction is a safe point; if so it redirects the thread
 * into gx_async_preempt (arch/<arch>/preempt.S), which saves every register
 * and the extended (SSE/AVX) state, yields, and restores them when the
 * goroutine runs again, maybe on another thread. If not, it returns and the
 * goroutine keeps running: the flag stays set for the next cooperative
 * check, and sysmon asks again ASK_AGAIN_NS (1 ms) later (sysmon.c).
 *
 * Safe points. Asynchronous preemption happens only when all hold:
 *  - the thread runs a goroutine (not the scheduler on g0, not sysmon, not
 *    a foreign thread), which is Grunning with a P (not in a syscall);
 *  - the M holds no runtime lock (m->locks == 0) and is not in the middle
 *    of a direct goroutine switch;
 *  - the goroutine is not inside gx_nopreempt_begin/end;
 *  - the interrupted PC is in the main executable's code but not in the
 *    runtime's own code (a contiguous range: the Makefile links the runtime
 *    objects into one between gx_text_begin and gx_text_end). So never in
 *    libc (malloc, stdio), the dynamic loader, the sanitizers' runtimes, any
 *    other shared library, or the runtime itself;
 *  - the interrupted stack pointer is inside the goroutine's stack, with
 *    room for the save area.
 * Why SIGURG (Go's reasons): it is unused by C programs in practice, its
 * default action is to ignore it, and debuggers pass it through quietly.
 *
 * Never into a system call. A signal that reaches a thread blocked (or about
 * to block) in the kernel ends the call: SA_RESTART (which the handler has)
 * restarts read() and the like, but not nanosleep, poll, select, epoll_wait,
 * sigtimedwait, ..., which return EINTR, so plain C code in a goroutine
 * (usleep in a loop) would change behaviour. The runtime's own wrappers
 * retry EINTR, but calls it does not see cannot be fixed after the fact.
 * So gx_preemptm sends the signal only to an M that is not in the kernel
 * (gx_m_in_kernel):
 *  - trace and scx modes: the M's kernel state, which BPF keeps (gmpx/kabi.h):
 *    not while sys_nr says it is inside a system call, nor while its word
 *    says it is asleep (BLOCKED; REVOKED and asleep again since its wake-up),
 *    nor within JUST_WOKE_NS of its last wake-up from a sleep (see below);
 *    a few loads from the shared map. The revocation kick (kassist_revoke.c) goes
 *    through the same check.
 *  - off mode (and Ms the kernel side does not track): the thread's state
 *    from /proc/self/task/TID/syscall, which gives the number of the call
 *    the thread is in (even woken and not yet returned: a poll whose timeout
 *    just expired still returns EINTR if a signal comes then), "-1 ..." when
 *    it is in none, "running" when it is runnable (on a CPU or waiting for
 *    one, in user code or not: the state is all it looks at); the last two are
 *    signalled. Where the file cannot be read, field 3 of .../stat must say
 *    'R'; where neither can, the signal is sent (the old behaviour). Both
 *    show a thread woken in a system call but not yet returned as running,
 *    so sysmon asks in two stages (sysmon.c: ask): the second, 200 us after
 *    the first, signals only if the thread was on a CPU for at least a
 *    quarter of that time (its CPU clock) and is still outside the kernel. Two
 *    open/read/close (~5 us of sysmon's time each, no goroutine waits on
 *    them) and two clock reads per signal; signals go at most once per
 *    quantum per busy P, plus one per ASK_AGAIN_NS (1 ms) re-ask while they
 *    keep landing outside safe points; an M found in the kernel is looked
 *    at again only a quantum later. Nothing is added to the scheduler's
 *    paths: only sysmon reads the file, and only before a signal it would
 *    otherwise send.
 * A skipped signal loses nothing: the P's preempt flag stays set and the
 * goroutine yields at its next runtime entry (a blocked M's P is handed off
 * by revocation in trace mode, or stays held in off mode, as in Go: sysmon
 * reports a P held that way, once).
 * The residual race: the M is seen outside the kernel and enters a system
 * call between the last look and the signal's arrival (a microsecond or
 * two: tgkill, the kernel's IPI to the M's CPU; longer if sysmon loses its
 * CPU in between); the signal then ends that call. Code that computes
 * between its calls is rarely caught there. Code that only loops over
 * blocking calls is outside the kernel for a few microseconds per call, and
 * sysmon's timer often fires with the one that wakes it, so a look that
 * sees it outside is likely followed by its next call: hence off mode's
 * second stage (such a loop is asleep for most of those 200 us, a spinner
 * runs all of them), and trace mode's JUST_WOKE_NS. Measured here: no
 * EINTR in the tests' 20 ms sleep loops (selftests/test_fault_preempt.c),
 * where a single look let about one poll in 75 fail.
 *
 * Caveat (README): after an asynchronous preemption a goroutine may continue
 * on another thread at an arbitrary instruction of user code. Code that
 * keeps the address of a thread-local variable (errno, __thread data) in a
 * register across such a point would then use the previous thread's copy.
 * Wrap such code in gx_nopreempt_begin/end or run with
 * GX_DEBUG=asyncpreemptoff=1. TSan delivers signals late, outside the
 * interrupted context, so TSan builds use cooperative preemption only.
 */
#define _GNU_SOURCE
#include "runtime.h"
#include "trace.h"
#include "kassist.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define PREEMPT_SIGNAL SIGURG
/* trace/scx: an M woken from a sleep in the kernel this recently is taken
 * to be between two blocking calls (see the top) */
#define JUST_WOKE_NS  ((int64_t)50000)
#define RED_ZONE      128
#define HANDLER_SLACK 256 /* below the handler's frame: its callees' frames */
/* room the trampoline needs below the red zone: iret frame, registers,
 * XSAVE area, C frames of gx_async_preempt_park */
#define PREEMPT_STACK_NEED(xs) ((xs) + 1024 + RED_ZONE)

bool gx_asyncpreempt_enabled = true;
_Atomic uint64_t gx_async_preemptions;
GX_HIDDEN uint64_t gx_xsave_size; /* referenced by preempt.S */

extern char gx_text_begin[], gx_text_end[];
extern char gx_text_preempt_begin[], gx_text_preempt_end[];
GX_HIDDEN void gx_async_preempt(void);
GX_HIDDEN void gx_async_preempt_park(void);

#define MAX_EXEC_RANGES 8
static struct {
	uintptr_t lo, hi;
} exec_ranges[MAX_EXEC_RANGES];
static int nexec_ranges;

/* ---- cooperative ---------------------------------------------------------- */

static gx_g *gopreempt_m(gx_g *gp)
{
	struct gx_m *mp = getm();
	gx_schedlat_stamp(gp);
	atomic_store_explicit(&gp->status, Grunnable, memory_order_release);
	gx_trace(GX_TEV_GOSTOP, mp->p->id, GX_TSTOP_PREEMPT, gp->goid, 0);
	mp->curg = NULL;
	gp->m = NULL;
	gx_lock(&gx_sched.lock);
	gx_globrunqput(gp); /* Go: a preempted G goes to the global queue */
	mp->p->lastpreempted = gp;
	gx_unlock(&gx_sched.lock);
	gx_wakep();
	return NULL;
}

void gx_gopreempt(void)
{
	struct gx_m *mp = getm();
	if (!mp || !mp->curg || !mp->p || mp->locks || mp->curg->nopreempt || mp->lockedg)
		return;
	atomic_store_explicit(&mp->p->preempt, false, memory_order_relaxed);
	gx_pstat_inc(&mp->p->npreempt);
	gx_mcall(gopreempt_m, false, false);
}

int gx_preempt_check(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	gx_preempt_point();
	return 0;
}

void gx_nopreempt_begin(void)
{
	gx_g *gp = getg();
	if (gp)
		gp->nopreempt++;
}

void gx_nopreempt_end(void)
{
	GX_ENTER();
	gx_g *gp = getg();
	if (gp && gp->nopreempt > 0 && --gp->nopreempt == 0)
		gx_preempt_point();
}

/* ---- asynchronous ------------------------------------------------------------ */

/* Called by the trampoline on the goroutine's stack. */
void gx_async_preempt_park(void)
{
	GX_ENTER(); /* may move us (a revoked P): read the M after it */
	struct gx_m *mp = getm();
	atomic_fetch_add_explicit(&gx_async_preemptions, 1, memory_order_relaxed);
	atomic_store_explicit(&mp->p->preempt, false, memory_order_relaxed);
	gx_mcall(gopreempt_m, false, false);
}

static bool pc_is_user_code(uintptr_t pc)
{
	if (pc >= (uintptr_t)gx_text_begin && pc < (uintptr_t)gx_text_end)
		return false;
	if (pc >= (uintptr_t)gx_text_preempt_begin && pc < (uintptr_t)gx_text_preempt_end)
		return false;
	for (int i = 0; i < nexec_ranges; i++)
		if (pc >= exec_ranges[i].lo && pc < exec_ranges[i].hi)
			return true;
	return false; /* a shared library: libc, ld.so, sanitizers, ... */
}

static void preempt_handler(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)si;
	struct gx_m *mp = getm();
	if (!mp)
		return;
	gx_g *gp = mp->curg;
	struct gx_p *pp = mp->p;
	/* A revoked P (kassist_revoke.c) is no longer ours: its flag is another M's
	 * business, but we go through the trampoline anyway, whose GX_ENTER
	 * hands us back to the scheduler. */
	bool revoked = GX_KM_STATE(atomic_load_explicit((_Atomic uint64_t *)&mp->kslot->mword, memory_order_relaxed)) ==
		       GX_KM_REVOKED;
	if (!gp || !pp || (!revoked && !atomic_load_explicit(&pp->preempt, memory_order_relaxed)) || mp->locks ||
	    mp->switchunlock || mp->switchparked || gp->nopreempt || mp->lockedg ||
	    atomic_load_explicit(&gp->status, memory_order_relaxed) != Grunning)
		return;
	ucontext_t *uc = uctx;
	greg_t *r = uc->uc_mcontext.gregs;
	uintptr_t pc = (uintptr_t)r[REG_RIP], sp = (uintptr_t)r[REG_RSP];
	if (!pc_is_user_code(pc))
		return;
	if (sp > gp->stack.lo + gp->stack.size || sp < gp->stack.lo)
		return;
	/*
	 * Build the IRETQ frame (preempt.S) below this handler's own frame,
	 * not just below the red zone: the kernel put the signal frame there,
	 * with the saved FPU/AVX state at its top, and rt_sigreturn reads it
	 * back after we return. Below our stack pointer the memory is dead once
	 * the handler returns (signals stay blocked until rt_sigreturn).
	 */
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t frame = ((here - HANDLER_SLACK) & ~(uintptr_t)15) - 48;
	if (frame < gp->stack.lo + PREEMPT_STACK_NEED(gx_xsave_size))
		return; /* not enough stack left: try again later */
	uint64_t *f = (uint64_t *)frame;
	f[0] = pc;
	f[1] = 0; /* CS, SS and RFLAGS are filled in by the trampoline */
	f[2] = 0;
	f[3] = sp;
	f[4] = 0;
	r[REG_RSP] = (greg_t)frame;
	r[REG_RIP] = (greg_t)(uintptr_t)gx_async_preempt;
}

/* readproc - the start of /proc/self/task/tid/<file> into buf, or -1. */
static ssize_t readproc(pid_t tid, const char *file, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* thread_in_kernel - whether thread tid is inside a system call or asleep
 * in the kernel (off mode's check, see the top): /proc's syscall file says
 * "running" (on a CPU now), "-1 ..." (not in a system call: user code, or
 * a page fault) or the number of the call it is in, even once woken and
 * not yet returned (a poll whose timeout just expired would still return
 * EINTR). Where that file cannot be read: field 3 of stat, 'R' or not. */
static bool thread_in_kernel(pid_t tid)
{
	char buf[320];
	if (readproc(tid, "syscall", buf, sizeof(buf)) > 0)
		return buf[0] != 'r' && buf[0] != '-';
	if (readproc(tid, "stat", buf, sizeof(buf)) <= 0)
		return false;		   /* cannot tell: signal, as before */
	const char *p = strrchr(buf, ')'); /* the name may hold any character */
	return p && p[1] == ' ' && p[2] != 'R';
}

/* gx_m_in_kernel - whether mp's thread is in a system call or asleep in the
 * kernel, where the signal would end the call (see the top); or was woken
 * from such a sleep a moment ago, and is likely between two blocking calls,
 * about to enter the next before the signal arrives. */
bool gx_m_in_kernel(struct gx_m *mp)
{
	struct gx_kabi_m *k = mp->kslot;
	if (k != &mp->kslot_local && GX_KASSIST_FIELD(kernel_mstate)) {
		uint64_t w = atomic_load((_Atomic uint64_t *)&k->mword);
		uint32_t st = GX_KM_STATE(w);
		int64_t woke = (int64_t)__atomic_load_n(&k->wake_ns, __ATOMIC_RELAXED);
		int64_t blocked = (int64_t)__atomic_load_n(&k->block_ns, __ATOMIC_RELAXED);
		if (__atomic_load_n(&k->sys_nr, __ATOMIC_RELAXED) != ~0u || st == GX_KM_BLOCKED ||
		    (st == GX_KM_REVOKED && blocked >= woke))
			return true;
		return gx_nanotime() - woke < JUST_WOKE_NS;
	}
	return thread_in_kernel(mp->tid);
}

/* gx_m_cputime - CPU time mp's thread has used (ns; its thread CPU clock,
 * as pthread_getcpuclockid gives it: exact even while it runs), or -1. */
int64_t gx_m_cputime(struct gx_m *mp)
{
	struct timespec ts;
	clockid_t clk = (clockid_t)((~(unsigned)mp->tid << 3) | 6); /* CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED */
	if (!mp->tid || clock_gettime(clk, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* gx_preemptm - send the preemption signal to mp's thread, unless it is in
 * the kernel. Returns whether it was sent. sysmon only. */
bool gx_preemptm(struct gx_m *mp)
{
	if (!mp || !mp->tid)
		return false;
	if (gx_m_in_kernel(mp))
		return false;
	return syscall(SYS_tgkill, getpid(), mp->tid, PREEMPT_SIGNAL) == 0;
}

static int find_exec(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_name && info->dlpi_name[0])
		return 1; /* the first entry is the main program: stop after it */
	for (int i = 0; i < info->dlpi_phnum && nexec_ranges < MAX_EXEC_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			exec_ranges[nexec_ranges].lo = info->dlpi_addr + ph->p_vaddr;
			exec_ranges[nexec_ranges].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			nexec_ranges++;
		}
	}
	return 1;
}

void gx_preemptinit(void)
{
	if (gx_debug.asyncpreemptoff)
		gx_asyncpreempt_enabled = false;
	if (GX_TSAN)
		gx_asyncpreempt_enabled = false; /* see the caveat at the top */
	unsigned a, b, c, d;
	/* XSAVE enabled by the OS (CPUID.1:ECX.OSXSAVE[27]) and its area size
	 * for the features XCR0 enables (CPUID.(EAX=0DH,ECX=0):EBX). */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || __get_cpuid_max(0, NULL) < 0xd) {
		gx_asyncpreempt_enabled = false;
	} else {
		__cpuid_count(0xd, 0, a, b, c, d);
		gx_xsave_size = b;
	}
	dl_iterate_phdr(find_exec, NULL);
	if (nexec_ranges == 0)
		gx_asyncpreempt_enabled = false;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = preempt_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(PREEMPT_SIGNAL, &sa, NULL) != 0)
		gx_asyncpreempt_enabled = false;
}
