/* SPDX-License-Identifier: MIT */
/*
 * gmpx/context.h - cancellation, deadlines and request-scoped values
 * (Go's context package). Included by gmpx.h; see there for the
 * conventions (negative errno results, [G] calls, deadlines: GX_FOREVER,
 * GX_NOW or an absolute gx_now() time in ns).
 *
 * Contexts form a tree. gx_ctx_background() is the root: never cancelled,
 * no deadline, no values. Every other context is derived from a parent:
 * gx_ctx_with_cancel (cancelled by gx_ctx_cancel), gx_ctx_with_deadline and
 * gx_ctx_with_timeout (cancelled by gx_ctx_cancel or, with -ETIMEDOUT, when
 * the deadline passes) and gx_ctx_with_value (carries one key/value pair
 * and is cancelled only with its parent). Cancelling a context cancels
 * every context derived from it, at once and with the same error; a
 * context derived from an already cancelled one is born cancelled. A
 * cancelled context's done channel (gx_ctx_done) is closed, so a goroutine
 * waits for cancellation by receiving from it, alone or among other cases
 * of a gx_select:
 *
 *   gx_ctx *ctx;
 *   gx_ctx_with_timeout(parent, 50 * GX_MS, &ctx);
 *   gx_case cs[] = {{.ch = jobs, .op = GX_RECV, .elem = &job},
 *                   {.ch = gx_ctx_done(ctx), .op = GX_RECV}};
 *   int r = gx_select(cs, 2, GX_FOREVER);
 *   if (r == 1)
 *           return gx_ctx_err(ctx);    // -ECANCELED or -ETIMEDOUT
 *   ...
 *   gx_ctx_cancel(ctx);                // Go's defer cancel()
 *   gx_ctx_release(ctx);
 *
 * gx_ctx_recv, gx_ctx_send, gx_ctx_select and gx_ctx_sleep are that
 * pattern in one call. Calls that take a deadline but no channel (the I/O
 * of gmpx/net.h) can be given gx_ctx_deadline(ctx): they then end when the
 * context's deadline does, though not when it is cancelled early.
 *
 * Errors: gx_ctx_err is 0 while a context is live, -ECANCELED once it was
 * cancelled (Go's Canceled), -ETIMEDOUT once its deadline passed (Go's
 * DeadlineExceeded). The error never changes once set.
 *
 * Lifetime (there is no garbage collector): a context is reference
 * counted. gx_ctx_with_* returns one reference, gx_ctx_ref adds one,
 * gx_ctx_release drops one; a context derived from another holds a
 * reference to its parent, so a parent stays valid as long as any context
 * derived from it does, and a child may be released before or after its
 * parent. Releasing the last reference to a live context takes it out of
 * its parent and frees it without cancelling anything: only what the
 * holder of a reference could observe. Cancelling does not free: cancel
 * (Go's cancel function, which stops the deadline timer and detaches the
 * context from its parent at once) and release are separate, so a
 * goroutine that holds a reference can still read gx_ctx_err after the
 * cancel. A goroutine that waits on gx_ctx_done(c) must hold a reference
 * to c (or be sure its owner does not release it meanwhile), as for any
 * channel it waits on. The background context is static: ref and release
 * do nothing to it.
 *
 * Threads: every call may be made from any thread, inside the runtime or
 * not (a foreign thread may cancel a context that goroutines wait on),
 * except the blocking helpers, which are [G]. Deadlines use the runtime's
 * timers: gx_ctx_with_deadline/_timeout with a deadline still ahead
 * return -EPERM before gx_main has started the runtime.
 */
#ifndef GMPX_CONTEXT_H
#define GMPX_CONTEXT_H

#include <gmpx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gx_ctx gx_ctx;
/* gmpx/chan.h's types (it and this header include each other through gmpx.h) */
struct gx_chan;
struct gx_case;

/* gx_ctx_background - the root context (Go's context.Background): never
 * cancelled, no deadline (GX_FOREVER), no values, a NULL done channel
 * (Go's nil channel: a select case on it never proceeds). Static: never
 * freed, and ref/release leave it alone. Never NULL. */
gx_ctx *gx_ctx_background(void);

/*
 * gx_ctx_with_cancel - a child of parent that gx_ctx_cancel cancels (Go's
 * WithCancel). It is cancelled too when parent is, with parent's error;
 * if parent is cancelled already, the child is born cancelled. It has
 * parent's deadline and values. Returns 0 and *out (one reference), or
 * -EINVAL (parent or out NULL), -ENOMEM; *out is NULL on failure.
 */
int gx_ctx_with_cancel(gx_ctx *parent, gx_ctx **out);

/*
 * gx_ctx_with_deadline - gx_ctx_with_cancel, also cancelled with
 * -ETIMEDOUT when the monotonic time reaches deadline (Go's WithDeadline).
 * Its deadline is the earlier of deadline and parent's: if parent's comes
 * first, no timer of its own is armed (parent's cancels both). deadline
 * GX_FOREVER (any negative value) is no deadline; GX_NOW or a time already
 * passed gives a child born cancelled with -ETIMEDOUT. Returns as
 * gx_ctx_with_cancel, plus -EPERM if a timer is needed before gx_main.
 */
