#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library as a user gets it (run by tools/run-tests.sh after make):
#   1. make install into a temporary DESTDIR (PREFIX=/usr), every file there
#   2. libgmpx.so: the soname, no test hook exported
#   3. every public header compiles alone as C99 -pedantic, C11, C++11 and
#      C++17, with gcc and clang
#   4. the examples built from the installed tree by pkg-config alone, as C
#      (shared and --static) and as C++, and run (tools/run-examples.sh)
#   5. the sanitizer builds (gmpx-asan, gmpx-tsan) link and run hello
#   6. make uninstall leaves no file behind
# Prints TAP and a closing "N passed, N failed" line.
set -u
cd "$(dirname "$0")/.."
# shellcheck source=tools/tap.sh
. tools/tap.sh
check() { # name, command... (passes if it exits 0; its output is the reason otherwise)
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$(tr '\n' ' ' <<<"$out" | head -c 400)"; fi
}

echo "TAP version 13"
D=$(mktemp -d)
W=$(mktemp -d)
trap 'rm -rf "$D" "$W"' EXIT
check "make install DESTDIR PREFIX=/usr" make --no-print-directory install DESTDIR="$D" PREFIX=/usr
ver=$(sed -nE 's/^#define GX_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' include/gmpx.h | paste -sd.)
major=${ver%%.*}
L=$D/usr/lib
missing=()
for f in include/gmpx.h include/gmpx/sync.h include/gmpx/chan.h include/gmpx/time.h include/gmpx/syscall.h \
	include/gmpx/net.h include/gmpx/debug.h include/gmpx/metrics.h include/gmpx/kabi.h include/gmpx/sched_proto.h lib/libgmpx.a lib/libgmpx-asan.a lib/libgmpx-tsan.a \
	"lib/libgmpx.so.$ver" "lib/libgmpx.so.$major" lib/libgmpx.so lib/pkgconfig/gmpx.pc lib/pkgconfig/gmpx-asan.pc \
	lib/pkgconfig/gmpx-tsan.pc share/man/man3/gmpx.3 share/man/man3/gx_chan.3 share/man/man3/gx_select.3 \
	share/man/man3/gx_chan_send.3 share/man/man3/gx_leakcheck.3 share/man/man3/gx_metrics.3 share/man/man3/gx_metrics_read.3 share/man/man8/gmpx-sched.8 \
	include/gmpx/trace.h share/man/man3/gx_trace.3 share/man/man3/gx_trace_start.3 bin/gmpx-trace share/gmpx/trace.proto \
	include/gmpx/context.h include/gmpx/pool.h share/man/man3/gx_ctx.3 share/man/man3/gx_ctx_with_cancel.3 \
	share/man/man3/gx_pool.3 share/man/man3/gx_pool_get.3; do
	[ -e "$D/usr/$f" ] || missing+=("$f")
done
if [ -x build/gmpx-sched ]; then
	for f in sbin/gmpx-sched lib/systemd/system/gmpx-sched.service; do
		[ -e "$D/usr/$f" ] || missing+=("$f")
	done
