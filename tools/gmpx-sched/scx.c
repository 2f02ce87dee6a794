/* SPDX-License-Identifier: MIT */
/*
 * scx.c - scx mode's view of the kernel: the exit record the scheduler's
 * ops.exit leaves in gx_scx_exit_rb (kind, reason, message: what the scx
 * schedulers print as "EXIT: ..."), the kernel's own word on whether a
 * sched_ext scheduler is enabled (/sys/kernel/sched_ext/state: the
 * fallback should a record never come), and, for --stats, the kernel's
 * sched_ext state, ops name and SCX_EV_* counters
 * (/sys/kernel/sched_ext/root/events, present while one is enabled).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "gmpx_sched.h"
#include "gmpx_scx.h"

#define SCX_SYSFS "/sys/kernel/sched_ext"

static int on_exit_record(void *ctx, void *data, size_t size)
{
	struct gxs_scx_exit *x = ctx;
	const struct gx_scx_exit *r = data;

	if (size < sizeof(*r))
		return 0;
	x->seen = true;
	x->kind = r->kind;
	x->code = r->exit_code;
	snprintf(x->reason, sizeof(x->reason), "%.*s", (int)sizeof(r->reason), r->reason);
	snprintf(x->msg, sizeof(x->msg), "%.*s", (int)sizeof(r->msg), r->msg);
	return 0;
}

/* the record lands in the struct the ring buffer was made with */
static struct gxs_scx_exit exit_rec;

int gxs_scx_watch(struct gxs_bpf *b)
{
	b->exit_rb = ring_buffer__new(b->exit_rb_fd, on_exit_record, &exit_rec, NULL);
	if (!b->exit_rb)
		return -errno;
	return ring_buffer__epoll_fd(b->exit_rb);
}

void gxs_scx_watch_close(struct gxs_bpf *b)
{
	if (b->exit_rb)
		ring_buffer__free(b->exit_rb);
	b->exit_rb = NULL;
}

bool gxs_scx_poll(struct gxs_bpf *b, struct gxs_scx_exit *x)
{
	if (b->exit_rb)
		ring_buffer__consume(b->exit_rb);
	if (!exit_rec.seen)
		return false;
	*x = exit_rec;
	return true;
}

static int read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)n, f))
		err = -EIO;
	fclose(f);
	if (!err)
		buf[strcspn(buf, "\n")] = '\0';
	return err;
}

bool gxs_scx_enabled(void)
{
	char st[32];

	/* unreadable: no opinion (the ring buffer still reports) */
	if (read_line(SCX_SYSFS "/state", st, sizeof(st)) < 0)
		return true;
	return strcmp(st, "disabled") != 0;
}

const char *gxs_scx_kind_name(int kind)
{
	switch (kind) {
	case 0:
		return "none";
	case 1:
		return "done";
	case 64:
		return "unregistered from user space";
	case 65:
		return "unregistered by BPF";
	case 66:
		return "unregistered by the kernel";
	case 67:
		return "SysRq-S";
	case 1024:
		return "error";
	case 1025:
		return "scx_bpf_error";
	case 1026:
		return "runnable task stall";
	}
	return kind >= 1024 ? "error" : "?";
}

void gxs_scx_kernel_stats(void)
{
	char st[32], ops[160], line[256];
	FILE *f;

	if (read_line(SCX_SYSFS "/state", st, sizeof(st)) < 0) {
		printf("sched_ext: not in this kernel (no %s/state)\n", SCX_SYSFS);
		return;
	}
	if (read_line(SCX_SYSFS "/root/ops", ops, sizeof(ops)) < 0)
		snprintf(ops, sizeof(ops), "-");
	printf("sched_ext: %s, scheduler %s\n", st, ops);
	f = fopen(SCX_SYSFS "/root/events", "re");
	if (!f)
		return;
	printf("  kernel events:");
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' '), *end;
		long long v;

		/* "SCX_EV_NAME value" */
		if (!sp)
			continue;
		*sp = '\0';
		errno = 0;
		v = strtoll(sp + 1, &end, 10);
		if (!errno && end != sp + 1 && v != 0)
			printf(" %s %lld", line, v);
	}
	printf(" (others 0)\n");
	fclose(f);
}
