#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs a command in a throw-away QEMU guest booted on a kernel with sched_ext
# (CONFIG_SCHED_CLASS_EXT), for tests the host kernel cannot run.
#
# usage: tools/vmtest/vmtest.sh [options] [--script FILE] [--] [CMD [ARG]...]
#        tools/vmtest/vmtest.sh --prepare
#
# See tools/vmtest/README.md. In short: fetches (and caches) the newest
# Debian trixie-backports amd64 kernel whose BTF has sched_ext, packs an
# initramfs (busybox + the --copy'd files + their shared libraries), boots it
# with TCG, runs CMD inside with stdout and stderr on a virtio-serial port,
# prints that output byte for byte on stdout and exits with CMD's status.
#
# Exit status: CMD's status in the guest; 2 bad usage; 4 skipped (no qemu, no
# kernel: one "vmtest: SKIP: ..." line on stderr); 124 timeout; 125 the guest
# did not report a status (kernel panic, init failure: console log on stderr).
set -euo pipefail
export LC_ALL=C

prog=vmtest
cache=${VMTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gmpx/vmtest}
suite=${VMTEST_SUITE:-trixie-backports}
flavour=${VMTEST_FLAVOUR:-amd64}
max_tries=${VMTEST_MAX_TRIES:-3}  # kernels downloaded before giving up
lists_max_age=${VMTEST_LISTS_MAX_AGE:-86400}

kernel=${KERNEL:-}
smp=4 mem=1024 tmo=300 out='' cpu=max,-smap tcg=${VMTEST_TCG_THREAD:-single} append='' script='' verbose=0
no_install=0 prepare=0 keep=0 no_boot=0
copies=() envs=()

say() { echo "$prog: $*" >&2; }
die() {
	say "error: $*"
	exit 2
}
skip() {
	say "SKIP: $*"
	exit 4
}
usage() {
	sed -n '/^# usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	cat >&2 <<'EOF'
Options:
  --kernel PATH     boot this bzImage/vmlinuz (default: $KERNEL, else fetched)
  --smp N           guest CPUs (default 4)
  --mem MB          guest memory (default 1024)
  --timeout SEC     kill the guest after SEC seconds (default 300; exit 124)
  --out DIR         keep the work files in DIR (initrd, output, console.log)
  --copy PATH[:DEST]  copy a file or directory into the guest (repeatable);
                    a relative PATH lands under /work (the command's cwd),
                    an absolute one at the same path; DEST overrides.
                    Shared libraries of copied ELF files (executables
                    and .so files) come along.
  --env NAME=VALUE  export in the guest (repeatable)
  --script FILE     run FILE with the guest's sh; CMD... become its arguments
  --tcg-thread single|multi  one host thread for all guest CPUs (default,
                    $VMTEST_TCG_THREAD), or one each (faster, but the
                    kernel's live code patching (jump labels, int3) races
                    under multi-threaded TCG: guest oopses were seen)
  --cpu MODEL       qemu -cpu (default max,-smap: TCG emulates a user-mode
                    iretq's stack reads as supervisor accesses, which SMAP
                    faults; gmpx's preemption trampoline returns by iretq)
  --append ARGS     extra kernel command line
  --no-install      do not install missing host packages: skip (exit 4)
  --prepare         only install/fetch/cache what is needed, print the paths
  --keep            keep the temporary work directory
  --no-boot         build the initramfs, print the work directory, stop
  -v, --verbose     copy the guest console to stderr
  -h, --help        this text
CMD with one word is shell text (sh -c); with several, an argument vector.
EOF
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?--kernel needs a path}; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	--smp) smp=${2:?}; shift 2 ;;
	--smp=*) smp=${1#*=}; shift ;;
	--mem) mem=${2:?}; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--timeout) tmo=${2:?}; shift 2 ;;
	--timeout=*) tmo=${1#*=}; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	--copy) copies+=("${2:?--copy needs a path}"); shift 2 ;;
	--copy=*) copies+=("${1#*=}"); shift ;;
	--env) envs+=("${2:?--env needs NAME=VALUE}"); shift 2 ;;
	--env=*) envs+=("${1#*=}"); shift ;;
	--script) script=${2:?}; shift 2 ;;
	--script=*) script=${1#*=}; shift ;;
	--cpu) cpu=${2:?}; shift 2 ;;
	--tcg-thread) tcg=${2:?}; shift 2 ;;
	--tcg-thread=*) tcg=${1#*=}; shift ;;
	--append) append=${2?}; shift 2 ;;
	--no-install) no_install=1; shift ;;
	--prepare | --fetch-only) prepare=1; shift ;;
	--keep) keep=1; shift ;;
	--no-boot) no_boot=1 keep=1; shift ;;
	-v | --verbose) verbose=1; shift ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) say "unknown option $1"; usage ;;
	*) break ;;
	esac
