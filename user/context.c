/* SPDX-License-Identifier: MIT */
/*
 * context.c - contexts (Go's context package): a tree of cancellation
 * scopes with deadlines and values (gmpx/context.h has the API).
 *
 * What it owns. A context (struct gx_ctx) is one of three kinds:
 *  - BACKGROUND, the static root: never cancelled, no deadline.
 *  - CANCEL, made by gx_ctx_with_cancel/_deadline/_timeout: it has a lock,
 *    an error (0 while live), a done channel (element size 0, closed when
 *    cancelled), a list of the CANCEL contexts below it (children), and
 *    for a deadline of its own a runtime timer (time.c) that cancels it
 *    with -ETIMEDOUT.
 *  - VALUE, made by gx_ctx_with_value: one key/value pair and nothing to
 *    cancel; its error, done channel and deadline are those of its
 *    nearest CANCEL ancestor (Go's parentCancelCtx), `cn`, or none.
 * Every derived context keeps `parent` (for value lookups and the
 * reference it holds) and, if it is a CANCEL context, `up`: the nearest
 * CANCEL ancestor, whose children list it is linked into (NULL if it hangs
 * below the background context only). Deadlines are immutable and copied
 * down at creation, the child's being the earlier of its own and its
 * parent's.
 *
 * Cancellation (cancel_tree). Go holds a parent's mutex while it cancels
 * each child, recursively; so does this, without the recursion: a
 * depth-first walk that keeps the locks of the path from the root to the
 * context it is at ("lock coupling"), pops each child out of its parent's
 * list (linked = false), locks it, sets its error, closes its done channel
 * and descends; going back up it unlocks the child. The stack stays flat
 * whatever the depth (a chain of 10,000 contexts holds 10,000 locks for a
 * moment, nothing else), and nothing is allocated, so a timer callback may
 * do it. A context whose error is set when the walk reaches it was
 * cancelled on its own and has no children (its cancel emptied the list
 * under its lock; children made later are born cancelled and never
 * linked), so it is skipped. A cancel that did not come from the parent
 * then takes the context out of its parent's list (taking the parent's
 * lock after dropping its own: locks are only ever taken downwards).
 *
 * Lifetime. A reference count: the creator's reference, one per gx_ctx_ref,
 * and one held by each context derived from it. The children lists hold no
 * reference. When the last one goes (release), nobody can observe the
 * context any more, and it has no children (they would hold references):
 * its deadline timer is stopped (gx_deltimer waits out a callback in
 * flight), it is unlinked from `up` under up's lock, its channel and
 * memory are freed, and the reference it held on its parent is dropped,
 * iteratively up the chain. Two things keep a dying context's memory valid
 * for those who reach it without a reference: the timer callback (the
 * freer's gx_deltimer waits for it) and a parent's cancel walk (it holds
 * up's lock while it is at the child; the freer takes that lock before
 * freeing). So the walk never takes or drops references and never frees,
 * and a timer callback never frees its own timer: releases happen only in
 * gx_ctx_release, on the caller's thread.
 *
 * Invariants:
 *  - err goes from 0 to its final value once, under the context's lock,
 *    and the done channel is closed in the same critical section: whoever
 *    sees the channel closed (or gx_ctx_cancel return) sees err set.
 *  - A CANCEL context is in up's children list exactly while linked is
 *    true; both are guarded by up's lock. A cancelled context is never
 *    linked once its cancel returns.
 *  - refs > 0 for every context reachable by a holder; a linked child
 *    keeps its up alive through its parent chain of references.
 *
 * Lock order: contexts top-down (a parent's lock before its child's), then
 * channel locks (closing a done channel), then timer locks and sched.lock.
 * gx_deltimer is called only with no context lock held, since the timer
 * callback takes them.
 *
 * The blocking helpers (gx_ctx_select/recv/send/sleep) are gx_select with
 * the done channel as one more case: no machinery of their own.
 */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum ctxkind { CTX_BACKGROUND = 0, CTX_CANCEL, CTX_VALUE };

/* Cases of gx_ctx_select that fit on the stack (with the done case): as
 * gx_select's own SELECT_STACK_CASES. */
#define CTX_SELECT_STACK 16

