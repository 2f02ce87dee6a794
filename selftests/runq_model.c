/* SPDX-License-Identifier: MIT */
/*
 * runq_model.c - exhaustive interleaving test of the real user/runq.c.
 *
 * runq.c is #included with GX_RUNQ_MODEL defined, so every shared-memory
 * access it makes (each atomic load, store and CAS on runqhead, runqtail,
 * the ring slots and runnext) is preceded by a call to gx_model_step(). Each
 * model "thread" is a coroutine on its own stack (gx_ctx_make /
 * gx_ctx_switch); gx_model_step() switches back to a deterministic
 * scheduler, which decides which thread performs its next access. So one
 * schedule = one sequence of thread choices, and the program explores all of
 * them by stateless depth-first search: run the scenario from scratch,
 * replay a prefix of choices, take the next untried alternative at the
 * deepest choice point that has one. A CHESS-style preemption bound (a
 * switch away from a thread that could have continued counts as one
 * preemption) keeps the search tractable; threads blocked on the global
 * queue lock or finished may be switched away from for free.
 *
 * The model is sequentially consistent: it finds lost or duplicated Gs
 * caused by interleavings (the algorithm), not by weak memory ordering (the
 * stress test under TSan covers the C11 orderings).
 *
 * After each complete schedule every G that was put must have been obtained
 * exactly once: from runqget/runqsteal/globrunqget results in the threads,
 * or, draining afterwards, from any P's ring or runnext or the global queue.
 * gx_fatal, a deadlock (everyone blocked on the lock) or a livelock (a
 * schedule longer than MAXDEPTH) also count as violations. On a violation
 * the schedule and the source line of each access are printed and the
 * program exits 1.
 *
 * The tiny ring (GX_RUNQ_SIZE 4) makes the full-ring spill (runqputslow),
 * index wrap-around and half-ring steals reachable in a few operations.
 * Some scenarios start every P's head and tail at 2^32 - 2, so the 32-bit
 * counters themselves wrap during the schedule.
 *
 * usage: runq_model [-b BOUND] [-v] [SCENARIO...]
 *   -b BOUND  preemption bound for every scenario (-1: unbounded);
 *             default: each scenario's own bound.
 *   exit status: 0 all scenarios pass, 1 a violation was found, 2 usage.
 * To test a mutant of runq.c, build with -DRUNQ_SRC='"path/to/mutant.c"'
 * (see runq_model.sh).
 */
#define GX_RUNQ_MODEL 1
#define GX_RUNQ_SIZE  4

#ifdef RUNQ_SRC
#include RUNQ_SRC
#else
#include "../user/runq.c"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- symbols runq.c needs ------------------------------------------- */

struct gx_sched gx_sched;
struct gx_kabi_proc *gx_kabi; /* never attached here */
__thread struct gx_m *gx_tls_m;

void gx_procyield(int n)
{
	(void)n;
}

/* ---- the model scheduler --------------------------------------------- */

#define MAXT	   3
#define NP	   3
#define NG	   16
#define STACK_SIZE (64 * 1024)
#define MAXDEPTH   2048 /* longer schedule = livelock */
#define NEVENTS	   512

enum { T_RUN, T_BLOCKED, T_DONE };

struct mthread {
	void *sp;
	int state;
	void (*fn)(int self);
	gx_lock_t *waiting; /* lock it is blocked on */
	void *pending;	    /* return address of its pending step */
};

/* One choice point of the current schedule. */
struct choice {
	uint8_t enabled; /* threads that could run */
	uint8_t tried;	 /* alternatives explored (or skipped by the bound) */
	int8_t chosen;
	int8_t last;	  /* thread that ran the previous step, -1 at the start */
	int16_t preempts; /* preemptions before this choice */
};

struct scenario {
	const char *name;
	const char *desc;
	int nthreads;
	int bound;     /* preemption bound, -1 = none */
	uint32_t base; /* initial runqhead = runqtail of every P (near 2^32: counters wrap) */
	void (*setup)(void);
	void (*fn[MAXT])(int self);
};

static struct mthread th[MAXT];
static int nthreads;
static int cur = -1; /* running thread, -1 = scheduler / main */
static void *sched_sp;
static _Alignas(64) unsigned char stacks[MAXT][STACK_SIZE];

