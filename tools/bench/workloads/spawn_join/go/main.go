// spawn_join: the cost of starting, running and joining a tiny goroutine.
//
// Definition (identical in tools/bench/workloads/spawn_join/gmpx.c):
//   - Arguments: --maxprocs=P (GOMAXPROCS), --n=N (goroutines; default 1,000,000).
//   - One shared struct holds an atomic int64 counter and a WaitGroup.
//   - Timed region: wg.Add(N) once, then a loop starting N goroutines, each
//     `go worker(s)` with s a pointer to the shared struct; worker does one
//     atomic add of 1 to the counter and wg.Done(); then main does wg.Wait().
//   - Report: ns_per_goroutine = wall time of the timed region / N.
//   - Verify: counter == N after Wait.
//
// Output: {"workload":"spawn_join","maxprocs":P,"n":N,"wall_ns":...,"ns_per_goroutine":...}
package main

import (
	"flag"
	"sync"
	"sync/atomic"

	"gmpxbench/internal/bench"
)

// defaultN is the number of goroutines of a full run.
const defaultN = 1000000

type shared struct {
	counter atomic.Int64
	wg      sync.WaitGroup
}

func worker(s *shared) {
	s.counter.Add(1)
	s.wg.Done()
}

type report struct {
	Workload       string  `json:"workload"`
	Maxprocs       int     `json:"maxprocs"`
	N              int     `json:"n"`
	WallNs         int64   `json:"wall_ns"`
	NsPerGoroutine float64 `json:"ns_per_goroutine"`
}

func main() {
	n := flag.Int("n", defaultN, "goroutines to start")
	bench.Init("spawn_join")
	if *n <= 0 {
		bench.Fail("--n must be > 0")
	}

	s := &shared{}
	start := bench.Now()
	s.wg.Add(*n)
	for i := 0; i < *n; i++ {
		go worker(s)
	}
	s.wg.Wait()
	wall := bench.Now() - start

	if got := s.counter.Load(); got != int64(*n) {
		bench.Fail("counter is %d, want %d", got, *n)
	}
	bench.Emit(report{
		Workload:       "spawn_join",
		Maxprocs:       *bench.Maxprocs,
		N:              *n,
		WallNs:         wall,
		NsPerGoroutine: float64(wall) / float64(*n),
	})
}
