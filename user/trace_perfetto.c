// SPDX-License-Identifier: MIT
/*
 * trace_perfetto.c - the execution trace's file: Perfetto's protobuf
 * trace format (a Trace message whose packets are written one by one as
 * length-delimited field 1), with TrackEvent packets, encoded by protobuf-c
 * from trace.proto (a subset of Perfetto's public schema).
 *
 * Tracks (TrackDescriptor packets, each written before its first use):
 *   the process (pid, name);
 *   each M: a thread track with the M's pid and real tid, named "M<id>":
 *     slices "G<goid> <name>" while a goroutine runs on it, "syscall"
 *     nested in them, "spinning" and "idle" while it looks for work or
 *     parks, instants for creations, readies, steals and hand-offs;
 *   "runtime (no M)": what sysmon and foreign threads did (hand-offs,
 *     preemption requests, Ps taken from syscalls);
 *   each P: a track named "P<id>" with a slice "M<id>" while an M holds
 *     it and "syscall M<id>" while it waits in a syscall, and a counter
 *     track "P<id> runq" (its local run queue at each goroutine start);
 *   "spinning Ms": a counter;
 *   in trace and scx modes, under each M's thread track, "M<id> kernel":
 *     the kernel's view from the BPF programs: slices "CPU <n>" while the
 *     thread is on a CPU, "blocked" or "preempted" while it is off.
 * Each M's records are one packet sequence (trusted_packet_sequence_id
 * 2 + id; 1 is "no M"), its first packet flagged
 * SEQ_INCREMENTAL_STATE_CLEARED. Timestamps are CLOCK_BOOTTIME ns, the
 * clock Perfetto's own ftrace capture uses, so a kernel capture of the
 * same run lines up.
 *
 * Event arguments (a slice's args in the UI, what tools/gmpx-trace reads)
 * are debug annotations: goid, p, parent, why (a stop's reason: the
 * wait reason of a park, "yield", "preempted", "exit", "syscall").
 */
#include "trace_pbc.h"
#include "runtime.h"
#include "trace.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if !defined(GX_NO_PBC) && __has_include(<protobuf-c/protobuf-c.h>) && __has_include("trace.pb-c.h")
#define GX_HAVE_PBC 1
#include "trace.pb-c.h"
#else
#define GX_HAVE_PBC 0
#endif

#if GX_HAVE_PBC

/* ---- libprotobuf-c, loaded on first use ------------------------------------ */

static struct {
	size_t (*packed_size)(const ProtobufCMessage *);
	size_t (*pack)(const ProtobufCMessage *, uint8_t *);
	size_t (*pack_to_buffer)(const ProtobufCMessage *, ProtobufCBuffer *);
	ProtobufCMessage *(*unpack)(const ProtobufCMessageDescriptor *, ProtobufCAllocator *, size_t, const uint8_t *);
	void (*free_unpacked)(ProtobufCMessage *, ProtobufCAllocator *);
	char why[160];
	int state; /* 0 not tried, 1 loaded, -1 failed */
} pbc;
static pthread_mutex_t pbc_lock = PTHREAD_MUTEX_INITIALIZER;

const char *gx_pfw_unsupported(void)
{
	pthread_mutex_lock(&pbc_lock);
	if (!pbc.state) {
		void *h = dlopen("libprotobuf-c.so.1", RTLD_NOW | RTLD_LOCAL);
		if (h) {
			*(void **)&pbc.packed_size = dlsym(h, "protobuf_c_message_get_packed_size");
			*(void **)&pbc.pack = dlsym(h, "protobuf_c_message_pack");
			*(void **)&pbc.pack_to_buffer = dlsym(h, "protobuf_c_message_pack_to_buffer");
			*(void **)&pbc.unpack = dlsym(h, "protobuf_c_message_unpack");
			*(void **)&pbc.free_unpacked = dlsym(h, "protobuf_c_message_free_unpacked");
		}
		if (h && pbc.packed_size && pbc.pack && pbc.pack_to_buffer && pbc.unpack && pbc.free_unpacked) {
			pbc.state = 1;
		} else {
			snprintf(pbc.why, sizeof(pbc.why),
				 "cannot load libprotobuf-c.so.1 (%s): install libprotobuf-c1 to write traces",
				 h ? "a symbol is missing" : dlerror());
			pbc.state = -1;
		}
	}
	pthread_mutex_unlock(&pbc_lock);
	return pbc.state == 1 ? NULL : pbc.why;
}

