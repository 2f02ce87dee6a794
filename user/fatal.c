/* SPDX-License-Identifier: MIT */
/*
 * fatal.c - how the runtime dies and what it says (Go's fatal errors and
 * checkdead): gx_print (one write(2) per line, safe from any thread, no
 * stdio locks), gx_fatal ("gmpx: fatal: WHAT [goroutine N "name"]", every
 * goroutine's stack (dump.c) and exit status 2, as Go's "fatal error:"),
 * and the deadlock check run whenever an M goes idle: if no M can run and no timer
 * or syscall can ever make a goroutine runnable, the program can never
 * move again ("all goroutines are asleep - deadlock!", with the waiting
 * goroutines and their wait reasons). GX_DEBUG=deadlock=0 turns the check
 * off (goroutines woken by gx_ready from foreign threads).
 */
#include "runtime.h"
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void gx_print(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	ssize_t r = write(2, buf, (size_t)n);
	(void)r;
}

void gx_fatal(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	gx_g *gp = getg();
	if (gp)
		gx_print("gmpx: fatal: %s [goroutine %lld%s%s%s]\n", buf, (long long)gp->goid, gp->name ? " \"" : "",
			 gp->name ? gp->name : "", gp->name ? "\"" : "");
	else if (getm())
		gx_print("gmpx: fatal: %s [on the scheduler stack of M%lld]\n", buf, (long long)getm()->id);
	else
		gx_print("gmpx: fatal: %s [on a thread that is not an M]\n", buf);
	gx_print("\n");
	gx_trace_atfatal(); /* the flight recorder's file, or the trace's end */
	gx_dumpgs_exit(GX_DUMP_MAX, true, 2);
}

static const char *const gstatus_names[Gnstatus] = {"idle",    "runnable",  "running", "syscall",
						    "waiting", "preempted", "dead"};

const char *gx_gstatus_name(uint32_t st)
{
	return st < Gnstatus ? gstatus_names[st] : "???";
}

struct deadcount {
	int64_t waiting, syscall, other;
};

static void countg(gx_g *gp, void *arg)
{
	struct deadcount *c = arg;
	uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
	if (st == Gwaiting)
		c->waiting++;
	else if (st == Gsyscall)
		c->syscall++;
	else if (st != Gdead && st != Gidle)
		c->other++;
}

/* gx_checkdead - called when an M goes idle (sched.lock held). If no M is
 * running, no goroutine can ever become runnable again. */
void gx_checkdead(void)
{
	GX_ASSERT_LOCK_HELD(&gx_sched.lock);
	if (gx_debug.nodeadlock || !atomic_load(&gx_sched.started))
		return;
	int32_t run = gx_sched.mnext - gx_sched.nmidle - gx_sched.nmidlelocked - gx_sched.nmsys;
	if (run > 0)
		return;
	if (run < 0)
		gx_fatal("checkdead: inconsistent counts: %d Ms, %d idle, %d locked idle, %d system", gx_sched.mnext,
			 gx_sched.nmidle, gx_sched.nmidlelocked, gx_sched.nmsys);
	if (gx_timers_next() != 0)
		return; /* a timer will wake someone */
	struct deadcount c = {0, 0, 0};
	gx_forallg(countg, &c);
	if (c.syscall > 0 || c.other > 0)
		return; /* runnable Gs with every M idle would be a scheduler bug; let it show */
	if (gx_sched.stackwait) {
		gx_print("gmpx: fatal: out of memory: goroutines cannot get a stack and nothing else can run\n");
		gx_trace_atfatal();
		gx_dumpgs_exit(GX_DUMP_MAX, false, 2);
	}
	if (c.waiting == 0)
		return;
	gx_print("gmpx: fatal: all goroutines are asleep - deadlock!\n\n");
	gx_trace_atfatal();
	gx_dumpgs_exit(GX_DUMP_MAX, false, 2);
}
