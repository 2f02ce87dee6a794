/* SPDX-License-Identifier: MIT */
/*
 * Context switch for x86_64 (System V ABI).
 *
 * Saved on the stack of the context being left, in this order from high to
 * low addresses: return address (pushed by the call), rbp, rbx, r12-r15, and
 * one 8-byte slot holding MXCSR (low 4 bytes) and the x87 control word
 * (next 2 bytes). These are exactly the registers and control state the ABI
 * says survive a call; everything else is caller-saved, so the compiler has
 * already spilled it. The red zone is safe: we are inside a call.
 */
	.text
	.globl	gx_ctx_switch
	.type	gx_ctx_switch, @function
	.hidden	gx_ctx_switch
/* void gx_ctx_switch(void **save_sp [rdi], void *to_sp [rsi]) */
gx_ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	gx_ctx_switch, .-gx_ctx_switch

/*
 * First instructions of a new context: gx_ctx_make left entry in r12 and
 * its argument in r13. Clear rbp so unwinders stop here, align the stack
 * and call entry(arg), which never returns.
 */
	.globl	gx_ctx_start
	.type	gx_ctx_start, @function
	.hidden	gx_ctx_start
gx_ctx_start:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r13, %rdi
	andq	$-16, %rsp
	call	*%r12
	ud2
	.cfi_endproc
	.size	gx_ctx_start, .-gx_ctx_start

/* void *gx_ctx_make(void *stack_top [rdi], void (*entry)(void *) [rsi], void *arg [rdx]) */
	.globl	gx_ctx_make
	.type	gx_ctx_make, @function
	.hidden	gx_ctx_make
gx_ctx_make:
	.cfi_startproc
	movq	%rdi, %rax
	andq	$-16, %rax
	subq	$16, %rax		/* scratch above the frame, keeps alignment */
	leaq	gx_ctx_start(%rip), %rcx
	movq	%rcx, -8(%rax)		/* return address of the switch */
	movq	$0, -16(%rax)		/* rbp */
	movq	$0, -24(%rax)		/* rbx */
	movq	%rsi, -32(%rax)		/* r12 = entry */
	movq	%rdx, -40(%rax)		/* r13 = arg */
	movq	$0, -48(%rax)		/* r14 */
	movq	$0, -56(%rax)		/* r15 */
	movl	$0x1f80, -64(%rax)	/* MXCSR: all exceptions masked, round to nearest */
	movw	$0x037f, -60(%rax)	/* x87 CW: default */
	movw	$0, -58(%rax)
	subq	$64, %rax
	ret
	.cfi_endproc
	.size	gx_ctx_make, .-gx_ctx_make

	.section .note.GNU-stack,"",@progbits