static struct choice stk[MAXDEPTH];
static void *where[MAXDEPTH]; /* code address of the access at each step */
static int depth, prefix_len;

static const struct scenario *cur_sc;
static int tap_num; /* TAP number of the scenario being explored */
static int verbose;

/* World state, reset before every schedule. */
static struct gx_p P[NP];
static gx_g gs[NG];
static int nput[NG], ngot[NG];
static bool fatal_hit;
static char fatal_msg[256];

/* High-level events of the current schedule (printed on a violation). */
struct event {
	int step, thread;
	char text[72];
};
static struct event events[NEVENTS];
static int nevents;

static void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ev(const char *fmt, ...)
{
	if (nevents >= NEVENTS)
		return;
	struct event *e = &events[nevents++];
	e->step = depth;
	e->thread = cur;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
}

void gx_model_step(void)
{
	if (cur < 0)
		return; /* setup and final drain run outside the model */
	th[cur].pending = __builtin_return_address(0);
	gx_ctx_switch(&th[cur].sp, sched_sp);
}

/* The global queue lock: acquiring it is a scheduling point, and a thread
 * that finds it held blocks (is not schedulable) until it is released. */
void gx_lock(gx_lock_t *l)
{
	gx_model_step();
	if (cur < 0) {
		atomic_store(&l->key, 100);
		return;
	}
	while (atomic_load(&l->key) != 0) {
		th[cur].state = T_BLOCKED;
		th[cur].waiting = l;
		gx_ctx_switch(&th[cur].sp, sched_sp);
	}
	atomic_store(&l->key, (uint32_t)cur + 1);
}

/* GX_ASSERT_LOCK_HELD (runtime.h) against the model's lock: held by the
 * current model thread. */
void gx_assert_lock_held(gx_lock_t *l, const char *lockname, const char *fn)
{
	uint32_t me = cur < 0 ? 100 : (uint32_t)cur + 1;
	if (atomic_load(&l->key) != me)
		gx_fatal("%s: lock %s not held", fn, lockname);
}

void gx_unlock(gx_lock_t *l)
{
	gx_model_step();
	uint32_t me = cur < 0 ? 100 : (uint32_t)cur + 1;
	if (atomic_load(&l->key) != me)
		gx_fatal("gx_unlock: lock not held by the caller");
	atomic_store(&l->key, 0);
	for (int i = 0; i < nthreads; i++) {
		if (th[i].state == T_BLOCKED && th[i].waiting == l) {
			th[i].state = T_RUN;
			th[i].waiting = NULL;
		}
	}
}

static void violation(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

void gx_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fatal_msg, sizeof fatal_msg, fmt, ap);
	va_end(ap);
	fatal_hit = true;
	if (cur < 0)
		violation("gx_fatal outside the model: %s", fatal_msg);
	th[cur].state = T_DONE;
	gx_ctx_switch(&th[cur].sp, sched_sp);
	abort();
}

static void thread_entry(void *arg)
{
	int i = (int)(intptr_t)arg;
	th[i].fn(i);
	th[i].state = T_DONE;
	gx_ctx_switch(&th[i].sp, sched_sp);
	abort(); /* never resumed */
}

extern char __executable_start[];

/* Print "file:line" of a code address (best effort, with addr2line). */
static void print_where(void *pc)
{
	static char exe[4096];
	static bool have_exe;
	if (!have_exe) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		exe[n > 0 ? n : 0] = 0;
		have_exe = true;
	}
	char cmd[4400];
	/* the return address follows the call: look up the call itself */
	uintptr_t off = (uintptr_t)pc - 1 - (uintptr_t)__executable_start;
	snprintf(cmd, sizeof cmd, "addr2line -f -i -s -e '%s' %#lx 2>/dev/null", exe, (unsigned long)off);
	FILE *f = popen(cmd, "r");
	char fn[128] = "?", loc[128] = "?";
	if (f) {
		/* -i lists inlined frames innermost first; show the first two */
		char fn2[128] = "", loc2[128] = "";
		if (fgets(fn, sizeof fn, f) && fgets(loc, sizeof loc, f)) {
			if (fgets(fn2, sizeof fn2, f) && fgets(loc2, sizeof loc2, f)) {
			}
		}
		pclose(f);
		fn[strcspn(fn, "\n")] = 0;
		loc[strcspn(loc, "\n")] = 0;
		fn2[strcspn(fn2, "\n")] = 0;
		loc2[strcspn(loc2, "\n")] = 0;
		if (fn2[0] && strcmp(fn2, fn) != 0)
			printf("%s (%s) in %s (%s)", fn, loc, fn2, loc2);
		else
			printf("%s (%s)", fn, loc);
		return;
	}
	printf("%p", pc);
}

