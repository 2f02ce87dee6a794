/* SPDX-License-Identifier: MIT */
/*
 * dump.c - goroutine dumps: every goroutine with its id, name, state, wait
 * reason, how long it has waited, its stack and who created it, as Go
 * prints them on a fatal error and on SIGQUIT:
 *
 *	goroutine 7 "worker" [chan receive, 1520 ms]:
 *	gx_chan_recv()
 *		user/chan.c:412 +0x9a
 *	worker()
 *		examples/pipeline.c:31 +0x2e
 *	created by main_fn in goroutine 1
 *		examples/pipeline.c:58 +0x41
 *
 * When: gx_fatal and the deadlock check (fatal.c) print one after their
 * line; SIGQUIT prints "SIGQUIT: quit" and one, then exits with status 2
 * (GX_DEBUG=sigquit=0 leaves SIGQUIT alone); a crash in goroutine or
 * runtime code (SIGSEGV outside a guard page, SIGBUS, SIGFPE, SIGILL)
 * prints "gmpx: fatal: signal SIGSEGV at ADDR in goroutine N "name"" and
 * one, then dies by the signal; a stack overflow prints its line and one.
 * The frames are traceback.c's.
 *
 * Stopping the world. Another M may switch to a G while its stack is being
 * read, so a dump first sets sched.freezing: an M about to run a G
 * (execute) and a G about to switch directly to another (gopark's and
 * yield's fast paths) wait in gx_freezewait until the dump is over, and the
 * dump waits FREEZE_SETTLE_NS for Ms already past that check to finish
 * their switch (best effort, as Go's freezetheworld). A G left running on
 * another M is asked for its own stack: that M gets SIGQUIT and, in the
 * handler, prints the frames of the context it interrupted (it is not
 * asked while in a system call: that would interrupt the call). A G whose
 * M does not answer within PEER_WAIT_NS is shown without frames.
 *
 * How long: a G's waitsince is sched.coarsenow when it parked, a clock
 * sysmon and the timer checks refresh; the figure is good to their period
 * (milliseconds), not better.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* FREEZE_SETTLE_NS: how long a dump waits, after stopping the world, for
 * Ms in the middle of a switch to finish it. */
#define FREEZE_SETTLE_NS (2LL * 1000 * 1000)
/* PEER_WAIT_NS: how long a dump waits for another M to print the stack of
 * the G it runs. */
#define PEER_WAIT_NS (200LL * 1000 * 1000)

/* The thread printing a dump (its tid; 0: none), and the M it has asked to
 * print its own G's stack (the tid; 0 once done). */
static _Atomic pid_t dumper;
static _Atomic uint32_t peer_tid;

/* gx_dump_sigpc - the interrupted instruction of a signal's context. */
static uintptr_t gx_dump_sigpc(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#else
	(void)uc;
	return 0;
#endif
}

static pid_t gx_dump_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

void gx_freezewait(void)
{
	uint32_t v;
	while ((v = atomic_load(&gx_sched.freezing)) != 0)
		gx_futexsleep(&gx_sched.freezing, v, -1);
}

static void gx_dump_freeze(bool settle)
{
	atomic_store(&gx_sched.freezing, 1);
	if (settle) {
		struct timespec ts = {0, FREEZE_SETTLE_NS};
		nanosleep(&ts, NULL);
	}
}

static void gx_dump_unfreeze(void)
{
	atomic_store(&gx_sched.freezing, 0);
	gx_futexwakeup(&gx_sched.freezing, UINT32_MAX);
}

/* gx_dump_waited - ", 1520 ms" for a G that has waited that long. Reads
 * waitsince racily, as the whole dump does: a G still parking as the world
 * freezes may be writing it. */
GX_NO_TSAN static void gx_dump_waited(const gx_g *gp, char *buf, size_t n)
{
	buf[0] = 0;
	int64_t since = gp->waitsince, now = gx_coarsenow();
	if (since <= 0 || now <= since)
		return;
	int64_t ms = (now - since) / 1000000;
	if (ms >= 60LL * 1000)
		snprintf(buf, n, ", %lld minutes", (long long)(ms / 60000));
	else if (ms >= 10LL * 1000)
		snprintf(buf, n, ", %lld s", (long long)(ms / 1000));
	else if (ms > 0)
		snprintf(buf, n, ", %lld ms", (long long)ms);
}

/* gx_dump_peer - ask the M running gp for the frames of what it runs.
 * false if it did not answer. */
