/* SPDX-License-Identifier: MIT */
/*
 * runq_stress.c - real-thread stress test of user/runq.c.
 *
 * The normal (non-model) build of runq.c is #included and driven by real
 * pthreads, each owning one P, the way Ms use it:
 *  - owner threads create fresh Gs with runqput (next true or false, in
 *    bursts that can overflow the ring, so runqputslow spills to the global
 *    queue), take them back with runqget and refill from the global queue
 *    with globrunqget;
 *  - thief threads take from their own P with runqget and, only when it is
 *    empty (the scheduler's precondition), runqsteal from a random other P,
 *    with or without stealnext; they too use globrunqget.
 *  Anyone who takes a G may put it back on its own P (a G made runnable
 *  again), up to a few times per G. Random sched_yield calls shake the
 *  interleavings. Idle callers also poll gx_runqempty / gx_runqlen of random
 *  Ps (read-only, for the race detector).
 *
 * The Gs are fake: a gx_g inside a struct with plain payload fields. A side
 * table holds, per G, an atomic state (fresh, queued, taken) and put/take
 * counters. Every take must find the G queued (else it was duplicated) and
 * must see the payload the putter wrote into the plain fields (else the
 * queue did not publish it; under TSan a missing happens-before is also a
 * reported race). At the end every G
 * must have been taken exactly as often as it was put, and every P and the
 * global queue must be empty; a G that is never taken (lost) shows up as a
 * timeout.
 *
 * Build (the ring size may be overridden, e.g. -DGX_RUNQ_SIZE=16 for more
 * spills and steals; -DRUNQ_SRC='"path"' tests another copy of runq.c):
 *   gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -I include -I user \
 *       selftests/runq_stress.c -o build/runq_stress -pthread
 *   ... -fsanitize=thread, or -fsanitize=address,undefined
 * usage: runq_stress [-s SECONDS] [-n NGS]
 *   Runs each configuration once with NGS Gs (default 100000), then cycles
 *   through them with new seeds until SECONDS (default 5) have passed.
 * Prints one TAP line per run and "N passed, N failed" last; exits 1 if any
 * run failed.
 */
#ifdef RUNQ_SRC
#include RUNQ_SRC /* a mutant, to check that the test can fail */
#else
#include "../user/runq.c"
#endif

#include <pthread.h>
#include <sched.h>
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
	for (int i = 0; i < n; i++)
		__builtin_ia32_pause();
}

/* sched.lock: a test-and-test-and-set spin lock that yields. */
#if GX_LOCK_CHECKS
static __thread char lockself; /* this thread's identity as a lock holder */
void gx_assert_lock_held(gx_lock_t *l, const char *lockname, const char *where)
{
	if (atomic_load_explicit(&l->owner, memory_order_relaxed) != &lockself)
		gx_fatal("%s: lock %s not held", where, lockname);
}
#endif

void gx_lock(gx_lock_t *l)
{
	for (;;) {
		if (atomic_load_explicit(&l->key, memory_order_relaxed) == 0 &&
		    atomic_exchange_explicit(&l->key, 1, memory_order_acquire) == 0)
			break;
		sched_yield();
	}
#if GX_LOCK_CHECKS
	atomic_store_explicit(&l->owner, &lockself, memory_order_relaxed);
#endif
}

void gx_unlock(gx_lock_t *l)
{
#if GX_LOCK_CHECKS
	atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
#endif
	atomic_store_explicit(&l->key, 0, memory_order_release);
}

void gx_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gx_fatal: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	printf("not ok - runq_stress # gx_fatal\n");
	fflush(stdout);
	_exit(1);
}

/* ---- test state --------------------------------------------------------- */

struct runq_stress_cfg {
	const char *name;
	int nowners;	 /* threads that create Gs, one P each */
	int nthieves;	 /* threads that steal, one P each */
	int ngs;	 /* Gs created in all */
	int recycle_max; /* times a G may be put back after being taken */
	int yield_pct;	 /* chance of a sched_yield per operation */
	unsigned seed;
	int timeout_s;
};

