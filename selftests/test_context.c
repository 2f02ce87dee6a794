/* SPDX-License-Identifier: MIT */
/*
 * test_context.c - contexts (gmpx/context.h): Go's context semantics
 * (cancel before and after a wait, deadlines inherited both ways, timeouts
 * with -ETIMEDOUT, values up the chain, a child of a cancelled context
 * born cancelled), select on the done channel waking blocked goroutines,
 * cancels from a foreign thread, a tree of 10,000 contexts cancelled at
 * once (run under ASan's leak check, every context released), a 10,000-deep
 * chain, releases in every order, misuse with NULL, and a stress test that
 * races creation, cancel and release on every P.
 */
#define _GNU_SOURCE
#include "gx_test.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static gx_ctx *mkcancel(gx_ctx *parent)
{
	gx_ctx *c = NULL;
	ASSERT_EQ(gx_ctx_with_cancel(parent, &c), 0);
	ASSERT_NOT_NULL(c);
	return c;
}

/* done_closed - whether c's done channel is closed (a receive that does
 * not block and says closed). */
static bool done_closed(gx_ctx *c)
{
	return gx_chan_recv(gx_ctx_done(c), NULL, GX_NOW) == 0;
}

/* Yield until c has nr blocked receivers (select sudogs count). */
static void wait_receivers(gx_chan *c, int nr)
{
	int64_t until = gxt_now_ns() + 20 * GX_SEC;
	int s, r;
	for (;;) {
		gx_chanwaiters(c, &s, &r);
		if (r == nr)
			return;
		ASSERT_LT(gxt_now_ns(), until);
		gx_yield();
	}
}

/* ---- the background context, misuse ---------------------------------------------------- */

GX_TEST(context_background)
{
	gx_ctx *bg = gx_ctx_background();
	ASSERT_NOT_NULL(bg);
	EXPECT_EQ(gx_ctx_background(), bg);
	EXPECT_EQ(gx_ctx_err(bg), 0);
	EXPECT_NULL(gx_ctx_done(bg));
	EXPECT_EQ(gx_ctx_deadline(bg), GX_FOREVER);
	static int key;
	EXPECT_NULL(gx_ctx_value(bg, &key));
	EXPECT_EQ(gx_ctx_cancel(bg), -EINVAL);
	EXPECT_EQ(gx_ctx_ref(bg), bg);
	gx_ctx_release(bg);
	gx_ctx_release(bg);
	EXPECT_EQ(gx_ctx_err(bg), 0);
	/* its NULL done channel is Go's nil channel: a case that never
	 * proceeds, here beside one that does */
	gx_chan *ch;
	ASSERT_EQ(gx_chan_make(&ch, sizeof(int), 1), 0);
	int v = 5;
	ASSERT_EQ(gx_chan_send(ch, &v, GX_NOW), 0);
	gx_case cs[] = {{.ch = gx_ctx_done(bg), .op = GX_RECV}, {.ch = ch, .op = GX_RECV, .elem = &v}};
	for (int i = 0; i < 20; i++) {
		v = 0;
		if (i)
			ASSERT_EQ(gx_chan_send(ch, &i, GX_NOW), 0);
		EXPECT_EQ(gx_select(cs, 2, GX_FOREVER), 1);
		EXPECT_EQ(v, i ? i : 5);
	}
	/* alone, it blocks until the deadline */
	EXPECT_EQ(gx_select(cs, 1, gx_now() + 5 * GX_MS), -ETIMEDOUT);
	gx_chan_free(ch);
}

GX_TEST(context_null_misuse)
{
	gx_ctx *c = (gx_ctx *)1;
	static int key;
	EXPECT_EQ(gx_ctx_with_cancel(NULL, &c), -EINVAL);
	EXPECT_NULL(c);
	c = (gx_ctx *)1;
	EXPECT_EQ(gx_ctx_with_deadline(NULL, gx_now() + GX_SEC, &c), -EINVAL);
	EXPECT_NULL(c);
	c = (gx_ctx *)1;
	EXPECT_EQ(gx_ctx_with_timeout(NULL, GX_SEC, &c), -EINVAL);
	EXPECT_NULL(c);
	c = (gx_ctx *)1;
	EXPECT_EQ(gx_ctx_with_value(NULL, &key, NULL, &c), -EINVAL);
	EXPECT_NULL(c);
	c = (gx_ctx *)1;
	EXPECT_EQ(gx_ctx_with_value(gx_ctx_background(), NULL, NULL, &c), -EINVAL);
	EXPECT_NULL(c);
	EXPECT_EQ(gx_ctx_with_cancel(gx_ctx_background(), NULL), -EINVAL);
	EXPECT_EQ(gx_ctx_with_deadline(gx_ctx_background(), GX_FOREVER, NULL), -EINVAL);
	EXPECT_EQ(gx_ctx_with_timeout(gx_ctx_background(), GX_SEC, NULL), -EINVAL);
	EXPECT_EQ(gx_ctx_with_value(gx_ctx_background(), &key, NULL, NULL), -EINVAL);
	EXPECT_EQ(gx_ctx_cancel(NULL), -EINVAL);
	EXPECT_EQ(gx_ctx_err(NULL), -EINVAL);
	EXPECT_NULL(gx_ctx_done(NULL));
	EXPECT_EQ(gx_ctx_deadline(NULL), -EINVAL);
	EXPECT_NULL(gx_ctx_value(NULL, &key));
	EXPECT_NULL(gx_ctx_ref(NULL));
	gx_ctx_release(NULL);
	EXPECT_EQ(gx_ctx_recv(NULL, NULL, NULL), -EINVAL);
	EXPECT_EQ(gx_ctx_send(NULL, NULL, NULL), -EINVAL);
	EXPECT_EQ(gx_ctx_sleep(NULL, GX_MS), -EINVAL);
	EXPECT_EQ(gx_ctx_select(NULL, NULL, 0), -EINVAL);
	EXPECT_EQ(gx_ctx_select(gx_ctx_background(), NULL, 1), -EINVAL);
	EXPECT_EQ(gx_ctx_select(gx_ctx_background(), NULL, -1), -EINVAL);
	/* a value context cannot be cancelled by itself */
	gx_ctx *v;
	ASSERT_EQ(gx_ctx_with_value(gx_ctx_background(), &key, &key, &v), 0);
	EXPECT_EQ(gx_ctx_cancel(v), -EINVAL);
	EXPECT_EQ(gx_ctx_err(v), 0);
	EXPECT_NULL(gx_ctx_done(v));
	EXPECT_EQ(gx_ctx_deadline(v), GX_FOREVER);
	/* a bad case: gx_select's -EINVAL, passed through */
	gx_case bad = {.ch = NULL, .op = 7};
	EXPECT_EQ(gx_ctx_select(v, &bad, 1), -EINVAL);
	gx_ctx_release(v);
}

