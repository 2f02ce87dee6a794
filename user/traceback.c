/* SPDX-License-Identifier: MIT */
/*
 * traceback.c - the frames of a goroutine's stack, for dumps (Go's
 * traceback.go).
 *
 * Unwinding is libunwind's (local unwinding through the CFI every function
 * has); names, files and lines are elfutils' libdwfl (the symbol tables and
 * DWARF line tables of the program and of each shared object mapped in
 * /proc/self/maps, or their separate debug files). Neither is linked: both
 * are loaded with dlopen (libunwind.so.8, libdw.so.1) the first time a
 * stack is shown, so a program that never dumps never maps them and the
 * library has no run-time dependencies. Their headers are needed at build
 * time (libunwind-dev, libdw-dev) for the types; built without them (or
 * with -DGX_NO_UNWIND), or when a library cannot be loaded, a dump says why once and shows each
 * goroutine's resume address only.
 *
 * Where unwinding starts:
 *  - a G that is not running: the context gx_ctx_switch saved on its own
 *    stack (arch.h, gx_ctx_saved_regs). The first frame is the function
 *    that switched away (in the runtime: the park or yield that stopped
 *    it); the stack does not change while the world is stopped (dump.c).
 *  - the thread that dumps: its own context (getcontext). The frames of the
 *    dump machinery (this file, dump.c) are left out.
 *  - a fatal signal: the signal's ucontext; the first frame is the
 *    faulting instruction itself.
 * A frame's address is a return address, its function and line those of
 * the call at address - 1, except for the first frame of a signal and the
 * frame a signal frame interrupted (the kernel's signal return, or the
 * preemption trampoline of user/arch/x86_64/preempt.S).
 *
 * Output, as Go's:
 *	worker()
 *		selftests/test_dump.c:41 +0x2f
 *	created by main in goroutine 1
 *		selftests/test_dump.c:60 +0x1c
 * (+0x2f: the offset in the function; "?? +0x..." and the object's name
 * where there is no symbol or no line table).
 *
 * Not async-signal-safe: libdwfl allocates. A dump runs when the process
 * is about to die (fatal, deadlock, SIGQUIT, a crash) or from a test's leak
 * check; a crash inside malloc can hang the dump (as glibc's backtrace()
 * can), and that is the accepted cost of symbolised stacks.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#if GX_HAVE_CTX_REGS && defined(__has_include) && !defined(GX_NO_UNWIND)
#if __has_include(<libunwind.h>) && __has_include(<elfutils/libdwfl.h>)
#define GX_HAVE_UNWIND 1
#endif
#endif
#ifndef GX_HAVE_UNWIND
#define GX_HAVE_UNWIND 0
#endif

/* TRACEBACK_MAX_FRAMES: frames shown per stack (Go shows 100, then
 * "...additional frames elided..."); deep recursion is the usual reason
 * for more, and its top is what matters. */
#define TRACEBACK_MAX_FRAMES 100

/* The names of the dump machinery's own functions start with these: the
 * frames left out when a thread shows its own stack. */
static const char *const own_frames[] = {"gx_traceback", "gx_dump", "tb_", NULL};
/* Where every goroutine's stack begins (proc.c, ctx.S): not shown, as Go
 * does not show runtime.main and runtime.goexit; the walk stops there. */
static const char *const entry_frames[] = {"main_goroutine", "gentry", "gx_ctx_start", NULL};

#if GX_HAVE_UNWIND

#define UNW_LOCAL_ONLY
#include <elfutils/libdwfl.h>
#include <libunwind.h>

/* The name dlsym needs for a libunwind macro (unw_step is _ULx86_64_step) */
#define TB_STR2(x) #x
#define TB_STR(x)  TB_STR2(x)