int gx_ctx_with_deadline(gx_ctx *parent, int64_t deadline, gx_ctx **out);

/* gx_ctx_with_timeout - gx_ctx_with_deadline(parent, gx_now() +
 * timeout_ns, out) (Go's WithTimeout); timeout_ns <= 0: born cancelled
 * with -ETIMEDOUT; a sum past INT64_MAX: no deadline. */
int gx_ctx_with_timeout(gx_ctx *parent, int64_t timeout_ns, gx_ctx **out);

/*
 * gx_ctx_with_value - a child of parent carrying the pair (key, val) (Go's
 * WithValue). Keys compare as pointers: use the address of a static
 * object of your own, so that no other code can collide with it. The
 * child is not cancellable by itself (gx_ctx_cancel says -EINVAL): its
 * error, done channel and deadline are parent's. Returns 0 and *out (one
 * reference), or -EINVAL (parent, key or out NULL), -ENOMEM.
 */
int gx_ctx_with_value(gx_ctx *parent, const void *key, void *val, gx_ctx **out);

/* gx_ctx_value - the value of the nearest context from c up to the root
 * that carries key, or NULL (also for c or key NULL). */
void *gx_ctx_value(gx_ctx *c, const void *key);

/*
 * gx_ctx_cancel - cancel c with -ECANCELED, and every context derived from
 * it with the same error; close their done channels; stop c's deadline
 * timer and take c out of its parent (Go's CancelFunc). Idempotent: a
 * context already cancelled keeps its first error. When it returns, c's
 * done channel and those of all its descendants are closed. Any thread;
 * never blocks (it takes runtime locks briefly). Returns 0, or -EINVAL for
 * NULL, the background context and value contexts (Go gives them no
 * cancel function).
 */
int gx_ctx_cancel(gx_ctx *c);

/* gx_ctx_err - 0 while c is live, -ECANCELED once cancelled, -ETIMEDOUT
 * once its deadline passed (Go's Err); -EINVAL for NULL. One atomic load. */
int gx_ctx_err(gx_ctx *c);

/* gx_ctx_done - the channel closed when c is cancelled (Go's Done): an
 * element-size-0 channel that is never sent on; receive from it (a
 * receive returns 0 once it is closed), or use it as a GX_RECV case of
 * gx_select. NULL (never ready) for the background context, for contexts
 * below it that cannot be cancelled, and for c NULL. Do not close or free
 * it. */
struct gx_chan *gx_ctx_done(gx_ctx *c);

/* gx_ctx_deadline - c's deadline (absolute gx_now() ns), or GX_FOREVER
 * if it has none (Go's Deadline with ok = false): either way a value to
 * pass as the deadline of any blocking gx_ call. -EINVAL for NULL. */
int64_t gx_ctx_deadline(gx_ctx *c);

/* gx_ctx_ref - one more reference to c, for another holder (a goroutine
 * that outlives the code that made c); returns c. NULL gives NULL. */
gx_ctx *gx_ctx_ref(gx_ctx *c);

/* gx_ctx_release - drop one reference; the last frees c (and drops c's
 * reference to its parent). Does not cancel: use gx_ctx_cancel first for
 * Go's "defer cancel()". NULL and the background context: nothing. */
void gx_ctx_release(gx_ctx *c);

/*
 * gx_ctx_select - gx_select(cases, n, GX_FOREVER) that also ends when c is
 * cancelled. Returns the index of the case that proceeded (its ok and err
 * set as gx_select sets them), or c's error (-ECANCELED, -ETIMEDOUT) if c
 * was cancelled first: at once, trying no case, if it already was. Also
 * -EINVAL (c NULL, or as gx_select), -EPERM (it would block outside
 * runtime context), -ENOMEM. [G]
 */
int gx_ctx_select(gx_ctx *c, struct gx_case *cases, int n);

/* gx_ctx_recv - gx_chan_recv(ch, elem, GX_FOREVER) that ends when c is
 * cancelled: 1 (a value), 0 (ch closed; *elem zeroed), c's error, or
 * -EINVAL, -EPERM as gx_ctx_select. ch NULL waits for c alone. [G] */
int gx_ctx_recv(gx_ctx *c, struct gx_chan *ch, void *elem);

/* gx_ctx_send - gx_chan_send(ch, elem, GX_FOREVER) that ends when c is
 * cancelled: 0 (sent), -EPIPE (ch closed), c's error (nothing sent), or
 * -EINVAL, -EPERM as gx_ctx_select. [G] */
int gx_ctx_send(gx_ctx *c, struct gx_chan *ch, const void *elem);

/* gx_ctx_sleep - park for ns, or until c is cancelled if that comes first:
 * 0 after the whole ns (ns <= 0: at once), c's error if c was cancelled
 * first (or already was), -EINVAL (c NULL), -EPERM. [G] */
int gx_ctx_sleep(gx_ctx *c, int64_t ns);

#ifdef __cplusplus
}
#endif
#endif /* GMPX_CONTEXT_H */