/* ---- cancel before and after a wait ------------------------------------------------------ */

GX_TEST(context_cancel_before_wait)
{
	gx_ctx *c = mkcancel(gx_ctx_background());
	EXPECT_EQ(gx_ctx_err(c), 0);
	EXPECT_NOT_NULL(gx_ctx_done(c));
	EXPECT_FALSE(done_closed(c));
	EXPECT_EQ(gx_ctx_deadline(c), GX_FOREVER);
	EXPECT_EQ(gx_ctx_cancel(c), 0);
	EXPECT_EQ(gx_ctx_err(c), -ECANCELED);
	EXPECT_TRUE(done_closed(c));
	EXPECT_EQ(gx_chan_recv(gx_ctx_done(c), NULL, GX_FOREVER), 0);
	/* idempotent: the first error stays */
	EXPECT_EQ(gx_ctx_cancel(c), 0);
	EXPECT_EQ(gx_ctx_err(c), -ECANCELED);
	/* every helper returns the error at once, trying nothing */
	gx_chan *ch;
	ASSERT_EQ(gx_chan_make(&ch, sizeof(int), 1), 0);
	int v = 3;
	EXPECT_EQ(gx_ctx_send(c, ch, &v), -ECANCELED);
	EXPECT_EQ(gx_chan_len(ch), 0); /* nothing sent */
	ASSERT_EQ(gx_chan_send(ch, &v, GX_NOW), 0);
	EXPECT_EQ(gx_ctx_recv(c, ch, &v), -ECANCELED);
	EXPECT_EQ(gx_chan_len(ch), 1); /* nothing received */
	int64_t t0 = gx_now();
	EXPECT_EQ(gx_ctx_sleep(c, 10 * GX_SEC), -ECANCELED);
	EXPECT_LT(gx_now() - t0, GX_SEC);
	gx_case cs = {.ch = ch, .op = GX_RECV, .elem = &v};
	EXPECT_EQ(gx_ctx_select(c, &cs, 1), -ECANCELED);
	gx_chan_free(ch);
	gx_ctx_release(c);
}

struct waiter {
	gx_ctx *c;
	gx_chan *ch;	 /* what the waiter waits on besides c */
	gx_chan *result; /* int: its helper's return value */
	int how;	 /* 0 recv, 1 send, 2 sleep, 3 select */
};

static void waiter_main(void *arg)
{
	struct waiter *w = arg;
	int r = -1, v = 0;
	gx_case cs[2] = {{.ch = w->ch, .op = GX_RECV, .elem = &v}, {.ch = w->ch, .op = GX_SEND, .elem = &v}};
	switch (w->how) {
	case 0:
		r = gx_ctx_recv(w->c, w->ch, &v);
		break;
	case 1:
		r = gx_ctx_send(w->c, w->ch, &v);
		break;
	case 2:
		r = gx_ctx_sleep(w->c, 60 * GX_SEC);
		break;
	default:
		r = gx_ctx_select(w->c, cs, 1);
		break;
	}
	ASSERT_EQ(gx_chan_send(w->result, &r, GX_FOREVER), 0);
}

GX_TEST(context_cancel_after_wait)
{
	/* Each helper, blocked on an unbuffered channel nobody serves (or
	 * sleeping), returns -ECANCELED when a cancel comes. */
	for (int how = 0; how < 4; how++) {
		gx_ctx *c = mkcancel(gx_ctx_background());
		struct waiter w = {.c = c, .how = how};
		ASSERT_EQ(gx_chan_make(&w.ch, sizeof(int), 0), 0);
		ASSERT_EQ(gx_chan_make(&w.result, sizeof(int), 1), 0);
		ASSERT_GT(gx_go(waiter_main, &w), 0);
		wait_receivers(gx_ctx_done(c), 1);
		int r = 0;
		EXPECT_EQ(gx_chan_recv(w.result, &r, GX_NOW), -EAGAIN); /* still waiting */
		int64_t t0 = gx_now();
		EXPECT_EQ(gx_ctx_cancel(c), 0);
		EXPECT_EQ(gx_chan_recv(w.result, &r, gx_now() + gxt_slack(5 * GX_SEC)), 1);
		EXPECT_EQ(r, -ECANCELED);
		EXPECT_LT(gx_now() - t0, gxt_slack(GX_SEC));
		wait_receivers(gx_ctx_done(c), 0);
		gx_chan_free(w.ch);
		gx_chan_free(w.result);
		gx_ctx_release(c);
	}
}