done
for v in "$smp" "$mem" "$tmo"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "--smp, --mem and --timeout take positive integers (got '$v')"
done
for e in ${envs[@]+"${envs[@]}"}; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env takes NAME=VALUE (got '$e')"
done
if [ "$prepare" = 0 ] && [ -z "$script" ] && [ $# -eq 0 ]; then
	say "no command given"
	usage
fi
[ -z "$script" ] || [ -r "$script" ] || die "cannot read script $script"

have() { command -v "$1" >/dev/null 2>&1; }
sudo_() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo -n "$@"; else return 1; fi
}
# Quotes a string for a POSIX shell (busybox ash has no $'...').
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# ---------------------------------------------------------------- host tools
ensure_qemu() {
	have qemu-system-x86_64 && return 0
	[ "$no_install" = 0 ] || skip "qemu-system-x86_64 is not installed (--no-install; apt-get install qemu-system-x86)"
	have apt-get || skip "qemu-system-x86_64 is not installed and there is no apt-get"
	say "installing qemu-system-x86 (--no-install-recommends)"
	export DEBIAN_FRONTEND=noninteractive
	if ! sudo_ apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null 2>&1; then
		sudo_ apt-get update -qq >/dev/null 2>&1 || true
		sudo_ apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null 2>&1 ||
			skip "cannot install qemu-system-x86 (not root and no sudo, or no network)"
	fi
	have qemu-system-x86_64 || skip "qemu-system-x86_64 still missing after installing qemu-system-x86"
}