fi
if [ ${#missing[@]} -eq 0 ]; then ok "installed tree complete"; else not_ok "installed tree complete" "missing ${missing[*]}"; fi
# every header the installed ones include is installed too
inc_missing=$(grep -hoE '#include [<"]gmpx[^">]*[">]' "$D"/usr/include/gmpx.h "$D"/usr/include/gmpx/*.h |
	sed -E 's/#include [<"](.*)[">]/\1/' | sort -u |
	while read -r h; do [ -e "$D/usr/include/$h" ] || echo "$h"; done)
if [ -z "$inc_missing" ]; then ok "installed headers include only installed headers"; else not_ok "installed headers include only installed headers" "$inc_missing"; fi

soname=$(readelf -d "$L/libgmpx.so.$ver" 2>/dev/null | sed -nE 's/.*SONAME.*\[(.*)\].*/\1/p')
if [ "$soname" = "libgmpx.so.$major" ]; then ok "soname $soname"; else not_ok "soname libgmpx.so.$major" "got '$soname'"; fi
hooks=$(nm -D --defined-only "$L/libgmpx.so.$ver" | grep -c ' gx_test_\| gx_chanwaiters')
if [ "$hooks" -eq 0 ]; then ok "libgmpx.so exports no test hook"; else not_ok "libgmpx.so exports no test hook" "$hooks exported"; fi

# 3. headers: each alone, in every dialect a user may have
for h in "$D"/usr/include/gmpx.h "$D"/usr/include/gmpx/*.h; do
	hn=${h#"$D"/usr/include/}
	printf '#include <%s>\nint gmpx_header_check;\n' "$hn" >"$W/h.c"
	cp "$W/h.c" "$W/h.cc"
	for cc in "gcc -std=c99" "gcc -std=c11" "clang -std=c99" "g++ -std=c++11" "g++ -std=c++17" "clang++ -std=c++14"; do
		command -v "${cc%% *}" >/dev/null 2>&1 || continue
		src=$W/h.c
		case $cc in *++*) src=$W/h.cc ;; esac
		check "$hn as ${cc/ -std=/ }" $cc -pedantic -Wall -Wextra -Werror -I"$D/usr/include" -c "$src" -o /dev/null
	done
done

# 4. the examples, from the installed tree by pkg-config alone
export PKG_CONFIG_PATH=$L/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D PKG_CONFIG_LIBDIR=$L/pkgconfig
cflags=$(pkg-config --cflags gmpx) libs=$(pkg-config --libs gmpx) slibs=$(pkg-config --static --libs gmpx)
case " $cflags " in *" -fstack-clash-protection "*) ok "pkg-config --cflags gmpx: $cflags" ;;
*) not_ok "pkg-config --cflags gmpx carries -fstack-clash-protection" "$cflags" ;; esac
mkdir -p "$W/c" "$W/cxx" "$W/static"
for e in examples/*.c; do
	b=$(basename "$e" .c)
	# shellcheck disable=SC2086
	check "example $b as C (shared)" gcc -O2 -Wall -Wextra -Werror $cflags "$e" -o "$W/c/$b" $libs
	# shellcheck disable=SC2086
	check "example $b as C++" g++ -x c++ -std=c++17 -O2 -Wall -Wextra -Werror $cflags "$e" -x none -o "$W/cxx/$b" $libs
done
# shellcheck disable=SC2086
check "example hello as C (--static)" gcc -O2 -static $cflags examples/hello.c -o "$W/static/hello" $slibs
if [ -x "$W/static/hello" ]; then
	check "static hello runs" bash -c "'$W/static/hello' | grep -q 'total 5050'"
fi
if [ -x "$W/c/hello" ]; then
	where=$(LD_LIBRARY_PATH=$L ldd "$W/c/hello" | sed -nE 's/.*libgmpx\.so\.[0-9]+ => ([^ ]+).*/\1/p')
	case $where in "$L"/*) ok "shared hello loads the installed libgmpx.so.$major" ;;
	*) not_ok "shared hello loads the installed libgmpx.so.$major" "ldd says '$where'" ;; esac
fi
for kind in c cxx; do
	out=$(LD_LIBRARY_PATH=$L EXAMPLES_DIR=$W/$kind bash tools/run-examples.sh 2>&1)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
	if [ -n "$line" ] && grep -q ' 0 failed' <<<"$line"; then ok "examples built as $kind run: $line"; else
		not_ok "examples built as $kind run" "$(grep -E '^not ok|passed' <<<"$out" | tr '\n' ' ' | head -c 400)"
	fi
done

# 5. the sanitizer builds: the race detector and ASan
for san in asan tsan; do
	sc=$(pkg-config --cflags "gmpx-$san") sl=$(pkg-config --libs "gmpx-$san")
	# shellcheck disable=SC2086
	if out=$(gcc -O1 $sc examples/hello.c -o "$W/hello-$san" $sl 2>&1); then
		check "hello with gmpx-$san runs clean" bash -c \
			"ASAN_OPTIONS=detect_leaks=0 TSAN_OPTIONS=halt_on_error=1 '$W/hello-$san' | grep -q 'total 5050'"
	else
		not_ok "hello builds with gmpx-$san" "$(tr '\n' ' ' <<<"$out" | head -c 300)"
	fi
done

# 6. make uninstall takes everything away again
check "make uninstall" make --no-print-directory uninstall DESTDIR="$D" PREFIX=/usr
left=$(find "$D" -type f -o -type l | sed "s|^$D||")
if [ -z "$left" ]; then ok "nothing left after uninstall"; else not_ok "nothing left after uninstall" "$(tr '\n' ' ' <<<"$left")"; fi
tap_end
