// SPDX-License-Identifier: MIT

// skynet: the classic cross-runtime test; a 10-ary tree of goroutines, its
// leaves sending their ids up through channels, every inner node summing.
//
// Definition (identical in tools/bench/workloads/skynet/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=N (leaves, a
//     power of div = 10; default 1,000,000).
//   - skynet(parent, num, size): if size == 1, send num on parent and
//     return. Else make an unbuffered channel rc of int64, start div
//     goroutines skynet(rc, num + i*(size/div), size/div) for i in
//     0..div-1, receive div values from rc and sum them, and send the sum
//     on parent.
//   - Timed region: main makes an unbuffered channel c, starts the
//     goroutine skynet(c, 0, N) and receives the result from c.
//   - Report: goroutines = (div*N - 1)/(div - 1) (every node of the tree),
//     wall_ms, ns_per_goroutine = wall time of the timed region / goroutines.
//   - Verify: result == N*(N-1)/2 (N = 1,000,000: 499,999,500,000).
//
// Output: {"workload":"skynet","maxprocs":P,"n":N,"goroutines":G,"result":R,"wall_ms":...,
//
//	"ns_per_goroutine":...}
package main

import (
	"flag"

	"gmpxbench/internal/bench"
)

// div is the number of children per inner node; defaultN the leaves of a full run.
const (
	div      = 10
	defaultN = 1000000
)

func skynet(parent chan int64, num, size int64) {
	if size == 1 {
		parent <- num
		return
	}
	rc := make(chan int64)
	sub := size / div
	for i := int64(0); i < div; i++ {
		go skynet(rc, num+i*sub, sub)
	}
	var sum int64
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	parent <- sum
}

type report struct {
	Workload       string  `json:"workload"`
	Maxprocs       int     `json:"maxprocs"`
	N              int64   `json:"n"`
	Goroutines     int64   `json:"goroutines"`
	Result         int64   `json:"result"`
	WallMs         float64 `json:"wall_ms"`
	NsPerGoroutine float64 `json:"ns_per_goroutine"`
}

func main() {
	nflag := flag.Int64("n", defaultN, "leaves (a power of 10)")
	bench.Init("skynet")
	n := *nflag
	for m := n; m != 1; m /= div {
		if m < 1 || m%div != 0 {
			bench.Fail("--n must be a power of %d", div)
		}
	}
	c := make(chan int64)
	start := bench.Now()
	go skynet(c, 0, n)
	result := <-c
	wall := bench.Now() - start
	goroutines := (div*n - 1) / (div - 1)
	if result != n*(n-1)/2 {
		bench.Fail("result %d, want %d", result, n*(n-1)/2)
	}
	bench.Emit(report{
		Workload:       "skynet",
		Maxprocs:       *bench.Maxprocs,
		N:              n,
		Goroutines:     goroutines,
		Result:         result,
		WallMs:         float64(wall) / 1e6,
		NsPerGoroutine: float64(wall) / float64(goroutines),
	})
}