struct gx_ctx {
	uint32_t kind;
	bool timed;	       /* CANCEL: a deadline timer of its own was armed */
	_Atomic int64_t refs;  /* not BACKGROUND */
	struct gx_ctx *parent; /* a reference is held; NULL for BACKGROUND */
	struct gx_ctx *cn;     /* the CANCEL context whose state this one shows: itself, an ancestor or NULL */
	int64_t deadline;      /* GX_FOREVER: none */
	const void *key;       /* VALUE */
	void *val;	       /* VALUE */
	/* CANCEL */
	gx_lock_t lock;		 /* guards err's transition, children, and each child's sib/linked */
	_Atomic int err;	 /* 0, -ECANCELED or -ETIMEDOUT */
	gx_chan *done;		 /* closed with err set */
	struct gx_ctx *up;	 /* the CANCEL ancestor whose children list holds us (NULL: none) */
	struct gx_ctx *children; /* CANCEL contexts linked below us */
	struct gx_ctx *sibprev, *sibnext;
	bool linked; /* in up->children (up->lock) */
	struct gx_rtimer timer;
};

static struct gx_ctx background = {.kind = CTX_BACKGROUND, .deadline = GX_FOREVER};

gx_ctx *gx_ctx_background(void)
{
	return &background;
}

/* ---- the children lists (the parent's lock held) ------------------------------------ */

static void linkchild(gx_ctx *up, gx_ctx *c)
{
	GX_ASSERT_LOCK_HELD(&up->lock);
	c->sibprev = NULL;
	c->sibnext = up->children;
	if (up->children)
		up->children->sibprev = c;
	up->children = c;
	c->linked = true;
}

static void unlinkchild(gx_ctx *up, gx_ctx *c)
{
	GX_ASSERT_LOCK_HELD(&up->lock);
	if (c->sibprev)
		c->sibprev->sibnext = c->sibnext;
	else
		up->children = c->sibnext;
	if (c->sibnext)
		c->sibnext->sibprev = c->sibprev;
	c->sibprev = c->sibnext = NULL;
	c->linked = false;
}

/* ---- cancelling ------------------------------------------------------------------- */

/* markcancelled - c's lock held, c live: set the error, close the channel. */
static void markcancelled(gx_ctx *c, int err)
{
	GX_ASSERT_LOCK_HELD(&c->lock);
	atomic_store_explicit(&c->err, err, memory_order_release);
	(void)gx_chan_close(c->done); /* never closed before: only here */
}

/*
 * cancel_tree - cancel root and everything below it with err (see the top
 * of the file: a depth-first walk holding the path's locks). Returns false
 * if root was cancelled already (nothing done).
 */
static bool cancel_tree(gx_ctx *root, int err)
{
	gx_lock(&root->lock);
	if (atomic_load_explicit(&root->err, memory_order_relaxed)) {
		gx_unlock(&root->lock);
		return false;
	}
	markcancelled(root, err);
	gx_ctx *x = root; /* locked, as is every context from root down to it */
	for (;;) {
		gx_ctx *ch = x->children;
		if (ch) {
			unlinkchild(x, ch);
			gx_lock(&ch->lock);
			if (atomic_load_explicit(&ch->err, memory_order_relaxed)) {
				gx_unlock(&ch->lock); /* cancelled on its own: no children */
				continue;
			}
			markcancelled(ch, err);
			x = ch;
			continue;
		}
		if (x == root)
			break;
		gx_ctx *up = x->up;
		gx_unlock(&x->lock);
		x = up;
	}
	gx_unlock(&root->lock);
	return true;
}

/* cancel - Go's cancelCtx.cancel(removeFromParent = true, err): the tree,
 * then out of the parent's list, then (unless we are that timer's
 * callback) the deadline timer. */
static void cancel(gx_ctx *c, int err, bool fromtimer)
{
	bool did = cancel_tree(c, err);
	gx_ctx *up = c->up;
	if (up) {
		gx_lock(&up->lock);
		if (c->linked)
			unlinkchild(up, c);
		gx_unlock(&up->lock);
	}
	if (did && c->timed && !fromtimer)
		gx_deltimer(&c->timer);
}