static struct {
	bool tried, ok;
	const char *why; /* when !ok */
	__typeof__(unw_init_local2) *init_local2;
	__typeof__(unw_step) *step;
	__typeof__(unw_get_reg) *get_reg;
	__typeof__(unw_tdep_getcontext) *getcontext;
	/* libdwfl; NULL if libdw.so.1 could not be loaded (names from
	 * libunwind then, no lines) */
	__typeof__(dwfl_begin) *begin;
	__typeof__(dwfl_end) *end;
	__typeof__(dwfl_report_begin) *report_begin;
	__typeof__(dwfl_linux_proc_report) *proc_report;
	__typeof__(dwfl_report_end) *report_end;
	__typeof__(dwfl_addrmodule) *addrmodule;
	__typeof__(dwfl_module_addrinfo) *addrinfo;
	__typeof__(dwfl_module_getsrc) *getsrc;
	__typeof__(dwfl_lineinfo) *lineinfo;
	__typeof__(dwfl_module_info) *module_info;
	Dwfl_Callbacks cb;
	Dwfl *dwfl;
	__typeof__(unw_get_proc_name) *get_proc_name;
	__typeof__(unw_is_signal_frame) *is_signal_frame;
} tb;

static void *tb_sym(void *h, const char *name, bool *ok)
{
	void *p = h ? dlsym(h, name) : NULL;
	if (!p)
		*ok = false;
	return p;
}

/* tb_load - dlopen both libraries once. */
static bool tb_load(void)
{
	if (tb.tried)
		return tb.ok;
	tb.tried = true;
	void *u = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!u) {
		tb.why = "libunwind.so.8 cannot be loaded (Debian: libunwind8)";
		return false;
	}
	bool ok = true;
	tb.init_local2 = (__typeof__(tb.init_local2))tb_sym(u, TB_STR(unw_init_local2), &ok);
	tb.step = (__typeof__(tb.step))tb_sym(u, TB_STR(unw_step), &ok);
	tb.get_reg = (__typeof__(tb.get_reg))tb_sym(u, TB_STR(unw_get_reg), &ok);
	tb.getcontext = (__typeof__(tb.getcontext))tb_sym(u, TB_STR(unw_tdep_getcontext), &ok);
	tb.get_proc_name = (__typeof__(tb.get_proc_name))tb_sym(u, TB_STR(unw_get_proc_name), &ok);
	tb.is_signal_frame = (__typeof__(tb.is_signal_frame))tb_sym(u, TB_STR(unw_is_signal_frame), &ok);
	if (!ok) {
		tb.why = "libunwind.so.8 lacks the local unwinding API";
		return false;
	}
	void *d = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	bool dok = d != NULL;
	tb.begin = (__typeof__(tb.begin))tb_sym(d, "dwfl_begin", &dok);
	tb.end = (__typeof__(tb.end))tb_sym(d, "dwfl_end", &dok);
	tb.report_begin = (__typeof__(tb.report_begin))tb_sym(d, "dwfl_report_begin", &dok);
	tb.proc_report = (__typeof__(tb.proc_report))tb_sym(d, "dwfl_linux_proc_report", &dok);
	tb.report_end = (__typeof__(tb.report_end))tb_sym(d, "dwfl_report_end", &dok);
	tb.addrmodule = (__typeof__(tb.addrmodule))tb_sym(d, "dwfl_addrmodule", &dok);
	tb.addrinfo = (__typeof__(tb.addrinfo))tb_sym(d, "dwfl_module_addrinfo", &dok);
	tb.getsrc = (__typeof__(tb.getsrc))tb_sym(d, "dwfl_module_getsrc", &dok);
	tb.lineinfo = (__typeof__(tb.lineinfo))tb_sym(d, "dwfl_lineinfo", &dok);
	tb.module_info = (__typeof__(tb.module_info))tb_sym(d, "dwfl_module_info", &dok);
	tb.cb.find_elf = (__typeof__(tb.cb.find_elf))tb_sym(d, "dwfl_linux_proc_find_elf", &dok);
	tb.cb.find_debuginfo = (__typeof__(tb.cb.find_debuginfo))tb_sym(d, "dwfl_standard_find_debuginfo", &dok);
	if (!dok) {
		tb.begin = NULL;
		gx_print("gmpx: dump: libdw.so.1 cannot be loaded (Debian: libdw1): no files and lines\n");
	}
	tb.ok = true;
	return true;
}

/* tb_dwfl - the process's modules, reported again if `pc` is in none of
 * them (a library loaded since). NULL without libdw. */