# Private apt configuration: one sources line for $suite on the mirror that
# /etc/apt already uses (as tools/install-deps.sh does). The system's sources
# are never touched; lists and downloads live in the cache.
apt_opts=()
apt_setup() {
	local mirror signed=
	mirror=${VMTEST_MIRROR:-$(grep -hoE '^(URIs:|deb)[[:space:]]+[^ ]+' /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null |
		awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)}
	mirror=${mirror:-http://deb.debian.org/debian}
	mirror=${mirror%/}
	mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial"
	[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] &&
		signed=" [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
	printf 'deb%s %s %s main\n' "$signed" "$mirror" "$suite" >"$cache/apt/sources.list.new"
	if ! cmp -s "$cache/apt/sources.list.new" "$cache/apt/sources.list" 2>/dev/null; then
		mv "$cache/apt/sources.list.new" "$cache/apt/sources.list"
		# Another mirror or suite: forget the old lists.
		rm -f "$cache/apt/lists/"*_Packages* "$cache/apt/lists/"*Release* "$cache/apt/lists/.stamp"
	else
		rm -f "$cache/apt/sources.list.new"
	fi
	apt_opts=(-o "Dir::Etc::sourcelist=$cache/apt/sources.list" -o "Dir::Etc::sourceparts=-"
		-o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache"
		-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "Debug::NoLocking=1")
	# _apt cannot enter /root/.cache: download as the caller, quietly.
	[ "$(id -u)" != 0 ] || apt_opts+=(-o "APT::Sandbox::User=root")
	apt_mirror=$mirror
}

# Refreshes the private lists when missing, older than a day, or
# VMTEST_REFRESH=1. Returns 1 when there are no usable lists.
apt_refresh() {
	local stamp=$cache/apt/lists/.stamp age
	if [ -f "$stamp" ] && [ "${VMTEST_REFRESH:-0}" != 1 ]; then
		age=$(($(date +%s) - $(stat -c %Y "$stamp")))
		[ "$age" -gt "$lists_max_age" ] || return 0
	fi
	# apt-get update exits 0 when the mirror cannot be reached: look at what
	# it says and at what it left.
	if apt-get "${apt_opts[@]}" update -qq >"$cache/apt/update.log" 2>&1 &&
		! grep -qE '^(E:|Err:)|Failed to fetch|index files failed' "$cache/apt/update.log" &&
		ls "$cache/apt/lists/"*_Packages* >/dev/null 2>&1; then
		touch "$stamp"
		return 0
	fi
	say "warning: apt-get update for $suite on $apt_mirror failed (see $cache/apt/update.log)"
	ls "$cache/apt/lists/"*_Packages* >/dev/null 2>&1
}

# ------------------------------------------------------------------- busybox
busybox=
ensure_busybox() {
	local b d
	for b in ${VMTEST_BUSYBOX:-} /bin/busybox /usr/bin/busybox "$cache/busybox/bin/busybox"; do
		# Static only: it runs in the guest without libraries.
		if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
			busybox=$b
			return 0
		fi
	done
	# Not installed: busybox-static conflicts with the busybox package, so it
	# is downloaded into the cache rather than installed.
	have apt-get || skip "no static busybox and no apt-get: install busybox-static"
	mkdir -p "$cache"
	d=$(mktemp -d "$cache/busybox.XXXXXX")
	local sb=()
	[ "$(id -u)" != 0 ] || sb=(-o "APT::Sandbox::User=root")
	if (cd "$d" && apt-get ${sb[@]+"${sb[@]}"} download -qq busybox-static >/dev/null 2>&1) &&
		dpkg-deb -x "$d"/busybox-static_*.deb "$d/x" && [ -x "$d/x/bin/busybox" ]; then
		rm -rf "$cache/busybox"
		mkdir -p "$cache/busybox/bin"
		mv "$d/x/bin/busybox" "$cache/busybox/bin/busybox"
		rm -rf "$d"
		busybox=$cache/busybox/bin/busybox
		return 0
	fi
	rm -rf "$d"
	skip "no static busybox: install busybox-static (apt-get download busybox-static failed)"
}

# -------------------------------------------------------------------- kernel
# Magic of the first 4 bytes of a file, as hex.
magic() { head -c 4 "$1" | od -An -tx1 | tr -d ' \n'; }

# extract_vmlinux VMLINUZ OUT: decompresses the payload of a bzImage to an ELF
# (the same method as tools/vmlinux-btf.sh).
extract_vmlinux() {
	local img=$1 o=$2 off
	local -a m=('\x28\xb5\x2f\xfd' '\x1f\x8b\x08' '\xfd\x37\x7a\x58\x5a\x00')
	local -a d=('zstd -dcq' 'gzip -dcq' 'xz -dcq')
	local i
	for i in 0 1 2; do
		have "${d[$i]%% *}" || continue
		# shellcheck disable=SC2013 # offsets are numbers
		for off in $(grep -obUaP "${m[$i]}" "$img" | cut -d: -f1); do
			# shellcheck disable=SC2086 # the decompressor's words
			tail -c +$((off + 1)) "$img" | ${d[$i]} >"$o" 2>/dev/null || true
			if [ -s "$o" ] && [ "$(magic "$o")" = 7f454c46 ]; then
				return 0
			fi
		done
	done
	rm -f "$o"
	return 1
}

# kernel_artifacts DIR: from DIR/vmlinuz, writes DIR/vmlinux.btf (the raw
# .BTF section, as the guest's /sys/kernel/btf/vmlinux), DIR/vmlinux.h when
# bpftool is there, and DIR/sched_ext ("yes" or "no").
kernel_artifacts() {
	local k=$1 has=no
	if extract_vmlinux "$k/vmlinuz" "$k/vmlinux.tmp"; then
		if have objcopy; then
			objcopy -O binary --only-section=.BTF "$k/vmlinux.tmp" "$k/vmlinux.btf.tmp" 2>/dev/null &&
				[ -s "$k/vmlinux.btf.tmp" ] && mv "$k/vmlinux.btf.tmp" "$k/vmlinux.btf"
			rm -f "$k/vmlinux.btf.tmp"
		fi
		if have bpftool; then
			bpftool btf dump file "$k/vmlinux.tmp" format c >"$k/vmlinux.h.tmp" 2>/dev/null &&
				mv "$k/vmlinux.h.tmp" "$k/vmlinux.h"
			rm -f "$k/vmlinux.h.tmp"
		fi
		if [ -f "$k/vmlinux.h" ]; then
			grep -q '^struct sched_ext_ops {' "$k/vmlinux.h" && has=yes
		elif grep -qa sched_ext_ops "$k/vmlinux.tmp"; then
			has=yes
		fi
		# The ELF itself is large (~70 MB); keep it only when asked.
		if [ "${VMTEST_KEEP_VMLINUX:-0}" = 1 ]; then mv "$k/vmlinux.tmp" "$k/vmlinux"; else rm -f "$k/vmlinux.tmp"; fi
	else
		say "warning: cannot decompress $k/vmlinuz (zstd/gzip/xz missing?): assuming sched_ext"
		has=unknown
	fi
	echo "$has" >"$k/sched_ext"
}

# Newest cached kernel with sched_ext, or nothing.
cached_kernel() {
	local d
	for d in $(find "$cache/kernels" -mindepth 1 -maxdepth 1 -type d ! -name '.*' 2>/dev/null | sort -rV); do
		[ -f "$d/vmlinuz" ] && [ "$(cat "$d/sched_ext" 2>/dev/null)" != no ] && { echo "$d"; return 0; }
	done
	return 0
}

# use_cached REASON: the newest cached kernel, or skip.
use_cached() {
	local k
	k=$(cached_kernel)
	[ -n "$k" ] || skip "no kernel: $1, and nothing cached in $cache/kernels"
	say "warning: $1: using the cached kernel"
	kernel=$k/vmlinuz kinfo="$(cat "$k/package" 2>/dev/null || basename "$k") (cached)"
}

# Picks, downloads and caches the kernel; sets kernel=PATH and kinfo.
kinfo=
fetch_kernel() {
	local vers v pkg pver k d tries=0 names
	mkdir -p "$cache/kernels"
	apt_setup
	if ! apt_refresh; then
		use_cached "cannot reach $suite on $apt_mirror"
		return 0
	fi
	names=$(apt-cache "${apt_opts[@]}" pkgnames linux- 2>/dev/null || true)
	# linux-binary-7.3.4+deb13-amd64 (7.x split packages) or
	# linux-image-6.18.15+deb13-amd64 / linux-image-6.1.0-37-amd64; not the
	# cloud/rt flavours, -unsigned or -dbg.
	vers=$(printf '%s\n' "$names" |
		sed -nE "s/^linux-(binary|image)-([0-9]+\.[0-9]+[.0-9]*(\+deb[0-9]+|-[0-9]+)?)-$flavour\$/\2/p" |
		sort -urV)
	if [ -z "$vers" ]; then
		use_cached "no linux-binary-*-$flavour or linux-image-*-$flavour package in $suite on $apt_mirror"
		return 0
	fi
	for v in $vers; do
		# sched_ext appeared in 6.12.
		printf '%s\n6.12\n' "${v%%[+-]*}" | sort -CV && continue
		k=$cache/kernels/$v-$flavour
		case $(cat "$k/sched_ext" 2>/dev/null) in
		yes | unknown) [ -f "$k/vmlinuz" ] && break ;;
		no) continue ;;
		esac
		[ "$tries" -lt "$max_tries" ] || break
		tries=$((tries + 1))
		pkg=linux-binary-$v-$flavour
		printf '%s\n' "$names" | grep -qxF "$pkg" || pkg=linux-image-$v-$flavour
		pver=$(apt-cache "${apt_opts[@]}" show "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
		say "downloading $pkg $pver from $suite ($apt_mirror)"
		d=$(mktemp -d "$cache/kernels/.dl.XXXXXX")
		if ! (cd "$d" && apt-get "${apt_opts[@]}" download -qq "$pkg" >"$d/log" 2>&1) ||
			! dpkg-deb -x "$d/${pkg}"_*.deb "$d/x" 2>>"$d/log"; then
			say "warning: cannot download $pkg: $(grep -m1 -E '^(E|W|Err):' "$d/log" || tail -1 "$d/log")"
			rm -rf "$d"
			continue
		fi
		rm -rf "$k"
		mkdir -p "$k"
		local z
		z=$(find "$d/x" -type f \( -name 'vmlinuz*' -o -name 'bzImage' \) | head -1)
		if [ -z "$z" ]; then
			say "warning: no vmlinuz in $pkg"
			rm -rf "$d" "$k"
			continue
		fi
		mv "$z" "$k/vmlinuz"
		echo "$pkg $pver from $suite" >"$k/package"
		rm -rf "$d"
		kernel_artifacts "$k"
		[ "$(cat "$k/sched_ext")" = no ] && say "$pkg has no sched_ext, trying an older one" && continue
		break
	done
	k=$(cached_kernel)
	[ -n "$k" ] || skip "no kernel with sched_ext found in $suite ($apt_mirror) after $tries download(s)"
	ln -sfn "$(basename "$k")" "$cache/kernels/current"
	kernel=$k/vmlinuz kinfo=$(cat "$k/package" 2>/dev/null || basename "$k")
}

