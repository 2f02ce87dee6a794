/* SPDX-License-Identifier: MIT */
/*
 * lockosthread.c - gx_lock_os_thread (Go's LockOSThread): a goroutine
 * locked to its M runs only there, and that M runs only it. While the
 * locked G is not running its M gives its P away and sleeps
 * (gx_stoplockedm); an M that dequeues the G hands it its own P and parks
 * (gx_startlockedm), so the G resumes on its thread. Calls nest; a
 * goroutine that exits locked frees its thread again (goexit0). The
 * scheduler's side is in proc.c (schedule, exitsyscall0).
 */
#include "runtime.h"

#include <errno.h>

/* gx_stoplockedm - our locked G is not running: give the P away and sleep
 * until an M that finds the G runnable hands it to us with a P. */
void gx_stoplockedm(void)
{
	struct gx_m *mp = getm();
	if (mp->p)
		gx_handoffp(gx_releasep());
	gx_lock(&gx_sched.lock);
	gx_sched.nmidlelocked++;
	gx_checkdead();
	gx_unlock(&gx_sched.lock);
	gx_notesleep(&mp->park);
	gx_noteclear(&mp->park);
	gx_lock(&gx_sched.lock);
	gx_sched.nmidlelocked--;
	gx_unlock(&gx_sched.lock);
	struct gx_p *pp = mp->nextp;
	mp->nextp = NULL;
	gx_acquirep(pp);
}

/* gx_startlockedm - gp (runnable, taken off a queue) is locked to another M:
 * hand it our P and park. */
void gx_startlockedm(gx_g *gp)
{
	struct gx_m *target = gp->lockedm;
	struct gx_p *pp = gx_releasep();
	target->nextp = pp;
	gx_notewakeup(&target->park);
	gx_stopm();
}

int gx_lock_os_thread(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	gx_g *gp = mp->curg;
	gp->lockedcount++;
	gp->lockedm = mp;
	mp->lockedg = gp;
	return 0;
}

int gx_unlock_os_thread(void)
{
	GX_ENTER();
	struct gx_m *mp = getm();
	if (!mp || !mp->curg)
		return -EPERM;
	gx_g *gp = mp->curg;
	if (gp->lockedcount == 0)
		return 0; /* Go: a no-op */
	if (--gp->lockedcount == 0) {
		gp->lockedm = NULL;
		mp->lockedg = NULL;
	}
	return 0;
}
