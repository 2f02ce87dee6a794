// SPDX-License-Identifier: MIT
/*
 * trace.c - the execution trace (gmpx/trace.h): per-M event buffers, the
 * writer thread, the flight recorder.
 *
 * Recording. Each M owns one chunk (mp->tchunk, 64 KiB: trace.h) and
 * appends records to it with plain stores, publishing each with a release
 * store of the chunk's pos: no lock, no read-modify-write, one rdtsc. Only
 * the M writes its chunk's records, and only under tr.lock does anyone
 * replace mp->tchunk (the M itself, when its chunk is full or belongs to
 * an old trace) or take a reference to it (stop and flight_write, which
 * read the first pos records, all complete). Threads without an M
 * (sysmon, foreign threads readying goroutines) share tr.nom under
 * tr.lock.
 *
 * Generations. Every start increments tr.gen; a chunk records the
 * generation it was made for. An M whose chunk is from an older
 * generation gets a new one on its next event, so no record of one trace
 * lands in the next. gx_tracing is read without ordering: an M that
 * still sees it set just after a stop writes into its old chunk past the
 * snapshot stop took, and those records are never read.
 *
 * Ownership (chunk->owner, under tr.lock):
 *   OWN_M       the M's current chunk; the M may reuse it
 *   OWN_LIST    full, on tr.full (the writer, or the flight window, has it)
 *   OWN_SHARED  still the M's current chunk, but stop is reading it: the M
 *               must not reuse it; when it lets go it becomes OWN_DROPPED
 *   OWN_DROPPED the M let go of a shared chunk: stop frees it when done
 *   OWN_DONE    stop is done with a shared chunk the M still holds: the M
 *               frees it when it lets go
 *
 * Writing. A file trace (gx_trace_start) has a writer thread (a plain
 * pthread, never an M) that encodes full chunks as they come (trace_perfetto.c)
 * so that memory stays bounded by how fast it writes; stop hands it the
 * Ms' partial chunks last and joins it. Records of one M reach the file
 * in the order they happened; Perfetto sorts across Ms by time.
 *
 * Flight recorder. Full chunks stay on tr.full; past tr.maxchunks the
 * oldest is reused. flight_write copies the window (full chunks, then
 * each M's partial one) under the lock and encodes the copy outside it.
 *
 * Lock order: tr.lock is taken with sched.lock held (an event under
 * sched.lock may fill a chunk), so nothing here takes sched.lock: the
 * list of Ms is walked without it (it only grows, at its head, and Ms
 * are never freed).
 */
#include "runtime.h"
#include "trace.h"
#include "kslot.h"

#include <gmpx/trace.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

_Atomic bool gx_tracing;

enum { MODE_OFF = 0, MODE_FILE, MODE_FLIGHT };
enum { OWN_M = 0, OWN_LIST, OWN_SHARED, OWN_DROPPED, OWN_DONE };

/* Free chunks kept for reuse beyond which they go back to malloc. */
#define TRACE_FREE_KEEP 64

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* writer: full chunks or stop */
	_Atomic uint32_t gen;
	int mode;
	struct gx_tchunk *full, **fulltail;
	size_t nfull;
	size_t maxchunks; /* flight: the window */
	struct gx_tchunk *freel;
	size_t nfree;
	struct gx_tchunk *nom; /* threads without an M */
	/* file mode */
	pthread_t writer;
	bool stopping;
	struct gx_tchunk **finals; /* stop: the Ms' partial chunks, for the writer */
	uint32_t *finaln;
	size_t nfinals;
	int fd;
	int err;
	struct gx_pfw *pfw;
	struct gx_pfw_clock clk;
	char *fatal_path;
} tr = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .fd = -1};

/* ---- chunks (tr.lock held) ------------------------------------------------ */

static struct gx_tchunk *chunkalloc(void)
{
	struct gx_tchunk *c = tr.freel;
	if (c) {
		tr.freel = c->next;
		tr.nfree--;
	} else if (tr.mode == MODE_FLIGHT && tr.nfull >= tr.maxchunks && tr.full) {
		c = tr.full; /* the window is full: reuse its oldest chunk */
		tr.full = c->next;
		if (!tr.full)
			tr.fulltail = &tr.full;
		tr.nfull--;
	} else {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
	}
	return c;
}

