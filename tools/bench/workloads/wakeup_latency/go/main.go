// wakeup_latency: a goroutine spawned while another P is idle; how soon
// does it start running there? The Go peer of tools/bench/workloads/wakeup_latency/gmpx.c,
// whose header comment is the definition: GOMAXPROCS 2; N times: sleep G us
// (time.Sleep: every P idle, the other M parked), started = 0,
// mainTid = syscall.Gettid(), t0 = clock, `go child(i)` (runnext of main's
// P plus wakep), then main spins on started (atomic loads, no calls that
// could yield; after 1 s it calls runtime.Gosched once per further second,
// counted) while the woken M steals the child. The child records its first
// clock reading and whether it runs on main's thread. lat[i] = start[i] - t0.
package main

import (
	"flag"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"gmpxbench/internal/bench"
)

const spinLimitNs = int64(time.Second)

var (
	startNs    []int64
	started    atomic.Int32
	mainTid    int
	sameThread int
	runs       int
)

func child(i int) {
	startNs[i] = bench.Now()
	if syscall.Gettid() == mainTid {
		sameThread++
	}
	runs++
	started.Store(1)
}

type report struct {
	Workload   string  `json:"workload"`
	Maxprocs   int     `json:"maxprocs"`
	Iters      int     `json:"iters"`
	GapUs      int     `json:"gap_us"`
	WallMs     float64 `json:"wall_ms"`
	WakeP50Us  float64 `json:"wake_p50_us"`
	WakeP99Us  float64 `json:"wake_p99_us"`
	WakeMaxUs  float64 `json:"wake_max_us"`
	WakeMeanUs float64 `json:"wake_mean_us"`
	SameThread int     `json:"same_thread"`
	SpinYields int     `json:"spin_yields"`
}

func main() {
	iters := flag.Int("iters", 1000, "spawns")
	gapUs := flag.Int("gap_us", 2000, "idle gap before each spawn (us)")
	bench.Init("wakeup_latency")
	if *iters <= 0 {
		bench.Fail("--iters must be > 0")
	}
	n := *iters
	lat := make([]int64, n)
	startNs = make([]int64, n)
	spinYields := 0

	begin := bench.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Duration(*gapUs) * time.Microsecond)
		started.Store(0)
		mainTid = syscall.Gettid()
		t0 := bench.Now()
		go child(i)
		limit := t0 + spinLimitNs
		for started.Load() == 0 {
			if bench.Now() > limit {
				runtime.Gosched()
				spinYields++
				limit = bench.Now() + spinLimitNs
			}
		}
		lat[i] = startNs[i] - t0
	}
	wall := bench.Now() - begin

	if runs != n {
		bench.Fail("%d children ran, want %d", runs, n)
	}
	slices.Sort(lat)
	if lat[0] < 0 {
		bench.Fail("a child started %d ns before it was spawned", -lat[0])
	}
	total := 0.0
	for _, v := range lat {
		total += float64(v)
	}
	bench.Emit(report{
		Workload: "wakeup_latency", Maxprocs: *bench.Maxprocs, Iters: n, GapUs: *gapUs,
		WallMs:    float64(wall) / 1e6,
		WakeP50Us: float64(bench.Percentile(lat, 50)) / 1e3, WakeP99Us: float64(bench.Percentile(lat, 99)) / 1e3,
		WakeMaxUs: float64(lat[n-1]) / 1e3, WakeMeanUs: total / float64(n) / 1e3,
		SameThread: sameThread, SpinYields: spinYields,
	})
}
