/* SPDX-License-Identifier: MIT */
/*
 * sysmon.c - the system monitor: a thread with no P.
 *
 * For now it prints the GX_DEBUG=schedtrace lines and is started only when
 * they are asked for. The syscalls/preemption work (retaking Ps from Ms in
 * system calls, asking long-running goroutines to yield, polling the
 * network) lands here, behind the policy interface the kernel-assisted
 * modes plug into. It never holds a P, so it does not count as a running M
 * for deadlock detection (sched.nmsys would count it if it were an M).
 */
#include "runtime.h"

#include <pthread.h>
#include <time.h>

static void *sysmon(void *arg)
{
	(void)arg;
	int64_t period = (int64_t)gx_debug.schedtrace * 1000000;
	int64_t next = gx_nanotime() + period;
	for (;;) {
		int64_t now = gx_nanotime();
		if (now < next) {
			struct timespec ts = {(time_t)((next - now) / 1000000000), (long)((next - now) % 1000000000)};
			nanosleep(&ts, NULL);
			continue;
		}
		gx_schedtrace(gx_debug.scheddetail != 0);
		next += period;
	}
	return NULL;
}

void gx_sysmon_start(void)
{
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, sysmon, NULL) != 0)
		gx_print("gmpx: cannot start sysmon; schedtrace is off\n");
	pthread_attr_destroy(&attr);
}