GX_TEST(context_helpers_do_the_operation)
{
	gx_ctx *c = mkcancel(gx_ctx_background());
	gx_chan *ch;
	ASSERT_EQ(gx_chan_make(&ch, sizeof(int), 1), 0);
	int v = 42, got = 0;
	EXPECT_EQ(gx_ctx_send(c, ch, &v), 0);
	EXPECT_EQ(gx_ctx_recv(c, ch, &got), 1);
	EXPECT_EQ(got, 42);
	/* a receiver in another goroutine takes an unbuffered send */
	struct waiter w = {.c = c, .how = 0};
	ASSERT_EQ(gx_chan_make(&w.ch, sizeof(int), 0), 0);
	ASSERT_EQ(gx_chan_make(&w.result, sizeof(int), 1), 0);
	ASSERT_GT(gx_go(waiter_main, &w), 0);
	v = 7;
	EXPECT_EQ(gx_ctx_send(c, w.ch, &v), 0);
	int r = -1;
	EXPECT_EQ(gx_chan_recv(w.result, &r, GX_FOREVER), 1);
	EXPECT_EQ(r, 1);
	/* closed channels */
	EXPECT_EQ(gx_chan_close(ch), 0);
	EXPECT_EQ(gx_ctx_recv(c, ch, &got), 0);
	EXPECT_EQ(got, 0);
	EXPECT_EQ(gx_ctx_send(c, ch, &v), -EPIPE);
	/* sleeping the whole time */
	int64_t t0 = gx_now();
	EXPECT_EQ(gx_ctx_sleep(c, 10 * GX_MS), 0);
	EXPECT_GE(gx_now() - t0, 10 * GX_MS);
	EXPECT_EQ(gx_ctx_sleep(c, 0), 0);
	EXPECT_EQ(gx_ctx_sleep(c, -5), 0);
	EXPECT_EQ(gx_ctx_sleep(gx_ctx_background(), GX_MS), 0);
	/* more cases than fit on the stack */
	enum { N = 40 };
	gx_chan *chs[N];
	gx_case cs[N];
	int vals[N];
	for (int i = 0; i < N; i++) {
		ASSERT_EQ(gx_chan_make(&chs[i], sizeof(int), 1), 0);
		cs[i] = (gx_case){.ch = chs[i], .op = GX_RECV, .elem = &vals[i]};
	}
	int x = 99;
	ASSERT_EQ(gx_chan_send(chs[N - 3], &x, GX_NOW), 0);
	EXPECT_EQ(gx_ctx_select(c, cs, N), N - 3);
	EXPECT_TRUE(cs[N - 3].ok);
	EXPECT_EQ(vals[N - 3], 99);
	EXPECT_EQ(gx_ctx_cancel(c), 0);
	EXPECT_EQ(gx_ctx_select(c, cs, N), -ECANCELED);
	for (int i = 0; i < N; i++)
		gx_chan_free(chs[i]);
	gx_chan_free(ch);
	gx_chan_free(w.ch);
	gx_chan_free(w.result);
	gx_ctx_release(c);
}

/* ---- select on Done wakes blocked goroutines ----------------------------------------------------- */

struct selwait {
	gx_ctx *c;
	gx_chan *work; /* never sent on */
	_Atomic int woke;
	gx_waitgroup wg;
};

static void selwait_main(void *arg)
{
	struct selwait *s = arg;
	int v;
	gx_case cs[] = {{.ch = s->work, .op = GX_RECV, .elem = &v}, {.ch = gx_ctx_done(s->c), .op = GX_RECV}};
	int r = gx_select(cs, 2, GX_FOREVER);
	EXPECT_EQ(r, 1);
	EXPECT_FALSE(cs[1].ok); /* closed, not a value */
	EXPECT_EQ(gx_ctx_err(s->c), -ECANCELED);
	atomic_fetch_add(&s->woke, 1);
	gx_wg_done(&s->wg);
}

GX_TEST(context_select_on_done_wakes_blocked)
{
	struct selwait s = {.c = mkcancel(gx_ctx_background()), .wg = GX_WAITGROUP_INIT};
	ASSERT_EQ(gx_chan_make(&s.work, sizeof(int), 0), 0);
	int n = (int)gx_scale(200);
	gx_wg_add(&s.wg, n);
	for (int i = 0; i < n; i++)
		ASSERT_GT(gx_go(selwait_main, &s), 0);
	wait_receivers(gx_ctx_done(s.c), n);
	EXPECT_EQ(atomic_load(&s.woke), 0);
	EXPECT_EQ(gx_ctx_cancel(s.c), 0);
	gx_wg_wait(&s.wg);
	EXPECT_EQ(atomic_load(&s.woke), n);
	gx_chan_free(s.work);
	gx_ctx_release(s.c);
}

