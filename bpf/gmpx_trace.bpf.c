/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * gmpx_trace - the kernel assist's trace mode: keep each registered M's
 * kernel state word (m.mword) true, and tell sysmon at once when an M that
 * holds a P blocks while there is work for that P.
 *
 * The programs and the maps are in gmpx_trace.bpf.h and gmpx_state.bpf.h,
 * shared with the sched_ext scheduler (gmpx_scx.bpf.c), which carries them
 * too: this object is them alone, for kernels without sched_ext. With no
 * scheduler to run a standby, every block of an M holding a P with work is
 * reported to sysmon.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <gmpx/kabi.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct gx_kabi_proc;

/* No sched_ext scheduler here: no block is ever handed off. */
static __always_inline bool gx_handed_off(struct gx_kabi_proc *proc, __u32 pid, __u64 word)
{
	return false;
}

#include "gmpx_trace.bpf.h"
