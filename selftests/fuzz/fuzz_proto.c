/* SPDX-License-Identifier: MIT */
/*
 * fuzz_proto.c - libFuzzer target for gmpx-sched's request parser
 * (tools/gmpx-sched/proto.c). The input is one packet as the daemon
 * receives it; longer than a message counts as cut by the kernel
 * (MSG_TRUNC), as on the socket. Checks, beyond the sanitizers: a packet
 * is accepted only if it is exactly one well-formed request, the reason
 * for a refusal is a terminated string, the reply type has the reply bit.
 *
 *   make fuzz; build/fuzz/fuzz_proto selftests/fuzz/corpus/proto
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gmpx_sched.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gx_sched_msg m, r;
	struct gxs_req req;
	char why[sizeof(m.text)];
	size_t n = size > sizeof(m) ? sizeof(m) : size;
	int err;

	memset(why, 'x', sizeof(why));
	err = gxs_parse_request(data, n, size > sizeof(m), &req, why, sizeof(why));
	check(req.reply_type & GX_MSG_REPLY);
	if (err) {
		check(err == -EINVAL || err == -EPROTO);
		check(memchr(why, 0, sizeof(why)) != NULL);
		gxs_reply_init(&r, req.reply_type, err, why);
		check(r.status == err && (r.type & GX_MSG_REPLY));
		check(memchr(r.text, 0, sizeof(r.text)) != NULL);
		return 0;
	}
	/* accepted: exactly one request, every rule held */
	check(size == sizeof(m));
	memcpy(&m, data, sizeof(m));
	check(m.magic == GX_KABI_MAGIC && m.version == GX_KABI_VERSION);
	check(m.type == req.type && !(m.type & GX_MSG_REPLY));
	check(m.status == 0 && m.arg2 == 0);
	for (size_t i = 0; i < sizeof(m.text); i++)
		check(m.text[i] == 0);
	check(req.arg0 == m.arg0 && req.arg1 == m.arg1);
	switch (req.type) {
	case GX_MSG_HELLO:
		check(m.arg0 == GX_KABI_TRACE || m.arg0 == GX_KABI_SCX);
		check(m.arg1 >= 1 && m.arg1 <= GXS_MAX_GOMAXPROCS);
		break;
	case GX_MSG_MREG:
		check(m.arg0 >= 1 && m.arg0 <= 0x7fffffffu && m.arg1 < GX_KABI_MAX_M);
		break;
	case GX_MSG_MUNREG:
		check(m.arg0 >= 1 && m.arg0 <= 0x7fffffffu && m.arg1 == 0);
		break;
	default:
		check(false);
	}
	check(req.reply_type == (req.type | GX_MSG_REPLY));
	gxs_reply_init(&r, req.reply_type, 0, NULL);
	check(r.type == req.reply_type && r.status == 0 && r.text[0] == 0);
	return 0;
}