/* expire - the deadline timer (g0, no lock held). c is alive: whoever
 * drops its last reference stops this timer first, waiting for us. */
static void expire(void *arg, uintptr_t seq)
{
	(void)seq;
	cancel(arg, -ETIMEDOUT, true);
}

/* ---- making ------------------------------------------------------------------------- */

static gx_ctx *getref(gx_ctx *c)
{
	if (c->kind != CTX_BACKGROUND)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

/* cnode - the CANCEL context whose error and done channel c shows. */
static inline gx_ctx *cnode(gx_ctx *c)
{
	return c->kind == CTX_CANCEL ? c : c->cn;
}

/*
 * newcancel - a CANCEL child of parent; deadline < 0: none of its own.
 * Linked under parent's CANCEL node unless that one is cancelled already,
 * in which case the child is born with its error. A deadline that has
 * passed cancels it at once; a later one arms its timer.
 */
static int newcancel(gx_ctx *parent, int64_t deadline, gx_ctx **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!parent)
		return -EINVAL;
	int64_t pdl = parent->deadline;
	if (deadline >= 0 && pdl >= 0 && pdl <= deadline)
		deadline = GX_FOREVER; /* the parent's comes first: its timer cancels us too */
	bool expired = deadline >= 0 && deadline <= gx_nanotime();
	bool timed = deadline >= 0 && !expired;
	if (timed && !gx_runtime_ready())
		return -EPERM; /* timers live on the Ps */
	gx_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int r = gx_chan_make(&c->done, 0, 0);
	if (r) {
		free(c);
		return r;
	}
	c->kind = CTX_CANCEL;
	atomic_init(&c->refs, 1);
	c->parent = getref(parent);
	c->cn = c;
	c->up = cnode(parent);
	c->deadline = deadline >= 0 ? deadline : pdl;
	c->timed = timed;
	int perr = 0;
	if (c->up) {
		gx_lock(&c->up->lock);
		perr = atomic_load_explicit(&c->up->err, memory_order_relaxed);
		if (!perr)
			linkchild(c->up, c);
		gx_unlock(&c->up->lock);
	}
	if (perr) {
		/* Born cancelled (Go: propagateCancel sees parent done). Not
		 * shared yet: no lock to take, no timer to arm. */
		c->timed = false;
		atomic_store_explicit(&c->err, perr, memory_order_release);
		(void)gx_chan_close(c->done);
	} else if (expired) {
		cancel(c, -ETIMEDOUT, false);
	} else if (timed) {
		/* It may fire at once on another M: c is complete by now. */
		gx_addtimer(&c->timer, deadline, 0, expire, c, 0);
	}
	*out = c;
	return 0;
}

int gx_ctx_with_cancel(gx_ctx *parent, gx_ctx **out)
{
	GX_ENTER();
	return newcancel(parent, GX_FOREVER, out);
}

int gx_ctx_with_deadline(gx_ctx *parent, int64_t deadline, gx_ctx **out)
{
	GX_ENTER();
	return newcancel(parent, deadline < 0 ? GX_FOREVER : deadline, out);
}

int gx_ctx_with_timeout(gx_ctx *parent, int64_t timeout_ns, gx_ctx **out)
{
	GX_ENTER();
	/* gx_when: <= 0 is now (expired at birth), past INT64_MAX is never */
	int64_t when = gx_when(timeout_ns);
	return newcancel(parent, when == INT64_MAX ? GX_FOREVER : when, out);
}

int gx_ctx_with_value(gx_ctx *parent, const void *key, void *val, gx_ctx **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!parent || !key)
		return -EINVAL;
	gx_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->kind = CTX_VALUE;
	atomic_init(&c->refs, 1);
	c->parent = getref(parent);
	c->cn = cnode(parent);
	c->deadline = parent->deadline;
	c->key = key;
	c->val = val;
	*out = c;
	return 0;
}

/* ---- reading ------------------------------------------------------------------------ */

void *gx_ctx_value(gx_ctx *c, const void *key)
{
	if (!key)
		return NULL;
	for (; c; c = c->parent)
		if (c->kind == CTX_VALUE && c->key == key)
			return c->val;
	return NULL;
}

