/* SPDX-License-Identifier: MIT */
/*
 * proto.c - the protocol's requests, parsed strictly, and replies. A pure
 * function over bytes (no syscalls, no globals): the daemon and the fuzz
 * target (selftests/fuzz/fuzz_proto.c) call the same code.
 *
 * A request is accepted only if it is exactly one struct gx_sched_msg (no
 * more, no less, not truncated), with our magic and version, a request
 * type we know (HELLO, MREG, MUNREG: the reply bit and EXIT are the
 * daemon's), status 0, every field the type does not use 0, text all NUL
 * (requests carry none), and arguments in range.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "gmpx_sched.h"

static bool all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case GX_MSG_HELLO:
		return "HELLO";
	case GX_MSG_MREG:
		return "MREG";
	case GX_MSG_MUNREG:
		return "MUNREG";
	default:
		return "?";
	}
}

int gxs_parse_request(const void *buf, size_t n, bool truncated, struct gxs_req *req, char *why, size_t whylen)
{
	struct gx_sched_msg m;
	unsigned raw = 0;

	memset(req, 0, sizeof(*req));
	if (n >= offsetof(struct gx_sched_msg, type) + sizeof(m.type)) {
		__u16 t;

		memcpy(&t, (const char *)buf + offsetof(struct gx_sched_msg, type), sizeof(t));
		raw = t;
	}
	/* what the reply's type will be: the request's, reply bit set */
	req->reply_type = (__u16)((raw & 0xff7f) | GX_MSG_REPLY);
	if (truncated || n > sizeof(m)) {
		snprintf(why, whylen, "packet too long (want %zu bytes)", sizeof(m));
		return -EINVAL;
	}
	if (n < sizeof(m)) {
		snprintf(why, whylen, "short packet (%zu bytes, want %zu)", n, sizeof(m));
		return -EINVAL;
	}
	memcpy(&m, buf, sizeof(m));
	if (m.magic != GX_KABI_MAGIC || m.version != GX_KABI_VERSION) {
		snprintf(why, whylen, "protocol magic %#x version %u, daemon speaks %#x version %d", m.magic, m.version,
			 GX_KABI_MAGIC, GX_KABI_VERSION);
		return raw == GX_MSG_HELLO ? -EPROTO : -EINVAL;
	}
	if (raw & GX_MSG_REPLY) {
		snprintf(why, whylen, "type %#x has the reply bit set: not a request", raw);
		return -EINVAL;
	}
	if (raw != GX_MSG_HELLO && raw != GX_MSG_MREG && raw != GX_MSG_MUNREG) {
		snprintf(why, whylen, "unknown message type %u", raw);
		return -EINVAL;
	}
	if (m.status != 0 || !all_zero(m.text, sizeof(m.text))) {
		snprintf(why, whylen, "%s: status and text are reserved in requests (must be 0)", type_name(raw));
		return -EINVAL;
	}
	switch (raw) {
	case GX_MSG_HELLO:
		if (m.arg2 != 0) {
			snprintf(why, whylen, "HELLO: arg2 is reserved (must be 0)");
			return -EINVAL;
		}
		if (m.arg0 != GX_KABI_TRACE && m.arg0 != GX_KABI_SCX) {
			snprintf(why, whylen, "mode %u unknown (trace %d, scx %d)", m.arg0, GX_KABI_TRACE, GX_KABI_SCX);
			return -EINVAL;
		}
		if (m.arg1 == 0 || m.arg1 > GXS_MAX_GOMAXPROCS) {
			snprintf(why, whylen, "gomaxprocs %u out of range (1..%d)", m.arg1, GXS_MAX_GOMAXPROCS);
			return -EINVAL;
		}
		break;
	case GX_MSG_MREG:
	case GX_MSG_MUNREG:
		if (m.arg2 != 0 || (raw == GX_MSG_MUNREG && m.arg1 != 0)) {
			snprintf(why, whylen, "%s: %s reserved (must be 0)", type_name(raw),
				 raw == GX_MSG_MUNREG ? "arg1 and arg2 are" : "arg2 is");
			return -EINVAL;
		}
		if (m.arg0 == 0 || m.arg0 > 0x7fffffffu) {
			snprintf(why, whylen, "bad tid %u", m.arg0);
			return -EINVAL;
		}
		if (raw == GX_MSG_MREG && m.arg1 >= GX_KABI_MAX_M) {
			snprintf(why, whylen, "M slot %u out of range (0..%d)", m.arg1, GX_KABI_MAX_M - 1);
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	req->type = raw;
	req->arg0 = m.arg0;
	req->arg1 = m.arg1;
	return 0;
}

void gxs_reply_init(struct gx_sched_msg *r, unsigned reply_type, int status, const char *why)
{
	memset(r, 0, sizeof(*r));
	r->magic = GX_KABI_MAGIC;
	r->version = GX_KABI_VERSION;
	r->type = (__u16)(reply_type | GX_MSG_REPLY);
	r->status = status;
	/* snprintf always terminates: text is a C string in every reply */
	if (status < 0 && why)
		snprintf(r->text, sizeof(r->text), "%s", why);
}