#define MAXTHREADS 8

enum { G_FRESH = 0, G_QUEUED, G_TAKEN };

/* A fake G: the runtime's gx_g (the queues use only its schedlink) plus
 * plain fields owned by whoever holds the G. */
struct fakeg {
	gx_g g;
	int id;
	uint64_t gen;	  /* times put */
	uint64_t payload; /* written by the putter, checked by the taker */
	int64_t note;	  /* written by the taker */
};

static struct fakeg *fg(gx_g *gp)
{
	return (struct fakeg *)((char *)gp - offsetof(struct fakeg, g));
}

struct gtrack {
	_Atomic int state;
	_Atomic uint32_t nput, ntake;
};

struct stats {
	uint64_t puts, putnext, gets, inherit, steal_tries, steals, globgets, recycles, yields;
};

static struct {
	const struct runq_stress_cfg *cfg;
	struct gx_p P[MAXTHREADS];
	struct fakeg *gs;
	struct gtrack *tr;
	_Atomic uint64_t puts, takes; /* puts is counted before the put */
	_Atomic int spawners_done;
	_Atomic bool stop;
	_Atomic bool failed;
	char failmsg[256];
	pthread_mutex_t failmu;
	pthread_barrier_t start;
	struct stats st[MAXTHREADS];
} S;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	pthread_mutex_lock(&S.failmu);
	if (!atomic_load(&S.failed)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(S.failmsg, sizeof S.failmsg, fmt, ap);
		va_end(ap);
		atomic_store(&S.failed, true);
	}
	pthread_mutex_unlock(&S.failmu);
	atomic_store(&S.stop, true);
}

struct worker {
	int id; /* == its P */
	bool owner;
	uint64_t rng;
	int next_fresh, end_fresh; /* owners: ids still to create */
	struct stats *st;
};