get_kernel() {
	if [ -n "$kernel" ]; then
		[ -r "$kernel" ] || skip "cannot read kernel $kernel"
		kinfo="user-supplied"
		return 0
	fi
	if ! have apt-get || ! have apt-cache || ! have dpkg-deb; then
		skip "no kernel: give --kernel PATH (no apt-get/dpkg-deb to fetch one)"
	fi
	mkdir -p "$cache"
	# One fetcher at a time (make -j).
	if have flock; then
		exec 9>"$cache/.lock"
		flock 9
	fi
	fetch_kernel
	if have flock; then exec 9>&-; fi
}

# ----------------------------------------------------------------- initramfs
# add SRC DEST: copies SRC (file or directory, symlinks followed) to DEST in
# the initramfs, and the shared libraries of every ELF executable in it.
libs_done=" "
add() {
	local src=$1 dst=$2 f
	mkdir -p "$root$(dirname "$dst")"
	cp -rL "$src" "$root$dst"
	while IFS= read -r -d '' f; do
		[ "$(magic "$f")" = 7f454c46 ] || continue
		add_libs "$f"
	done < <(find "$root$dst" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) -print0)
}
add_libs() {
	local lib
	# ldd: "libx.so.1 => /lib/.../libx.so.1 (0x...)", "/lib64/ld-linux... (0x...)".
	for lib in $(ldd "$1" 2>/dev/null | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}'); do
		case $libs_done in *" $lib "*) continue ;; esac
		libs_done="$libs_done$lib "
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