/* ---- deadlines -------------------------------------------------------------------------------- */

GX_TEST(context_timeout_fires_with_etimedout)
{
	gx_ctx *c;
	int64_t t0 = gx_now();
	ASSERT_EQ(gx_ctx_with_timeout(gx_ctx_background(), 20 * GX_MS, &c), 0);
	int64_t dl = gx_ctx_deadline(c);
	EXPECT_GE(dl, t0 + 20 * GX_MS);
	EXPECT_LE(dl, gx_now() + 20 * GX_MS);
	EXPECT_EQ(gx_ctx_err(c), 0);
	EXPECT_EQ(gx_ctx_sleep(c, 60 * GX_SEC), -ETIMEDOUT);
	int64_t t1 = gx_now();
	EXPECT_GE(t1, dl); /* never early */
	EXPECT_LT(t1 - dl, gxt_slack(500 * GX_MS));
	EXPECT_EQ(gx_ctx_err(c), -ETIMEDOUT);
	EXPECT_TRUE(done_closed(c));
	/* a cancel afterwards keeps the first error */
	EXPECT_EQ(gx_ctx_cancel(c), 0);
	EXPECT_EQ(gx_ctx_err(c), -ETIMEDOUT);
	gx_ctx_release(c);

	/* a goroutine blocked in gx_ctx_recv is woken by the deadline */
	ASSERT_EQ(gx_ctx_with_deadline(gx_ctx_background(), gx_now() + 10 * GX_MS, &c), 0);
	struct waiter w = {.c = c, .how = 0};
	ASSERT_EQ(gx_chan_make(&w.ch, sizeof(int), 0), 0);
	ASSERT_EQ(gx_chan_make(&w.result, sizeof(int), 1), 0);
	ASSERT_GT(gx_go(waiter_main, &w), 0);
	int r = 0;
	EXPECT_EQ(gx_chan_recv(w.result, &r, gx_now() + gxt_slack(5 * GX_SEC)), 1);
	EXPECT_EQ(r, -ETIMEDOUT);
	gx_chan_free(w.ch);
	gx_chan_free(w.result);
	gx_ctx_release(c);
}

GX_TEST(context_deadline_born_expired_or_none)
{
	gx_ctx *c;
	ASSERT_EQ(gx_ctx_with_timeout(gx_ctx_background(), 0, &c), 0);
	EXPECT_EQ(gx_ctx_err(c), -ETIMEDOUT);
	EXPECT_TRUE(done_closed(c));
	gx_ctx_release(c);
	ASSERT_EQ(gx_ctx_with_timeout(gx_ctx_background(), -GX_SEC, &c), 0);
	EXPECT_EQ(gx_ctx_err(c), -ETIMEDOUT);
	gx_ctx_release(c);
	ASSERT_EQ(gx_ctx_with_deadline(gx_ctx_background(), GX_NOW, &c), 0);
	EXPECT_EQ(gx_ctx_err(c), -ETIMEDOUT);
	EXPECT_EQ(gx_ctx_deadline(c), GX_NOW);
	gx_ctx_release(c);
	ASSERT_EQ(gx_ctx_with_deadline(gx_ctx_background(), gx_now() - GX_MS, &c), 0);
	EXPECT_EQ(gx_ctx_err(c), -ETIMEDOUT);
	gx_ctx_release(c);
	/* none: GX_FOREVER, any negative deadline, a timeout past the end of time */
	ASSERT_EQ(gx_ctx_with_deadline(gx_ctx_background(), GX_FOREVER, &c), 0);
	EXPECT_EQ(gx_ctx_deadline(c), GX_FOREVER);
	EXPECT_EQ(gx_ctx_err(c), 0);
	gx_ctx_release(c);
	ASSERT_EQ(gx_ctx_with_deadline(gx_ctx_background(), -77, &c), 0);
	EXPECT_EQ(gx_ctx_deadline(c), GX_FOREVER);
	gx_ctx_release(c);
	ASSERT_EQ(gx_ctx_with_timeout(gx_ctx_background(), INT64_MAX, &c), 0);
	EXPECT_EQ(gx_ctx_deadline(c), GX_FOREVER);
	EXPECT_EQ(gx_ctx_err(c), 0);
	gx_ctx_release(c);
}

