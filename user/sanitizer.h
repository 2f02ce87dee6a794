/* SPDX-License-Identifier: MIT */
/*
 * sanitizer.h - tell ASan and TSan about stack switches.
 *
 * A goroutine switch moves the CPU to another stack without a call/return
 * pair the sanitizers can see. Without annotations ASan mistakes the new
 * stack for a buffer overflow of the old one and TSan merges the histories
 * of every goroutine that ever ran on a thread. So every switch is
 * bracketed:
 *   ASan: __sanitizer_start_switch_fiber(save, new_bottom, new_size) before,
 *         __sanitizer_finish_switch_fiber(save, ...) on arrival (also as the
 *         first thing a new goroutine does). A goroutine that will never run
 *         again passes save = NULL so its fake stack is released.
 *   TSan: each G owns a fiber (__tsan_create_fiber); __tsan_switch_to_fiber
 *         before the switch. Ms' g0 use the thread's own fiber.
 * Reused stacks (ASan). A goroutine exits through frames that never return
 * (gentry -> goexit1 -> mcall, switching away for good), so their redzones
 * stay poisoned in the shadow memory. The next goroutine on that stack puts
 * its own frames there, and ASan's prologues poison only their redzones:
 * a local buffer of the new goroutine would keep the old poison, and a
 * correct read into it (pread's interceptor, a plain store) would be
 * reported as a stack-buffer-underflow, or trip ASan's
 * kCurrentStackFrameMagic check while it describes the address. So when a
 * goroutine's stack is freed, gx_asan_stack_dead unpoisons the part it
 * last used, from its final stack pointer to the top (frames below it
 * returned, and their epilogues cleaned up): a few hundred bytes, not the
 * whole stack.
 * In normal builds all of this compiles to nothing.
 */
#ifndef GX_SANITIZER_H
#define GX_SANITIZER_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define GX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GX_ASAN 1
#endif
#endif
#ifndef GX_ASAN
#define GX_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define GX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GX_TSAN 1
#endif
#endif
#ifndef GX_TSAN
#define GX_TSAN 0
#endif

/* GX_NO_TSAN - for code that reads shared state racily on purpose (the
 * schedtrace snapshot): TSan would report what is by design. */
#if GX_TSAN
#define GX_NO_TSAN __attribute__((no_sanitize_thread))
#else
#define GX_NO_TSAN
#endif

#if GX_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old, size_t *size_old);
#endif
#if GX_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

/* gx_asan_stack_dead - the goroutine on stack [lo, lo + size) is gone; sp:
 * its stack pointer when it last switched away (see the top). */
static inline void gx_asan_stack_dead(uintptr_t lo, size_t size, uintptr_t sp)
{
#if GX_ASAN
	/* 256: below sp, gx_ctx_switch's pushes (not instrumented) */
	uintptr_t from = sp >= lo + 256 && sp <= lo + size ? sp - 256 : lo;
	__asan_unpoison_memory_region((const void *)from, lo + size - from);
#else
	(void)lo;
	(void)size;
	(void)sp;
#endif
}

#endif