static void chunkfree(struct gx_tchunk *c)
{
	if (tr.nfree >= TRACE_FREE_KEEP) {
		free(c);
		return;
	}
	c->next = tr.freel;
	tr.freel = c;
	tr.nfree++;
}

static void chunkinit(struct gx_tchunk *c, int64_t mid, int32_t tid)
{
	c->next = NULL;
	c->mid = mid;
	c->tid = tid;
	c->gen = atomic_load_explicit(&tr.gen, memory_order_relaxed);
	c->owner = OWN_M;
	atomic_store_explicit(&c->pos, 0, memory_order_relaxed);
}

static void fullput(struct gx_tchunk *c)
{
	c->owner = OWN_LIST;
	c->next = NULL;
	*tr.fulltail = c;
	tr.fulltail = &c->next;
	tr.nfull++;
	if (tr.mode == MODE_FILE)
		pthread_cond_signal(&tr.cond);
}

/* chunknext - mp's chunk is full or from an old trace: give it up and take
 * a fresh one (NULL: no trace runs, or no memory: the event is lost). */
static __attribute__((noinline)) struct gx_tchunk *chunknext(struct gx_m *mp)
{
	pthread_mutex_lock(&tr.lock);
	struct gx_tchunk *c = mp->tchunk;
	uint32_t gen = atomic_load_explicit(&tr.gen, memory_order_relaxed);
	bool live = tr.mode != MODE_OFF && !tr.stopping;
	mp->tchunk = NULL;
	if (c) {
		switch (c->owner) {
		case OWN_M:
			if (c->gen == gen && live && atomic_load_explicit(&c->pos, memory_order_relaxed))
				fullput(c);
			else
				chunkfree(c);
			break;
		case OWN_SHARED:
			c->owner = OWN_DROPPED;
			break;
		default: /* OWN_DONE */
			chunkfree(c);
			break;
		}
	}
	struct gx_tchunk *n = live ? chunkalloc() : NULL;
	if (n) {
		chunkinit(n, mp->id, mp->tid);
		mp->tchunk = n;
	}
	pthread_mutex_unlock(&tr.lock);
	return n;
}