static bool gx_dump_peer(struct gx_m *mp)
{
	/* TSan holds a signal until its thread calls into TSan, and counts the
	 * unwinder's allocations in the handler as errors: no peers there */
	if (GX_TSAN)
		return false;
	pid_t tid = mp->tid;
	if (tid <= 0 || tid == gx_dump_gettid())
		return false;
	atomic_store(&peer_tid, (uint32_t)tid);
	if (syscall(SYS_tgkill, getpid(), tid, SIGQUIT) != 0) {
		atomic_store(&peer_tid, 0);
		return false;
	}
	int64_t until = gx_nanotime() + PEER_WAIT_NS;
	uint32_t v;
	while ((v = atomic_load(&peer_tid)) != 0 && gx_nanotime() < until)
		gx_futexsleep(&peer_tid, v, until - gx_nanotime());
	/* a late answer would interleave with what follows: give up on it */
	return atomic_exchange(&peer_tid, 0) == 0;
}

struct dumpstate {
	int max, shown;
	int64_t skipped;
	gx_g *self;	/* the G of the dumping thread, if any */
	void *selfctx;	/* its signal context (NULL: see selfsaved) */
	bool selfsaved; /* self is on g0 for the dump (gx_systemstack): its
			 * frames from its saved context, else the dumper's own */
};

/* gx_dump_block - one goroutine's block: its line, its frames, its
 * creator. d: the dumping thread's G and where its frames are, and other
 * Ms are asked for the stacks of the Gs they run; NULL (a dump the
 * process survives): no G is the dumper's and no M is signalled. */
GX_NO_TSAN static void gx_dump_block(gx_g *gp, const struct dumpstate *d)
{
	uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
	const char *what = st == Gwaiting && gp->waitreason ? gp->waitreason : gx_gstatus_name(st);
	char waited[48];
	if (st == Gwaiting)
		gx_dump_waited(gp, waited, sizeof(waited));
	else
		waited[0] = 0;
	if (gp->name)
		gx_print("goroutine %lld \"%s\" [%s%s]:\n", (long long)gp->goid, gp->name, what, waited);
	else
		gx_print("goroutine %lld [%s%s]:\n", (long long)gp->goid, what, waited);
	struct gx_m *mp = gp->m;
	if (d && gp == d->self) {
		if (d->selfctx)
			gx_traceback_signal(d->selfctx);
		else if (d->selfsaved)
			gx_traceback_saved(gp->sp);
		else
			gx_traceback_here();
	} else if (st == Grunning || st == Gsyscall) {
		if (st == Gsyscall)
			gx_print("\tgoroutine in a system call on M%lld; stack unavailable\n",
				 mp ? (long long)mp->id : -1LL);
		else if (!mp || !d || !gx_dump_peer(mp))
			gx_print("\tgoroutine running on another thread (M%lld); stack unavailable\n",
				 mp ? (long long)mp->id : -1LL);
	} else if (gp->stack.lo == 0) {
		gx_print("\t(not started yet)\n");
	} else {
		gx_traceback_saved(gp->sp);
	}
	if (gp->gopc)
		gx_traceback_createdby(gp->gopc, gp->parentgoid);
	gx_print("\n");
}

GX_NO_TSAN static void gx_dump_g(gx_g *gp, void *arg)
{
	struct dumpstate *d = arg;
	uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
	if (st == Gdead || st == Gidle)
		return;
	if (d->shown >= d->max) {
		d->skipped++;
		return;
	}
	d->shown++;
	gx_dump_block(gp, d);
}

/* gx_dump_all - every goroutine. d->self, selfctx, selfsaved say where
 * the current thread's G's frames are; self: show the current thread's
 * stack when it is not a goroutine's; settle: wait for switches under way
 * (not needed when no M can be running). The world stays stopped: the
 * process is about to exit. */
static void gx_dump_all(struct dumpstate *d, bool self, bool settle)
{
	gx_dump_freeze(settle);
	if (!d->self && self) {
		if (getm())
			gx_print("M%lld (the scheduler stack):\n", (long long)getm()->id);
		else
			gx_print("the calling thread (not an M):\n");
		if (d->selfctx)
			gx_traceback_signal(d->selfctx);
		else
			gx_traceback_here();
		gx_print("\n");
	}
	gx_forallg(gx_dump_g, d);
	if (d->skipped)
		gx_print("... and %lld more goroutines\n", (long long)d->skipped);
}

enum { CLAIMED, CLAIMED_BEFORE, CLAIMED_ELSEWHERE };

/* gx_dump_claim - become the dumping thread. CLAIMED_BEFORE: this thread
 * already was (a fatal error or a crash inside the dump: do not start
 * over); CLAIMED_ELSEWHERE: another thread is, and will end the process. */
static int gx_dump_claim(void)
{
	pid_t none = 0, me = gx_dump_gettid();
	if (atomic_compare_exchange_strong(&dumper, &none, me))
		return CLAIMED;
	return none == me ? CLAIMED_BEFORE : CLAIMED_ELSEWHERE;
}