int gx_ctx_err(gx_ctx *c)
{
	if (!c)
		return -EINVAL;
	gx_ctx *n = cnode(c);
	return n ? atomic_load_explicit(&n->err, memory_order_acquire) : 0;
}

gx_chan *gx_ctx_done(gx_ctx *c)
{
	gx_ctx *n = c ? cnode(c) : NULL;
	return n ? n->done : NULL;
}

int64_t gx_ctx_deadline(gx_ctx *c)
{
	return c ? c->deadline : -EINVAL;
}

/* ---- cancel, ref, release ------------------------------------------------------------- */

int gx_ctx_cancel(gx_ctx *c)
{
	GX_ENTER();
	if (!c || c->kind != CTX_CANCEL)
		return -EINVAL;
	cancel(c, -ECANCELED, false);
	return 0;
}

gx_ctx *gx_ctx_ref(gx_ctx *c)
{
	return c ? getref(c) : NULL;
}

void gx_ctx_release(gx_ctx *c)
{
	GX_ENTER();
	while (c && c->kind != CTX_BACKGROUND) {
		if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
			return;
		/* The last reference: nobody else can reach c but its timer's
		 * callback and a cancel walk of its parent's (top of file). */
		if (c->kind == CTX_CANCEL) {
			if (c->timed)
				gx_deltimer(&c->timer);
			gx_ctx *up = c->up;
			if (up) {
				gx_lock(&up->lock);
				if (c->linked)
					unlinkchild(up, c);
				gx_unlock(&up->lock);
			}
			if (gx_chan_free(c->done) == -EBUSY)
				gx_print("gmpx: gx_ctx_release: goroutines still wait on the done channel of a "
					 "released context (its channel is leaked)\n");
		}
		gx_ctx *parent = c->parent;
		free(c);
		c = parent;
	}
}

/* ---- waiting -------------------------------------------------------------------------- */

int gx_ctx_select(gx_ctx *c, gx_case *cases, int n)
{
	GX_ENTER();
	if (!c || n < 0 || n == INT32_MAX || (n > 0 && !cases))
		return -EINVAL;
	int err = gx_ctx_err(c);
	if (err)
		return err;
	gx_case stack[CTX_SELECT_STACK + 1];
	gx_case *all = stack;
	if (n > CTX_SELECT_STACK) {
		all = malloc(((size_t)n + 1) * sizeof(gx_case));
		if (!all)
			return -ENOMEM;
	}
	if (n > 0)
		memcpy(all, cases, (size_t)n * sizeof(gx_case));
	all[n] = (gx_case){.ch = gx_ctx_done(c), .op = GX_RECV};
	int r = gx_select(all, n + 1, GX_FOREVER);
	for (int i = 0; i < n; i++) {
		cases[i].ok = all[i].ok;
		cases[i].err = all[i].err;
	}
	if (all != stack)
		free(all);
	if (r == n)
		return gx_ctx_err(c); /* done is closed only with err set */
	return r;
}

int gx_ctx_recv(gx_ctx *c, gx_chan *ch, void *elem)
{
	GX_ENTER();
	gx_case cs = {.ch = ch, .op = GX_RECV, .elem = elem};
	int r = gx_ctx_select(c, &cs, 1);
	return r == 0 ? cs.ok : r;
}

int gx_ctx_send(gx_ctx *c, gx_chan *ch, const void *elem)
{
	GX_ENTER();
	gx_case cs = {.ch = ch, .op = GX_SEND, .elem = (void *)(uintptr_t)elem};
	int r = gx_ctx_select(c, &cs, 1);
	return r == 0 ? cs.err : r;
}

int gx_ctx_sleep(gx_ctx *c, int64_t ns)
{
	GX_ENTER();
	if (!c)
		return -EINVAL;
	int err = gx_ctx_err(c);
	if (err)
		return err;
	if (!getg())
		return -EPERM;
	if (ns <= 0)
		return 0;
	gx_case cs = {.ch = gx_ctx_done(c), .op = GX_RECV};
	int r = gx_select(&cs, 1, gx_when(ns));
	if (r == 0)
		return gx_ctx_err(c);
	return r == -ETIMEDOUT ? 0 : r;
}
