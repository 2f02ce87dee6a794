// preempt_latency: a goroutine spins without a single call on the only P;
// how late does a 1 ms sleeper wake?
//
// Definition (identical in tools/bench/workloads/preempt_latency/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 1), --iters=N (sleeps;
//     default 500), --sleep_us=S (default 1,000).
//   - Timed region: main starts the spinner (`go spinner()`) and then itself
//     sleeps N times: t0 = clock, time.Sleep(S us), t1 = clock,
//     lateness[i] = (t1 - t0) - S us. Then main sets stop = 1 (atomic)
//     and waits on a WaitGroup for the spinner.
//     The spinner: `for stop.Load() == 0 { counter++ }` where stop is a
//     sync/atomic Int32 (C: a relaxed atomic load) and counter a local: a
//     loop with no call, so only asynchronous preemption (a signal at a
//     safe point, after Go's 10 ms time slice) gives the P back to the
//     sleeper once its timer has expired. Then spins = counter, and
//     wg.Done().
//   - Report: wall_ms of the timed region; lateness percentiles over all N
//     (nearest rank on the sorted values: the k-th percentile is element
//     ceil(k/100 * N) - 1): late_p50_us, late_p99_us, and late_max_us,
//     late_mean_us; spins.
//   - Verify: every sleep returned (time.Sleep cannot fail); no sleep
//     returned early (every lateness >= 0); the spinner ran (spins > 0).
//   - With GODEBUG=asyncpreemptoff=1 the spinner is never preempted and the
//     program does not finish (gmpx, with GX_DEBUG=asyncpreemptoff=1,
//     neither).
//
// Clock: bench.Now (Go's monotonic clock, CLOCK_MONOTONIC), as in C.
//
// Output: {"workload":"preempt_latency","maxprocs":P,"iters":N,"sleep_us":S,"wall_ms":...,
// "late_p50_us":...,"late_p99_us":...,"late_max_us":...,"late_mean_us":...,"spins":...}
package main

import (
	"flag"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gmpxbench/internal/bench"
)

// defaultIters is the number of sleeps of a full run.
const defaultIters = 500

// defaultSleepUs is the length of each sleep.
const defaultSleepUs = 1000

var (
	stop  atomic.Int32
	spins uint64
	wg    sync.WaitGroup
)

func spinner() {
	var counter uint64
	for stop.Load() == 0 {
		counter++
	}
	spins = counter
	wg.Done()
}

type report struct {
	Workload   string  `json:"workload"`
	Maxprocs   int     `json:"maxprocs"`
	Iters      int     `json:"iters"`
	SleepUs    int     `json:"sleep_us"`
	WallMs     float64 `json:"wall_ms"`
	LateP50Us  float64 `json:"late_p50_us"`
	LateP99Us  float64 `json:"late_p99_us"`
	LateMaxUs  float64 `json:"late_max_us"`
	LateMeanUs float64 `json:"late_mean_us"`
	Spins      uint64  `json:"spins"`
}

func main() {
	iters := flag.Int("iters", defaultIters, "sleeps")
	sleepUs := flag.Int("sleep_us", defaultSleepUs, "length of each sleep (us)")
	bench.Init("preempt_latency")
	if *iters <= 0 {
		bench.Fail("--iters must be > 0")
	}
	if *sleepUs <= 0 {
		bench.Fail("--sleep_us must be > 0")
	}
	sleepNs := int64(*sleepUs) * 1000
	lateNs := make([]int64, *iters)

	start := bench.Now()
	wg.Add(1)
	go spinner()
	for i := range lateNs {
		t0 := bench.Now()
		time.Sleep(time.Duration(sleepNs))
		t1 := bench.Now()
		lateNs[i] = (t1 - t0) - sleepNs
	}
	stop.Store(1)
	wg.Wait()
	wall := bench.Now() - start

	if spins == 0 {
		bench.Fail("the spinner never ran")
	}
	slices.Sort(lateNs)
	if lateNs[0] < 0 {
		bench.Fail("a sleep returned %d ns early", -lateNs[0])
	}
	total := 0.0
	for _, v := range lateNs {
		total += float64(v)
	}
	bench.Emit(report{
		Workload:   "preempt_latency",
		Maxprocs:   *bench.Maxprocs,
		Iters:      *iters,
		SleepUs:    *sleepUs,
		WallMs:     float64(wall) / 1e6,
		LateP50Us:  float64(bench.Percentile(lateNs, 50)) / 1e3,
		LateP99Us:  float64(bench.Percentile(lateNs, 99)) / 1e3,
		LateMaxUs:  float64(lateNs[len(lateNs)-1]) / 1e3,
		LateMeanUs: total / float64(len(lateNs)) / 1e3,
		Spins:      spins,
	})
}
