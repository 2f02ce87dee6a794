// mutex_contention: one mutex hammered by several goroutines.
//
// Definition (identical in tools/bench/workloads/mutex_contention/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 2), --workers=W (goroutines;
//     default 4), --iters=I (lock/unlock pairs per goroutine; default
//     1,000,000).
//   - One shared struct holds a sync.Mutex, a plain int64 counter guarded
//     by it, and a WaitGroup.
//   - Timed region: wg.Add(W), then main starts W goroutines `go worker(s)`;
//     each does I times { mu.Lock(); counter += 1; mu.Unlock() } and then
//     wg.Done(); main waits on the WaitGroup.
//   - Report: pairs = W*I, ns_per_pair = wall time of the timed region / pairs.
//   - Verify: counter == W*I (Lock and Unlock cannot fail in Go: a bad
//     Unlock is fatal).
//
// Output: {"workload":"mutex_contention","maxprocs":P,"workers":W,"iters":I,"pairs":W*I,
// "wall_ns":...,"ns_per_pair":...}
package main

import (
	"flag"
	"sync"

	"gmpxbench/internal/bench"
)

// defaultWorkers goroutines contend; each makes defaultIters pairs.
const (
	defaultWorkers = 4
	defaultIters   = 1000000
)

// maxWorkers bounds --workers.
const maxWorkers = 4096

type shared struct {
	iters   int
	mu      sync.Mutex
	counter int64 // guarded by mu
	wg      sync.WaitGroup
}

func worker(s *shared) {
	for i := 0; i < s.iters; i++ {
		s.mu.Lock()
		s.counter++
		s.mu.Unlock()
	}
	s.wg.Done()
}

type report struct {
	Workload  string  `json:"workload"`
	Maxprocs  int     `json:"maxprocs"`
	Workers   int     `json:"workers"`
	Iters     int     `json:"iters"`
	Pairs     int64   `json:"pairs"`
	WallNs    int64   `json:"wall_ns"`
	NsPerPair float64 `json:"ns_per_pair"`
}

func main() {
	workers := flag.Int("workers", defaultWorkers, "contending goroutines")
	iters := flag.Int("iters", defaultIters, "lock/unlock pairs per goroutine")
	bench.Init("mutex_contention")
	if *workers <= 0 || *workers > maxWorkers {
		bench.Fail("--workers must be in [1, %d]", maxWorkers)
	}
	if *iters <= 0 {
		bench.Fail("--iters must be > 0")
	}

	s := &shared{iters: *iters}
	start := bench.Now()
	s.wg.Add(*workers)
	for i := 0; i < *workers; i++ {
		go worker(s)
	}
	s.wg.Wait()
	wall := bench.Now() - start

	pairs := int64(*workers) * int64(*iters)
	s.mu.Lock()
	counter := s.counter
	s.mu.Unlock()
	if counter != pairs {
		bench.Fail("counter is %d, want %d", counter, pairs)
	}
	bench.Emit(report{
		Workload:  "mutex_contention",
		Maxprocs:  *bench.Maxprocs,
		Workers:   *workers,
		Iters:     *iters,
		Pairs:     pairs,
		WallNs:    wall,
		NsPerPair: float64(wall) / float64(pairs),
	})
}
