/* SPDX-License-Identifier: MIT */
/*
 * debug.c - GX_DEBUG, the runtime's GODEBUG.
 *
 *   GX_DEBUG=schedtrace=MS     every MS ms print Go's SCHED line:
 *       SCHED 1000ms: gomaxprocs=2 idleprocs=0 threads=3 spinningthreads=0
 *       idlethreads=1 runqueue=0 [0 0]
 *     (runqueue is the global queue, the brackets the per-P local queues).
 *   GX_DEBUG=schedtrace=MS,scheddetail=1   adds a line per P, per M and per
 *     goroutine, as Go's scheddetail does.
 *   GX_DEBUG=deadlock=0        turn off deadlock detection (for programs
 *     whose goroutines are woken by gx_ready from foreign threads).
 *   GX_DEBUG=asyncpreemptoff=1 no signal-based preemption (preempt.c).
 *   GX_DEBUG=sigquit=0         leave SIGQUIT alone (no goroutine dump: dump.c).
 *   GX_DEBUG=schedlat=1        keep the scheduling-latency histogram from the
 *     start (else from the first read of it: metrics.c).
 * The trace is printed by sysmon (sysmon.c), without stopping the world,
 * so the figures on one line may be from slightly different instants.
 */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gx_parsedebug(const char *s)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	char *save;
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			gx_print("gmpx: GX_DEBUG: ignoring \"%s\" (want key=value)\n", kv);
			continue;
		}
		*eq = 0;
		char *end;
		long lv = strtol(eq + 1, &end, 10);
		if (*end || lv < 0 || lv > 1000000000) {
			gx_print("gmpx: GX_DEBUG: %s=%s is not a number; ignored\n", kv, eq + 1);
			continue;
		}
		int v = (int)lv;
		if (strcmp(kv, "schedtrace") == 0)
			gx_debug.schedtrace = v;
		else if (strcmp(kv, "scheddetail") == 0)
			gx_debug.scheddetail = v;
		else if (strcmp(kv, "asyncpreemptoff") == 0)
			gx_debug.asyncpreemptoff = v;
		else if (strcmp(kv, "deadlock") == 0)
			gx_debug.nodeadlock = v == 0;
		else if (strcmp(kv, "sigquit") == 0)
			gx_debug.nosigquit = v == 0;
		else if (strcmp(kv, "schedlat") == 0)
			atomic_store(&gx_schedlat_on, v != 0);
		else
			gx_print("gmpx: GX_DEBUG: unknown setting \"%s=%s\" (known: schedtrace, scheddetail, "
				 "asyncpreemptoff, deadlock, sigquit, schedlat)\n",
				 kv, eq + 1);
	}
}

GX_NO_TSAN static void detailg(gx_g *gp, void *arg)
{
	(void)arg;
	uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
	if (st == Gdead)
		return;
	struct gx_m *mp = gp->m;
	gx_print("  G%lld: status=%u(%s)%s%s%s m=%lld\n", (long long)gp->goid, st,
		 st == Gwaiting && gp->waitreason ? gp->waitreason : gx_gstatus_name(st), gp->name ? " name=\"" : "",
		 gp->name ? gp->name : "", gp->name ? "\"" : "", mp ? (long long)mp->id : -1LL);
}

/* gx_schedtrace - one SCHED line (and the detail lines). Reads the state
 * without locks: a snapshot, not a consistent cut. */
GX_NO_TSAN void gx_schedtrace(bool detail)
{
	int64_t ms = (gx_nanotime() - gx_sched.starttime) / 1000000;
	int32_t procs = atomic_load(&gx_sched.gomaxprocs);
	char line[8192];
	int n = snprintf(line, sizeof(line),
			 "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d idlethreads=%d "
			 "runqueue=%d",
			 (long long)ms, procs, atomic_load(&gx_sched.npidle), gx_sched.mnext,
			 atomic_load(&gx_sched.nmspinning), gx_sched.nmidle, atomic_load(&gx_sched.runqsize));
	if (!detail) {
		n += snprintf(line + n, sizeof(line) - (size_t)n, " [");
		for (int32_t i = 0; i < procs && n < (int)sizeof(line) - 16; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, i ? " %u" : "%u", gx_runqlen(gx_allp[i]));
		snprintf(line + n, sizeof(line) - (size_t)n, "]");
	}
	gx_print("%s\n", line);
	if (!detail)
		return;
	for (int32_t i = 0; i < gx_sched.nallp; i++) {
		struct gx_p *pp = gx_allp[i];
		struct gx_m *mp = pp->m;
		int64_t t0 = atomic_load(&pp->timer0when);
		gx_print("  P%d: status=%u schedtick=%u m=%lld runqsize=%u runnext=%s gfreecnt=%d executions=%llu "
			 "timers=%d timer0=%lldms\n",
			 pp->id, atomic_load(&pp->status), atomic_load(&pp->schedtick), mp ? (long long)mp->id : -1LL,
			 gx_runqlen(pp), atomic_load(&pp->runnext) ? "yes" : "no", pp->gfreecnt,
			 (unsigned long long)atomic_load(&pp->executions), pp->ntimers,
			 t0 ? (long long)((t0 - gx_sched.starttime) / 1000000) : -1LL);
	}
	int64_t lastpoll = atomic_load(&gx_sched.lastpoll), until = atomic_load(&gx_sched.polluntil);
	gx_print("  netpoll: %s until=%lldms\n", lastpoll ? "nobody polling" : "an M is polling",
		 until ? (long long)((until - gx_sched.starttime) / 1000000) : -1LL);
	for (struct gx_m *mp = atomic_load(&gx_sched.allm); mp; mp = mp->alllink) {
		struct gx_p *pp = mp->p;
		gx_g *gp = mp->curg;
		gx_print("  M%lld: p=%d curg=%lld locks=%u spinning=%s tid=%d\n", (long long)mp->id, pp ? pp->id : -1,
			 gp ? (long long)gp->goid : -1LL, mp->locks, mp->spinning ? "true" : "false", (int)mp->tid);
	}
	gx_forallg(detailg, NULL);
}
