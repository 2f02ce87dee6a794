#!/bin/sh
# SPDX-License-Identifier: MIT
# The VM part of the benchmarks, the guest's half (busybox sh; no python in
# the guest). gxbench/vm.py copies this file to build/bench/vm/guest.sh,
# appends the steps of the run (DAEMON_WAIT=..., one "daemon" and one
# "probe" line per kernel-assist mode, one line per program run, the
# daemons stopped) and boots the guest with it: tools/vmtest/vmtest.sh
# --script build/bench/vm/guest.sh.
# Prints "@@" lines the runner parses: @@INFO k v, @@DSKIP mode reason (its
# daemon or probe failed), @@LOG mode daemon-log-line,
# @@S impl workload run round, @@R status, @@O/@@E program stdout/stderr,
# @@SO/@@SE server stdout/stderr, @@CPU server CPU ticks, @@SRC server status, @@END.
export LC_ALL=C
echo "@@INFO uname $(uname -r)"
echo "@@INFO nproc $(nproc)"
echo "@@INFO sched_ext $(cat /sys/kernel/sched_ext/state 2>/dev/null || echo absent)"
echo "@@INFO btf $([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
echo "@@INFO loadavg_start $(cat /proc/loadavg)"
T0=$(cut -d' ' -f1 /proc/uptime)
up() { cut -d' ' -f1 /proc/uptime; }
emit() { # emit STATUS [KEY]: the last program's output, tagged; a timeout
	# (busybox timeout: 143) marks KEY hung: later rounds do not run it again
	[ "$1" != 143 ] && [ "$1" != 124 ] || [ -z "$2" ] || eval "hung_$2=1"
	echo "@@R $1 $(up)"
	sed 's/^/@@O /' /tmp/o
	sed 's/^/@@E /' /tmp/e
	echo "@@END"
}
# daemon MODE SOCK PINS: start gmpx-sched in MODE; on failure print a SKIP
# for the implementations that need it and set skip_MODE.
daemon() {
	rm -f "$2"
	build/gmpx-sched --mode "$1" --socket "$2" --pin-dir "$3" >"/tmp/gx-$1.log" 2>&1 &
	eval "pid_$1=$!"
	i=0
	while [ ! -S "$2" ] && [ $i -lt $((DAEMON_WAIT * 10)) ] && kill -0 "$(eval echo \$pid_$1)" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -S "$2" ]; then
		echo "@@INFO daemon_$1 up after $((i / 10)).$((i % 10)) s"
		return 0
	fi
	why=$(grep -v '^ *$' "/tmp/gx-$1.log" | tail -n 1)
	if kill -0 "$(eval echo \$pid_$1)" 2>/dev/null; then
		why="no socket $2 after $DAEMON_WAIT s: $why"
	fi
	eval "skip_$1=1"
	echo "@@DSKIP $1 gmpx-sched --mode $1: ${why:-exited with no output}"
}
# probe MODE SOCK CMD...: a tiny program in MODE must end in MODE.
probe() {
	m=$1 s=$2
	shift 2
	echo "@@INFO probe_$m $*"
	GX_KASSIST=$m GX_KASSIST_SOCK=$s timeout 60 "$@" >/tmp/o 2>/tmp/e
	rc=$?
	if ! grep -q "\"kassist\":\"$m\"" /tmp/o; then
		why=$(grep 'kassist' /tmp/e | tail -n 1)
		[ -n "$why" ] || why="the probe ($*) exited $rc in mode '$(sed -n 's/.*"kassist":"\([a-z]*\)".*/\1/p' /tmp/o)', not $m: $(tail -n 1 /tmp/e)"
		eval "skip_$m=1"
		echo "@@DSKIP $m $why"
	fi
}
# notrun KEY: a program that timed out in an earlier round is not run again.
notrun() {
	echo "@@R 125 $(up)"
	echo "@@E not run: it timed out in an earlier round"
	echo "@@END"
}
# server TIMEOUT SERVER_CMD -- CLIENT_CMD...: a server workload.
server() {
	tmo=$1
	shift
	srv=""
	while [ "$1" != "--" ]; do srv="$srv $(printf "'%s'" "$1")"; shift; done
	shift
	: >/tmp/so  # now: the background shell's own truncation may come after our first look (the last run's port)
	eval "exec $srv" >>/tmp/so 2>/tmp/se &
	spid=$!
	port=""
	i=0
	while [ -z "$port" ] && [ $i -lt 300 ] && kill -0 $spid 2>/dev/null; do
		port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' /tmp/so | head -n 1)
		[ -n "$port" ] || sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$port" ]; then
		kill -KILL $spid 2>/dev/null; wait $spid
		echo "server did not print 'listening on :PORT'" >/tmp/e
		: >/tmp/o
		emit 1
		return
	fi
	timeout "$tmo" "$@" --port="$port" >/tmp/o 2>/tmp/e
	rc=$?
	cpu=$(awk '{print $14 + $15}' /proc/$spid/stat 2>/dev/null)
	kill -TERM $spid 2>/dev/null
	i=0
	while kill -0 $spid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL $spid 2>/dev/null
	wait $spid
	src=$?
	echo "@@CPU ${cpu:-}"
	echo "@@SRC $src"
	sed 's/^/@@SO /' /tmp/so
	sed 's/^/@@SE /' /tmp/se
	emit $rc
}