/* What the generated code calls (trace_pbc.h): only ever after
 * gx_pfw_unsupported() said the library is loaded. */
GX_HIDDEN size_t gx_pbc_get_packed_size(const ProtobufCMessage *m)
{
	return pbc.packed_size(m);
}
GX_HIDDEN size_t gx_pbc_pack(const ProtobufCMessage *m, uint8_t *out)
{
	return pbc.pack(m, out);
}
GX_HIDDEN size_t gx_pbc_pack_to_buffer(const ProtobufCMessage *m, ProtobufCBuffer *b)
{
	return pbc.pack_to_buffer(m, b);
}
GX_HIDDEN ProtobufCMessage *gx_pbc_unpack(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a, size_t len,
					  const uint8_t *data)
{
	return pbc.unpack(d, a, len, data);
}
GX_HIDDEN void gx_pbc_free_unpacked(ProtobufCMessage *m, ProtobufCAllocator *a)
{
	pbc.free_unpacked(m, a);
}

/* ---- the writer ----------------------------------------------------------- */

typedef Perfetto__Protos__TracePacket Packet;
typedef Perfetto__Protos__TrackEvent TrackEvent;
typedef Perfetto__Protos__TrackDescriptor TrackDescriptor;
typedef Perfetto__Protos__DebugAnnotation Annotation;

/* Track uuids: a kind in the top bits, an id below. */
#define TRK_PROC      1ull
#define TRK_NOM	      2ull
#define TRK_SPIN      3ull
#define TRK_M(id)     ((1ull << 32) | (uint64_t)(id))
#define TRK_P(id)     ((2ull << 32) | (uint64_t)(id))
#define TRK_PRUNQ(id) ((3ull << 32) | (uint64_t)(id))
#define TRK_KM(id)    ((4ull << 32) | (uint64_t)(id))

/* Per M, what has been written (struct gx_pfw.mflags). */
enum {
	MF_TRACK = 1,  /* thread track described */
	MF_SEQ = 2,    /* its sequence begun */
	MF_KTRACK = 4, /* kernel track described */
	MF_KSLICE = 8, /* a kernel-view slice is open */
};

/* Goroutine names remembered for slice names (a G started after its
 * creation record): a direct-mapped table, a collision forgets. */
#define NAMES			      4096
#define OUTBUF			      (256 << 10)
#define SEQ_INCREMENTAL_STATE_CLEARED 1

struct gx_pfw {
	int fd;
	int err;
	struct gx_pfw_clock clk;
	pid_t pid;
	uint8_t *buf;
	size_t len;
	uint8_t *mflags; /* MF_*, by M id, grown as needed */
	size_t nmflags;
	uint8_t pseen[GX_MAXPROCS_LIMIT];
	bool nomseen, spinseen;
	struct {
		int64_t goid;
		char name[16];
	} names[NAMES];
};

static void flush(struct gx_pfw *w)
{
	size_t off = 0;
	while (off < w->len && !w->err) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	w->len = 0;
}

/* One packet: Trace.packet (field 1, length-delimited). */
static void emitpacket(struct gx_pfw *w, const Packet *pk)
{
	size_t n = perfetto__protos__trace_packet__get_packed_size(pk);
	if (w->len + n + 11 > OUTBUF)
		flush(w);
	if (n + 11 > OUTBUF) { /* never: packets are a few dozen bytes */
		w->err = w->err ? w->err : -E2BIG;
		return;
	}
	w->buf[w->len++] = 0x0a;
	for (uint64_t v = n;; v >>= 7) {
		if (v < 0x80) {
			w->buf[w->len++] = (uint8_t)v;
			break;
		}
		w->buf[w->len++] = (uint8_t)(v | 0x80);
	}
	w->len += perfetto__protos__trace_packet__pack(pk, w->buf + w->len);
}

