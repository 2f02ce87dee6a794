/* SPDX-License-Identifier: MIT */
/*
 * gmpx/chan.h - channels and select with Go's semantics. Included by gmpx.h;
 * see there for the conventions (negative errno results, [G] calls,
 * deadlines: GX_FOREVER, GX_NOW or an absolute gx_now() time in ns).
 *
 * A channel carries elements of a fixed size, copied by value: a send copies
 * elemsize bytes from the caller's buffer, a receive copies them into the
 * caller's buffer. An unbuffered channel (cap 0) is a rendezvous: the value
 * goes straight from the sender's buffer to the receiver's. A buffered
 * channel is a FIFO ring of cap elements. Blocked senders and receivers wait
 * in FIFO order. Everything Go's runtime would panic on (send on a closed
 * channel, closing twice, closing nil) is an error code here.
 *
 * The NULL channel behaves as Go's nil channel: send and receive block
 * forever (so only a deadline or GX_NOW ends them), and select ignores cases
 * on it. Calls may be made from any thread; only blocking needs a goroutine:
 * a call that would block outside runtime context returns -EPERM.
 *
 * Deadlines: GX_FOREVER (any negative value) blocks until the operation can
 * proceed; GX_NOW never blocks (-EAGAIN if it would); any other value is an
 * absolute time on the gx_now() clock: the call returns -ETIMEDOUT once it
 * has passed (never before) if the operation could not proceed by then. An
 * operation that can proceed at once always does, even with a deadline in
 * the past.
 */
#ifndef GMPX_CHAN_H
#define GMPX_CHAN_H

#include <gmpx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gx_chan gx_chan;

/* Largest element and largest capacity gx_chan_make accepts. */
#define GX_CHAN_ELEM_MAX ((size_t)65536)
#define GX_CHAN_CAP_MAX	 ((size_t)1 << 30)

/*
 * gx_chan_make - make a channel of elements of elemsize bytes with room for
 * cap of them (0: unbuffered). elemsize 0 makes a signal channel (only the
 * events count; elem pointers may then be NULL). Returns 0 and *ch, or
 * -EINVAL (ch NULL, elemsize > GX_CHAN_ELEM_MAX, cap > GX_CHAN_CAP_MAX),
 * -ENOMEM.
 */
int gx_chan_make(gx_chan **ch, size_t elemsize, size_t cap);

/*
 * gx_chan_free - free a channel. Returns 0 (also for NULL), or -EBUSY if
 * goroutines are blocked on it (it is left alone). Go has no free: the caller
 * must make sure that no goroutine will use the channel again, including one
 * still inside a gx_select that has it among its cases.
 */
int gx_chan_free(gx_chan *ch);

/*
 * gx_chan_send - send the elemsize bytes at elem (Go's ch <- v). Blocks until
 * a receiver takes the value or there is room in the buffer. Returns 0 when
 * sent, -EPIPE if the channel is closed (or is closed while the sender
 * waits), -EAGAIN (deadline GX_NOW and it would block), -ETIMEDOUT,
 * -EPERM (it would block outside runtime context), -EINVAL (elem NULL with
 * a non-zero element size). A -EAGAIN or -ETIMEDOUT send sent nothing.
 */
int gx_chan_send(gx_chan *ch, const void *elem, int64_t deadline);

/*
 * gx_chan_recv - receive into elem (Go's v, ok := <-ch); elem may be NULL to
 * discard the value. Blocks until a value is available or the channel is
 * closed. Returns 1 when a value was received (ok = true), 0 when the
 * channel is closed and drained (ok = false; *elem is zeroed), or -EAGAIN,
 * -ETIMEDOUT, -EPERM as gx_chan_send. Values buffered before the close are
 * still received (1) until the buffer is empty.
 */
int gx_chan_recv(gx_chan *ch, void *elem, int64_t deadline);

/*
 * gx_chan_close - close the channel (Go's close). Every blocked receiver
 * wakes with ok = false and a zeroed element; every blocked sender wakes with
 * -EPIPE. Returns 0, -EPIPE if it was already closed, -EINVAL for NULL.
 */
int gx_chan_close(gx_chan *ch);

/* gx_chan_len - elements in the buffer now (0 for NULL). A snapshot. */
size_t gx_chan_len(const gx_chan *ch);
/* gx_chan_cap - the buffer's capacity (0 for NULL and unbuffered). */
size_t gx_chan_cap(const gx_chan *ch);

/* ------------------------------------------------------------------ */
/* select                                                              */
/* ------------------------------------------------------------------ */

enum { GX_SEND = 1, GX_RECV = 2 };

/*
 * One case of a select: op GX_SEND sends the value at elem on ch, GX_RECV
 * receives into elem (NULL discards). A case with ch NULL is ignored (Go's
 * nil channel case). On return gx_select sets ok and err of the chosen case:
 * ok = true when a receive got a value (false: the channel was closed; elem
 * zeroed); err = -EPIPE when a send case was chosen because its channel is
 * closed (nothing sent), else 0. Go's select would panic there.
 */
typedef struct gx_case {
	gx_chan *ch;
	int op;
	void *elem;
	bool ok;
	int err;
} gx_case;

/*
 * gx_select - wait until one of n cases can proceed, do it, and return its
 * index (Go's select). When several can proceed, one is chosen uniformly at
 * random. deadline GX_NOW is Go's default case: -EAGAIN when none is ready.
 * Returns the index, or -EAGAIN, -ETIMEDOUT, -EPERM (it would block outside
 * runtime context), -ENOMEM (n > 16 needs a little memory), -EINVAL (n < 0,
 * cases NULL with n > 0, an op other than GX_SEND/GX_RECV, a send case with
 * elem NULL on a channel whose element size is not 0). With n == 0 (or only
 * NULL channels) and GX_FOREVER it blocks forever, as Go's select {} does
 * (deadlock detection then applies). ok and err of every case are reset.
 * A channel may appear in several cases.
 */
int gx_select(gx_case *cases, int n, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif /* GMPX_CHAN_H */
