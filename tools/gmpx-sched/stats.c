/* SPDX-License-Identifier: MIT */
/*
 * stats.c - gmpx-sched --stats: a separate invocation, no daemon started.
 * Opens the pinned gx_procs, and for every attached process (its key, the
 * tgid) gets the inner state map (a lookup on a map-in-map from userspace
 * returns the inner map's id), maps it read-only and prints what the
 * runtime and the BPF programs count there (struct gx_kabi_hdr) and what
 * its M slots say now; scx mode adds its counters (standby dispatches,
 * startm kicks, keep-alive runs, preemption) and, once per report, the
 * kernel's sched_ext state and SCX_EV_* counters. Nothing is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "gmpx_sched.h"

#define HIST_WIDTH 52

static const char *mode_name(__u32 m)
{
	switch (m) {
	case GX_KABI_OFF:
		return "off";
	case GX_KABI_TRACE:
		return "trace";
	case GX_KABI_SCX:
		return "scx";
	}
	return "?";
}

/* bpftrace-style bucket bound: 1, 2, ..., 512, 1K, ... */
static void bound(char *buf, size_t n, unsigned long long v)
{
	static const char *const suf[] = {"", "K", "M", "G"};
	int i = 0;

	while (v >= 1024 && v % 1024 == 0 && i < 3) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, "%llu%s", v, suf[i]);
}

static void print_hist(const struct gx_kabi_hdr *h)
{
	unsigned long long max = 0;
	int i, j;

	for (i = 0; i < GX_KABI_HIST_BUCKETS; i++)
		if (h->hist[i] > max)
			max = h->hist[i];
	if (max == 0) {
		printf("  hand-off latency: no hand-offs\n");
		return;
	}
	printf("  hand-off latency (block -> P handed off), us:\n");
	for (i = 0; i < GX_KABI_HIST_BUCKETS; i++) {
		char lo[16], hi[16], range[40];
		int w;

		if (h->hist[i] == 0)
			continue;
		bound(lo, sizeof(lo), i == 0 ? 0 : 1ull << i);
		bound(hi, sizeof(hi), 1ull << (i + 1));
		if (i == GX_KABI_HIST_BUCKETS - 1)
			snprintf(range, sizeof(range), "[%s, ...)", lo);
		else
			snprintf(range, sizeof(range), "[%s, %s)", lo, hi);
		w = (int)(h->hist[i] * HIST_WIDTH / max);
		printf("  %-14s %10llu |", range, (unsigned long long)h->hist[i]);
		for (j = 0; j < HIST_WIDTH; j++)
			putchar(j < w ? '@' : ' ');
		printf("|\n");
	}
}

/* scx: what the scheduler acts on, P by P and M by M */
static void print_scx_slots(const struct gx_kabi_proc *s)
{
	struct timespec ts;
	unsigned long long now;
	__u32 i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	printf("  quantum %llu us\n", (unsigned long long)s->hdr.quantum_ns / 1000);
	for (i = 0; i < s->hdr.np && i < GX_KABI_MAX_P; i++) {
		const struct gx_kabi_p *p = &s->p[i];

		printf("  P%u: cpu %d, owner M%d, status %u, nrunq %u, standby M%d, want %u, schedtick %u, slice "
		       "%s%.1f ms, "
		       "preempt %u (tick %u), dispatches %u\n",
		       i, p->cpu, p->owner, p->status, p->nrunq, p->standby, p->want, p->schedtick,
		       p->slice_start_ns ? "" : "never, ",
		       p->slice_start_ns && now > p->slice_start_ns ? (double)(now - p->slice_start_ns) / 1e6 : 0.0,
		       p->preempt, p->preempt_tick, p->ndispatch);
	}
	for (i = 0; i < s->hdr.nm && i < GX_KABI_MAX_M; i++) {
		const struct gx_kabi_m *m = &s->m[i];
		__u64 w = __atomic_load_n(&m->mword, __ATOMIC_RELAXED);

		if (m->tid == 0)
			continue;
		printf("  M%u: tid %d, rstate %u, p %d, word %u seq %llu\n", i, m->tid, m->rstate, m->p, GX_KM_STATE(w),
		       (unsigned long long)GX_KM_SEQ(w));
	}
}

