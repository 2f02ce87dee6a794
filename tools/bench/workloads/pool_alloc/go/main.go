// pool_alloc: a buffer taken from an object pool, written and put back, by
// GOMAXPROCS goroutines at once.
//
// Definition (identical in tools/bench/workloads/pool_alloc/gmpx.c, with
// sync.Pool for the gx_pool):
//   - Arguments: --maxprocs=P (the runner uses 2), --workers=W (goroutines;
//     default 0: P), --iters=I (get/put pairs per goroutine; default
//     10,000,000), --size=S (bytes per buffer; default 256).
//   - One sync.Pool whose New makes a *[]byte of S bytes (a pointer, so
//     that Put does not allocate to box it) and counts.
//   - Timed region: wg.Add(W), then main starts W goroutines; each does I
//     times { b := pool.Get().(*[]byte); (*b)[0] = byte(i); (*b)[S-1] =
//     byte(i); pool.Put(b) } and then wg.Done(); main waits.
//   - Report: pairs = W*I, ns_per_pair = wall time of the timed region /
//     pairs, made = New calls.
//   - Verify: every Get returned a buffer of S bytes.
//
// Output: {"workload":"pool_alloc","maxprocs":P,"workers":W,"iters":I,"size":S,"pairs":W*I,
// "wall_ns":...,"ns_per_pair":...,"made":...}
package main

import (
	"flag"
	"sync"
	"sync/atomic"

	"gmpxbench/internal/bench"
)

// defaultIters pairs per goroutine, of defaultSize-byte buffers.
const (
	defaultIters = 10000000
	defaultSize  = 256
)

// maxWorkers, maxSize bound --workers and --size.
const (
	maxWorkers = 4096
	maxSize    = 1 << 20
)

type report struct {
	Workload  string  `json:"workload"`
	Maxprocs  int     `json:"maxprocs"`
	Workers   int     `json:"workers"`
	Iters     int     `json:"iters"`
	Size      int     `json:"size"`
	Pairs     int64   `json:"pairs"`
	WallNs    int64   `json:"wall_ns"`
	NsPerPair float64 `json:"ns_per_pair"`
	Made      int64   `json:"made"`
}

func main() {
	workers := flag.Int("workers", 0, "goroutines (0: GOMAXPROCS)")
	iters := flag.Int("iters", defaultIters, "get/put pairs per goroutine")
	size := flag.Int("size", defaultSize, "bytes per buffer")
	bench.Init("pool_alloc")
	if *workers == 0 {
		*workers = *bench.Maxprocs
	}
	if *workers < 0 || *workers > maxWorkers {
		bench.Fail("--workers must be in [0, %d]", maxWorkers)
	}
	if *iters <= 0 {
		bench.Fail("--iters must be > 0")
	}
	if *size <= 0 || *size > maxSize {
		bench.Fail("--size must be in [1, %d]", maxSize)
	}

	var made, bad atomic.Int64
	n := *size
	pool := sync.Pool{New: func() any {
		made.Add(1)
		b := make([]byte, n)
		return &b
	}}
	var wg sync.WaitGroup
	start := bench.Now()
	wg.Add(*workers)
	for w := 0; w < *workers; w++ {
		go func() {
			defer wg.Done()
			for i := 0; i < *iters; i++ {
				b := pool.Get().(*[]byte)
				if len(*b) != n {
					bad.Add(1)
					continue
				}
				(*b)[0] = byte(i)
				(*b)[n-1] = byte(i)
				pool.Put(b)
			}
		}()
	}
	wg.Wait()
	wall := bench.Now() - start

	if bad.Load() != 0 {
		bench.Fail("%d gets returned a wrong buffer", bad.Load())
	}
	pairs := int64(*workers) * int64(*iters)
	bench.Emit(report{
		Workload:  "pool_alloc",
		Maxprocs:  *bench.Maxprocs,
		Workers:   *workers,
		Iters:     *iters,
		Size:      n,
		Pairs:     pairs,
		WallNs:    wall,
		NsPerPair: float64(wall) / float64(pairs),
		Made:      made.Load(),
	})
}