/* An event of a thread without an M: into tr.nom. */
static void emit_nom(const struct gx_tev *e)
{
	pthread_mutex_lock(&tr.lock);
	if (tr.mode != MODE_OFF && !tr.stopping) {
		struct gx_tchunk *c = tr.nom;
		if (c && atomic_load_explicit(&c->pos, memory_order_relaxed) == GX_TCHUNK_EVENTS) {
			fullput(c);
			c = NULL;
		}
		if (!c && (c = chunkalloc()) != NULL)
			chunkinit(c, -1, 0);
		tr.nom = c;
		if (c) {
			uint32_t i = atomic_load_explicit(&c->pos, memory_order_relaxed);
			c->ev[i] = *e;
			atomic_store_explicit(&c->pos, i + 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&tr.lock);
}

/* emitrec - append *e to this thread's chunk. */
static inline void emitrec(const struct gx_tev *e)
{
	struct gx_m *mp = getm();
	if (!mp) {
		emit_nom(e);
		return;
	}
	struct gx_tchunk *c = mp->tchunk;
	uint32_t i = c ? atomic_load_explicit(&c->pos, memory_order_relaxed) : 0;
	if (unlikely(!c || i == GX_TCHUNK_EVENTS || c->gen != atomic_load_explicit(&tr.gen, memory_order_relaxed))) {
		if (!(c = chunknext(mp)))
			return;
		i = 0;
	}
	c->ev[i] = *e;
	atomic_store_explicit(&c->pos, i + 1, memory_order_release);
}

void gx_trace_emit(uint32_t type, int32_t p, uint32_t a32, int64_t goid, uint64_t arg)
{
	struct gx_tev e = {
		.ticks = gx_cputicks(), .goid = goid, .arg = arg, .type = (uint16_t)type, .p = (int16_t)p, .a32 = a32};
	emitrec(&e);
}

void gx_trace_switch(int32_t p, uint32_t why, int64_t from, const char *reason, int64_t to, uint32_t runq)
{
	uint64_t t = gx_cputicks();
	struct gx_tev stop = {.ticks = t,
			      .goid = from,
			      .arg = (uint64_t)(uintptr_t)reason,
			      .type = GX_TEV_GOSTOP,
			      .p = (int16_t)p,
			      .a32 = why};
	struct gx_tev start = {.ticks = t, .goid = to, .type = GX_TEV_GOSTART, .p = (int16_t)p, .a32 = runq};
	emitrec(&stop);
	emitrec(&start);
}

void gx_trace_gocreate(int64_t goid, int64_t parent, const char *name)
{
	gx_trace_emit(GX_TEV_GOCREATE, -1, 0, goid, (uint64_t)parent);
	if (!name || !*name)
		return;
	/* The name's first 15 bytes in place of ticks and arg. */
	struct gx_tev e = {.goid = goid, .type = GX_TEV_GONAME, .p = -1};
	char buf[16] = {0};
	strncpy(buf, name, sizeof(buf) - 1);
	memcpy(&e.ticks, buf, 8);
	memcpy(&e.arg, buf + 8, 8);
	emitrec(&e);
}

void gx_trace_kevent(const struct gx_kabi_event *ev)
{
	if (!gx_trace_on() || !gx_kabi || ev->m >= GX_KABI_MAX_M)
		return;
	const struct gx_kabi_m *k = &gx_kabi->m[ev->m];
	for (struct gx_m *mp = atomic_load(&gx_sched.allm); mp; mp = mp->alllink) {
		if (mp->kslot == k) {
			uint32_t state = ev->type == GX_EV_KSWITCH ? ev->pad : 0;
			gx_trace_emit(ev->type == GX_EV_KSWITCH ? GX_TEV_KSWITCH : GX_TEV_KRUN, ev->p, (uint32_t)mp->id,
				      (int64_t)ev->ts, (uint64_t)state << 32 | (uint32_t)mp->tid);
			return;
		}
	}
}

/* The BPF programs send the kernel's view while the flag is set. */
static void ktrace(bool on)
{
	if (gx_kabi)
		__atomic_store_n(&gx_kabi->hdr.ktrace, on ? 1u : 0u, __ATOMIC_RELAXED);
}

/* ---- clock ---------------------------------------------------------------- */

static int64_t clockns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The TSC's rate: over the whole run so far if it is long enough to be
 * exact to ~1e-5, else measured now over 10 ms. */
static double tick_rate(void)
{
	int64_t ns = gx_nanotime() - gx_sched.starttime;
	uint64_t t = gx_cputicks() - gx_sched.startticks;
	if (ns >= 100000000 && t)
		return (double)ns / (double)t;
	int64_t n0 = gx_nanotime();
	uint64_t t0 = gx_cputicks();
	struct timespec d = {0, 10000000};
	nanosleep(&d, NULL);
	int64_t n1 = gx_nanotime();
	uint64_t t1 = gx_cputicks();
	return t1 > t0 ? (double)(n1 - n0) / (double)(t1 - t0) : 1.0;
}

static void clockinit(struct gx_pfw_clock *clk)
{
	clk->ns_per_tick = tick_rate();
	int64_t mono = clockns(CLOCK_MONOTONIC);
	clk->ticks0 = gx_cputicks();
	int64_t boot = clockns(CLOCK_BOOTTIME);
	clk->boot0 = boot;
	clk->mono_to_boot = boot - mono;
}

/* ---- file mode ------------------------------------------------------------- */

static void writeerr(int err)
{
	if (err && !tr.err)
		tr.err = err;
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tr.lock);
	for (;;) {
		while (!tr.full && !tr.stopping)
			pthread_cond_wait(&tr.cond, &tr.lock);
		struct gx_tchunk *list = tr.full;
		bool last = tr.stopping && !list;
		tr.full = NULL;
		tr.fulltail = &tr.full;
		tr.nfull = 0;
		if (last)
			break;
		pthread_mutex_unlock(&tr.lock);
		for (struct gx_tchunk *c = list; c; c = c->next)
			writeerr(gx_pfw_chunk(tr.pfw, c, atomic_load_explicit(&c->pos, memory_order_acquire)));
		pthread_mutex_lock(&tr.lock);
		while (list) {
			struct gx_tchunk *c = list;
			list = c->next;
			chunkfree(c);
		}
	}
	pthread_mutex_unlock(&tr.lock);
	/* The Ms' partial chunks, read up to what stop saw. */
	for (size_t i = 0; i < tr.nfinals; i++) {
		struct gx_tchunk *c = tr.finals[i];
		writeerr(gx_pfw_chunk(tr.pfw, c, tr.finaln[i]));
	}
	return NULL;
}

static int checkstart(void)
{
	if (!gx_runtime_ready())
		return -EPERM;
	if (tr.mode != MODE_OFF)
		return -EBUSY;
	return 0;
}

/* Begin a generation (tr.lock held): records from now on are this trace's. */
static void begin(int mode)
{
	tr.mode = mode;
	tr.stopping = false;
	tr.err = 0;
	tr.full = NULL;
	tr.fulltail = &tr.full;
	tr.nfull = 0;
	atomic_fetch_add_explicit(&tr.gen, 1, memory_order_relaxed);
	atomic_store_explicit(&gx_tracing, true, memory_order_release);
	ktrace(true);
}

int gx_trace_start(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	pthread_mutex_lock(&tr.lock);
	int err = checkstart();
	pthread_mutex_unlock(&tr.lock);
	if (err)
		return err;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	struct gx_pfw_clock clk;
	clockinit(&clk);
	struct gx_pfw *w = gx_pfw_open(fd, &clk, &err);
	if (!w) {
		if (err == -ENOTSUP)
			gx_print("gmpx: trace: %s\n", gx_pfw_unsupported());
		close(fd);
		unlink(path);
		return err;
	}
	pthread_mutex_lock(&tr.lock);
	if ((err = checkstart()) == 0) {
		tr.fd = fd;
		tr.pfw = w;
		tr.clk = clk;
		begin(MODE_FILE);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old); /* the writer takes no signal */
		int e = pthread_create(&tr.writer, &attr, writer, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
		if (e) {
			atomic_store(&gx_tracing, false);
			ktrace(false);
			tr.mode = MODE_OFF;
			err = -e;
		}
	}
	pthread_mutex_unlock(&tr.lock);
	if (err) {
		gx_pfw_close(w);
		close(fd);
		unlink(path);
	}
	return err;
}

/* Every M's current chunk of this trace (and tr.nom), shared with the
 * caller: each one's record count now in *ns. tr.lock held. Returns the
 * count, or -ENOMEM. */
static ssize_t sharechunks(struct gx_tchunk ***cs, uint32_t **ns)
{
	uint32_t gen = atomic_load_explicit(&tr.gen, memory_order_relaxed);
	size_t n = 1;
	for (struct gx_m *mp = atomic_load(&gx_sched.allm); mp; mp = mp->alllink)
		n++;
	*cs = calloc(n, sizeof(struct gx_tchunk *));
	*ns = calloc(n, sizeof(uint32_t));
	if (!*cs || !*ns) {
		free(*cs);
		free(*ns);
		*cs = NULL;
		*ns = NULL;
		return -ENOMEM;
	}
	size_t k = 0;
	for (struct gx_m *mp = atomic_load(&gx_sched.allm); mp && k < n; mp = mp->alllink) {
		struct gx_tchunk *c = mp->tchunk;
		if (!c || c->gen != gen || c->owner != OWN_M)
			continue;
		c->owner = OWN_SHARED;
		(*ns)[k] = atomic_load_explicit(&c->pos, memory_order_acquire);
		(*cs)[k++] = c;
	}
	if (tr.nom && k < n) {
		tr.nom->owner = OWN_SHARED;
		(*ns)[k] = atomic_load_explicit(&tr.nom->pos, memory_order_relaxed);
		(*cs)[k++] = tr.nom;
		tr.nom = NULL;
	}
	return (ssize_t)k;
}

/* Done with the chunks sharechunks gave (tr.lock held). */
static void unsharechunks(struct gx_tchunk **cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gx_tchunk *c = cs[i];
		if (c->owner == OWN_DROPPED || c->mid < 0)
			chunkfree(c);
		else
			c->owner = OWN_DONE;
	}
	free(cs);
}