GX_TEST(context_deadline_inheritance)
{
	int64_t now = gx_now();
	int64_t pdl = now + gxt_slack(200 * GX_MS);
	gx_ctx *parent, *later, *earlier, *plain, *val;
	static int key;
	ASSERT_EQ(gx_ctx_with_deadline(gx_ctx_background(), pdl, &parent), 0);
	EXPECT_EQ(gx_ctx_deadline(parent), pdl);
	/* a child asking for a later deadline gets the parent's */
	ASSERT_EQ(gx_ctx_with_deadline(parent, now + 3600 * GX_SEC, &later), 0);
	EXPECT_EQ(gx_ctx_deadline(later), pdl);
	/* an earlier one keeps its own */
	int64_t edl = now + 20 * GX_MS;
	ASSERT_EQ(gx_ctx_with_deadline(parent, edl, &earlier), 0);
	EXPECT_EQ(gx_ctx_deadline(earlier), edl);
	/* cancel and value children carry the parent's */
	plain = mkcancel(parent);
	EXPECT_EQ(gx_ctx_deadline(plain), pdl);
	ASSERT_EQ(gx_ctx_with_value(parent, &key, NULL, &val), 0);
	EXPECT_EQ(gx_ctx_deadline(val), pdl);
	/* the earlier child expires alone */
	EXPECT_EQ(gx_ctx_recv(earlier, NULL, NULL), -ETIMEDOUT);
	EXPECT_GE(gx_now(), edl);
	EXPECT_EQ(gx_ctx_err(earlier), -ETIMEDOUT);
	if (gx_now() < pdl) {
		EXPECT_EQ(gx_ctx_err(parent), 0);
		EXPECT_EQ(gx_ctx_err(later), 0);
		EXPECT_EQ(gx_ctx_err(plain), 0);
	}
	/* the parent's deadline cancels every child with -ETIMEDOUT */
	EXPECT_EQ(gx_chan_recv(gx_ctx_done(later), NULL, GX_FOREVER), 0);
	EXPECT_GE(gx_now(), pdl);
	EXPECT_EQ(gx_ctx_err(parent), -ETIMEDOUT);
	EXPECT_EQ(gx_ctx_err(later), -ETIMEDOUT);
	EXPECT_EQ(gx_ctx_err(plain), -ETIMEDOUT);
	EXPECT_EQ(gx_ctx_err(val), -ETIMEDOUT);
	EXPECT_EQ(gx_ctx_done(val), gx_ctx_done(parent));
	gx_ctx_release(later);
	gx_ctx_release(earlier);
	gx_ctx_release(plain);
	gx_ctx_release(val);
	gx_ctx_release(parent);
}

GX_TEST(context_cancel_stops_the_deadline)
{
	/* A cancelled context's timer is stopped: its error stays
	 * -ECANCELED, and releasing it right away (with the timer far off,
	 * or about to fire) is safe. */
	for (int i = 0; i < (int)gx_scale(2000); i++) {
		gx_ctx *c;
		ASSERT_EQ(gx_ctx_with_timeout(gx_ctx_background(), i % 2 ? 3600 * GX_SEC : (i % 50) * GX_US, &c), 0);
		if (i % 3)
			EXPECT_EQ(gx_ctx_cancel(c), 0);
		int e = gx_ctx_err(c);
		EXPECT_TRUE(e == 0 || e == -ECANCELED || e == -ETIMEDOUT);
		gx_ctx_release(c);
	}
	gx_ctx *c;
	ASSERT_EQ(gx_ctx_with_timeout(gx_ctx_background(), 5 * GX_MS, &c), 0);
	EXPECT_EQ(gx_ctx_cancel(c), 0);
	gx_sleep(20 * GX_MS);
	EXPECT_EQ(gx_ctx_err(c), -ECANCELED);
	gx_ctx_release(c);
}

/* ---- values ------------------------------------------------------------------------------------ */

GX_TEST(context_value_lookup_up_the_chain)
{
	static int ka, kb, kc, missing;
	int va = 1, vb = 2, vb2 = 22, vc = 3;
	gx_ctx *a, *m1, *b, *m2, *b2, *c;
	ASSERT_EQ(gx_ctx_with_value(gx_ctx_background(), &ka, &va, &a), 0);
	m1 = mkcancel(a);
	ASSERT_EQ(gx_ctx_with_value(m1, &kb, &vb, &b), 0);
	ASSERT_EQ(gx_ctx_with_timeout(b, 3600 * GX_SEC, &m2), 0);
	ASSERT_EQ(gx_ctx_with_value(m2, &kb, &vb2, &b2), 0); /* shadows kb */
	ASSERT_EQ(gx_ctx_with_value(b2, &kc, &vc, &c), 0);
	EXPECT_EQ(gx_ctx_value(c, &kc), &vc);
	EXPECT_EQ(gx_ctx_value(c, &kb), &vb2);
	EXPECT_EQ(gx_ctx_value(c, &ka), &va);
	EXPECT_NULL(gx_ctx_value(c, &missing));
	EXPECT_NULL(gx_ctx_value(c, NULL));
	EXPECT_EQ(gx_ctx_value(m2, &kb), &vb);
	EXPECT_EQ(gx_ctx_value(m1, &ka), &va);
	EXPECT_NULL(gx_ctx_value(m1, &kb));
	EXPECT_NULL(gx_ctx_value(a, &kc));
	/* a value context shows its nearest cancellable ancestor's state */
	EXPECT_EQ(gx_ctx_done(c), gx_ctx_done(m2));
	EXPECT_EQ(gx_ctx_done(b), gx_ctx_done(m1));
	EXPECT_NULL(gx_ctx_done(a));
	EXPECT_EQ(gx_ctx_deadline(c), gx_ctx_deadline(m2));
	EXPECT_EQ(gx_ctx_cancel(m1), 0);
	EXPECT_EQ(gx_ctx_err(c), -ECANCELED);
	EXPECT_EQ(gx_ctx_err(b), -ECANCELED);
	EXPECT_EQ(gx_ctx_err(a), 0);
	/* values stay readable after a cancel, and after the creator of an
	 * ancestor released it (the chain holds references) */
	gx_ctx_release(a);
	gx_ctx_release(m1);
	gx_ctx_release(b);
	EXPECT_EQ(gx_ctx_value(c, &ka), &va);
	gx_ctx_release(m2);
	gx_ctx_release(b2);
	EXPECT_EQ(gx_ctx_value(c, &kb), &vb2);
	gx_ctx_release(c);
}