static uint32_t rnd(struct worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (uint32_t)((w->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint64_t payload(int id, uint64_t gen)
{
	return (uint64_t)id * 1000003u + gen * 7919u + 1;
}

/* Put gp on w's own P. The putter owns the G now: it writes plain fields
 * that the taker checks. */
static void do_put(struct worker *w, struct fakeg *f)
{
	struct gtrack *t = &S.tr[f->id];
	f->gen++;
	f->payload = payload(f->id, f->gen);
	atomic_fetch_add_explicit(&t->nput, 1, memory_order_relaxed);
	int old = atomic_exchange_explicit(&t->state, G_QUEUED, memory_order_relaxed);
	if (old == G_QUEUED)
		fail("g%d put while already queued", f->id);
	bool next = rnd(w) % 4 == 0;
	w->st->puts++;
	w->st->putnext += next;
	gx_runqput(&S.P[w->id], &f->g, next);
}

/* A G obtained from any queue: check it and maybe put it back. */
static void consume(struct worker *w, gx_g *gp)
{
	struct fakeg *f = fg(gp);
	if (f < S.gs || f >= S.gs + S.cfg->ngs || (uintptr_t)((char *)f - (char *)S.gs) % sizeof *f) {
		fail("bogus G pointer %p", (void *)gp);
		return;
	}
	int id = f->id;
	struct gtrack *t = &S.tr[id];
	int old = atomic_exchange_explicit(&t->state, G_TAKEN, memory_order_relaxed);
	if (old != G_QUEUED) {
		fail("g%d taken while %s (duplicated)", id, old == G_TAKEN ? "already taken" : "never put");
		return;
	}
	if (f->payload != payload(id, f->gen)) {
		fail("g%d: payload %#lx, expected %#lx for generation %lu (not published)", id,
		     (unsigned long)f->payload, (unsigned long)payload(id, f->gen), (unsigned long)f->gen);
		return;
	}
	f->note = w->id; /* a plain write by the taker */
	atomic_fetch_add_explicit(&t->ntake, 1, memory_order_relaxed);
	if (f->gen <= (uint64_t)S.cfg->recycle_max && rnd(w) % 4 == 0) {
		/* counted as put before the take, so puts == takes means no G
		 * is queued or in anyone's hands */
		atomic_fetch_add(&S.puts, 1);
		atomic_fetch_add(&S.takes, 1);
		w->st->recycles++;
		do_put(w, f);
		return;
	}
	atomic_fetch_add(&S.takes, 1);
}

static bool finished(void)
{
	if (atomic_load(&S.spawners_done) != S.cfg->nowners)
		return false;
	uint64_t takes = atomic_load(&S.takes);
	return takes == atomic_load(&S.puts);
}

static bool local_get(struct worker *w)
{
	bool inherit;
	gx_g *gp = gx_runqget(&S.P[w->id], &inherit);
	if (!gp)
		return false;
	w->st->gets++;
	w->st->inherit += inherit;
	consume(w, gp);
	return true;
}

static bool glob_get(struct worker *w, int32_t max)
{
	if (atomic_load_explicit(&gx_sched.runqsize, memory_order_relaxed) == 0)
		return false;
	gx_lock(&gx_sched.lock);
	gx_g *gp = gx_globrunqget(&S.P[w->id], max);
	gx_unlock(&gx_sched.lock);
	if (!gp)
		return false;
	w->st->globgets++;
	consume(w, gp);
	return true;
}

static bool steal(struct worker *w)
{
	int np = S.cfg->nowners + S.cfg->nthieves;
	int v = (int)(rnd(w) % (uint32_t)(np - 1));
	if (v >= w->id)
		v++;
	bool stealnext = rnd(w) % 2;
	w->st->steal_tries++;
	gx_g *gp = gx_runqsteal(&S.P[w->id], &S.P[v], stealnext);
	if (!gp)
		return false;
	w->st->steals++;
	consume(w, gp);
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct runq_stress_cfg *c = S.cfg;
	int np = c->nowners + c->nthieves;
	bool spawned_all = !w->owner;
	pthread_barrier_wait(&S.start);
	while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
		uint32_t r = rnd(w) % 100;
		bool did = false;
		if (w->owner) {
			if (!spawned_all && r < 50) {
				/* a burst of new Gs; now and then enough to
				 * overflow the ring (runqputslow) */
				int burst = rnd(w) % 32 == 0 ? GX_RUNQ_SIZE + GX_RUNQ_SIZE / 2 : 1 + (int)(rnd(w) % 8);
				for (int i = 0; i < burst && w->next_fresh < w->end_fresh; i++) {
					atomic_fetch_add(&S.puts, 1);
					do_put(w, &S.gs[w->next_fresh++]);
				}
				if (w->next_fresh == w->end_fresh) {
					spawned_all = true;
					atomic_fetch_add(&S.spawners_done, 1);
				}
				did = true;
			} else if (r < 85) {
				int n = 1 + (int)(rnd(w) % 2);
				for (int i = 0; i < n && local_get(w); i++)
					did = true;
			} else {
				did = glob_get(w, 0);
			}
		} else {
			/* a thief: its own queue first; when that is empty
			 * (the scheduler's precondition for stealing), mostly
			 * steal, sometimes take a little from the global queue */
			int n = 1 + (int)(rnd(w) % 4);
			for (int i = 0; i < n && local_get(w); i++)
				did = true;
			if (!did && gx_runqempty(&S.P[w->id]))
				did = r < 80 ? steal(w) : glob_get(w, 1 + (int32_t)(rnd(w) % 4));
		}
		if (!did) {
			if (spawned_all && finished())
				break;
			struct gx_p *pp = &S.P[rnd(w) % (uint32_t)np];
			(void)gx_runqempty(pp); /* read-only peeks, for the race detector */
			(void)gx_runqlen(pp);
			sched_yield();
			w->st->yields++;
		} else if (rnd(w) % 100 < (uint32_t)c->yield_pct) {
			sched_yield();
			w->st->yields++;
		}
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run one configuration. Returns 0 on success, -1 on failure (message
 * printed as a "# " diagnostic). */
static int runq_stress_one(const struct runq_stress_cfg *c)
{
	int nthreads = c->nowners + c->nthieves;
	if (nthreads < 2 || nthreads > MAXTHREADS || c->nowners < 1) {
		printf("# bad configuration\n");
		return -1;
	}
	memset(S.P, 0, sizeof S.P);
	memset(&gx_sched, 0, sizeof gx_sched);
	atomic_store(&gx_sched.gomaxprocs, nthreads);
	S.cfg = c;
	S.gs = calloc((size_t)c->ngs, sizeof *S.gs);
	S.tr = calloc((size_t)c->ngs, sizeof *S.tr);
	if (!S.gs || !S.tr) {
		printf("# out of memory\n");
		return -1;
	}
	for (int i = 0; i < c->ngs; i++)
		S.gs[i].id = i;
	atomic_store(&S.puts, 0);
	atomic_store(&S.takes, 0);
	atomic_store(&S.spawners_done, 0);
	atomic_store(&S.stop, false);
	atomic_store(&S.failed, false);
	S.failmsg[0] = 0;
	memset(S.st, 0, sizeof S.st);
	pthread_mutex_init(&S.failmu, NULL);
	pthread_barrier_init(&S.start, NULL, (unsigned)nthreads);

	struct worker w[MAXTHREADS];
	pthread_t tid[MAXTHREADS];
	int per = c->ngs / c->nowners;
	for (int i = 0; i < nthreads; i++) {
		S.P[i].id = i;
		atomic_store(&S.P[i].status, Prunning);
		w[i] = (struct worker){.id = i, .owner = i < c->nowners, .st = &S.st[i]};
		w[i].rng = (c->seed + 1) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)i << 32 | 0x1234567u);
		if (w[i].owner) {
			w[i].next_fresh = i * per;
			w[i].end_fresh = i == c->nowners - 1 ? c->ngs : (i + 1) * per;
		}
	}
	double t0 = now();
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0) {
			printf("# pthread_create failed\n");
			atomic_store(&S.stop, true);
			for (int j = 0; j < i; j++)
				pthread_join(tid[j], NULL);
			return -1;
		}
	}
	/* Watchdog: a lost G means puts never meet takes. */
	uint64_t last_takes = 0;
	double last_progress = now();
	for (;;) {
		usleep(10000);
		if (finished() || atomic_load(&S.stop))
			break;
		uint64_t tk = atomic_load(&S.takes);
		if (tk != last_takes) {
			last_takes = tk;
			last_progress = now();
		} else if (now() - last_progress > 10.0 && atomic_load(&S.spawners_done) == c->nowners) {
			fail("no progress for 10 s: %lu Gs put but never taken (lost)",
			     (unsigned long)(atomic_load(&S.puts) - tk));
		}
		if (now() - t0 > c->timeout_s)
			fail("timeout after %d s: puts %lu takes %lu", c->timeout_s,
			     (unsigned long)atomic_load(&S.puts), (unsigned long)tk);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	double dt = now() - t0;

	/* Final state: all queues empty, every G taken as often as put. */
	if (!atomic_load(&S.failed)) {
		for (int i = 0; i < nthreads; i++) {
			bool inherit;
			if (!gx_runqempty(&S.P[i]) || gx_runqget(&S.P[i], &inherit) != NULL)
				fail("P%d not empty at the end", i);
		}
		if (atomic_load(&gx_sched.runqsize) != 0 || gx_sched.runqhead || gx_sched.runqtail)
			fail("global queue not empty at the end (runqsize %d)", atomic_load(&gx_sched.runqsize));
		for (int i = 0; i < c->ngs && !atomic_load(&S.failed); i++) {
			struct gtrack *t = &S.tr[i];
			if (atomic_load(&t->state) != G_TAKEN || atomic_load(&t->nput) != atomic_load(&t->ntake) ||
			    atomic_load(&t->nput) == 0)
				fail("g%d: state %d, put %u times, taken %u times", i, atomic_load(&t->state),
				     atomic_load(&t->nput), atomic_load(&t->ntake));
		}
	}
	struct stats tot = {0};
	for (int i = 0; i < nthreads; i++) {
		tot.puts += S.st[i].puts;
		tot.putnext += S.st[i].putnext;
		tot.gets += S.st[i].gets;
		tot.inherit += S.st[i].inherit;
		tot.steals += S.st[i].steals;
		tot.steal_tries += S.st[i].steal_tries;
		tot.globgets += S.st[i].globgets;
		tot.recycles += S.st[i].recycles;
		tot.yields += S.st[i].yields;
	}
	printf("# %s: %d owners, %d thieves, %d Gs, %.2f s: %lu puts (%lu next), %lu gets (%lu runnext), "
	       "%lu/%lu steals, %lu globrunqgets, %lu re-puts, %lu yields\n",
	       c->name, c->nowners, c->nthieves, c->ngs, dt, (unsigned long)tot.puts, (unsigned long)tot.putnext,
	       (unsigned long)tot.gets, (unsigned long)tot.inherit, (unsigned long)tot.steals,
	       (unsigned long)tot.steal_tries, (unsigned long)tot.globgets, (unsigned long)tot.recycles,
	       (unsigned long)tot.yields);
	bool bad = atomic_load(&S.failed);
	if (bad)
		printf("# FAILURE: %s\n", S.failmsg);
	free(S.gs);
	free(S.tr);
	S.gs = NULL;
	S.tr = NULL;
	pthread_mutex_destroy(&S.failmu);
	pthread_barrier_destroy(&S.start);
	return bad ? -1 : 0;
}

static const struct runq_stress_cfg base_cfgs[] = {
	{"1owner_1thief", 1, 1, 0, 2, 5, 1, 120},
	{"1owner_3thieves", 1, 3, 0, 2, 5, 2, 120},
	{"2owners_2thieves", 2, 2, 0, 3, 10, 3, 120},
	{"2owners_1thief_noyield", 2, 1, 0, 1, 0, 4, 120},
};
#define NCFG ((int)(sizeof base_cfgs / sizeof base_cfgs[0]))

static int passed_total, failed_total;

static int run_cfg(const struct runq_stress_cfg *c)
{
	int rc = runq_stress_one(c);
	int n = passed_total + failed_total + 1;
	if (rc == 0)
		passed_total++;
	else
		failed_total++;
	printf("%s %d - runq_stress %s seed %u\n", rc == 0 ? "ok" : "not ok", n, c->name, c->seed);
	return rc;
}

/*
 * runq_stress_run - run every configuration with ngs Gs, then keep cycling
 * through them with new seeds until `seconds` have passed (0: one round).
 * Prints TAP lines; returns the number of failed runs.
 */
static int runq_stress_run(int seconds, int ngs)
{
	int failed = 0;
	double t0 = now();
	for (unsigned round = 0;; round++) {
		for (int i = 0; i < NCFG; i++) {
			struct runq_stress_cfg c = base_cfgs[i];
			c.ngs = ngs;
			c.seed += round * 1000;
			failed += run_cfg(&c) != 0;
		}
		if (now() - t0 >= seconds)
			break;
	}
	return failed;
}

int main(int argc, char **argv)
{
	int seconds = 5, ngs = 100000, opt;
	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		switch (opt) {
		case 's':
			seconds = atoi(optarg);
			break;
		case 'n':
			ngs = atoi(optarg);
			break;
		default:
			seconds = -1;
		}
	}
	if (seconds < 0 || ngs < 1 || optind != argc) {
		fprintf(stderr, "usage: %s [-s SECONDS] [-n NGS]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n# GX_RUNQ_SIZE %d, %d Gs per run, %d s\n", GX_RUNQ_SIZE, ngs, seconds);
	runq_stress_run(seconds, ngs);
	printf("%d passed, %d failed\n", passed_total, failed_total);
	return failed_total ? 1 : 0;
}