int gx_trace_stop(void)
{
	pthread_mutex_lock(&tr.lock);
	if (tr.mode != MODE_FILE || tr.stopping) {
		pthread_mutex_unlock(&tr.lock);
		return -ENOENT;
	}
	atomic_store(&gx_tracing, false);
	ktrace(false);
	tr.stopping = true;
	struct gx_tchunk **cs = NULL;
	uint32_t *ns = NULL;
	ssize_t n = sharechunks(&cs, &ns);
	tr.finals = n > 0 ? cs : NULL;
	tr.finaln = n > 0 ? ns : NULL;
	tr.nfinals = n > 0 ? (size_t)n : 0;
	if (n < 0)
		writeerr(-ENOMEM);
	pthread_cond_signal(&tr.cond);
	pthread_mutex_unlock(&tr.lock);
	pthread_join(tr.writer, NULL);
	writeerr(gx_pfw_close(tr.pfw));
	if (close(tr.fd) != 0)
		writeerr(-errno);
	pthread_mutex_lock(&tr.lock);
	unsharechunks(cs, n > 0 ? (size_t)n : 0); /* frees cs */
	free(ns);
	tr.finals = NULL;
	tr.finaln = NULL;
	tr.nfinals = 0;
	tr.pfw = NULL;
	tr.fd = -1;
	int err = tr.err;
	tr.mode = MODE_OFF;
	tr.stopping = false;
	pthread_mutex_unlock(&tr.lock);
	return err;
}