/* ---- a cancelled context reused ---------------------------------------------------------------- */

GX_TEST(context_cancelled_parent_gives_cancelled_children)
{
	static int key;
	gx_ctx *p = mkcancel(gx_ctx_background());
	EXPECT_EQ(gx_ctx_cancel(p), 0);
	gx_ctx *c1 = mkcancel(p), *c2, *c3, *v, *c4;
	EXPECT_EQ(gx_ctx_err(c1), -ECANCELED);
	EXPECT_TRUE(done_closed(c1));
	ASSERT_EQ(gx_ctx_with_timeout(p, 3600 * GX_SEC, &c2), 0);
	EXPECT_EQ(gx_ctx_err(c2), -ECANCELED);
	EXPECT_TRUE(done_closed(c2));
	ASSERT_EQ(gx_ctx_with_deadline(c1, GX_NOW, &c3), 0);
	EXPECT_EQ(gx_ctx_err(c3), -ECANCELED); /* the parent's error, not the deadline's */
	ASSERT_EQ(gx_ctx_with_value(p, &key, &key, &v), 0);
	EXPECT_EQ(gx_ctx_err(v), -ECANCELED);
	EXPECT_EQ(gx_ctx_value(v, &key), &key);
	c4 = mkcancel(v);
	EXPECT_EQ(gx_ctx_err(c4), -ECANCELED);
	/* reused over and over */
	for (int i = 0; i < 1000; i++) {
		gx_ctx *x = mkcancel(c4);
		EXPECT_EQ(gx_ctx_err(x), -ECANCELED);
		EXPECT_EQ(gx_ctx_cancel(x), 0);
		gx_ctx_release(x);
	}
	EXPECT_EQ(gx_ctx_cancel(c1), 0);
	gx_ctx_release(c4);
	gx_ctx_release(v);
	gx_ctx_release(c3);
	gx_ctx_release(c2);
	gx_ctx_release(c1);
	gx_ctx_release(p);
	/* an expired parent: children born with -ETIMEDOUT */
	ASSERT_EQ(gx_ctx_with_timeout(gx_ctx_background(), 0, &p), 0);
	c1 = mkcancel(p);
	EXPECT_EQ(gx_ctx_err(c1), -ETIMEDOUT);
	gx_ctx_release(p);
	gx_ctx_release(c1);
}

/* ---- release order ----------------------------------------------------------------------------------- */

GX_TEST(context_release_orders)
{
	/* child before parent: the child leaves the parent's list, the
	 * parent's cancel later does not see it */
	gx_ctx *p = mkcancel(gx_ctx_background());
	gx_ctx *c = mkcancel(p), *d = mkcancel(p);
	gx_ctx_release(c);
	EXPECT_EQ(gx_ctx_cancel(p), 0);
	EXPECT_EQ(gx_ctx_err(d), -ECANCELED);
	gx_ctx_release(d);
	gx_ctx_release(p);

	/* parent before child: the child keeps it alive and is still
	 * cancelled with it */
	p = mkcancel(gx_ctx_background());
	c = mkcancel(p);
	gx_ctx *ref = gx_ctx_ref(p);
	EXPECT_EQ(ref, p);
	gx_ctx_release(p);
	EXPECT_EQ(gx_ctx_err(c), 0);
	EXPECT_EQ(gx_ctx_cancel(ref), 0);
	EXPECT_EQ(gx_ctx_err(c), -ECANCELED);
	gx_ctx_release(ref); /* p is kept by c's reference */
	EXPECT_EQ(gx_ctx_err(c), -ECANCELED);
	gx_ctx_release(c); /* frees c, then p */

	/* a live child released: detached, nothing cancelled */
	p = mkcancel(gx_ctx_background());
	c = mkcancel(p);
	gx_ctx *g = mkcancel(c);
	gx_ctx_release(c); /* g holds c */
	EXPECT_EQ(gx_ctx_err(g), 0);
	EXPECT_EQ(gx_ctx_cancel(p), 0);
	EXPECT_EQ(gx_ctx_err(g), -ECANCELED); /* through c, still linked below p */
	gx_ctx_release(p);
	gx_ctx_release(g);

	/* cancelling a child detaches it: the parent and its other
	 * children go on */
	p = mkcancel(gx_ctx_background());
	c = mkcancel(p);
	d = mkcancel(p);
	EXPECT_EQ(gx_ctx_cancel(c), 0);
	EXPECT_EQ(gx_ctx_err(p), 0);
	EXPECT_EQ(gx_ctx_err(d), 0);
	EXPECT_EQ(gx_ctx_cancel(p), 0);
	EXPECT_EQ(gx_ctx_err(d), -ECANCELED);
	EXPECT_EQ(gx_ctx_err(c), -ECANCELED);
	gx_ctx_release(p);
	gx_ctx_release(d);
	gx_ctx_release(c);
}

/* ---- big trees ------------------------------------------------------------------------------------------ */

struct treewait {
	gx_ctx *c;
	gx_waitgroup *wg;
	_Atomic int *woke;
};

static void treewait_main(void *arg)
{
	struct treewait *t = arg;
	if (gx_ctx_recv(t->c, NULL, NULL) == -ECANCELED)
		atomic_fetch_add(t->woke, 1);
	gx_wg_done(t->wg);
}