static void descriptor(struct gx_pfw *w, TrackDescriptor *td)
{
	Packet pk = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	pk.track_descriptor = td;
	emitpacket(w, &pk);
}

static void plaintrack(struct gx_pfw *w, uint64_t uuid, const char *name, bool counter)
{
	TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	Perfetto__Protos__CounterDescriptor cd = PERFETTO__PROTOS__COUNTER_DESCRIPTOR__INIT;
	td.has_uuid = true;
	td.uuid = uuid;
	td.name = (char *)name;
	td.has_parent_uuid = true;
	td.parent_uuid = TRK_PROC;
	if (counter)
		td.counter = &cd;
	descriptor(w, &td);
}

/* M mid's flags (NULL: no memory). */
static uint8_t *mflags(struct gx_pfw *w, int64_t mid)
{
	size_t i = (size_t)mid;
	if (i >= w->nmflags) {
		size_t n = (i + 1) * 2;
		uint8_t *b = realloc(w->mflags, n);
		if (!b)
			return NULL;
		memset(b + w->nmflags, 0, n - w->nmflags);
		w->mflags = b;
		w->nmflags = n;
	}
	return &w->mflags[i];
}

/* The M's thread track, once. */
static void mtrack(struct gx_pfw *w, int64_t mid, int32_t tid)
{
	uint8_t *f = mflags(w, mid);
	if (!f || (*f & MF_TRACK))
		return;
	*f |= MF_TRACK;
	char name[32];
	snprintf(name, sizeof(name), "M%lld", (long long)mid);
	TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	Perfetto__Protos__ThreadDescriptor th = PERFETTO__PROTOS__THREAD_DESCRIPTOR__INIT;
	td.has_uuid = true;
	td.uuid = TRK_M(mid);
	td.name = name;
	th.has_pid = th.has_tid = true;
	th.pid = w->pid;
	th.tid = tid;
	th.thread_name = name;
	td.thread = &th;
	descriptor(w, &td);
}

/* The kernel's view of M mid: a child track of its thread track. */
static void ktrack(struct gx_pfw *w, int64_t mid, int32_t tid)
{
	mtrack(w, mid, tid);
	uint8_t *f = mflags(w, mid);
	if (!f || (*f & MF_KTRACK))
		return;
	*f |= MF_KTRACK;
	char name[40];
	snprintf(name, sizeof(name), "M%lld kernel", (long long)mid);
	TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	td.has_uuid = true;
	td.uuid = TRK_KM(mid);
	td.name = name;
	td.has_parent_uuid = true;
	td.parent_uuid = TRK_M(mid);
	descriptor(w, &td);
}

static void ptracks(struct gx_pfw *w, int p)
{
	if (p < 0 || p >= GX_MAXPROCS_LIMIT || w->pseen[p])
		return;
	w->pseen[p] = 1;
	char name[32];
	snprintf(name, sizeof(name), "P%d", p);
	plaintrack(w, TRK_P(p), name, false);
	snprintf(name, sizeof(name), "P%d runq", p);
	plaintrack(w, TRK_PRUNQ(p), name, true);
}

static int64_t tsns(const struct gx_pfw *w, uint64_t ticks)
{
	return w->clk.boot0 + (int64_t)((double)(int64_t)(ticks - w->clk.ticks0) * w->clk.ns_per_tick);
}

/* One TrackEvent with up to 4 annotations. */
struct ev {
	uint64_t track;
	int type;
	const char *name;
	int64_t counter;
	bool has_counter;
	Annotation ann[4];
	Annotation *annp[4];
	size_t nann;
};