static Dwfl *tb_dwfl(uintptr_t pc)
{
	if (!tb.begin)
		return NULL;
	if (tb.dwfl && tb.addrmodule(tb.dwfl, pc))
		return tb.dwfl;
	if (!tb.dwfl)
		tb.dwfl = tb.begin(&tb.cb);
	if (!tb.dwfl)
		return NULL;
	tb.report_begin(tb.dwfl);
	if (tb.proc_report(tb.dwfl, getpid()) != 0) {
		tb.report_end(tb.dwfl, NULL, NULL);
		return NULL;
	}
	tb.report_end(tb.dwfl, NULL, NULL);
	return tb.dwfl;
}

struct tb_frame {
	const char *name; /* NULL: no symbol */
	uintptr_t off;	  /* from the symbol's start to pc */
	const char *file; /* NULL: no line table */
	int line;
	const char *object; /* the module's file, when there is no line */
};

/* tb_lookup - what is at pc (lookup: pc - 1 for a return address). */
static void tb_lookup(uintptr_t pc, uintptr_t lookup, struct tb_frame *f)
{
	memset(f, 0, sizeof(*f));
	Dwfl *d = tb_dwfl(lookup);
	Dwfl_Module *mod = d ? tb.addrmodule(d, lookup) : NULL;
	if (!mod)
		return;
	GElf_Off off = 0;
	GElf_Sym sym;
	f->name = tb.addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
	f->off = (uintptr_t)off + (pc - lookup);
	Dwfl_Line *l = tb.getsrc(mod, lookup);
	if (l)
		f->file = tb.lineinfo(l, NULL, &f->line, NULL, NULL, NULL);
	if (!f->file) {
		const char *mainfile = NULL;
		const char *mname = tb.module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
		f->object = mainfile ? mainfile : mname;
	}
}

static bool tb_own(const char *name)
{
	for (int i = 0; name && own_frames[i]; i++)
		if (strncmp(name, own_frames[i], strlen(own_frames[i])) == 0)
			return true;
	return false;
}

static bool tb_entry(const char *name)
{
	for (int i = 0; name && entry_frames[i]; i++)
		if (strcmp(name, entry_frames[i]) == 0)
			return true;
	return false;
}

static void tb_print(uintptr_t pc, const struct tb_frame *f, const char *altname)
{
	const char *name = f->name ? f->name : altname;
	if (name)
		gx_print("%s()\n", name);
	else
		gx_print("?? pc=%#lx\n", (unsigned long)pc);
	if (f->file)
		gx_print("\t%s:%d +%#lx\n", f->file, f->line, (unsigned long)f->off);
	else if (f->object)
		gx_print("\t?? +%#lx (%s)\n", (unsigned long)f->off, f->object);
	else
		gx_print("\t?? pc=%#lx\n", (unsigned long)pc);
}

/* tb_walk - print the frames from a context. signal: its first frame is a
 * faulting instruction, not a return address. own: leave out the leading
 * frames of the dump machinery. */