GX_TEST(context_tree_10000_cancelled_at_once)
{
	/* root -> 100 children -> 99 grandchildren each: 10,000 contexts
	 * below the root, some of them waited on by goroutines. */
	enum { KIDS = 100, GRAND = 99 };
	gx_ctx *root = mkcancel(gx_ctx_background());
	gx_ctx **all = calloc(KIDS * (GRAND + 1), sizeof(gx_ctx *));
	ASSERT_NOT_NULL(all);
	int n = 0;
	for (int i = 0; i < KIDS; i++) {
		gx_ctx *k = mkcancel(root);
		all[n++] = k;
		for (int j = 0; j < GRAND; j++) {
			gx_ctx *g;
			if (j % 3 == 0)
				ASSERT_EQ(gx_ctx_with_timeout(k, 3600 * GX_SEC, &g), 0);
			else
				g = mkcancel(k);
			all[n++] = g;
		}
	}
	ASSERT_EQ(n, 10000);
	int nwait = (int)gx_scale(500);
	gx_waitgroup wg = GX_WAITGROUP_INIT;
	_Atomic int woke = 0;
	struct treewait *tw = calloc((size_t)nwait, sizeof(*tw));
	ASSERT_NOT_NULL(tw);
	gx_wg_add(&wg, nwait);
	for (int i = 0; i < nwait; i++) {
		tw[i] = (struct treewait){.c = all[(i * 7919) % n], .wg = &wg, .woke = &woke};
		ASSERT_GT(gx_go(treewait_main, &tw[i]), 0);
	}
	for (int i = 0; i < n; i++)
		ASSERT_EQ(gx_ctx_err(all[i]), 0);
	int64_t t0 = gx_now();
	EXPECT_EQ(gx_ctx_cancel(root), 0);
	int64_t took = gx_now() - t0;
	TH_LOG("cancelled 10,001 contexts in %.2f ms", (double)took / 1e6);
	/* when the cancel returns, every done channel is closed */
	for (int i = 0; i < n; i++) {
		EXPECT_EQ(gx_ctx_err(all[i]), -ECANCELED);
		EXPECT_TRUE(done_closed(all[i]));
	}
	gx_wg_wait(&wg);
	EXPECT_EQ(atomic_load(&woke), nwait);
	/* released in a scrambled order, parents among children */
	uint64_t seed = 0x9E3779B97F4A7C15ULL;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(trand(&seed) % (uint32_t)(i + 1));
		gx_ctx *x = all[i];
		all[i] = all[j];
		all[j] = x;
	}
	gx_ctx_release(root);
	for (int i = 0; i < n; i++)
		gx_ctx_release(all[i]);
	free(all);
	free(tw);
}

GX_TEST(context_chain_10000_deep)
{
	enum { DEPTH = 10000 };
	static int key;
	gx_ctx **chain = calloc(DEPTH, sizeof(gx_ctx *));
	ASSERT_NOT_NULL(chain);
	gx_ctx *parent = gx_ctx_background();
	for (int i = 0; i < DEPTH; i++) {
		if (i % 10 == 5)
			ASSERT_EQ(gx_ctx_with_value(parent, &key, (void *)(intptr_t)(i + 1), &chain[i]), 0);
		else
			chain[i] = mkcancel(parent);
		parent = chain[i];
	}
	EXPECT_EQ(gx_ctx_value(chain[DEPTH - 1], &key), (void *)(intptr_t)(DEPTH - 4));
	EXPECT_EQ(gx_ctx_cancel(chain[0]), 0); /* a flat walk: no recursion */
	for (int i = 0; i < DEPTH; i++)
		EXPECT_EQ(gx_ctx_err(chain[i]), -ECANCELED);
	EXPECT_TRUE(done_closed(chain[DEPTH - 1]));
	/* root first: the leaf's release then frees the whole chain,
	 * iteratively */
	for (int i = 0; i < DEPTH; i++)
		gx_ctx_release(chain[i]);
	free(chain);

	/* a deep chain released leaf to root, live (never cancelled) */
	parent = gx_ctx_background();
	chain = calloc(DEPTH, sizeof(gx_ctx *));
	ASSERT_NOT_NULL(chain);
	for (int i = 0; i < DEPTH; i++)
		parent = chain[i] = mkcancel(parent);
	for (int i = DEPTH - 1; i >= 0; i--)
		gx_ctx_release(chain[i]);
	free(chain);
}

/* ---- foreign threads ---------------------------------------------------------------------------------------- */

struct foreign {
	gx_ctx *target;
	int results[8];
};

static void *foreign_main(void *arg)
{
	struct foreign *f = arg;
	/* what a thread outside the runtime can do: make, read, cancel,
	 * release (not block) */
	gx_ctx *c = NULL, *v = NULL;
	static int key;
	f->results[0] = gx_ctx_with_cancel(f->target, &c);
	f->results[1] = gx_ctx_with_value(c, &key, &key, &v);
	f->results[2] = gx_ctx_value(v, &key) == &key;
	f->results[3] = gx_ctx_recv(c, NULL, NULL); /* would block: -EPERM */
	f->results[4] = gx_ctx_sleep(c, GX_MS);	    /* -EPERM */
	gx_ctx *t = NULL;
	f->results[5] = gx_ctx_with_timeout(c, 3600 * GX_SEC, &t); /* timers work from here */
	gx_ctx_release(t);
	gx_ctx_release(v);
	gx_ctx_release(c);
	f->results[6] = gx_ctx_cancel(f->target);
	f->results[7] = gx_ctx_err(f->target);
	return NULL;
}

