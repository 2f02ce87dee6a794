#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints a vmlinux.h (C type definitions from a kernel's BTF) on stdout.
#
# usage: tools/vmlinux-btf.sh KERNEL
#
# KERNEL is any of:
#   - a raw BTF blob, e.g. /sys/kernel/btf/vmlinux
#   - an uncompressed vmlinux ELF with a .BTF section
#   - a compressed kernel image (bzImage / vmlinuz) whose payload is zstd,
#     gzip or xz: the script finds each candidate magic in the image,
#     decompresses from there and keeps the first output that is an ELF.
#
# BPFTOOL (default: bpftool) dumps the BTF. Used by the Makefile for
# `make KERNEL=/path/to/vmlinuz`, e.g. to build against a sched_ext kernel
# that is not the one running.
set -euo pipefail
export LC_ALL=C

BPFTOOL=${BPFTOOL:-bpftool}
die() {
	echo "vmlinux-btf: $*" >&2
	exit 1
}
[ $# -eq 1 ] || die "usage: $0 KERNEL"
kernel=$1
[ -r "$kernel" ] || die "cannot read $kernel"

# The first 4 bytes of a file, as hex.
magic() { head -c 4 "$1" | od -An -tx1 | tr -d ' \n'; }

dump() { "$BPFTOOL" btf dump file "$1" format c; }

case $(magic "$kernel") in
9feb0100 | eb9f0001) # raw BTF (little / big endian), version 1
	dump "$kernel"
	exit 0
	;;
7f454c46) # ELF
	dump "$kernel"
	exit 0
	;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# try NAME PATTERN DECOMPRESSOR...: for every offset of PATTERN (a grep -P
# byte pattern) in the image, decompress from there with DECOMPRESSOR (reads
# stdin, writes stdout); stop at the first output that is an ELF.
try() {
	local name=$1 pat=$2 off
	shift 2
	command -v "$1" >/dev/null 2>&1 || return 1
	for off in $(grep -obUaP "$pat" "$kernel" | cut -d: -f1); do
		# Trailing bytes after the stream make the decompressor complain:
		# the output is what counts.
		tail -c +$((off + 1)) "$kernel" | "$@" >"$tmp/vmlinux" 2>/dev/null || true
		if [ -s "$tmp/vmlinux" ] && [ "$(magic "$tmp/vmlinux")" = 7f454c46 ]; then
			echo "vmlinux-btf: $name payload at offset $off" >&2
			return 0
		fi
	done
	return 1
}

try zstd '\x28\xb5\x2f\xfd' zstd -dcq ||
	try gzip '\x1f\x8b\x08' gzip -dcq ||
	try xz '\xfd\x37\x7a\x58\x5a\x00' xz -dcq ||
	die "no zstd, gzip or xz payload that decompresses to an ELF in $kernel"
dump "$tmp/vmlinux" || die "$kernel: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y needed)"
