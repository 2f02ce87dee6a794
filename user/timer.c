/* SPDX-License-Identifier: MIT */
/*
 * timer.c - Go's time.Timer, time.Ticker, time.After and time.AfterFunc on
 * runtime timers (time.c) and channels (chan.c).
 *
 * A channel timer owns a capacity-1 channel of int64_t; its callback does a
 * non-blocking send of the firing time, so a tick nobody takes is dropped
 * (as Go's tickers do). As in Go 1.23, Stop and Reset drain the channel:
 * once they return, no value from before the call can be received. An
 * AfterFunc timer starts a goroutine from the callback (gx_newproc on g0).
 */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>

/* ---- gx_timer: Go's time.Timer, Ticker and AfterFunc ------------------------------------ */

struct gx_timer {
	struct gx_rtimer rt;
	gx_chan *c; /* NULL for gx_after_func timers */
	gx_fn fn;   /* gx_after_func */
	void *fnarg;
	int64_t period;
};

static void sendtime(void *arg, uintptr_t seq)
{
	(void)seq;
	struct gx_timer *t = arg;
	int64_t now = gx_nanotime();
	(void)gx_chan_send(t->c, &now, GX_NOW); /* a tick nobody takes is dropped */
}

static void gofunc(void *arg, uintptr_t seq)
{
	(void)seq;
	struct gx_timer *t = arg;
	if (gx_newproc(NULL, t->fn, t->fnarg, 0) < 0)
		gx_print("gmpx: gx_after_func: cannot start its goroutine (out of memory)\n");
}

static int timer_new(gx_timer **out, int64_t ns, int64_t period, gx_fn fn, void *arg)
{
	if (!out || ns < 0 || period < 0)
		return -EINVAL;
	if (!gx_runtime_ready())
		return -EPERM; /* no P holds timers before gx_main */
	struct gx_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->fnarg = arg;
	t->period = period;
	if (!fn) {
		int err = gx_chan_make(&t->c, sizeof(int64_t), 1);
		if (err) {
			free(t);
			return err;
		}
	}
	gx_addtimer(&t->rt, gx_when(ns), period, fn ? gofunc : sendtime, t, 0);
	*out = t;
	return 0;
}

int gx_timer_make(gx_timer **t, int64_t ns)
{
	GX_ENTER();
	return timer_new(t, ns, 0, NULL, NULL);
}

int gx_ticker_make(gx_timer **t, int64_t period)
{
	GX_ENTER();
	if (period <= 0)
		return -EINVAL;
	return timer_new(t, period, period, NULL, NULL);
}

int gx_after(gx_timer **t, int64_t ns)
{
	GX_ENTER();
	return timer_new(t, ns, 0, NULL, NULL);
}

int gx_after_func(gx_timer **t, int64_t ns, gx_fn fn, void *arg)
{
	GX_ENTER();
	if (!fn)
		return -EINVAL;
	return timer_new(t, ns, 0, fn, arg);
}

gx_chan *gx_timer_chan(gx_timer *t)
{
	return t ? t->c : NULL;
}

/* drain - Go 1.23: after Stop/Reset no stale value is received. */
static void drain(struct gx_timer *t)
{
	if (t->c)
		while (gx_chan_recv(t->c, NULL, GX_NOW) == 1)
			;
}

int gx_timer_stop(gx_timer *t)
{
	GX_ENTER();
	if (!t)
		return -EINVAL;
	bool active = gx_deltimer(&t->rt);
	drain(t);
	return active ? 1 : 0;
}

int gx_timer_reset(gx_timer *t, int64_t ns)
{
	GX_ENTER();
	/* refused before anything changes: a ticker's period must be > 0 */
	if (!t || ns < 0 || (t->period > 0 && ns == 0))
		return -EINVAL;
	bool active = gx_deltimer(&t->rt);
	drain(t);
	int64_t period = t->period;
	if (period > 0)
		period = ns; /* Ticker.Reset(d) changes the period */
	t->period = period;
	gx_addtimer(&t->rt, gx_when(ns), period, t->fn ? gofunc : sendtime, t, 0);
	return active ? 1 : 0;
}

void gx_timer_free(gx_timer *t)
{
	GX_ENTER();
	if (!t)
		return;
	gx_deltimer(&t->rt);
	if (t->c)
		gx_chan_free(t->c);
	free(t);
}
