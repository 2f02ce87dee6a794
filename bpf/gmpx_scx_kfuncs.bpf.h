/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * gmpx_scx_kfuncs.bpf.h - the sched_ext kfuncs gmpx_scx.bpf.c calls and the
 * few macros it needs, written for this toolchain (clang 14, libbpf 1.1.2,
 * whose headers have neither). Prototypes as the 7.3 kernel's BTF gives
 * them (the names without _impl: the kernel supplies the implicit argument
 * of their _impl twins itself); libbpf resolves each against the running
 * kernel at load time, so a kernel without one of them refuses the object
 * with that name in the log.
 */
#ifndef GMPX_SCX_KFUNCS_BPF_H
#define GMPX_SCX_KFUNCS_BPF_H

/* the ops callbacks: BPF_PROG with the ops' own signature */
#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
/* libbpf 1.1 knows no "struct_ops.s/": the loader marks these sleepable
 * with bpf_program__set_flags(BPF_F_SLEEPABLE) before loading */
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) BPF_STRUCT_OPS(name, ##args)

extern s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
extern s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;
extern bool scx_bpf_test_and_clear_cpu_idle(s32 cpu) __ksym;
extern s32 scx_bpf_pick_idle_cpu(const struct cpumask *cpus_allowed, u64 flags) __ksym;
extern void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
extern bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym;
extern bool scx_bpf_dsq_move(struct bpf_iter_scx_dsq *it__iter, struct task_struct *p, u64 dsq_id,
			     u64 enq_flags) __ksym;
extern void scx_bpf_dsq_move_set_slice(struct bpf_iter_scx_dsq *it__iter, u64 slice) __ksym;
extern s32 scx_bpf_dsq_nr_queued(u64 dsq_id) __ksym;
extern void scx_bpf_kick_cpu(s32 cpu, u64 flags) __ksym;
extern u32 scx_bpf_nr_cpu_ids(void) __ksym;
extern struct task_struct *scx_bpf_cpu_curr(s32 cpu) __ksym;
extern s32 scx_bpf_task_cpu(const struct task_struct *p) __ksym;
extern void scx_bpf_error_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;
extern int bpf_iter_scx_dsq_new(struct bpf_iter_scx_dsq *it, u64 dsq_id, u64 flags) __ksym;
extern struct task_struct *bpf_iter_scx_dsq_next(struct bpf_iter_scx_dsq *it) __ksym;
extern void bpf_iter_scx_dsq_destroy(struct bpf_iter_scx_dsq *it) __ksym;
extern bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/*
 * Open-coded iterators (kernel 6.4+; the verifier sees the bounds). The
 * iterator it lives on the caller's stack: bpf_iter_*_new() before the
 * loop, bpf_iter_*_destroy() after it, on every path (leaving the loop by
 * return leaks it: the verifier refuses). No cleanup attribute: clang 14
 * emits no BTF for a kfunc only called through one, and libbpf cannot link.
 *   gx_for(i, it, a, b)       the int i = a .. b-1 (struct bpf_iter_num it)
 *   gx_dsq_each(p, it, dsq)   p = each task queued on dsq
 *                             (struct bpf_iter_scx_dsq it: for scx_bpf_dsq_move)
 */
#define gx_for(i, it, start, end)                          \
	for (bpf_iter_num_new(&(it), (start), (end)); ({   \
		     int *___t = bpf_iter_num_next(&(it)); \
		     ___t ? ((i) = *___t, 1) : 0;          \
	     });)
#define gx_dsq_each(p, it, dsq) for (bpf_iter_scx_dsq_new(&(it), (dsq), 0); ((p) = bpf_iter_scx_dsq_next(&(it)));)

#endif