build_initramfs() {
	local c src dst l
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,work,vmtest}
	cp "$busybox" "$root/bin/busybox"
	for l in $("$busybox" --list-full); do
		[ -e "$root/$l" ] || ln -s /bin/busybox "$root/$l"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	echo vmtest >"$root/etc/hostname"
	printf '127.0.0.1 localhost vmtest\n::1 localhost\n' >"$root/etc/hosts"

	for c in ${copies[@]+"${copies[@]}"}; do
		src=${c%%:*}
		dst=
		[ "$src" = "$c" ] || dst=${c#*:}
		[ -e "$src" ] || die "--copy: no such file or directory: $src"
		if [ -z "$dst" ]; then
			case $src in
			/*) dst=$src ;;
			*..*) dst=/work/$(basename "$src") ;;
			*) dst=/work/${src#./} ;;
			esac
		fi
		case $dst in /*) ;; *) dst=/work/$dst ;; esac
		add "$src" "${dst%/}"
	done

	# The command.
	{
		echo '# generated by tools/vmtest/vmtest.sh'
		for e in ${envs[@]+"${envs[@]}"}; do
			echo "export ${e%%=*}=$(shq "${e#*=}")"
		done
	} >"$root/vmtest/env"
	if [ -n "$script" ]; then
		cp "$script" "$root/vmtest/cmd.sh"
		: >"$root/vmtest/args"
		for a in "$@"; do printf '%s ' "$(shq "$a")" >>"$root/vmtest/args"; done
	else
		if [ $# -eq 1 ]; then
			printf '%s\n' "$1" >"$root/vmtest/cmd.sh"
		else
			for a in "$@"; do printf '%s ' "$(shq "$a")"; done >"$root/vmtest/cmd.sh"
			echo >>"$root/vmtest/cmd.sh"
		fi
		: >"$root/vmtest/args"
	fi

	cat >"$root/init" <<'EOF'
#!/bin/sh
# /init of a tools/vmtest/vmtest.sh guest: mount, run /vmtest/cmd.sh with
# stdout+stderr on the virtio-serial port named "out", report the status as a
# last line "VMTEST-EXIT n", power off.
export PATH=/work/build:/work/build/release:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname vmtest
ip link set lo up 2>/dev/null

port=
i=0
while [ -z "$port" ] && [ $i -lt 50 ]; do
	for d in /sys/class/virtio-ports/*; do
		[ "$(cat "$d/name" 2>/dev/null)" = out ] && [ -e "/dev/${d##*/}" ] && port=/dev/${d##*/}
	done
	[ -n "$port" ] || sleep 0.1
	i=$((i + 1))
