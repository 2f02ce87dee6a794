/* SPDX-License-Identifier: MIT */
/*
 * trace_pbc.h - protobuf-c without a link-time dependency. The code
 * protoc-c generates from trace.proto (build/proto/trace.pb-c.c) calls
 * five functions of libprotobuf-c; with these names it calls gmpx's own
 * (trace_perfetto.c), which call the library's through pointers that
 * gx_trace_start fills from dlopen("libprotobuf-c.so.1"), as traceback.c
 * does for the unwinder. A program linked with libgmpx then needs
 * libprotobuf-c only when it traces. Included before <protobuf-c/protobuf-c.h>
 * in every file that uses it (the Makefile passes -include for the
 * generated one).
 */
#ifndef GX_TRACE_PBC_H
#define GX_TRACE_PBC_H
#define protobuf_c_message_get_packed_size gx_pbc_get_packed_size
#define protobuf_c_message_pack		   gx_pbc_pack
#define protobuf_c_message_pack_to_buffer  gx_pbc_pack_to_buffer
#define protobuf_c_message_unpack	   gx_pbc_unpack
#define protobuf_c_message_free_unpacked   gx_pbc_free_unpacked
#endif
