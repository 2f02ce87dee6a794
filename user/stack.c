/* SPDX-License-Identifier: MIT */
/*
 * stack.c - goroutine stacks: allocation, caching, guard pages, and the
 * stack-overflow report.
 *
 * Layout. Stacks come in power-of-two size classes (16 KiB .. 1 GiB; the
 * default is 64 KiB, GX_STACKSIZE changes it). They are carved out of
 * chunks of 1 MiB (CHUNK_BYTES) mapped with one mmap (MAP_NORESERVE | MAP_STACK,
 * no transparent huge pages), each slot being [guard page][usable stack].
 * Memory is committed lazily by the kernel: a stack costs only the pages
 * its goroutine has touched (one 4 KiB page for a goroutine parked near the
 * top of its stack).
 *
 * Guard pages. With MADV_GUARD_INSTALL (Linux >= 6.13) a guard is a marker
 * in the page tables: no VMA split, so a whole chunk stays one VMA (and
 * adjacent chunks merge), and a million stacks fit well inside the default
 * vm.max_map_count (65530). Where the kernel lacks it we fall back to
 * mprotect(PROT_NONE), which splits the chunk: two VMAs per stack, so about
 * 32,000 live stacks at the default vm.max_map_count (README: cost model).
 *
 * Overflow. A stack is a fixed size: there is no growth. Code that runs
 * past the bottom touches the guard page and gets SIGSEGV; the handler, on
 * the M's alternate signal stack, recognises a fault in the running
 * goroutine's guard (or a stack pointer below its stack) and dies with
 * "gmpx: fatal: goroutine N: stack overflow". A single frame larger than a
 * page could jump over the guard; the runtime is built with
 * -fstack-clash-protection, which probes every page of large frames, and
 * the README asks users to build with it too.
 *
 * Caching. Stacks are bound to a G when it first runs (not when it is
 * created) and returned when it exits, so a queue of a million
 * not-yet-started goroutines needs no stacks, and a finished goroutine's
 * warm stack is reused at once. Each P caches up to GX_STACKCACHE_MAX
 * default-class stacks without locks and exchanges half of them with the
 * global per-class cache (stacklock) when it runs dry or overflows.
 * Stacks are never unmapped (like Go's Gs; their pages stay committed).
 */
#include "runtime.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define GUARD_SIZE ((size_t)4096)
/* One mmap: 15 default stacks. Small enough that the M that maps (and
 * guards) a chunk is not held up long, large enough to amortize. */
#define CHUNK_BYTES	((size_t)1 << 20)
#define CHUNK_MAX	(CHUNK_BYTES / (GX_STACK_MIN + GUARD_SIZE) + 1)
#define STACK_MIN_SHIFT 14 /* 16 KiB */
/* The signal stack of each M, with a guard page below it. Signal handlers
 * need little (preemption: a few hundred bytes), but a goroutine dump
 * printed from a signal (SIGQUIT, a crash, a stack overflow) runs the
 * unwinder and the DWARF reader there: 512 KiB, of which only the pages a
 * handler touches are ever resident (MAP_NORESERVE). */
#define ALTSTACK_SIZE ((size_t)512 << 10)

static struct {
	gx_lock_t lock;
	uintptr_t *free[GX_NSTACKCLASS]; /* cached stack bottoms (lo) per class */
	size_t nfree[GX_NSTACKCLASS], capfree[GX_NSTACKCLASS];
	uint32_t defclass;
	_Atomic int guardmode;	  /* 0 unknown, 1 madvise, 2 mprotect */
	_Atomic uint64_t nstacks; /* stacks ever mapped */
} stk;

size_t gx_stackclass_size(uint32_t cls)
{
	return (size_t)1 << (cls + STACK_MIN_SHIFT);
}
uint32_t gx_stackclass_default(void)
{
	return stk.defclass;
}
bool gx_stack_guard_is_madvise(void)
{
	return atomic_load(&stk.guardmode) == 1;
}

/* gx_stackclass - the class for a requested size (rounded up to a power of
 * two). -EINVAL outside [GX_STACK_MIN, GX_STACK_MAX]. */
int gx_stackclass(size_t size, uint32_t *cls)
{
	if (size < GX_STACK_MIN || size > GX_STACK_MAX)
		return -EINVAL;
	uint32_t c = 0;
	while (gx_stackclass_size(c) < size)
		c++;
	*cls = c;
	return 0;
}

/* parsesize - "65536", "64k", "1m" (K and M too) into bytes: decimal
 * digits and at most one suffix, nothing else; -EINVAL otherwise, also for
 * a value that does not fit in a size_t once scaled. */
