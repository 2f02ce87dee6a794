/* SPDX-License-Identifier: MIT */
/*
 * kassist_ring.c - the ring buffer of kernel events (a BPF_MAP_TYPE_RINGBUF
 * the daemon made for this process): GX_EV_BLOCK when an M that holds a P
 * with work blocks in the kernel, GX_EV_PREEMPT (scx) when a slice overran
 * the quantum. Mapped once at attach: the consumer position page read-write,
 * the producer page and the data (mapped twice over, so a record that wraps
 * reads as one piece) read-only.
 *
 * One consumer at a time: sysmon, or the trace waiter M (kassist_trace.c),
 * excluded by rb_draining; the other's drain returns at once, and the ring
 * buffer's epoll readiness is level-triggered, so nothing is lost. Each
 * event goes to the mode's event hook (kassist.h), which acts on it
 * (revokes or hands off a P, signals an overrunning G).
 */
#include "runtime.h"
#include "kassist.h"
#include "trace.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int gx_kring_fd = -1;
static _Atomic uint64_t *rb_consumer; /* consumer position page (ours) */
static _Atomic uint64_t *rb_producer; /* producer position page, then the data (twice, for wrap-around) */
static unsigned char *rb_data;
static uint64_t rb_mask;
static _Atomic bool rb_draining; /* a consumer is at it */

int gx_kring_map(int fd, char *why, size_t whylen)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *c = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED) {
		snprintf(why, whylen, "cannot map the ring buffer: %s", strerror(errno));
		return -1;
	}
	void *p = mmap(NULL, (size_t)pg + 2 * (size_t)GX_KABI_RINGBUF_SIZE, PROT_READ, MAP_SHARED, fd, pg);
	if (p == MAP_FAILED) {
		snprintf(why, whylen, "cannot map the ring buffer: %s", strerror(errno));
		munmap(c, (size_t)pg);
		return -1;
	}
	rb_consumer = c;
	rb_producer = p;
	rb_data = (unsigned char *)p + pg;
	rb_mask = GX_KABI_RINGBUF_SIZE - 1;
	gx_kring_fd = fd;
	return 0;
}

int gx_kring_drain(int64_t now, struct gx_p **taken)
{
	int n = 0;
	if (!rb_consumer || atomic_exchange_explicit(&rb_draining, true, memory_order_acquire))
		return 0; /* not mapped, or the other consumer is at it */
	const struct gx_kassist_ops *ops = atomic_load_explicit(&gx_kassist, memory_order_acquire);
	uint64_t cons = atomic_load_explicit(rb_consumer, memory_order_acquire);
	for (;;) {
		uint64_t prod = atomic_load_explicit(rb_producer, memory_order_acquire);
		if (cons >= prod)
			break;
		_Atomic uint32_t *hdr = (_Atomic uint32_t *)(rb_data + (cons & rb_mask));
		uint32_t len = atomic_load_explicit(hdr, memory_order_acquire);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break; /* being written */
		uint32_t sz = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		if (!(len & BPF_RINGBUF_DISCARD_BIT) && sz >= sizeof(struct gx_kabi_event)) {
			struct gx_kabi_event ev;
			memcpy(&ev, rb_data + (cons & rb_mask) + BPF_RINGBUF_HDR_SZ, sizeof(ev));
			if (ev.type == GX_EV_KSWITCH || ev.type == GX_EV_KRUN) {
				gx_trace_kevent(&ev); /* the execution trace's kernel view */
				goto next;
			}
			bool take = taken && !*taken;
			struct gx_p *pp = ops->event(&ev, now, take);
			if (pp && take)
				*taken = pp;
			n++;
		}
	next:
		cons += (sz + BPF_RINGBUF_HDR_SZ + 7) & ~(uint64_t)7;
		atomic_store_explicit(rb_consumer, cons, memory_order_release);
	}
	atomic_store_explicit(&rb_draining, false, memory_order_release);
	if (n > 0)
		__atomic_fetch_add(&gx_kabi->hdr.wakeups, 1, __ATOMIC_RELAXED);
	return n;
}
