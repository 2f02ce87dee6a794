/* SPDX-License-Identifier: MIT */
/* First object of the runtime's partial link (Makefile): marks where the
 * runtime's text starts, so asynchronous preemption can tell runtime code
 * (never preempted) from user code. */
	.text
	.globl	gx_text_begin
	.hidden	gx_text_begin
gx_text_begin:
	.section .note.GNU-stack,"",@progbits