static void print_event(const struct event *e)
{
	if (e->thread < 0)
		printf("#            setup: %s\n", e->text);
	else
		printf("#            T%d: %s\n", e->thread, e->text);
}

static void print_schedule(void)
{
	printf("# schedule (%d steps, thread chosen at each step):", depth);
	for (int d = 0; d < depth; d++)
		printf("%s%d", d % 40 ? "" : "\n#   ", stk[d].chosen);
	printf("\n# interleaving (step: thread, shared access performed):\n");
	int e = 0;
	for (int d = 0; d < depth; d++) {
		for (; e < nevents && events[e].step <= d; e++)
			print_event(&events[e]);
		printf("#   %4d: T%d ", d, stk[d].chosen);
		print_where(where[d]);
		printf("\n");
	}
	for (; e < nevents; e++)
		print_event(&events[e]);
}

static void violation(const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fflush(stdout);
	printf("# VIOLATION in scenario %s: %s\n", cur_sc ? cur_sc->name : "?", msg);
	print_schedule();
	printf("not ok %d - %s # VIOLATION: %s\n", tap_num, cur_sc ? cur_sc->name : "?", msg);
	printf("%d passed, 1 failed\n", tap_num - 1);
	fflush(stdout);
	exit(1);
}

/* ---- operations used by the scenario programs ------------------------ */

static int gid(gx_g *g)
{
	if (g == NULL)
		return -1;
	if (g < gs || g >= gs + NG || (uintptr_t)((char *)g - (char *)gs) % sizeof *g)
		violation("bogus G pointer %p obtained", (void *)g);
	return (int)(g - gs);
}

/* "gN" or "NULL", for the event log */
static const char *gn(gx_g *g)
{
	static char buf[4][16];
	static int k;
	char *b = buf[k++ & 3];
	if (g)
		snprintf(b, sizeof buf[0], "g%d", gid(g));
	else
		snprintf(b, sizeof buf[0], "NULL");
	return b;
}

static void got(gx_g *g, const char *how)
{
	int i = gid(g);
	if (i < 0)
		return;
	ngot[i]++;
	if (ngot[i] > 1 && cur >= 0)
		ev("%s: g%d AGAIN", how, i); /* reported at the end */
}

static void put(int p, int g, bool next)
{
	ev("runqput(P%d, g%d, next=%d) begins", p, g, next);
	nput[g]++;
	gx_runqput(&P[p], &gs[g], next);
	ev("runqput(P%d, g%d) done", p, g);
}

static gx_g *get(int p)
{
	bool inherit;
	gx_g *g = gx_runqget(&P[p], &inherit);
	ev("runqget(P%d) -> %s%s", p, gn(g), inherit ? " (runnext)" : "");
	got(g, "runqget");
	return g;
}

static void drain(int p)
{
	while (get(p))
		;
}

static gx_g *steal(int p, int victim, bool stealnext)
{
	gx_g *g = gx_runqsteal(&P[p], &P[victim], stealnext);
	ev("runqsteal(P%d <- P%d, stealnext=%d) -> %s", p, victim, stealnext, gn(g));
	got(g, "runqsteal");
	return g;
}

static void globget(int p)
{
	gx_lock(&gx_sched.lock);
	gx_g *g = gx_globrunqget(&P[p], 0);
	gx_unlock(&gx_sched.lock);
	ev("globrunqget(P%d) -> %s", p, gn(g));
	got(g, "globrunqget");
}

/* ---- scenarios --------------------------------------------------------- */

/* Owner fills its ring in setup (outside the model) with g0..g3. */
static void fill4(void)
{
	for (int i = 0; i < 4; i++)
		put(0, i, false);
}

/* a) mixed put/get by the owner against a thief that steals twice. */
static void a_owner(int self)
{
	(void)self;
	put(0, 0, false);
	put(0, 1, true);
	put(0, 2, false);
	put(0, 3, true);
	drain(0);
}
static void a_thief(int self)
{
	(void)self;
	steal(1, 0, true);
	drain(1);
	steal(1, 0, false);
	drain(1);
}