/* ---- flight recorder -------------------------------------------------------- */

int gx_trace_flight_start(size_t size, const char *fatal_path)
{
	if (!size)
		return -EINVAL;
	const char *why = gx_pfw_unsupported();
	if (why) {
		gx_print("gmpx: trace: %s\n", why);
		return -ENOTSUP;
	}
	char *fp = NULL;
	if (fatal_path && !(fp = strdup(fatal_path)))
		return -ENOMEM;
	pthread_mutex_lock(&tr.lock);
	int err = checkstart();
	if (!err) {
		size_t chunks = (size + sizeof(struct gx_tchunk) - 1) / sizeof(struct gx_tchunk);
		size_t ms = (size_t)atomic_load(&gx_sched.nallp) + 2;
		tr.maxchunks = chunks > 2 * ms ? chunks : 2 * ms;
		free(tr.fatal_path);
		tr.fatal_path = fp;
		fp = NULL;
		clockinit(&tr.clk);
		begin(MODE_FLIGHT);
	}
	pthread_mutex_unlock(&tr.lock);
	free(fp);
	return err;
}

/* Copy the header and the first n records of c. */
static void chunkcopy(struct gx_tchunk *to, const struct gx_tchunk *c, uint32_t n)
{
	to->next = NULL;
	to->mid = c->mid;
	to->tid = c->tid;
	to->gen = c->gen;
	to->owner = OWN_LIST;
	atomic_store_explicit(&to->pos, n, memory_order_relaxed);
	memcpy(to->ev, c->ev, (size_t)n * sizeof(c->ev[0]));
}

/* A copy of the flight window: full chunks oldest first, then each M's
 * partial one. tr.lock held. */
static struct gx_tchunk *flightcopy(size_t *n)
{
	struct gx_tchunk **cs = NULL;
	uint32_t *ns = NULL;
	ssize_t k = sharechunks(&cs, &ns);
	if (k < 0)
		return NULL;
	size_t total = tr.nfull + (size_t)k;
	struct gx_tchunk *copy = malloc(total ? total * sizeof(*copy) : 1);
	size_t i = 0;
	if (copy) {
		for (struct gx_tchunk *c = tr.full; c && i < total; c = c->next)
			chunkcopy(&copy[i++], c, atomic_load_explicit(&c->pos, memory_order_relaxed));
		for (ssize_t j = 0; j < k; j++)
			chunkcopy(&copy[i++], cs[j], ns[j]); /* its M goes on writing past ns[j] */
	}
	/* tr.nom was taken by sharechunks: it goes back (OWN_M again). */
	for (ssize_t j = 0; j < k; j++) {
		if (cs[j]->mid < 0 && !tr.nom) {
			cs[j]->owner = OWN_M;
			tr.nom = cs[j];
			cs[j] = NULL;
		}
	}
	size_t m = 0;
	for (ssize_t j = 0; j < k; j++)
		if (cs[j])
			cs[m++] = cs[j];
	unsharechunks(cs, m);
	free(ns);
	*n = i;
	return copy;
}

