// chan_pingpong: the latency of a round trip over two unbuffered channels.
//
// Definition (identical in tools/bench/workloads/chan_pingpong/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 1 and 2), --trips=T (round
//     trips; default 1,000,000).
//   - Two unbuffered channels of int64, ping and pong, made before the timed
//     region.
//   - Timed region: main starts two goroutines with a pointer to a shared
//     struct {trips, ping, pong, errors, WaitGroup with counter 2}, first
//     the pinger A, then the ponger B, and waits on the WaitGroup (it is
//     parked). For i in 0..T-1: A sends i on ping, B receives v from ping
//     and sends v + 1 on pong, A receives w from pong and counts an error
//     unless w == i + 1. Each then calls wg.Done().
//   - Report: ns_per_roundtrip = wall time of the timed region / T.
//   - Verify: every send and receive succeeded and every reply was right
//     (errors == 0).
//
// Output: {"workload":"chan_pingpong","maxprocs":P,"trips":T,"wall_ns":...,"ns_per_roundtrip":...}
package main

import (
	"flag"
	"sync"
	"sync/atomic"

	"gmpxbench/internal/bench"
)

// defaultTrips is the number of round trips of a full run.
const defaultTrips = 1000000

type shared struct {
	trips      int
	ping, pong chan int64
	errors     atomic.Int64 // failed operations and wrong replies, for verification
	wg         sync.WaitGroup
}

// pinger (A) sends i and expects i + 1 back.
func pinger(s *shared) {
	var errors int64
	for i := 0; i < s.trips; i++ {
		s.ping <- int64(i)
		if w, ok := <-s.pong; !ok || w != int64(i)+1 {
			errors++
		}
	}
	s.errors.Add(errors)
	s.wg.Done()
}

// ponger (B) receives v and sends v + 1 back.
func ponger(s *shared) {
	var errors int64
	for i := 0; i < s.trips; i++ {
		v, ok := <-s.ping
		if !ok {
			errors++
		}
		s.pong <- v + 1
	}
	s.errors.Add(errors)
	s.wg.Done()
}

type report struct {
	Workload       string  `json:"workload"`
	Maxprocs       int     `json:"maxprocs"`
	Trips          int     `json:"trips"`
	WallNs         int64   `json:"wall_ns"`
	NsPerRoundtrip float64 `json:"ns_per_roundtrip"`
}

func main() {
	trips := flag.Int("trips", defaultTrips, "round trips")
	bench.Init("chan_pingpong")
	if *trips <= 0 {
		bench.Fail("--trips must be > 0")
	}

	s := &shared{trips: *trips, ping: make(chan int64), pong: make(chan int64)}
	start := bench.Now()
	s.wg.Add(2)
	go pinger(s)
	go ponger(s)
	s.wg.Wait()
	wall := bench.Now() - start

	if errors := s.errors.Load(); errors != 0 {
		bench.Fail("%d failed operations or wrong replies", errors)
	}
	bench.Emit(report{
		Workload:       "chan_pingpong",
		Maxprocs:       *bench.Maxprocs,
		Trips:          *trips,
		WallNs:         wall,
		NsPerRoundtrip: float64(wall) / float64(*trips),
	})
}
