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
 * check, and sysmon signals again a quantum later.
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
 * It is installed with SA_RESTART, so interrupted system calls restart.
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

#include <cpuid.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define PREEMPT_SIGNAL SIGURG
#define RED_ZONE       128
#define HANDLER_SLACK  256 /* below the handler's frame: its callees' frames */
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
	atomic_store_explicit(&gp->status, Grunnable, memory_order_release);
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
	gx_mcall(gopreempt_m);
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
	gx_mcall(gopreempt_m);
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
	/* A revoked P (kassist.c) is no longer ours: its flag is another M's
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

/* gx_preemptm - send the preemption signal to mp's thread. */
bool gx_preemptm(struct gx_m *mp)
{
	if (!mp || !mp->tid)
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
	const char *dbg = getenv("GX_DEBUG");
	if (dbg && strstr(dbg, "asyncpreemptoff=1"))
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
