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
 * In normal builds all of this compiles to nothing.
 */
#ifndef GX_SANITIZER_H
#define GX_SANITIZER_H

#include <stddef.h>

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

#endif
