// yield_switch: the cost of one voluntary goroutine switch.
//
// Definition (identical in tools/bench/workloads/yield_switch/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 1), --iters=I (yields per
//     goroutine; default 5,000,000).
//   - Timed region: main starts two goroutines, `go yielder(a)` with a
//     pointer to a shared struct {iters, WaitGroup with counter 2}; each
//     calls runtime.Gosched() I times, then wg.Done(); main waits on the
//     WaitGroup (it is parked, so the two yielders alternate).
//   - Report: switches = 2*I, ns_per_switch = wall time of the timed
//     region / switches.
//   - Verify: each yielder counted exactly I yields (a shared atomic sum == 2*I).
//
// Output: {"workload":"yield_switch","maxprocs":P,"iters":I,"switches":2I,"wall_ns":...,"ns_per_switch":...}
package main

import (
	"flag"
	"runtime"
	"sync"
	"sync/atomic"

	"gmpxbench/internal/bench"
)

// defaultIters is the number of yields each of the two goroutines makes.
const defaultIters = 5000000

// yielders is the number of goroutines taking turns.
const yielders = 2

type shared struct {
	iters  int
	yields atomic.Int64 // total yields made, for verification
	wg     sync.WaitGroup
}

func yielder(s *shared) {
	i := 0
	for ; i < s.iters; i++ {
		runtime.Gosched()
	}
	s.yields.Add(int64(i))
	s.wg.Done()
}

type report struct {
	Workload    string  `json:"workload"`
	Maxprocs    int     `json:"maxprocs"`
	Iters       int     `json:"iters"`
	Switches    int64   `json:"switches"`
	WallNs      int64   `json:"wall_ns"`
	NsPerSwitch float64 `json:"ns_per_switch"`
}

func main() {
	iters := flag.Int("iters", defaultIters, "yields per goroutine")
	bench.Init("yield_switch")
	if *iters <= 0 {
		bench.Fail("--iters must be > 0")
	}

	s := &shared{iters: *iters}
	start := bench.Now()
	s.wg.Add(yielders)
	for i := 0; i < yielders; i++ {
		go yielder(s)
	}
	s.wg.Wait()
	wall := bench.Now() - start

	switches := int64(yielders) * int64(*iters)
	if got := s.yields.Load(); got != switches {
		bench.Fail("%d yields, want %d", got, switches)
	}
	bench.Emit(report{
		Workload:    "yield_switch",
		Maxprocs:    *bench.Maxprocs,
		Iters:       *iters,
		Switches:    switches,
		WallNs:      wall,
		NsPerSwitch: float64(wall) / float64(switches),
	})
}
