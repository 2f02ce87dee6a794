/* SPDX-License-Identifier: MIT */
/*
 * gmpx/time.h - time, sleeping and timers (Go's time package on the
 * runtime's per-P timer heaps). Included by gmpx.h.
 */
#ifndef GMPX_TIME_H
#define GMPX_TIME_H

#include <gmpx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* gx_now - monotonic time in ns (the clock every deadline uses). */
int64_t gx_now(void);

#define GX_NS  ((int64_t)1)
#define GX_US  ((int64_t)1000)
#define GX_MS  ((int64_t)1000000)
#define GX_SEC ((int64_t)1000000000)

/* gx_sleep - park the calling goroutine for at least ns (<= 0: return at
 * once; a duration that ends past INT64_MAX: forever). [G] 0 or -EPERM.
 * The thread runs other goroutines meanwhile. */
int gx_sleep(int64_t ns);
/* gx_sleep_until - park until the monotonic time deadline. [G] 0, -EPERM,
 * -EINVAL (negative deadline). */
int gx_sleep_until(int64_t deadline);

/*
 * gx_timer - Go's time.Timer / time.Ticker / time.AfterFunc.
 * A timer made by gx_timer_make or gx_after sends the time it fired
 * (int64_t, gx_now() at firing) once on its channel gx_timer_chan(t),
 * which has capacity 1. A ticker sends every period and drops ticks the
 * reader misses. An gx_after_func timer runs fn(arg) in a new goroutine
 * and has no channel. As in Go 1.23, after gx_timer_stop or gx_timer_reset
 * returns, no value sent before the call can be received.
 * Free with gx_timer_free (also stops it).
 */
typedef struct gx_timer gx_timer;
struct gx_chan;

/* gx_timer_make - fire once after ns (a time past INT64_MAX: never). 0,
 * -EINVAL (t NULL, ns < 0), -ENOMEM, -EPERM (before gx_main: timers live
 * on the Ps). The same for gx_after, gx_ticker_make and gx_after_func. */
int gx_timer_make(gx_timer **t, int64_t ns);
/* gx_after - Go's time.After: a one-shot timer; receive from
 * gx_timer_chan(*t). Same as gx_timer_make. */
int gx_after(gx_timer **t, int64_t ns);
/* gx_ticker_make - fire every period ns (> 0; else -EINVAL). */
int gx_ticker_make(gx_timer **t, int64_t period);
/* gx_after_func - run fn(arg) in its own goroutine after ns (fn NULL:
 * -EINVAL). */
int gx_after_func(gx_timer **t, int64_t ns, gx_fn fn, void *arg);
/* gx_timer_chan - the channel a timer sends on (NULL for after_func). */
struct gx_chan *gx_timer_chan(gx_timer *t);
/* gx_timer_stop - 1 if the timer was active (it will not fire now), 0 if
 * it had fired or was stopped; -EINVAL for NULL. */
int gx_timer_stop(gx_timer *t);
/* gx_timer_reset - re-arm to fire after ns (a ticker: with period ns);
 * 1 if it had been active, 0 if not, -EINVAL (t NULL, ns < 0, or ns 0 for
 * a ticker), which leaves the timer as it was. */
int gx_timer_reset(gx_timer *t, int64_t ns);
/* gx_timer_free - stop and free. */
void gx_timer_free(gx_timer *t);

#ifdef __cplusplus
}
#endif
#endif /* GMPX_TIME_H */
