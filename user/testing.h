/* SPDX-License-Identifier: MIT */
/*
 * testing.h - the few internals the self-tests look at. Not installed, not
 * part of the API: tests include it to observe the scheduler (which P ran a
 * goroutine, how many Gs each P executed) without the runtime exporting its
 * types.
 */
#ifndef GX_TESTING_H
#define GX_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Id of the P the calling goroutine runs on, or -1. */
int gx_test_current_p(void);
/* Goroutines P pid has executed (each switch into a G counts), or 0. */
uint64_t gx_test_p_executions(int pid);
/* Guard page mechanism in use: 1 MADV_GUARD_INSTALL, 2 mprotect, 0 none yet. */
int gx_test_guard_mode(void);
/* The calling goroutine's stack: lowest usable address and size. */
uintptr_t gx_test_stack_lo(void);
size_t gx_test_stack_size(void);
/* The cgroup CPU limit gx_default_maxprocs sees (ceil of quota/period), 0 if none. */
int gx_test_cgroup_limit(void);
/* gx_default_maxprocs() */
int gx_test_default_maxprocs(void);
/* 0 plain build, 1 ASan+UBSan, 2 TSan (tests scale down). */
int gx_test_sanitized(void);
/* Asynchronous preemptions carried out so far (trampoline entries). */
uint64_t gx_test_async_preemptions(void);
/* Whether asynchronous preemption is on (off under TSan or asyncpreemptoff=1). */
int gx_test_async_preempt_enabled(void);

/* kassist (test_kassist.c). gx_test_fake_kblock: do what the BPF program
 * does when P pid's M blocks in the kernel (its word -> BLOCKED), then what
 * sysmon does on the event (revoke the P if the M was in goroutine code
 * and the P has work). Returns 1 if the P was revoked, 0 if not, -1 if
 * pid has no M. Only while that M is asleep in the kernel. */
int gx_test_fake_kblock(int pid);
/* Thread id of P pid's M, 0 if none. */
int gx_test_p_mtid(int pid);
/* The state shared with the kernel, NULL if never attached. */
struct gx_kabi_proc;
const struct gx_kabi_proc *gx_test_kabi(void);
/* Thread id of the calling goroutine's M. */
int gx_test_mtid(void);

/* 1 if this build checks lock preconditions (runtime.h: GX_LOCK_CHECKS). */
int gx_test_lock_checks(void);
/* GX_ASSERT_LOCK_HELD(&sched.lock), after taking it if take. */
void gx_test_assert_sched_lock(bool take);

/* Goroutines waiting to send on / receive from c (no lock: a snapshot). */
struct gx_chan;
void gx_chanwaiters(struct gx_chan *c, int *nsend, int *nrecv);

#endif
