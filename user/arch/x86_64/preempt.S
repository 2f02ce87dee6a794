/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous preemption trampoline for x86_64.
 *
 * The SIGURG handler (preempt.c) does not switch goroutines itself: it
 * edits the interrupted context so that, when the handler returns, the
 * goroutine "calls" gx_async_preempt. Because C code may keep live data in
 * the 128-byte red zone below %rsp, the handler leaves the red zone alone:
 * it builds an interrupt-return frame below it and points %rsp there:
 *
 *     [rsp + 0]  RIP    the interrupted instruction
 *     [rsp + 8]  CS     (filled in here)
 *     [rsp + 16] RFLAGS (filled in here)
 *     [rsp + 24] RSP    the interrupted stack pointer
 *     [rsp + 32] SS     (filled in here)
 *
 * The trampoline saves every general register and the flags, the whole
 * extended state with XSAVE (x87, SSE, AVX, AVX-512: whatever XCR0 enables,
 * gx_xsave_size bytes, 64-byte aligned), calls gx_async_preempt_park (which
 * yields: the goroutine may resume much later, on another thread), restores
 * everything and returns with IRETQ, which reloads RIP, RSP and RFLAGS in one
 * instruction. No register, flag or red-zone byte of the interrupted code
 * changes. IRETQ to the same privilege level is allowed in user mode.
 */
	.text
	.globl	gx_text_preempt_begin
	.hidden	gx_text_preempt_begin
gx_text_preempt_begin:

	.globl	gx_async_preempt
	.type	gx_async_preempt, @function
	.hidden	gx_async_preempt
gx_async_preempt:
	.cfi_startproc
	.cfi_signal_frame
	/* complete the iret frame */
	pushq	%rax
	movq	%cs, %rax
	movq	%rax, 16(%rsp)		/* CS: rsp+8 before our push */
	pushfq
	popq	%rax
	movq	%rax, 24(%rsp)		/* RFLAGS */
	movq	%ss, %rax
	movq	%rax, 40(%rsp)		/* SS */
	popq	%rax
	/* general registers */
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	/* extended state, in an aligned area below */
	movq	%rsp, %rbp
	/* From here until rbp is popped, unwinders (goroutine dumps of a
	 * preempted G) find the interrupted frame through rbp: CFA = the
	 * interrupted RSP at [rbp+144], RIP at [rbp+120] (exact: a signal
	 * frame), and the callee-saved registers where they were pushed. */
	.cfi_remember_state
	.cfi_escape 0x0f, 4, 0x76, 0x90, 0x01, 0x06	/* DW_CFA_def_cfa_expression: *(rbp + 144) */
	.cfi_escape 0x10, 0x10, 3, 0x76, 0xf8, 0x00	/* DW_CFA_expression rip: rbp + 120 */
	.cfi_escape 0x10, 0x06, 3, 0x76, 0xc0, 0x00	/* rbp: rbp + 64 */
	.cfi_escape 0x10, 0x03, 3, 0x76, 0xe8, 0x00	/* rbx: rbp + 104 */
	.cfi_escape 0x10, 0x0c, 2, 0x76, 0x18		/* r12: rbp + 24 */
	.cfi_escape 0x10, 0x0d, 2, 0x76, 0x10		/* r13: rbp + 16 */
	.cfi_escape 0x10, 0x0e, 2, 0x76, 0x08		/* r14: rbp + 8 */
	.cfi_escape 0x10, 0x0f, 2, 0x76, 0x00		/* r15: rbp + 0 */
	subq	gx_xsave_size(%rip), %rsp
	andq	$-64, %rsp
	/* XRSTOR needs the XSAVE header (bytes 512..575) zero but for what
	 * XSAVE writes: clear it first */
	xorl	%eax, %eax
	movq	%rax, 512(%rsp)
	movq	%rax, 520(%rsp)
	movq	%rax, 528(%rsp)
	movq	%rax, 536(%rsp)
	movq	%rax, 544(%rsp)
	movq	%rax, 552(%rsp)
	movq	%rax, 560(%rsp)
	movq	%rax, 568(%rsp)
	movl	$-1, %eax
	movl	$-1, %edx
	xsave	(%rsp)
	cld				/* the ABI wants DF clear at calls; IRETQ restores it */
	call	gx_async_preempt_park
	movl	$-1, %eax
	movl	$-1, %edx
	xrstor	(%rsp)
	movq	%rbp, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	.cfi_restore_state
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	iretq
	.cfi_endproc
	.size	gx_async_preempt, .-gx_async_preempt

	.globl	gx_text_preempt_end
	.hidden	gx_text_preempt_end
gx_text_preempt_end:

	.section .note.GNU-stack,"",@progbits
