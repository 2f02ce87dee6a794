// netpoll_echo: a TCP echo server, one goroutine per connection (the server
// half of the netpoll_echo workload; the client is
// tools/bench/workloads/netpoll_echo/client.c, the same binary for both servers).
//
// Definition (identical in tools/bench/workloads/netpoll_echo/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 2), --port=N (0: any free port).
//   - RLIMIT_NOFILE's soft limit is raised to the hard limit (Go's os
//     package does it at start-up since Go 1.19).
//   - Listens on 127.0.0.1:N (backlog: the kernel's somaxconn, 4096 on
//     current kernels) and prints "listening on :PORT" on stdout once it
//     accepts connections.
//   - Accept loop in the main goroutine; each accepted connection (Go sets
//     TCP_NODELAY on it) gets a goroutine that loops: read up to 4096 bytes
//     into its buffer, write them all back, until EOF or an error; then it
//     closes the connection and adds the bytes it echoed to a shared total
//     (one atomic add per connection).
//   - On SIGTERM it waits (up to 2 s) until no connection is open, prints
//     ONE line of JSON with the totals and exits 0.
//
// Output at exit: {"workload":"netpoll_echo_server","maxprocs":P,"conns":C,"bytes":B}
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"gmpxbench/internal/bench"
)

var openConns, totalConns, totalBytes atomic.Int64

func echoConn(c net.Conn) {
	buf := make([]byte, 4096)
	var bytes int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if w, werr := c.Write(buf[:n]); werr != nil || w != n {
				break
			}
			bytes += int64(n)
		}
		if err != nil {
			break
		}
	}
	c.Close()
	totalBytes.Add(bytes)
	openConns.Add(-1)
}

type report struct {
	Workload string `json:"workload"`
	Maxprocs int    `json:"maxprocs"`
	Conns    int64  `json:"conns"`
	Bytes    int64  `json:"bytes"`
}

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any free port)")
	bench.Init("netpoll_echo")
	if *port < 0 || *port > 65535 {
		bench.Fail("--port must be <= 65535")
	}

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		until := time.Now().Add(2 * time.Second)
		for openConns.Load() > 0 && time.Now().Before(until) {
			time.Sleep(time.Millisecond)
		}
		bench.Emit(report{"netpoll_echo_server", *bench.Maxprocs, totalConns.Load(), totalBytes.Load()})
		os.Exit(0)
	}()

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		bench.Fail("listen: %v", err)
	}
	fmt.Printf("listening on :%d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			bench.Fail("accept: %v", err)
		}
		openConns.Add(1)
		totalConns.Add(1)
		go echoConn(c)
	}
}