static long writecopy(int fd, const struct gx_pfw_clock *clk, const struct gx_tchunk *copy, size_t n)
{
	int err = 0;
	struct gx_pfw *w = gx_pfw_open(fd, clk, &err);
	if (!w)
		return err;
	long records = 0;
	for (size_t i = 0; i < n && !err; i++) {
		uint32_t k = atomic_load_explicit(&copy[i].pos, memory_order_relaxed);
		err = gx_pfw_chunk(w, &copy[i], k);
		records += k;
	}
	int cerr = gx_pfw_close(w);
	return err ? err : cerr ? cerr : records;
}

/* handoff: a goroutine lets its P go while it encodes. */
static long flight_write(const char *path, bool handoff)
{
	if (!path || !*path)
		return -EINVAL;
	pthread_mutex_lock(&tr.lock);
	if (tr.mode != MODE_FLIGHT) {
		pthread_mutex_unlock(&tr.lock);
		return -ENOENT;
	}
	size_t n = 0;
	struct gx_tchunk *copy = flightcopy(&n);
	struct gx_pfw_clock clk = tr.clk;
	pthread_mutex_unlock(&tr.lock);
	if (!copy)
		return -ENOMEM;
	/* Encoding megabytes takes a while: let the P go meanwhile. */
	bool insys = handoff && getg() != NULL && gx_syscall_enter() == 0;
	long r;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
	} else {
		r = writecopy(fd, &clk, copy, n);
		if (close(fd) != 0 && r >= 0)
			r = -errno;
	}
	if (insys)
		gx_syscall_exit();
	free(copy);
	return r;
}

long gx_trace_flight_write(const char *path)
{
	return flight_write(path, true);
}

int gx_trace_flight_stop(void)
{
	pthread_mutex_lock(&tr.lock);
	if (tr.mode != MODE_FLIGHT) {
		pthread_mutex_unlock(&tr.lock);
		return -ENOENT;
	}
	atomic_store(&gx_tracing, false);
	ktrace(false);
	tr.mode = MODE_OFF;
	while (tr.full) {
		struct gx_tchunk *c = tr.full;
		tr.full = c->next;
		chunkfree(c);
	}
	tr.fulltail = &tr.full;
	tr.nfull = 0;
	if (tr.nom) {
		chunkfree(tr.nom);
		tr.nom = NULL;
	}
	pthread_mutex_unlock(&tr.lock);
	return 0;
}

/* ---- process start, exit and fatal errors ----------------------------------------- */

/* GX_TRACE=FILE or GX_TRACE=flight:FILE[:MB] (64 MB by default). */
void gx_trace_init(void)
{
	const char *v = getenv("GX_TRACE");
	if (!v || !*v)
		return;
	int err;
	if (strncmp(v, "flight:", 7) == 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s", v + 7);
		size_t mb = 64;
		char *colon = strrchr(path, ':');
		if (colon) {
			char *end;
			unsigned long x = strtoul(colon + 1, &end, 10);
			if (*end || !x) {
				gx_print("gmpx: GX_TRACE=%s: the size after the last ':' is not a number of MB; "
					 "using 64\n",
					 v);
			} else {
				mb = x;
				*colon = 0;
			}
		}
		err = gx_trace_flight_start(mb << 20, path);
	} else {
		err = gx_trace_start(v);
	}
	if (err)
		gx_print("gmpx: GX_TRACE=%s: cannot trace: %s\n", v, strerror(-err));
	else
		atexit(gx_trace_atexit);
}

void gx_trace_atexit(void)
{
	pthread_mutex_lock(&tr.lock);
	bool file = tr.mode == MODE_FILE;
	pthread_mutex_unlock(&tr.lock);
	if (file)
		gx_trace_stop();
}

/* A fatal error: write the flight recorder where asked, or finish the
 * file being written, if the trace's lock is free (the error may have
 * struck inside it). */
void gx_trace_atfatal(void)
{
	if (!atomic_load(&gx_tracing) || pthread_mutex_trylock(&tr.lock) != 0)
		return;
	int mode = tr.mode;
	const char *fp = tr.fatal_path;
	pthread_mutex_unlock(&tr.lock);
	if (mode == MODE_FILE) {
		gx_trace_stop();
	} else if (mode == MODE_FLIGHT && fp) {
		long r = flight_write(fp, false);
		if (r >= 0)
			gx_print("gmpx: flight recorder: %ld events written to %s\n", r, fp);
		else
			gx_print("gmpx: flight recorder: cannot write %s: %s\n", fp, strerror((int)-r));
	}
}