/* The next annotation of e, named name. */
static Annotation *ann(struct ev *e, const char *name)
{
	Annotation *a = &e->ann[e->nann];
	*a = (Annotation)PERFETTO__PROTOS__DEBUG_ANNOTATION__INIT;
	a->name = (char *)name;
	e->annp[e->nann++] = a;
	return a;
}

static void annint(struct ev *e, const char *name, int64_t v)
{
	Annotation *a = ann(e, name);
	a->has_int_value = true;
	a->int_value = v;
}

static void annstr(struct ev *e, const char *name, const char *v)
{
	ann(e, name)->string_value = (char *)v;
}

static void emitev(struct gx_pfw *w, uint32_t seq, bool *first, int64_t ts, struct ev *e)
{
	TrackEvent te = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	te.has_type = true;
	te.type = (Perfetto__Protos__TrackEvent__Type)e->type;
	te.has_track_uuid = true;
	te.track_uuid = e->track;
	te.name = (char *)e->name;
	te.n_debug_annotations = e->nann;
	te.debug_annotations = e->annp;
	if (e->has_counter) {
		te.has_counter_value = true;
		te.counter_value = e->counter;
	}
	Packet pk = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	pk.has_timestamp = true;
	pk.timestamp = (uint64_t)ts;
	pk.has_trusted_packet_sequence_id = true;
	pk.trusted_packet_sequence_id = seq;
	if (*first) {
		pk.has_sequence_flags = true;
		pk.sequence_flags = SEQ_INCREMENTAL_STATE_CLEARED;
		*first = false;
	}
	pk.track_event = &te;
	emitpacket(w, &pk);
}

static struct ev mkev(uint64_t track, int type, const char *name)
{
	struct ev e;
	memset(&e, 0, sizeof(e));
	e.track = track;
	e.type = type;
	e.name = name;
	return e;
}

#define BEGIN	PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN
#define END	PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END
#define INSTANT PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT
#define COUNTER PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_COUNTER

static const char *stopwhy(const struct gx_tev *r)
{
	switch (r->a32) {
	case GX_TSTOP_PARK:
		return r->arg ? (const char *)(uintptr_t)r->arg : "park";
	case GX_TSTOP_YIELD:
		return "yield";
	case GX_TSTOP_PREEMPT:
		return "preempted";
	case GX_TSTOP_EXIT:
		return "exit";
	default:
		return "syscall";
	}
}

static void gname(struct gx_pfw *w, int64_t goid, char *out, size_t size)
{
	size_t h = (size_t)goid % NAMES;
	if (w->names[h].goid == goid && w->names[h].name[0])
		snprintf(out, size, "G%lld %s", (long long)goid, w->names[h].name);
	else
		snprintf(out, size, "G%lld", (long long)goid);
}

