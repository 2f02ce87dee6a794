/* SPDX-License-Identifier: MIT */
/*
 * gmpx/debug.h - seeing what the goroutines do: the leak check for tests.
 * (Goroutine dumps need no call: SIGQUIT, gmpx: fatal, a deadlock and a
 * crash print them; README, "Goroutine dumps".)
 *
 * A goroutine that a test started and that never finishes (blocked on a
 * channel nobody will send on, a forgotten ticker) is a leak; Go's users
 * catch them with goleak, whose check this is:
 *
 *	gx_leakmark *m = gx_leakcheck_begin();
 *	... the code under test ...
 *	if (gx_leakcheck_end(m, gx_now() + GX_SEC) != 0)
 *		fail();   // the leaked goroutines were printed with their stacks
 */
#ifndef GMPX_DEBUG_H
#define GMPX_DEBUG_H

#include <gmpx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The goroutines that existed at a point (gx_leakcheck_begin). */
typedef struct gx_leakmark gx_leakmark;

/*
 * gx_leakcheck_begin - remember which goroutines exist now. Returns the
 * mark for gx_leakcheck_end, or NULL when out of memory. Any thread.
 */
gx_leakmark *gx_leakcheck_begin(void);

/*
 * gx_leakcheck_end - [G] wait, until deadline, for every goroutine started
 * since the mark (other than the caller) to finish. Those still alive then
 * have leaked: a line "gmpx: leakcheck: N goroutine(s) started since the
 * mark still alive:" and each of them as in a goroutine dump (state, wait
 * reason, how long, stack, creator) go to stderr. Frees the mark. Returns
 * the number that leaked (0: none), -EINVAL for a NULL mark, -EPERM outside
 * runtime context (the mark is freed all the same).
 */
int gx_leakcheck_end(gx_leakmark *mark, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* GMPX_DEBUG_H */