static void print_proc(__u32 tgid, const struct gx_kabi_proc *s)
{
	const struct gx_kabi_hdr *h = &s->hdr;
	unsigned nm = 0, nblocked = 0, nrunning = 0, nrevoked = 0;
	unsigned long long blocks = 0;
	int i;

	if (h->magic != GX_KABI_MAGIC || h->version != GX_KABI_VERSION) {
		printf("pid %u: bad state header (magic %#x version %u)\n", tgid, h->magic, h->version);
		return;
	}
	for (i = 0; i < GX_KABI_MAX_M; i++) {
		const struct gx_kabi_m *m = &s->m[i];
		__u64 w = __atomic_load_n(&m->mword, __ATOMIC_RELAXED);

		blocks += m->nblocks;
		if (m->tid == 0)
			continue;
		nm++;
		switch (GX_KM_STATE(w)) {
		case GX_KM_BLOCKED:
			nblocked++;
			break;
		case GX_KM_RUNNING:
			nrunning++;
			break;
		case GX_KM_REVOKED:
			nrevoked++;
			break;
		}
	}
	printf("pid %u: mode %s, Ps %u, Ms %u (now %u blocked, %u running, %u revoked)\n", tgid, mode_name(h->mode),
	       h->np, nm, nblocked, nrunning, nrevoked);
	printf("  blocks %llu, events %llu (%llu dropped), hand-offs %llu (%llu revokes), sysmon event wake-ups %llu\n",
	       blocks, (unsigned long long)h->events, (unsigned long long)h->drops, (unsigned long long)h->handoffs,
	       (unsigned long long)h->revokes, (unsigned long long)h->wakeups);
	if (h->mode == GX_KABI_SCX) {
		unsigned long long ndisp = 0;

		for (i = 0; i < GX_KABI_MAX_P; i++)
			ndisp += s->p[i].ndispatch;
		printf("  scx: standby dispatches %llu (per P total %llu), wake dispatches %llu, keep-alive runs "
		       "%llu\n",
		       (unsigned long long)h->standby_dispatches, ndisp, (unsigned long long)h->wake_dispatches,
		       (unsigned long long)h->keepalive_runs);
		printf("  scx: preempt requests %llu, preempt events %llu; runtime: standby takes %llu, standby wakes "
		       "%llu\n",
		       (unsigned long long)h->preempt_requests, (unsigned long long)h->preempt_events,
		       (unsigned long long)h->standby_takes, (unsigned long long)h->standby_wakes);
		print_scx_slots(s);
	}
	print_hist(h);
}

/* Print one process's state; 0 or -errno. */
static int show(__u32 tgid, __u32 id)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (sizeof(struct gx_kabi_proc) + pg - 1) / pg * pg;
	struct gx_kabi_proc *s;
	int fd, err = 0;
	__u32 zero = 0;

	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	s = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (s != MAP_FAILED) {
		print_proc(tgid, s);
		munmap(s, len);
	} else {
		s = malloc(sizeof(*s));
		if (!s)
			err = -ENOMEM;
		else if (bpf_map_lookup_elem(fd, &zero, s) < 0)
			err = -errno;
		else
			print_proc(tgid, s);
		free(s);
	}
	close(fd);
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int report(int fd)
{
	__u32 keys[GX_KABI_MAX_PROCS] = {0}, key, next, *prev = NULL;
	size_t n = 0, i;

	while (n < GX_KABI_MAX_PROCS && bpf_map_get_next_key(fd, prev, &next) == 0) {
		keys[n++] = next;
		key = next;
		prev = &key;
	}
	qsort(keys, n, sizeof(keys[0]), cmp_u32);
	if (n == 0)
		printf("no process attached\n");
	for (i = 0; i < n; i++) {
		__u32 id;
		int err;

		if (bpf_map_lookup_elem(fd, &keys[i], &id) < 0)
			continue; /* detached meanwhile */
		err = show(keys[i], id);
		if (err)
			printf("pid %u: cannot read its state: %s\n", keys[i], strerror(-err));
	}
	return 0;
}

/* A daemon that was SIGKILLed leaves its pins: say so. */
static void check_lock(const struct gxs_opts *o)
{
	char path[PATH_MAX];
	int fd;

	/* Pins elsewhere belong to a daemon on some other socket: unless told
	 * which (--socket), there is no lock to look at. */
	if (strcmp(o->pin_dir, GX_KABI_PIN_DIR) != 0 && strcmp(o->sock, GX_SCHED_SOCK_DEFAULT) == 0)
		return;
	if (snprintf(path, sizeof(path), "%s.lock", o->sock) >= (int)sizeof(path))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		gxs_log("note: no daemon holds %s: these pins are stale (a daemon was killed)", path);
	close(fd);
}

int gxs_stats(const struct gxs_opts *o)
{
	char path[PATH_MAX];
	long k;

	if (snprintf(path, sizeof(path), "%s/%s", o->pin_dir, GXS_PIN_PROCS) >= (int)sizeof(path)) {
		gxs_log("pin directory name too long");
		return 1;
	}
	for (k = 0; o->count == 0 || k < o->count; k++) {
		int fd;

		if (k > 0) {
			struct timespec ts = {.tv_sec = (time_t)o->interval,
					      .tv_nsec = (long)((o->interval - (double)(time_t)o->interval) * 1e9)};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == ENOENT)
				gxs_log("no daemon (no pins under %s)", o->pin_dir);
			else
				gxs_log("cannot open %s: %s", path, strerror(errno));
			return 1;
		}
		if (k == 0)
			check_lock(o);
		if (o->interval > 0) {
			char tbuf[32];
			time_t t = time(NULL);
			struct tm tm;

			strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime_r(&t, &tm));
			printf("%s--- %s\n", k ? "\n" : "", tbuf);
		}
		gxs_scx_kernel_stats();
		report(fd);
		fflush(stdout);
		close(fd);
	}
	return 0;
}