/* gx_dump_wait - another thread's dump ends the process: wait for it. */
static void gx_dump_wait(void)
{
	for (;;)
		pause();
}

struct dumpexit {
	int max, code;
	bool self;
	gx_g *gp; /* the G that asked, now on g0 (NULL: asked on g0) */
};

static void gx_dump_exit_sys(void *arg)
{
	const struct dumpexit *x = arg;
	struct dumpstate d = {.max = x->max, .self = x->gp, .selfsaved = x->gp != NULL};
	gx_dump_all(&d, x->self && !x->gp, atomic_load(&gx_sched.started) && x->self);
	_exit(x->code);
}

void gx_dumpgs_exit(int max, bool self, int code)
{
	int c = gx_dump_claim();
	if (c == CLAIMED_ELSEWHERE)
		gx_dump_wait();
	if (c == CLAIMED_BEFORE) {
		gx_print("gmpx: (the goroutine dump itself failed: no second one)\n");
		_exit(code);
	}
	/* on g0: a goroutine's stack is too small for the unwinder and the
	 * DWARF reader */
	struct dumpexit x = {max, code, self, getg()};
	gx_systemstack(gx_dump_exit_sys, &x);
	_exit(code); /* not reached */
}

/* ---- dumps the process survives (leakcheck.c) ------------------------------ */

bool gx_dump_begin(void)
{
	if (gx_dump_claim() != CLAIMED)
		return false;
	gx_dump_freeze(true);
	return true;
}

void gx_dump_one(gx_g *gp)
{
	gx_dump_block(gp, NULL);
}

void gx_dump_end(void)
{
	gx_dump_unfreeze();
	atomic_store(&dumper, 0);
}

/* ---- SIGQUIT -------------------------------------------------------------- */

static void gx_dump_sigquit(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	pid_t me = gx_dump_gettid();
	if (atomic_load(&dumper) != 0 && atomic_load(&dumper) != me) {
		/* another thread is dumping: it asked for our stack, or this is
		 * a second SIGQUIT from outside (ignored) */
		if (atomic_load(&peer_tid) == (uint32_t)me) {
			gx_traceback_signal(uctx);
			atomic_store(&peer_tid, 0);
			gx_futexwakeup(&peer_tid, 1);
		}
		return;
	}
	if (gx_dump_claim() != CLAIMED)
		return;
	const ucontext_t *uc = uctx;
	struct gx_m *mp = getm();
	gx_print("SIGQUIT: quit\nPC=%#lx m=%lld sigcode=%d\n\n", (unsigned long)gx_dump_sigpc(uc),
		 mp ? (long long)mp->id : -1LL, si->si_code);
	struct dumpstate d = {.max = INT32_MAX, .self = getg(), .selfctx = uctx};
	gx_dump_all(&d, true, true);
	_exit(2);
}

void gx_dump_siginit(void)
{
	struct sigaction old;
	if (sigaction(SIGQUIT, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
		return; /* the program's own, or ignored: leave it */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = gx_dump_sigquit;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGQUIT, &sa, NULL);
}

/* ---- crashes ---------------------------------------------------------------- */

void gx_dump_crash(int sig, siginfo_t *si, void *uctx, bool headline)
{
	int c = gx_dump_claim();
	if (c == CLAIMED_ELSEWHERE)
		gx_dump_wait();
	if (c == CLAIMED_BEFORE) {
		gx_print("gmpx: fatal: signal %d while dumping goroutines\n", sig);
		return;
	}
	gx_g *gp = getg();
	struct gx_m *mp = getm();
	const ucontext_t *uc = uctx;
	const char *name = sigabbrev_np(sig);
	char where[160];
	if (gp)
		snprintf(where, sizeof(where), "in goroutine %lld%s%s%s", (long long)gp->goid, gp->name ? " \"" : "",
			 gp->name ? gp->name : "", gp->name ? "\"" : "");
	else if (mp)
		snprintf(where, sizeof(where), "on the scheduler stack of M%lld", (long long)mp->id);
	else
		snprintf(where, sizeof(where), "on a thread that is not an M");
	if (headline)
		gx_print("gmpx: fatal: signal SIG%s at 0x%lx %s\nPC=%#lx sigcode=%d\n\n", name ? name : "?",
			 (unsigned long)(uintptr_t)si->si_addr, where, (unsigned long)gx_dump_sigpc(uc), si->si_code);
	struct dumpstate d = {.max = GX_DUMP_MAX, .self = gp, .selfctx = uctx};
	gx_dump_all(&d, true, true);
}