/* One record of the M (track, sequence) whose chunk is being written. */
static void record(struct gx_pfw *w, const struct gx_tev *r, int64_t mid, uint32_t seq, bool *first)
{
	uint64_t self = mid >= 0 ? TRK_M(mid) : TRK_NOM;
	int64_t ts = tsns(w, r->ticks);
	char name[64], mname[32];
	struct ev e;
	snprintf(mname, sizeof(mname), "M%lld", (long long)mid);
	switch (r->type) {
	case GX_TEV_GOCREATE:
		snprintf(name, sizeof(name), "create G%lld", (long long)r->goid);
		e = mkev(self, INSTANT, name);
		annint(&e, "goid", r->goid);
		annint(&e, "parent", (int64_t)r->arg);
		break;
	case GX_TEV_GONAME: {
		size_t h = (size_t)r->goid % NAMES;
		w->names[h].goid = r->goid;
		memcpy(w->names[h].name, &r->ticks, 8);
		memcpy(w->names[h].name + 8, &r->arg, 8);
		w->names[h].name[15] = 0;
		return;
	}
	case GX_TEV_GOSTART:
		gname(w, r->goid, name, sizeof(name));
		e = mkev(self, BEGIN, name);
		annint(&e, "goid", r->goid);
		annint(&e, "p", r->p);
		if (r->p >= 0) {
			ptracks(w, r->p);
			struct ev c = mkev(TRK_PRUNQ(r->p), COUNTER, NULL);
			c.has_counter = true;
			c.counter = r->a32;
			emitev(w, seq, first, ts, &c);
		}
		break;
	case GX_TEV_GOSTOP:
		e = mkev(self, END, NULL);
		annint(&e, "goid", r->goid);
		annstr(&e, "why", stopwhy(r));
		annint(&e, "p", r->p);
		break;
	case GX_TEV_GOREADY:
		snprintf(name, sizeof(name), "ready G%lld", (long long)r->goid);
		e = mkev(self, INSTANT, name);
		annint(&e, "goid", r->goid);
		break;
	case GX_TEV_SYSENTER:
		e = mkev(self, BEGIN, "syscall");
		annint(&e, "goid", r->goid);
		if (r->p >= 0) {
			ptracks(w, r->p);
			struct ev pe = mkev(TRK_P(r->p), END, NULL);
			emitev(w, seq, first, ts, &pe);
			snprintf(name, sizeof(name), "syscall %s", mname);
			pe = mkev(TRK_P(r->p), BEGIN, name);
			emitev(w, seq, first, ts, &pe);
		}
		break;
	case GX_TEV_SYSEXIT:
		e = mkev(self, END, NULL);
		annint(&e, "goid", r->goid);
		annint(&e, "ownp", r->a32);
		if (r->a32 && r->p >= 0) {
			ptracks(w, r->p);
			struct ev pe = mkev(TRK_P(r->p), END, NULL);
			emitev(w, seq, first, ts, &pe);
			pe = mkev(TRK_P(r->p), BEGIN, mname);
			emitev(w, seq, first, ts, &pe);
		}
		break;
	case GX_TEV_PACQUIRE:
		ptracks(w, r->p);
		e = mkev(TRK_P(r->p), BEGIN, mname);
		annint(&e, "m", mid);
		break;
	case GX_TEV_PRELEASE:
	case GX_TEV_PRETAKE:
		ptracks(w, r->p);
		e = mkev(TRK_P(r->p), END, NULL);
		if (r->type == GX_TEV_PRETAKE) {
			annstr(&e, "why", r->a32 ? "revoked from a blocked M" : "taken from its syscall");
			if (r->a32)
				annint(&e, "m", r->goid);
		}
		break;
	case GX_TEV_HANDOFF:
		snprintf(name, sizeof(name), "handoff P%d", r->p);
		e = mkev(self, INSTANT, name);
		annint(&e, "p", r->p);
		annint(&e, "work", r->a32);
		break;
	case GX_TEV_STEAL:
		snprintf(name, sizeof(name), "steal G%lld from P%u", (long long)r->goid, r->a32);
		e = mkev(self, INSTANT, name);
		annint(&e, "goid", r->goid);
		annint(&e, "victim", r->a32);
		break;
	case GX_TEV_MPARK:
		e = mkev(self, BEGIN, "idle");
		break;
	case GX_TEV_MWAKE:
		e = mkev(self, END, NULL);
		annint(&e, "p", r->p);
		break;
	case GX_TEV_MSPIN:
	case GX_TEV_MSPINEND: {
		if (!w->spinseen) {
			w->spinseen = true;
			plaintrack(w, TRK_SPIN, "spinning Ms", true);
		}
		struct ev c = mkev(TRK_SPIN, COUNTER, NULL);
		c.has_counter = true;
		c.counter = r->a32;
		emitev(w, seq, first, ts, &c);
		e = r->type == GX_TEV_MSPIN ? mkev(self, BEGIN, "spinning") : mkev(self, END, NULL);
		break;
	}
	case GX_TEV_KSWITCH:
	case GX_TEV_KRUN: {
		int64_t km = (int64_t)r->a32;
		ktrack(w, km, (int32_t)(uint32_t)r->arg); /* may grow w->mflags: before taking f */
		uint8_t *f = mflags(w, km);
		if (!f)
			return;
		ts = r->goid + w->clk.mono_to_boot; /* the BPF program's CLOCK_MONOTONIC */
		if (*f & MF_KSLICE) {
			struct ev end = mkev(TRK_KM(km), END, NULL);
			emitev(w, seq, first, ts, &end);
		}
		*f |= MF_KSLICE;
		if (r->type == GX_TEV_KRUN)
			snprintf(name, sizeof(name), "CPU %d", r->p);
		else
			snprintf(name, sizeof(name), "%s", (r->arg >> 32) == GX_KSW_BLOCKED ? "blocked" : "preempted");
		e = mkev(TRK_KM(km), BEGIN, name);
		annint(&e, "cpu", r->p);
		break;
	}
	case GX_TEV_PREEMPTREQ:
		snprintf(name, sizeof(name), "preempt P%d", r->p);
		e = mkev(self, INSTANT, name);
		annint(&e, "p", r->p);
		break;
	default:
		return;
	}
	emitev(w, seq, first, ts, &e);
}