static int parsesize(const char *s, size_t *out)
{
	size_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		size_t d = (size_t)(*p - '0');
		if (v > (SIZE_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (p == s)
		return -EINVAL;
	unsigned shift = 0;
	if (*p == 'k' || *p == 'K')
		shift = 10, p++;
	else if (*p == 'm' || *p == 'M')
		shift = 20, p++;
	if (*p || v > SIZE_MAX >> shift)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

void gx_stackinit(void)
{
	size_t def = GX_STACK_DEFAULT;
	const char *e = getenv("GX_STACKSIZE");
	if (e && *e) {
		size_t v;
		uint32_t c;
		if (parsesize(e, &v) != 0)
			gx_print("gmpx: GX_STACKSIZE=%s is not a size (digits, then k or m: 64k, 1m); using %zu\n", e,
				 def);
		else if (gx_stackclass(v, &c) != 0)
			gx_print("gmpx: GX_STACKSIZE=%s is outside [%zu, %zu]; using %zu\n", e, GX_STACK_MIN,
				 GX_STACK_MAX, def);
		else
			def = v;
	}
	gx_stackclass(def, &stk.defclass);
}

static int guard_install(uintptr_t base)
{
	int mode = atomic_load_explicit(&stk.guardmode, memory_order_relaxed);
	if (mode != 2) {
		if (madvise((void *)base, GUARD_SIZE, MADV_GUARD_INSTALL) == 0) {
			if (mode == 0)
				atomic_store(&stk.guardmode, 1);
			return 0;
		}
		if (errno != EINVAL)
			return -errno;
		atomic_store(&stk.guardmode, 2); /* kernel without guard regions */
	}
	return mprotect((void *)base, GUARD_SIZE, PROT_NONE) == 0 ? 0 : -errno;
}

/*
 * Batched madvise: process_madvise(2) on our own pidfd applies one advice
 * to up to IOV_BATCH ranges per system call (any advice on oneself since
 * Linux 6.13). A chunk's guards are installed in one call instead of one
 * per stack (~0.64 us a guard batched, ~0.95 us one by one, measured
 * here). Returns false if the kernel cannot; callers then fall back to one
 * call per stack. The pidfd is reopened after fork.
 */
#define IOV_BATCH 1024
static bool madvise_batch(struct iovec *iov, size_t n, int advice)
{
	static _Atomic int pidfd = -1;
	static _Atomic pid_t pidfd_pid;
	static _Atomic bool unsupported;
	if (atomic_load_explicit(&unsupported, memory_order_relaxed))
		return false;
	pid_t pid = getpid();
	int fd = atomic_load(&pidfd);
	if (fd < 0 || atomic_load(&pidfd_pid) != pid) {
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (fd < 0) {
			atomic_store(&unsupported, true);
			return false;
		}
		int old = atomic_exchange(&pidfd, fd);
		if (old >= 0 && atomic_load(&pidfd_pid) == pid)
			close(old);
		atomic_store(&pidfd_pid, pid);
	}
	for (size_t off = 0; off < n; off += IOV_BATCH) {
		size_t k = n - off < IOV_BATCH ? n - off : IOV_BATCH;
		size_t want = 0;
		for (size_t i = 0; i < k; i++)
			want += iov[off + i].iov_len;
		long r = syscall(SYS_process_madvise, fd, iov + off, k, advice, 0);
		if (r != (long)want) {
			if (r < 0 && (errno == EINVAL || errno == ENOSYS || errno == EPERM))
				atomic_store(&unsupported, true);
			return false;
		}
	}
	return true;
}

static int freepush(uint32_t cls, uintptr_t lo)
{
	if (stk.nfree[cls] == stk.capfree[cls]) {
		size_t ncap = stk.capfree[cls] ? stk.capfree[cls] * 2 : 64;
		uintptr_t *n = realloc(stk.free[cls], ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		stk.free[cls] = n;
		stk.capfree[cls] = ncap;
	}
	stk.free[cls][stk.nfree[cls]++] = lo;
	return 0;
}

/*
 * stackmap - map a chunk of class-cls stacks, install the guards, and
 * return their bottoms in out[] (at most max).
 * No lock is held: mapping and guarding take tens of microseconds, and
 * other Ms must not wait behind them for the lock.
 */
static int stackmap(uint32_t cls, uintptr_t *out, size_t max, size_t *nout)
{
	size_t size = gx_stackclass_size(cls);
	size_t slot = size + GUARD_SIZE;
	size_t n = CHUNK_BYTES / slot;
	if (n == 0)
		n = 1;
	if (n > max)
		n = max;
	void *p = mmap(NULL, n * slot, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		       -1, 0);
	if (p == MAP_FAILED)
		return errno == EAGAIN ? -EAGAIN : -ENOMEM;
	madvise(p, n * slot, MADV_NOHUGEPAGE);
	uintptr_t base = (uintptr_t)p;
	struct iovec iov[n];
	for (size_t i = 0; i < n; i++)
		iov[i] = (struct iovec){(void *)(base + i * slot), GUARD_SIZE};
	bool batched = atomic_load_explicit(&stk.guardmode, memory_order_relaxed) == 1 &&
		       madvise_batch(iov, n, MADV_GUARD_INSTALL);
	for (size_t i = 0; !batched && i < n; i++) {
		int err = guard_install(base + i * slot);
		if (err) {
			munmap(p, n * slot);
			return err == -ENOMEM ? -ENOMEM : -EAGAIN;
		}
	}
	/* Not pre-populated: measured here, MADV_POPULATE_WRITE (~2.5 us a
	 * page, batched) costs more than the first-touch fault it saves
	 * (~2 us), and would commit pages for stacks that never run. */
	/* Highest first: handed out from the end of out[] (LIFO), lowest last. */
	for (size_t i = 0; i < n; i++)
		out[i] = base + (n - 1 - i) * slot + GUARD_SIZE;
	atomic_fetch_add(&stk.nstacks, n);
	*nout = n;
	return 0;
}

static void globalput(uint32_t cls, const uintptr_t *in, size_t n)
{
	gx_lock(&stk.lock);
	for (size_t i = 0; i < n; i++)
		if (freepush(cls, in[i]) != 0)
			break; /* cannot grow the array: the stack is leaked, not corrupted */
	gx_unlock(&stk.lock);
}

/* Take up to max stacks of class cls from the global cache into out[];
 * if it is empty, map a new chunk (outside the lock) straight into out[]. */
static size_t globalget(uint32_t cls, uintptr_t *out, size_t max, int *err)
{
	size_t n = 0;
	gx_lock(&stk.lock);
	while (n < max && stk.nfree[cls] > 0)
		out[n++] = stk.free[cls][--stk.nfree[cls]];
	gx_unlock(&stk.lock);
	if (n == 0) {
		uintptr_t chunk[CHUNK_MAX];
		size_t got = 0;
		*err = stackmap(cls, chunk, CHUNK_MAX, &got);
		n = got < max ? got : max;
		memcpy(out, chunk + (got - n), n * sizeof(*out));
		if (got > n)
			globalput(cls, chunk, got - n);
	}
	return n;
}

/* gx_stackalloc - a stack of class cls for a G about to run on pp. */
int gx_stackalloc(struct gx_p *pp, uint32_t cls, gx_stack *st)
{
	int err = 0;
	if (pp && cls == stk.defclass) {
		if (pp->nstackcache == 0) {
			pp->nstackcache = (int32_t)globalget(cls, pp->stackcache, GX_STACKCACHE_MAX / 2, &err);
			if (pp->nstackcache == 0)
				return err ? err : -ENOMEM;
		}
		st->lo = pp->stackcache[--pp->nstackcache];
	} else {
		uintptr_t lo;
		if (globalget(cls, &lo, 1, &err) == 0)
			return err ? err : -ENOMEM;
		st->lo = lo;
	}
	st->size = gx_stackclass_size(cls);
	return 0;
}

/* gx_stackreserve - ensure a stack of class cls is available without new
 * memory later, so that gx_go can report -ENOMEM instead of a goroutine
 * failing to start. Cheap when the cache is not empty. */
int gx_stackreserve(struct gx_p *pp, uint32_t cls)
{
	if (pp && cls == stk.defclass) {
		if (pp->nstackcache > 0)
			return 0;
		int err = 0;
		pp->nstackcache = (int32_t)globalget(cls, pp->stackcache, GX_STACKCACHE_MAX / 2, &err);
		return pp->nstackcache > 0 ? 0 : (err ? err : -ENOMEM);
	}
	gx_lock(&stk.lock);
	bool have = stk.nfree[cls] > 0;
	gx_unlock(&stk.lock);
	if (have)
		return 0;
	uintptr_t chunk[CHUNK_MAX];
	size_t got = 0;
	int err = stackmap(cls, chunk, CHUNK_MAX, &got);
	if (!err)
		globalput(cls, chunk, got);
	return err;
}

void gx_stackfree(struct gx_p *pp, uint32_t cls, gx_stack *st)
{
	if (pp && cls == stk.defclass) {
		if (pp->nstackcache == GX_STACKCACHE_MAX) {
			int32_t half = GX_STACKCACHE_MAX / 2;
			globalput(cls, &pp->stackcache[half], (size_t)half);
			pp->nstackcache = half;
		}
		pp->stackcache[pp->nstackcache++] = st->lo;
	} else {
		globalput(cls, &st->lo, 1);
	}
	st->lo = 0;
	st->size = 0;
}

/* ---- stack overflow report -------------------------------------------- */

/* The dispositions our handler replaced: a fault that is not ours goes to
 * them (ASan's, a program's own), or, where it was the default, gets a
 * goroutine dump first (dump.c) and then kills the process. */
static const int fatalsigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
static struct sigaction oldfatal[4];

static struct sigaction *oldaction(int sig)
{
	for (size_t i = 0; i < sizeof(fatalsigs) / sizeof(fatalsigs[0]); i++)
		if (fatalsigs[i] == sig)
			return &oldfatal[i];
	return NULL;
}

/* Async-signal-safe formatting: the handler cannot use stdio. */
static char *fmtu(char *p, uint64_t v, int base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % (uint64_t)base];
		v /= (uint64_t)base;
	} while (v);
	if (base == 16) {
		*p++ = '0';
		*p++ = 'x';
	}
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *fmts(char *p, const char *s, size_t max)
{
	while (*s && max--)
		*p++ = *s++;
	return p;
}

static void segv_handler(int sig, siginfo_t *si, void *uctx)
{
	struct gx_m *mp = getm();
	gx_g *gp = mp ? mp->curg : NULL;
	if ((sig == SIGSEGV || sig == SIGBUS) && gp && gp->stack.lo) {
		uintptr_t addr = (uintptr_t)si->si_addr;
		uintptr_t sp = (uintptr_t)((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RSP];
		uintptr_t lo = gp->stack.lo;
		bool in_guard = addr >= lo - GUARD_SIZE && addr < lo;
		bool sp_below = sp < lo + 256 && sp >= lo - (64 << 10);
		if (in_guard || sp_below) {
			char buf[256], *p = buf;
			p = fmts(p, "gmpx: fatal: goroutine ", 32);
			p = fmtu(p, (uint64_t)gp->goid, 10);
			if (gp->name) {
				p = fmts(p, " \"", 2);
				p = fmts(p, gp->name, 64);
				*p++ = '"';
			}
			p = fmts(p, ": stack overflow (stack ", 32);
			p = fmtu(p, lo, 16);
			*p++ = '-';
			p = fmtu(p, lo + gp->stack.size, 16);
			p = fmts(p, ", ", 2);
			p = fmtu(p, gp->stack.size >> 10, 10);
			p = fmts(p, " KiB; fault at ", 16);
			p = fmtu(p, addr, 16);
			p = fmts(p, ")\n\n", 3);
			ssize_t r = write(2, buf, (size_t)(p - buf));
			(void)r;
			gx_dump_crash(sig, si, uctx, false);
			_exit(2);
		}
	}
	/* Not an overflow: the previous disposition's (the fault recurs when
	 * we return; a signal sent with kill does not, so it is raised
	 * again). At the default, a dump first, then the default kills. */
	struct sigaction *old = oldaction(sig);
	if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_DFL)
		gx_dump_crash(sig, si, uctx, true);
	sigaction(sig, old, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

/* gx_stack_sigsetup - per M: an alternate signal stack, and (once per
 * process) the handler of SIGSEGV/SIGBUS (which reports overflows) and of
 * SIGFPE/SIGILL (crash dumps). */
void gx_stack_sigsetup(struct gx_m *mp)
{
	static _Atomic bool installed;
	char *map = mmap(NULL, GUARD_SIZE + ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map != MAP_FAILED) {
		stack_t ss = {.ss_sp = map + GUARD_SIZE, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
		if (mprotect(map, GUARD_SIZE, PROT_NONE) == 0 && sigaltstack(&ss, NULL) == 0)
			mp->altstack = map;
		else
			munmap(map, GUARD_SIZE + ALTSTACK_SIZE);
	}
	if (!atomic_exchange(&installed, true)) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = segv_handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < sizeof(fatalsigs) / sizeof(fatalsigs[0]); i++)
			sigaction(fatalsigs[i], &sa, &oldfatal[i]);
	}
}

void gx_stack_sigteardown(struct gx_m *mp)
{
	if (!mp->altstack)
		return;
	stack_t ss = {.ss_flags = SS_DISABLE};
	sigaltstack(&ss, NULL);
	munmap(mp->altstack, GUARD_SIZE + ALTSTACK_SIZE);
	mp->altstack = NULL;
}