/* b) the owner's ring is full: its puts spill half of it to the global
 * queue (runqputslow) while the thief steals; the CAS in runqputslow fails
 * if the thief moved the head, and the put retries into the room left. Both
 * then take from the global queue under the (model) lock. */
static void b_owner(int self)
{
	(void)self;
	put(0, 4, false);
	put(0, 5, true);
	put(0, 6, false);
	drain(0);
	globget(0);
	drain(0);
}
static void b_thief(int self)
{
	(void)self;
	steal(1, 0, false);
	drain(1);
	globget(1);
	drain(1);
}

/* c) two thieves steal from the same victim while its owner gets and puts. */
static void c_setup(void)
{
	fill4();
	put(0, 4, true);
}
static void c_owner(int self)
{
	(void)self;
	get(0);
	put(0, 5, false);
	put(0, 6, true);
	drain(0);
}
static void c_thief(int self)
{
	steal(self, 0, true);
	drain(self);
}

/* d) runnext contention: the owner keeps replacing runnext (kicking the old
 * one to the ring) while the thief steals with stealnext. */
static void d_owner(int self)
{
	(void)self;
	put(0, 0, true);
	put(0, 1, true);
	put(0, 2, true);
	put(0, 3, true);
	drain(0);
}
static void d_thief(int self)
{
	(void)self;
	steal(1, 0, true);
	steal(1, 0, true);
	drain(1);
}

/* e) stale snapshot: the thief reads the victim's head, the owner then
 * consumes and refills the ring (wrapping it), the thief reads the tail.
 * The thief's own ring holds a G, which a too-large copy would clobber. */
static void e_setup(void)
{
	fill4();
	put(1, 4, false);
}
static void e_owner(int self)
{
	(void)self;
	for (int i = 0; i < 4; i++)
		get(0);
	put(0, 5, false);
	put(0, 6, false);
	put(0, 7, false);
	drain(0);
}
static void e_thief(int self)
{
	(void)self;
	steal(1, 0, false);
	drain(1);
}

/* f) a retiring P's owner drains it to the global queue (under the lock)
 * while a thief steals its ring and runnext. */
static void f_setup(void)
{
	put(0, 0, false);
	put(0, 1, false);
	put(0, 2, false);
	put(0, 3, true);
}
static void f_owner(int self)
{
	(void)self;
	gx_lock(&gx_sched.lock);
	gx_runqdrain_locked(&P[0]);
	gx_unlock(&gx_sched.lock);
	ev("runqdrain_locked(P0) done");
}
static void f_thief(int self)
{
	(void)self;
	steal(1, 0, true);
	drain(1);
	steal(1, 0, true);
	drain(1);
}

/* g) the owner refills its ring from the global queue (globrunqget) while a
 * thief steals from it. */
static void g_setup(void)
{
	gx_lock(&gx_sched.lock);
	for (int i = 0; i < 4; i++) {
		nput[i]++;
		gx_globrunqput(&gs[i]);
	}
	gx_unlock(&gx_sched.lock);
	put(0, 4, false);
}
static void g_owner(int self)
{
	(void)self;
	globget(0);
	drain(0);
	globget(0);
	drain(0);
}
static void g_thief(int self)
{
	(void)self;
	steal(1, 0, false);
	drain(1);
	steal(1, 0, false);
	drain(1);
}

/* h) small enough to explore every interleaving with no bound. */
static void h_owner(int self)
{
	(void)self;
	put(0, 0, false);
	put(0, 1, true);
	get(0);
	get(0);
}
static void h_thief(int self)
{
	(void)self;
	steal(1, 0, true);
	get(1);
}

/* i) full ring: one put spills (or, after a steal, retries into the room)
 * against a steal and a get of what it stole; every interleaving, no
 * bound. */
static void i_owner(int self)
{
	(void)self;
	put(0, 4, false);
}
static void i_thief(int self)
{
	(void)self;
	steal(1, 0, false);
	get(1);
}

