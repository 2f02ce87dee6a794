#!/usr/bin/env bash
# Installs what gmpx needs on a fresh Debian 12 machine, non-interactively.
# Idempotent: checks first, installs only what is missing. Never edits the
# system's apt sources: bookworm-backports (for Go 1.23) is enabled through a
# private sources list that reuses the mirror already configured in /etc/apt.
#
# usage: tools/install-deps.sh [test|bench|all]   (default: all)
set -euo pipefail
what=${1:-all}
export DEBIAN_FRONTEND=noninteractive

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Base toolchain for building and testing.
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes for clang (make fuzz).
# libunwind-dev, libdw-dev: the headers of the unwinder and symboliser that
# goroutine dumps dlopen (user/traceback.c); they bring libunwind8, libdw1.
# libprotobuf-c-dev, protobuf-c-compiler: the execution trace's encoder
# (user/trace.proto, dlopened libprotobuf-c1); protobuf-compiler and
# python3-protobuf: tools/gmpx-trace and the trace-format tests read the
# files with protobuf's own parser; gnuplot-nox draws gmpx-trace --plot.
for p in gcc make libc6-dev clang clang-tidy clang-format cppcheck python3 git libclang-rt-14-dev \
	libunwind-dev libdw-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler python3-protobuf \
	gnuplot-nox; do
	have_pkg "$p" || need+=("$p")
done

# The kernel assist (bpf/README.md): clang compiles the BPF programs,
# bpftool makes the skeleton, libbpf loads them in tools/gmpx-sched. Debian
# 12's own libbpf 1.1 and bpftool 7.1 are enough (README: "Kernel assist").
for p in bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config; do
	have_pkg "$p" || need+=("$p")
done

# wrk drives the HTTP benchmark (tools/bench: http_hello); tools/run-examples.sh
# uses it when present. gnuplot (no X) draws the benchmark plots
# (build/bench/plots/*.svg). The VM columns need qemu-system-x86, which
# tools/vmtest/vmtest.sh installs itself when it first runs.
#
# The Tokio and Boost.Fiber peers come from Debian's packages only: Tokio's
# crate and its dependencies (librust-tokio-dev, under
# /usr/share/cargo/registry, which tools/bench/tokio/.cargo/config.toml
# replaces crates.io with; cargo builds offline) and Boost.Fiber with
# Boost.Context (libboost-fiber-dev), compiled with g++. cargo itself is
# Debian's unless one is already on PATH (e.g. rustup's). Without them the
# runner skips those columns with one line.
if [ "$what" != test ]; then
	have_pkg wrk || need+=(wrk)
	have_pkg gnuplot-nox || have_cmd gnuplot || need+=(gnuplot-nox)
	have_pkg librust-tokio-dev || need+=(librust-tokio-dev)
	have_pkg libboost-fiber-dev || need+=(libboost-fiber-dev)
	have_cmd g++ || need+=(g++)
	have_cmd cargo || [ -x "$HOME/.cargo/bin/cargo" ] || need+=(cargo)
fi

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ${#need[@]} -gt 0 ]; then
	echo "install-deps: installing ${need[*]}"
	sudo_ apt-get update -qq
	sudo_ apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Go for the peer benchmarks: golang-1.23 from bookworm-backports.
GO=/usr/lib/go-1.23/bin/go
if [ "$what" != test ] && [ ! -x "$GO" ]; then
	mirror=$(grep -hoE '^(URIs:|deb)[[:space:]]+[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	state=${XDG_CACHE_HOME:-$HOME/.cache}/gmpx/apt
	mkdir -p "$state/lists/partial"
	printf 'deb %s bookworm main\ndeb %s bookworm-backports main\n' "$mirror" "$mirror" >"$state/sources.list"
	opts=(-o "Dir::Etc::sourcelist=$state/sources.list" -o "Dir::Etc::sourceparts=-"
		-o "Dir::State::Lists=$state/lists")
	echo "install-deps: installing golang-1.23 from bookworm-backports ($mirror)"
	sudo_ apt-get "${opts[@]}" update -qq
	sudo_ apt-get "${opts[@]}" install -y -qq --no-install-recommends -t bookworm-backports golang-1.23-go >/dev/null
fi
exit 0
