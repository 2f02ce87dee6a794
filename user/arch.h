/* SPDX-License-Identifier: MIT */
/*
 * arch.h - the architecture boundary of the runtime.
 *
 * A goroutine's saved machine state is a single stack pointer: everything
 * else the ABI requires to survive a call (callee-saved registers, and the
 * floating-point control words) is pushed on the goroutine's own stack by
 * gx_ctx_switch before the pointer is saved. Adding an architecture means
 * writing user/arch/<arch>/ctx.S with the three symbols below and nothing
 * else: the scheduler never looks inside a saved context.
 */
#ifndef GX_ARCH_H
#define GX_ARCH_H

#include <stddef.h>

/*
 * gx_ctx_switch - save the current context on the current stack, store the
 * stack pointer in *save_sp, and resume the context whose stack pointer is
 * to_sp. Returns when someone switches back to *save_sp.
 */
void gx_ctx_switch(void **save_sp, void *to_sp);

/*
 * gx_ctx_make - prepare a fresh stack whose highest usable address is
 * stack_top so that the first gx_ctx_switch to the returned stack pointer
 * calls entry(arg) on that stack with a correctly aligned frame and default
 * floating-point control state. entry must never return.
 */
void *gx_ctx_make(void *stack_top, void (*entry)(void *), void *arg);

/* Size of the frame gx_ctx_make writes: the bytes of a fresh stack the
 * first switch touches. */
#define GX_CTX_FRAME 128

#endif