done
if [ -n "$port" ]; then
	exec 3>"$port"
else
	# No virtio-serial port: fall back to the console, between markers.
	exec 3>/dev/console
	echo "VMTEST-BEGIN" >&3
fi

cd /work || cd /
. /vmtest/env
eval "set -- $(cat /vmtest/args)"
sh /vmtest/cmd.sh "$@" >&3 2>&3 </dev/null
echo "VMTEST-EXIT $?" >&3
[ -n "$port" ] || echo "VMTEST-END" >&3
exec 3>&-
sync
poweroff -f
EOF
	chmod 755 "$root/init"
	(cd "$root" && find . | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 >"$initrd"
}

# ---------------------------------------------------------------------- main
ensure_qemu
get_kernel
ensure_busybox
say "kernel $kernel ($kinfo)"

if [ "$prepare" = 1 ]; then
	kd=$(dirname "$kernel")
	echo "vmlinuz=$kernel"
	[ -f "$kd/vmlinux.btf" ] && echo "btf=$kd/vmlinux.btf"
	[ -f "$kd/vmlinux.h" ] && echo "vmlinux_h=$kd/vmlinux.h"
	[ -f "$kd/sched_ext" ] && echo "sched_ext=$(cat "$kd/sched_ext")"
	echo "busybox=$busybox"
	echo "qemu=$(command -v qemu-system-x86_64)"
	exit 0
fi

if [ -n "$out" ]; then
	mkdir -p "$out"
	work=$(cd "$out" && pwd)
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/vmtest.XXXXXX")
	if [ "$keep" = 0 ]; then
		trap 'rm -rf "$work"' EXIT
	else
		say "work directory $work"
	fi
fi
root=$work/root initrd=$work/initrd.gz result=$work/output
rm -f "$result" "$work/console.log"

build_initramfs "$@"
if [ "$no_boot" = 1 ]; then
	say "initramfs $initrd ($(du -k "$initrd" | cut -f1) KiB), not booted"
	echo "$work"
	exit 0
fi
say "initramfs $(du -k "$initrd" | cut -f1) KiB; booting (smp $smp, mem ${mem}M, TCG $tcg-threaded, timeout ${tmo}s)"

# shellcheck disable=SC2054 # qemu's commas
qemu=(qemu-system-x86_64 -accel "tcg,thread=$tcg" -m "$mem" -smp "$smp" -cpu "$cpu" -nographic -no-reboot -nic none
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 quiet loglevel=0 panic=-1${append:+ $append}"
	-device virtio-serial-pci -chardev "file,id=c1,path=$result"
	-device virtserialport,chardev=c1,name=out)
t0=$(date +%s%N)
qrc=0
timeout -k 5 "$tmo" "${qemu[@]}" </dev/null >"$work/console.log" 2>&1 || qrc=$?
t1=$(date +%s%N)
secs=$(((t1 - t0) / 1000000000)).$(printf '%02d' $(((t1 - t0) / 10000000 % 100)))
# The console without carriage returns and the firmware's escape codes.
console() { tr -d '\r' <"$work/console.log" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g'; }
[ "$verbose" = 0 ] || console >&2

# The result: the port's bytes up to the "VMTEST-EXIT n" line; else the
# console between VMTEST-BEGIN and VMTEST-END.
if [ ! -s "$result" ] && grep -qa '^VMTEST-BEGIN' "$work/console.log"; then
	console | sed -n '/^VMTEST-BEGIN$/,/^VMTEST-END$/p' | sed '1d;$d' >"$result"
fi
last=$(tail -c 64 "$result" 2>/dev/null | tail -n 1 || true)
if [[ $last =~ VMTEST-EXIT\ ([0-9]+)$ ]]; then
	rc=${BASH_REMATCH[1]}
	marker="VMTEST-EXIT $rc"
	size=$(stat -c %s "$result")
	head -c $((size - ${#marker} - 1)) "$result"
	say "guest exit status $rc (qemu ran ${secs}s)"
	exit "$rc"
fi
[ -f "$result" ] && cat "$result"
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	say "timeout: the guest did not finish within ${tmo}s; console tail:"
	rc=124
else
	say "the guest reported no exit status (qemu status $qrc after ${secs}s); console tail:"
	rc=125
fi
console | tail -n 25 >&2
say "(add --append loglevel=7 for the kernel's messages)"
exit "$rc"
