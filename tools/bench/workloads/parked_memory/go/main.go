// parked_memory: memory and creation cost of goroutines that block forever.
//
// Definition (identical in tools/bench/workloads/parked_memory/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 2), --n=N (default 1,000,000).
//   - A WaitGroup `block` gets Add(1) and is never Done: waiting on it
//     blocks forever. A global atomic counter `started` starts at 0.
//   - rss_before = RSS from /proc/self/statm, read just before the spawn loop.
//   - Timed region: a loop starting N goroutines `go blocker(&block)`, each
//     doing started.Add(1) then block.Wait(); then main yields
//     (runtime.Gosched) until started == N.
//   - Settle (untimed): settleYields more yields and a settleSleep sleep,
//     so the last goroutines finish parking; then rss_after is read.
//   - Report: bytes_per_goroutine = (rss_after - rss_before) / N,
//     ns_per_goroutine = timed region / N.
//   - Verify: the runtime counts at least N+1 live goroutines.
//   - Then main returns: the process exits with the N goroutines still blocked.
//
// Output (one line): {"workload":"parked_memory","maxprocs":P,"n":N,"rss_before":...,
// "rss_after":...,"bytes_per_goroutine":...,"create_ns":...,"ns_per_goroutine":...}
package main

import (
	"flag"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gmpxbench/internal/bench"
)

// defaultN is the number of blocked goroutines of a full run.
const defaultN = 1000000

// settleYields and settleSleep give the last goroutines time to park
// after they bumped `started`, before RSS is read.
const (
	settleYields = 100
	settleSleep  = 20 * time.Millisecond
)

var started atomic.Int64

func blocker(block *sync.WaitGroup) {
	started.Add(1)
	block.Wait()
}

type report struct {
	Workload          string  `json:"workload"`
	Maxprocs          int     `json:"maxprocs"`
	N                 int     `json:"n"`
	RSSBefore         int64   `json:"rss_before"`
	RSSAfter          int64   `json:"rss_after"`
	BytesPerGoroutine float64 `json:"bytes_per_goroutine"`
	CreateNs          int64   `json:"create_ns"`
	NsPerGoroutine    float64 `json:"ns_per_goroutine"`
}

func main() {
	n := flag.Int("n", defaultN, "goroutines to block")
	bench.Init("parked_memory")
	if *n <= 0 {
		bench.Fail("--n must be > 0")
	}

	var block sync.WaitGroup
	block.Add(1)

	rssBefore := bench.RSSBytes()
	start := bench.Now()
	for i := 0; i < *n; i++ {
		go blocker(&block)
	}
	for started.Load() < int64(*n) {
		runtime.Gosched()
	}
	create := bench.Now() - start

	for i := 0; i < settleYields; i++ {
		runtime.Gosched()
	}
	time.Sleep(settleSleep)
	rssAfter := bench.RSSBytes()

	if got := runtime.NumGoroutine(); got < *n+1 {
		bench.Fail("%d goroutines alive, want at least %d", got, *n+1)
	}
	bench.Emit(report{
		Workload:          "parked_memory",
		Maxprocs:          *bench.Maxprocs,
		N:                 *n,
		RSSBefore:         rssBefore,
		RSSAfter:          rssAfter,
		BytesPerGoroutine: float64(rssAfter-rssBefore) / float64(*n),
		CreateNs:          create,
		NsPerGoroutine:    float64(create) / float64(*n),
	})
	// Returning exits the process with the N goroutines still blocked.
}
