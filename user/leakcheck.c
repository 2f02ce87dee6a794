/* SPDX-License-Identifier: MIT */
/*
 * leakcheck.c - gx_leakcheck_begin/end (gmpx/debug.h): goroutines started
 * since a mark that are still alive at a deadline.
 *
 * A mark is the sorted list of the goids alive when it was taken. Goids are
 * never reused, so "started since the mark" is "alive and not in the list"
 * (the goid counter itself would not do: each P takes goids in batches,
 * so a later goroutine can have a smaller goid than an earlier one).
 * gx_leakcheck_end polls (gx_sleep, LEAK_POLL_MIN_NS doubling to
 * LEAK_POLL_MAX_NS) until none is left or the deadline passes, then prints
 * the ones left with the dump's own format (dump.c, with the world stopped
 * while their stacks are read, and started again after).
 */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <gmpx/debug.h>

/* LEAK_PRINT_MAX: leaked goroutines printed in full; the rest are counted
 * ("... and N more"): a leak of a million goroutines is one bug, not a
 * million lines to read. */
#define LEAK_PRINT_MAX 100

/* The poll interval of gx_leakcheck_end: short first (most goroutines
 * finish within microseconds of their test), then at most 10 ms. */
#define LEAK_POLL_MIN_NS (50LL * 1000)
#define LEAK_POLL_MAX_NS (10LL * 1000 * 1000)

struct gx_leakmark {
	int64_t n, cap;
	int64_t goids[]; /* sorted */
};

static bool goroutine_alive(const gx_g *gp)
{
	uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
	return st != Gdead && st != Gidle;
}

struct collect {
	struct gx_leakmark *m; /* NULL: count only */
	int64_t n;
};

GX_NO_TSAN static void collectg(gx_g *gp, void *arg)
{
	struct collect *c = arg;
	if (!goroutine_alive(gp))
		return;
	if (c->m && c->m->n < c->m->cap)
		c->m->goids[c->m->n++] = gp->goid;
	c->n++;
}

static int cmp_goid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

gx_leakmark *gx_leakcheck_begin(void)
{
	for (int tries = 0; tries < 4; tries++) {
		struct collect c = {NULL, 0};
		gx_forallg(collectg, &c);
		int64_t cap = c.n + c.n / 4 + 16; /* room for goroutines started meanwhile */
		struct gx_leakmark *m = malloc(sizeof(*m) + (size_t)cap * sizeof(int64_t));
		if (!m)
			return NULL;
		m->n = 0;
		m->cap = cap;
		c.m = m;
		c.n = 0;
		gx_forallg(collectg, &c);
		if (c.n <= cap) {
			qsort(m->goids, (size_t)m->n, sizeof(int64_t), cmp_goid);
			return m;
		}
		free(m); /* more started than there was room for: again */
	}
	return NULL;
}

struct leaked {
	const struct gx_leakmark *m;
	const gx_g *self;
	int64_t n;
	bool print;
};

GX_NO_TSAN static void leakedg(gx_g *gp, void *arg)
{
	struct leaked *l = arg;
	if (gp == l->self || !goroutine_alive(gp))
		return;
	int64_t goid = gp->goid;
	if (bsearch(&goid, l->m->goids, (size_t)l->m->n, sizeof(int64_t), cmp_goid))
		return;
	if (l->print && l->n < LEAK_PRINT_MAX)
		gx_dump_one(gp);
	l->n++;
}

/* printleaks - on g0: the leaked goroutines, with the world stopped. */
static void printleaks(void *arg)
{
	struct leaked *l = arg;
	if (!gx_dump_begin())
		return; /* another thread is dumping: the process is going away */
	int64_t n = l->n;
	gx_print("gmpx: leakcheck: %lld goroutine%s started since the mark still alive:\n\n", (long long)n,
		 n == 1 ? "" : "s");
	l->n = 0;
	gx_forallg(leakedg, l);
	if (l->n > LEAK_PRINT_MAX)
		gx_print("... and %lld more\n\n", (long long)(l->n - LEAK_PRINT_MAX));
	gx_dump_end();
}

int gx_leakcheck_end(gx_leakmark *mark, int64_t deadline)
{
	if (!mark)
		return -EINVAL;
	gx_g *self = getg();
	if (!self) {
		free(mark);
		return -EPERM;
	}
	struct leaked l = {mark, self, 0, false};
	int64_t poll = LEAK_POLL_MIN_NS;
	for (;;) {
		l.n = 0;
		gx_forallg(leakedg, &l);
		if (l.n == 0 || (deadline != GX_FOREVER && gx_nanotime() >= deadline))
			break;
		int64_t wait = poll;
		if (deadline != GX_FOREVER && deadline - gx_nanotime() < wait)
			wait = deadline - gx_nanotime();
		if (wait > 0)
			gx_sleep(wait);
		poll = poll * 2 > LEAK_POLL_MAX_NS ? LEAK_POLL_MAX_NS : poll * 2;
	}
	int64_t n = l.n;
	if (n > 0) {
		l.print = true;
		gx_systemstack(printleaks, &l); /* the unwinder needs more than a goroutine's stack */
	}
	free(mark);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
