#!/usr/bin/env bash
# Runs each example with a known expected output (called by run-tests.sh).
# The servers (echo, http_hello) are started in the background on a free
# loopback port, driven by a bounded client for a few seconds, checked for
# lost data or errors, and stopped with SIGTERM (they must exit 0).
# Prints TAP and a closing "N passed, N failed" line.
set -u
cd "$(dirname "$0")/.."
B=${EXAMPLES_DIR:-build/examples} # tools/check-install.sh runs those built from the installed tree
# shellcheck source=tools/tap.sh
. tools/tap.sh
check() { # name, expected-substring, command...
	local name=$1 want=$2
	shift 2
	local out
	out=$(timeout 60 "$@" 2>&1)
	local rc=$?
	if [ $rc -eq 0 ] && grep -q -- "$want" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name" "exit $rc, output: $(head -c 300 <<<"$out")"
	fi
}

# serve NAME BINARY ARGS...: start a server in the background; sets srv_pid,
# srv_port and srv_log (its output), or returns 1 if it does not print
# "listening on :PORT" within 5 s.
srv_pid='' srv_port='' srv_log=''
serve() {
	local name=$1
	shift
	srv_log=$(mktemp)
	"$@" >"$srv_log" 2>&1 &
	srv_pid=$!
	srv_port=''
	for _ in $(seq 50); do
		srv_port=$(sed -nE 's/^listening on .*:([0-9]+)$/\1/p' "$srv_log" | head -1)
		[ -n "$srv_port" ] && return 0
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	not_ok "$name" "server did not start: $(head -c 300 "$srv_log")"
	kill -KILL "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	rm -f "$srv_log"
	return 1
}
# stop NAME: SIGTERM the server; it must exit 0 within 5 s.
stop() {
	local name=$1 rc
	kill -TERM "$srv_pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$srv_pid" 2>/dev/null; then
		kill -KILL "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
		not_ok "$name" "did not exit on SIGTERM"
	else
		wait "$srv_pid"
		rc=$?
		if [ $rc -eq 0 ]; then ok "$name"; else not_ok "$name" "exit status $rc after SIGTERM"; fi
	fi
	rm -f "$srv_log"
}

echo "TAP version 13"
check hello "total 5050" "$B/hello"
[ -x "$B/pipeline" ] && check pipeline "primes: 2 3 5 7 11" "$B/pipeline"

# echo: 50 connections x 1 MiB each, echoed in 16 KiB pieces; every byte
# must come back unchanged (the client checks contents and counts).
if [ -x "$B/echo" ] && serve echo "$B/echo" 127.0.0.1:0; then
	check echo-50x1MiB "sent 52428800 bytes, received 52428800 bytes in .*: ok" \
		"$B/echo" --client "127.0.0.1:$srv_port" 50 1048576
	check echo-500x64KiB "sent 32768000 bytes, received 32768000 bytes in .*: ok" \
		"$B/echo" --client "127.0.0.1:$srv_port" 500 65536
	stop echo-sigterm
fi

# http_hello: wrk for 3 s (no socket errors, no non-2xx, some requests), or
# curl if wrk is missing; then keep-alive and pipelining from python3.
if [ -x "$B/http_hello" ] && serve http_hello "$B/http_hello" 127.0.0.1:0; then
	url="http://127.0.0.1:$srv_port/"
	if command -v wrk >/dev/null 2>&1; then
		out=$(timeout 30 wrk -t2 -c50 -d3s "$url" 2>&1)
		reqs=$(sed -nE 's/^ *([0-9]+) requests in .*/\1/p' <<<"$out")
		if [ -n "$reqs" ] && [ "$reqs" -gt 0 ] && ! grep -qE 'Socket errors|Non-2xx' <<<"$out"; then
			ok "http_hello-wrk ($(grep -E 'Requests/sec' <<<"$out" | tr -s ' '))"
		else
			not_ok http_hello-wrk "$(tr '\n' ' ' <<<"$out" | head -c 400)"
		fi
	elif command -v curl >/dev/null 2>&1; then
		urls=()
		for _ in $(seq 200); do urls+=("$url"); done
		check http_hello-curl "^200$" bash -c \
			'curl -s "$@" | grep -c "^Hello, world!$"' _ "${urls[@]}"
	else
		echo "# neither wrk nor curl: only the python3 checks"
	fi
	check http_hello-keepalive-pipelining "ok 300 responses" python3 - "$srv_port" <<'EOF'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
data = b""
def responses(n):
    global data
    while data.count(b"Hello, world!\n") < n:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"EOF after {data.count(b'Hello, world!')} responses")
        data += chunk
for _ in range(100):            # keep-alive: one request at a time
    s.sendall(req)
    responses(data.count(b"Hello, world!\n") + 1)
s.sendall(req * 199 + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")   # pipelined
responses(300)
while True:                     # then the server closes
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
n200 = data.count(b"HTTP/1.1 200 OK\r\n")
hello = data.count(b"Hello, world!\n")
print(f"ok {hello} responses" if n200 == hello == 300 else f"FAILED: {n200} 200s, {hello} bodies")
EOF
	stop http_hello-sigterm
fi
tap_end