GX_TEST(context_cancel_from_foreign_thread)
{
	struct selwait s = {.c = mkcancel(gx_ctx_background()), .wg = GX_WAITGROUP_INIT};
	ASSERT_EQ(gx_chan_make(&s.work, sizeof(int), 0), 0);
	int n = (int)gx_scale(100);
	gx_wg_add(&s.wg, n);
	for (int i = 0; i < n; i++)
		ASSERT_GT(gx_go(selwait_main, &s), 0);
	wait_receivers(gx_ctx_done(s.c), n);
	struct foreign f = {.target = s.c};
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, foreign_main, &f), 0);
	/* join first, blocking this M: wake-ups from outside the runtime
	 * are invisible to deadlock detection (gmpx.h, gx_ready) */
	ASSERT_EQ(pthread_join(th, NULL), 0);
	gx_wg_wait(&s.wg); /* woken by the foreign thread's cancel */
	EXPECT_EQ(atomic_load(&s.woke), n);
	EXPECT_EQ(f.results[0], 0);
	EXPECT_EQ(f.results[1], 0);
	EXPECT_EQ(f.results[2], 1);
	EXPECT_EQ(f.results[3], -EPERM);
	EXPECT_EQ(f.results[4], -EPERM);
	EXPECT_EQ(f.results[5], 0);
	EXPECT_EQ(f.results[6], 0);
	EXPECT_EQ(f.results[7], -ECANCELED);
	gx_chan_free(s.work);
	gx_ctx_release(s.c);
}

/* ---- stress: make, cancel, release and wait on every P at once ------------------------------------------------ */

struct stress {
	gx_ctx *root;
	long iters;
	gx_waitgroup wg;
	_Atomic long cancelled;
};

static void stress_main(void *arg)
{
	struct stress *s = arg;
	uint64_t seed = (uint64_t)gx_id() * 0x9E3779B97F4A7C15ULL | 1;
	gx_ctx *mine[8] = {0};
	for (long i = 0; i < s->iters; i++) {
		uint32_t r = trand(&seed);
		int k = (int)(r % 8);
		if (mine[k]) {
			if (r & 0x100)
				EXPECT_EQ(gx_ctx_cancel(mine[k]), 0);
			if (gx_ctx_err(mine[k]))
				atomic_fetch_add(&s->cancelled, 1);
			gx_ctx_release(mine[k]);
			mine[k] = NULL;
		} else {
			/* a child of the root, or of one of ours */
			gx_ctx *parent = s->root;
			int pk = (int)((r >> 3) % 8);
			if ((r & 0x200) && mine[pk])
				parent = mine[pk];
			int e;
			if (r & 0x400)
				e = gx_ctx_with_timeout(parent, (int64_t)(r >> 20) * GX_US, &mine[k]);
			else
				e = gx_ctx_with_cancel(parent, &mine[k]);
			ASSERT_EQ(e, 0);
		}
		if ((r & 0x1800) == 0x1800 && mine[k])
			(void)gx_ctx_sleep(mine[k], (int64_t)(r % 50) * GX_US);
		if (r & 0x2000)
			gx_yield();
	}
	for (int k = 0; k < 8; k++)
		gx_ctx_release(mine[k]);
	gx_wg_done(&s->wg);
}

GX_TEST_PROCS(context_stress_make_cancel_release, 4, 120)
{
	for (int round = 0; round < 3; round++) {
		struct stress s = {
			.root = mkcancel(gx_ctx_background()), .iters = gx_scale(20000), .wg = GX_WAITGROUP_INIT};
		int n = 16;
		gx_wg_add(&s.wg, n);
		for (int i = 0; i < n; i++)
			ASSERT_GT(gx_go(stress_main, &s), 0);
		/* cancel the root halfway (in round 0, not at all) */
		if (round > 0) {
			gx_sleep(round * GX_MS);
			EXPECT_EQ(gx_ctx_cancel(s.root), 0);
		}
		gx_wg_wait(&s.wg);
		gx_ctx_release(s.root);
	}
}

/* ---- before the runtime starts ----------------------------------------------------------------------------------- */

TEST(context_outside_the_runtime)
{
	/* No gx_main in this child: contexts without timers work; a
	 * deadline ahead needs one: -EPERM. */
	gx_ctx *c, *d, *v;
	static int key;
	ASSERT_EQ(gx_ctx_with_cancel(gx_ctx_background(), &c), 0);
	ASSERT_EQ(gx_ctx_with_value(c, &key, &key, &v), 0);
	EXPECT_EQ(gx_ctx_with_timeout(c, GX_SEC, &d), -EPERM);
	EXPECT_NULL(d);
	ASSERT_EQ(gx_ctx_with_timeout(c, 0, &d), 0); /* born expired: no timer */
	EXPECT_EQ(gx_ctx_err(d), -ETIMEDOUT);
	EXPECT_EQ(gx_ctx_cancel(c), 0);
	EXPECT_EQ(gx_ctx_err(v), -ECANCELED);
	EXPECT_EQ(gx_chan_recv(gx_ctx_done(v), NULL, GX_NOW), 0);
	EXPECT_EQ(gx_ctx_recv(v, NULL, NULL), -ECANCELED);
	gx_ctx_release(d);
	gx_ctx_release(v);
	gx_ctx_release(c);
}