static const struct scenario scenarios[] = {
	{"a_put_get_steal", "owner put x4 (next mixed) + get; thief steal x2", 2, 5, 0, NULL, {a_owner, a_thief}},
	{"b_putslow_vs_steal", "full ring spills to global while thief steals", 2, 4, 0, fill4, {b_owner, b_thief}},
	{"c_two_thieves",
	 "two thieves and the owner on one victim",
	 3,
	 3,
	 0xfffffffeu,
	 c_setup,
	 {c_owner, c_thief, c_thief}},
	{"d_runnext", "owner replaces runnext x4; thief steals runnext", 2, 4, 0, NULL, {d_owner, d_thief}},
	{"e_stale_snapshot",
	 "owner wraps the ring between thief's head and tail reads",
	 2,
	 4,
	 0xfffffffeu,
	 e_setup,
	 {e_owner, e_thief}},
	{"f_drain_vs_steal", "runqdrain_locked vs thief", 2, 5, 0, f_setup, {f_owner, f_thief}},
	{"g_globget_vs_steal", "globrunqget refill vs thief", 2, 5, 0, g_setup, {g_owner, g_thief}},
	{"h_small_all",
	 "put, put next, get x2 vs steal next + get: all interleavings",
	 2,
	 -1,
	 0,
	 NULL,
	 {h_owner, h_thief}},
	{"i_spill_all",
	 "full ring: put (spill) vs steal + get: all interleavings",
	 2,
	 -1,
	 0xfffffffeu,
	 fill4,
	 {i_owner, i_thief}},
};
#define NSCEN ((int)(sizeof scenarios / sizeof scenarios[0]))

/* ---- running one schedule ------------------------------------------- */

static void reset_world(uint32_t base)
{
	memset(P, 0, sizeof P);
	for (int i = 0; i < NP; i++) {
		P[i].id = i;
		atomic_store(&P[i].runqhead, base);
		atomic_store(&P[i].runqtail, base);
		atomic_store(&P[i].status, Prunning);
	}
	memset(&gx_sched, 0, sizeof gx_sched);
	atomic_store(&gx_sched.gomaxprocs, NP);
	memset(gs, 0, sizeof gs);
	for (int i = 0; i < NG; i++)
		gs[i].goid = i;
	memset(nput, 0, sizeof nput);
	memset(ngot, 0, sizeof ngot);
	fatal_hit = false;
	nevents = 0;
	depth = 0;
}

/* After the schedule: take what is left in the queues, then check. */
static void check_world(void)
{
	cur = -1;
	for (int p = 0; p < NP; p++) {
		if (atomic_load(&P[p].runqtail) - atomic_load(&P[p].runqhead) > GX_RUNQ_SIZE)
			violation("P%d: head %u tail %u: more than a ring", p, atomic_load(&P[p].runqhead),
				  atomic_load(&P[p].runqtail));
		int n = 0;
		bool inherit;
		gx_g *g;
		while ((g = gx_runqget(&P[p], &inherit)) != NULL) {
			got(g, "left in P");
			if (++n > 2 * GX_RUNQ_SIZE)
				violation("P%d: queue does not drain", p);
		}
		if (!gx_runqempty(&P[p]))
			violation("P%d: not empty after draining", p);
	}
	int32_t n = 0;
	gx_g *last = NULL;
	for (gx_g *g = gx_sched.runqhead; g; g = g->schedlink) {
		got(g, "global queue");
		last = g;
		if (++n > NG)
			violation("global queue: cycle");
	}
	if (n != atomic_load(&gx_sched.runqsize))
		violation("global queue: %d Gs listed, runqsize %d", n, atomic_load(&gx_sched.runqsize));
	if (last != gx_sched.runqtail)
		violation("global queue: runqtail is not the last G");
	if (atomic_load(&gx_sched.lock.key) != 0)
		violation("sched.lock left held");
	for (int i = 0; i < NG; i++) {
		if (ngot[i] != nput[i])
			violation("g%d put %d time(s), obtained %d time(s) (%s)", i, nput[i], ngot[i],
				  ngot[i] < nput[i] ? "LOST" : "DUPLICATED");
	}
}

