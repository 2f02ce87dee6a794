/* SPDX-License-Identifier: MIT */
/* Last object of the runtime's partial link: the end of the runtime's text. */
	.text
	.globl	gx_text_end
	.hidden	gx_text_end
gx_text_end:
	.section .note.GNU-stack,"",@progbits