struct gx_pfw *gx_pfw_open(int fd, const struct gx_pfw_clock *clk, int *err)
{
	if (gx_pfw_unsupported()) {
		*err = -ENOTSUP;
		return NULL;
	}
	struct gx_pfw *w = calloc(1, sizeof(*w));
	if (!w || !(w->buf = malloc(OUTBUF))) {
		free(w);
		*err = -ENOMEM;
		return NULL;
	}
	w->fd = fd;
	w->clk = *clk;
	w->pid = getpid();
	char comm[64] = "gmpx";
	FILE *f = fopen("/proc/self/comm", "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	Perfetto__Protos__ProcessDescriptor pd = PERFETTO__PROTOS__PROCESS_DESCRIPTOR__INIT;
	td.has_uuid = true;
	td.uuid = TRK_PROC;
	pd.has_pid = true;
	pd.pid = w->pid;
	pd.process_name = comm;
	td.process = &pd;
	descriptor(w, &td);
	return w;
}

int gx_pfw_chunk(struct gx_pfw *w, const struct gx_tchunk *c, uint32_t n)
{
	bool first;
	uint32_t seq;
	if (c->mid >= 0) {
		mtrack(w, c->mid, c->tid);
		uint8_t *f = mflags(w, c->mid);
		first = f && !(*f & MF_SEQ);
		if (f)
			*f |= MF_SEQ;
		seq = 2 + (uint32_t)c->mid;
	} else {
		first = !w->nomseen;
		if (first) {
			w->nomseen = true;
			plaintrack(w, TRK_NOM, "runtime (no M)", false);
		}
		seq = 1;
	}
	for (uint32_t i = 0; i < n && i < GX_TCHUNK_EVENTS; i++)
		record(w, &c->ev[i], c->mid, seq, &first);
	flush(w);
	return w->err;
}

int gx_pfw_close(struct gx_pfw *w)
{
	if (!w)
		return 0;
	flush(w);
	int err = w->err;
	free(w->mflags);
	free(w->buf);
	free(w);
	return err;
}

#else /* !GX_HAVE_PBC */

const char *gx_pfw_unsupported(void)
{
	return "gmpx was built without protobuf-c (libprotobuf-c-dev and protobuf-c-compiler): no trace files";
}

struct gx_pfw *gx_pfw_open(int fd, const struct gx_pfw_clock *clk, int *err)
{
	(void)fd;
	(void)clk;
	*err = -ENOTSUP;
	return NULL;
}

int gx_pfw_chunk(struct gx_pfw *w, const struct gx_tchunk *c, uint32_t n)
{
	(void)w;
	(void)c;
	(void)n;
	return -ENOTSUP;
}

int gx_pfw_close(struct gx_pfw *w)
{
	(void)w;
	return 0;
}

#endif