static void tb_walk(unw_context_t *uc, bool signal, bool own)
{
	unw_cursor_t c;
	if (tb.init_local2(&c, uc, signal ? UNW_INIT_SIGNAL_FRAME : 0) < 0) {
		gx_print("\t(cannot unwind this stack)\n");
		return;
	}
	int shown = 0;
	bool exact = signal, leading = own;
	for (;;) {
		unw_word_t ip = 0;
		if (tb.get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		uintptr_t pc = (uintptr_t)ip;
		struct tb_frame f;
		tb_lookup(pc, exact ? pc : pc - 1, &f);
		char alt[128];
		unw_word_t aoff;
		const char *altname = NULL;
		if (!f.name && tb.get_proc_name(&c, alt, sizeof(alt), &aoff) == 0) {
			altname = alt;
			f.off = (uintptr_t)aoff;
		}
		if (tb_entry(f.name ? f.name : altname))
			break;
		if (leading && tb_own(f.name ? f.name : altname)) {
			/* a frame of the dump itself */
		} else {
			leading = false;
			if (shown == TRACEBACK_MAX_FRAMES) {
				gx_print("...additional frames elided...\n");
				break;
			}
			tb_print(pc, &f, altname);
			shown++;
		}
		/* the frame above a signal frame (the kernel's, or the
		 * preemption trampoline's) was interrupted, not calling */
		exact = tb.is_signal_frame(&c) > 0;
		if (tb.step(&c) <= 0)
			break;
	}
}

GX_NO_TSAN void gx_traceback_saved(void *sp)
{
	struct gx_ctx_regs r;
	gx_ctx_saved_regs(sp, &r);
	if (!tb_load()) {
		gx_print("\t(resumes at pc=%#lx; %s)\n", (unsigned long)r.ip, tb.why);
		return;
	}
	unw_context_t uc;
	memset(&uc, 0, sizeof(uc));
	greg_t *g = uc.uc_mcontext.gregs;
	g[REG_RIP] = (greg_t)r.ip;
	g[REG_RSP] = (greg_t)r.sp;
	g[REG_RBP] = (greg_t)r.bp;
	g[REG_RBX] = (greg_t)r.bx;
	g[REG_R12] = (greg_t)r.r12;
	g[REG_R13] = (greg_t)r.r13;
	g[REG_R14] = (greg_t)r.r14;
	g[REG_R15] = (greg_t)r.r15;
	tb_walk(&uc, false, false);
}

void gx_traceback_signal(void *uctx)
{
	const ucontext_t *sig = uctx;
	if (!tb_load()) {
		gx_print("\t(pc=%#lx; %s)\n", (unsigned long)sig->uc_mcontext.gregs[REG_RIP], tb.why);
		return;
	}
	unw_context_t uc;
	memcpy(&uc, sig, sizeof(uc));
	tb_walk(&uc, true, false);
}

__attribute__((noinline)) void gx_traceback_here(void)
{
	if (!tb_load()) {
		gx_print("\t(%s)\n", tb.why);
		return;
	}
	unw_context_t uc;
	if (tb.getcontext(&uc) != 0) {
		gx_print("\t(cannot read this thread's context)\n");
		return;
	}
	tb_walk(&uc, false, true);
}

void gx_traceback_createdby(uintptr_t pc, int64_t parent)
{
	char in[48] = "";
	if (parent > 0)
		snprintf(in, sizeof(in), " in goroutine %lld", (long long)parent);
	struct tb_frame f;
	memset(&f, 0, sizeof(f));
	if (tb_load())
		tb_lookup(pc, pc - 1, &f);
	gx_print("created by %s%s\n", f.name ? f.name : "??", in);
	if (f.file)
		gx_print("\t%s:%d +%#lx\n", f.file, f.line, (unsigned long)f.off);
	else
		gx_print("\t?? pc=%#lx\n", (unsigned long)pc);
}

#else /* !GX_HAVE_UNWIND */

static const char *const tb_why = "built without libunwind-dev and libdw-dev, or not on x86_64";

GX_NO_TSAN void gx_traceback_saved(void *sp)
{
	(void)own_frames;
	(void)entry_frames;
#if GX_HAVE_CTX_REGS
	struct gx_ctx_regs r;
	gx_ctx_saved_regs(sp, &r);
	gx_print("\t(resumes at pc=%#lx; no stacks: %s)\n", (unsigned long)r.ip, tb_why);
#else
	(void)sp;
	gx_print("\t(no stacks: %s)\n", tb_why);
#endif
}

void gx_traceback_signal(void *uctx)
{
	(void)uctx;
	gx_print("\t(no stacks: %s)\n", tb_why);
}

void gx_traceback_here(void)
{
	gx_print("\t(no stacks: %s)\n", tb_why);
}

void gx_traceback_createdby(uintptr_t pc, int64_t parent)
{
	Dl_info di;
	const char *name = dladdr((void *)pc, &di) && di.dli_sname ? di.dli_sname : "??";
	if (parent > 0)
		gx_print("created by %s in goroutine %lld\n\t?? pc=%#lx\n", name, (long long)parent, (unsigned long)pc);
	else
		gx_print("created by %s\n\t?? pc=%#lx\n", name, (unsigned long)pc);
}

#endif /* GX_HAVE_UNWIND */
