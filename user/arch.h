/* SPDX-License-Identifier: MIT */
/*
 * arch.h - the architecture boundary of the runtime.
 *
 * A goroutine's saved machine state is a single stack pointer: everything
 * else the ABI requires to survive a call (callee-saved registers, and the
 * floating-point control words) is pushed on the goroutine's own stack by
 * gx_ctx_switch before the pointer is saved. Adding an architecture means
 * writing user/arch/<arch>/ctx.S with the three symbols below, and (for
 * stacks in goroutine dumps) gx_ctx_saved_regs: the scheduler never looks
 * inside a saved context.
 */
#ifndef GX_ARCH_H
#define GX_ARCH_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * The registers a saved context holds, for unwinders (dumps): where the
 * context would resume (ip, a return address into gx_ctx_switch's caller),
 * its stack pointer after that return, and the callee-saved registers.
 * Only code that shows stacks reads a saved context; the scheduler never
 * does.
 */
struct gx_ctx_regs {
	uintptr_t ip, sp, bp, bx, r12, r13, r14, r15;
};
#if defined(__x86_64__)
/* gx_ctx_switch's frame, from sp up: MXCSR and x87 CW (8 bytes), r15,
 * r14, r13, r12, rbx, rbp, the return address. */
static inline void gx_ctx_saved_regs(const void *sp, struct gx_ctx_regs *r)
{
	const uintptr_t *w = (const uintptr_t *)sp;
	r->r15 = w[1];
	r->r14 = w[2];
	r->r13 = w[3];
	r->r12 = w[4];
	r->bx = w[5];
	r->bp = w[6];
	r->ip = w[7];
	r->sp = (uintptr_t)(w + 8);
}
#define GX_HAVE_CTX_REGS 1
#else
#define GX_HAVE_CTX_REGS 0
#endif

#endif