static void run_once(const struct scenario *sc)
{
	reset_world(sc->base);
	if (sc->setup)
		sc->setup();
	nthreads = sc->nthreads;
	for (int i = 0; i < nthreads; i++) {
		th[i].fn = sc->fn[i];
		th[i].state = T_RUN;
		th[i].waiting = NULL;
		th[i].sp = gx_ctx_make(stacks[i] + STACK_SIZE, thread_entry, (void *)(intptr_t)i);
	}
	/* Bring every thread to its first access: no choice involved. */
	for (int i = 0; i < nthreads; i++) {
		cur = i;
		gx_ctx_switch(&sched_sp, th[i].sp);
		cur = -1;
	}
	int last = -1, preempts = 0;
	for (;;) {
		unsigned en = 0;
		bool alive = false;
		for (int i = 0; i < nthreads; i++) {
			if (th[i].state == T_RUN)
				en |= 1u << i;
			if (th[i].state != T_DONE)
				alive = true;
		}
		if (!alive)
			break;
		if (!en)
			violation("deadlock: every live thread is blocked on the lock");
		if (depth >= MAXDEPTH)
			violation("livelock: schedule longer than %d steps", MAXDEPTH);
		int c;
		bool last_en = last >= 0 && (en >> last & 1);
		if (depth < prefix_len) {
			c = stk[depth].chosen;
			if (stk[depth].enabled != en || !(en >> c & 1)) {
				fprintf(stderr, "runq_model: replay diverged at step %d\n", depth);
				exit(3);
			}
		} else {
			c = last_en ? last : __builtin_ctz(en);
			stk[depth] = (struct choice){(uint8_t)en, (uint8_t)(1u << c), (int8_t)c, (int8_t)last,
						     (int16_t)preempts};
		}
		if (last_en && c != last)
			preempts++;
		where[depth] = th[c].pending;
		depth++;
		last = c;
		cur = c;
		gx_ctx_switch(&sched_sp, th[c].sp);
		cur = -1;
		if (fatal_hit)
			violation("gx_fatal: %s", fatal_msg);
	}
	check_world();
}

/* Move to the next schedule: deepest choice point with an untried
 * alternative that stays within the preemption bound. */
static bool next_schedule(int bound)
{
	for (int d = depth - 1; d >= 0; d--) {
		struct choice *ch = &stk[d];
		unsigned cand = ch->enabled & ~ch->tried;
		while (cand) {
			int a = __builtin_ctz(cand);
			cand &= cand - 1;
			ch->tried |= (uint8_t)(1u << a);
			bool cost = ch->last >= 0 && a != ch->last && (ch->enabled >> ch->last & 1);
			if (bound < 0 || ch->preempts + cost <= bound) {
				ch->chosen = (int8_t)a;
				prefix_len = d + 1;
				return true;
			}
		}
	}
	return false;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Explore every schedule of one scenario. Returns the number explored;
 * exits 1 on a violation. */
static long runq_model_explore(const struct scenario *sc, int bound, int *maxdepth)
{
	long runs = 0;
	cur_sc = sc;
	prefix_len = 0;
	*maxdepth = 0;
	do {
		run_once(sc);
		runs++;
		if (depth > *maxdepth)
			*maxdepth = depth;
	} while (next_schedule(bound));
	cur_sc = NULL;
	return runs;
}

int main(int argc, char **argv)
{
	int bound_override = -2;
	int first = 1;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "-b") && first + 1 < argc)
			bound_override = atoi(argv[++first]);
		else if (!strcmp(argv[first], "-v"))
			verbose = 1;
		else {
			fprintf(stderr, "usage: %s [-b BOUND] [-v] [SCENARIO...]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	int passed = 0, num = 0;
	double t_all = now();
	for (int s = 0; s < NSCEN; s++) {
		const struct scenario *sc = &scenarios[s];
		if (first < argc) {
			bool sel = false;
			for (int i = first; i < argc; i++)
				sel |= !strcmp(argv[i], sc->name);
			if (!sel)
				continue;
		}
		int bound = bound_override >= -1 ? bound_override : sc->bound;
		int maxdepth;
		double t0 = now();
		tap_num = num + 1;
		long runs = runq_model_explore(sc, bound, &maxdepth);
		num++;
		passed++;
		printf("ok %d - %s: %ld schedules, up to %d steps, preemption bound %d%s, %.2f s  # %s\n", num,
		       sc->name, runs, maxdepth, bound, sc->base ? ", head/tail start at 2^32-2" : "", now() - t0,
		       sc->desc);
	}
	if (first < argc && num == 0) {
		fprintf(stderr, "runq_model: no such scenario\n");
		return 2;
	}
	printf("# total %.2f s\n", now() - t_all);
	printf("%d passed, %d failed\n", passed, num - passed);
	return 0;
}
