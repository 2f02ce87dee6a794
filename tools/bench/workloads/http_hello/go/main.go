// http_hello: a minimal net/http server answering every request with
// "Hello, world!\n" (the Go side of the http_hello workload; the gmpx side
// is examples/http_hello.c). The runner drives both with wrk.
//
// Definition (as examples/http_hello.c):
//   - Argument: HOST:PORT (default ":8080"; ":0" picks a free port);
//     GOMAXPROCS from the environment (the runner sets GOMAXPROCS and
//     GX_MAXPROCS alike).
//   - Prints "listening on :PORT" on stdout once it accepts connections.
//   - HTTP/1.1 with keep-alive; the handler writes "Hello, world!\n" (net/http
//     adds Content-Length, Content-Type and Date, as the C server does).
//   - Exits 0 on SIGTERM or SIGINT.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

var body = []byte("Hello, world!\n")

func main() {
	addr := ":8080"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "http_hello (go): listen %s: %v\n", addr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on :%d\n", ln.Addr().(*net.TCPAddr).Port)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(body)
	})
	if err := http.Serve(ln, handler); err != nil {
		fmt.Fprintf(os.Stderr, "http_hello (go): %v\n", err)
		os.Exit(1)
	}
}
