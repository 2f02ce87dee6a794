// timers: many goroutines sleeping at once; how late do they wake?
//
// Definition (identical in tools/bench/workloads/timers/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 2), --n=N (sleeping
//     goroutines; default 100,000).
//   - Durations (untimed, before the timed region): d[i] for i in 0..N-1,
//     in whole microseconds, d[i] = minUs + (r >> 32) % (maxUs - minUs + 1)
//     with minUs 1000 and maxUs 10000 (so 1 to 10 ms), where r is the i-th
//     output of xorshift64* (x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
//     r = x * 0x2545F4914F6CDD1D) started from x = seed (0x9E3779B97F4A7C15).
//     Both languages compute the same sequence; requested_sum_us, the sum of
//     all d[i], shows it.
//   - Timed region: wg.Add(N), then a loop starting N goroutines, the i-th
//     `go sleeper(i)`; sleeper i reads the clock (t0), time.Sleep(d[i] us),
//     reads the clock (t1), stores oversleep[i] = (t1 - t0) - d[i] in ns
//     (a slot of its own), and calls wg.Done(); main waits on the WaitGroup.
//   - Report: wall_ms of the timed region; oversleep percentiles over all N
//     (nearest rank on the sorted values: the k-th percentile is element
//     ceil(k/100 * N) - 1): oversleep_p50_us, oversleep_p99_us, and
//     oversleep_max_us, oversleep_mean_us.
//   - Verify: every sleep returned (time.Sleep cannot fail) and no goroutine
//     woke early (every oversleep >= 0).
//
// Clock: bench.Now (Go's monotonic clock, CLOCK_MONOTONIC), as in C.
//
// Output: {"workload":"timers","maxprocs":P,"n":N,"requested_sum_us":...,"wall_ms":...,
// "oversleep_p50_us":...,"oversleep_p99_us":...,"oversleep_max_us":...,"oversleep_mean_us":...}
package main

import (
	"flag"
	"slices"
	"sync"
	"time"

	"gmpxbench/internal/bench"
)

// defaultN is the number of sleeping goroutines of a full run.
const defaultN = 100000

// minUs and maxUs bound the sleep durations (inclusive, microseconds).
const (
	minUs = 1000
	maxUs = 10000
)

// seed starts the xorshift64* sequence of durations.
const seed uint64 = 0x9E3779B97F4A7C15

var (
	durationsUs []int64 // d[i]
	oversleepNs []int64 // written by sleeper i only
	wg          sync.WaitGroup
)

// xorshift64star returns the next output of xorshift64* with state *x.
func xorshift64star(x *uint64) uint64 {
	*x ^= *x >> 12
	*x ^= *x << 25
	*x ^= *x >> 27
	return *x * 0x2545F4914F6CDD1D
}

func sleeper(i int) {
	d := durationsUs[i] * 1000
	t0 := bench.Now()
	time.Sleep(time.Duration(d))
	t1 := bench.Now()
	oversleepNs[i] = (t1 - t0) - d
	wg.Done()
}

type report struct {
	Workload        string  `json:"workload"`
	Maxprocs        int     `json:"maxprocs"`
	N               int     `json:"n"`
	RequestedSumUs  int64   `json:"requested_sum_us"`
	WallMs          float64 `json:"wall_ms"`
	OversleepP50Us  float64 `json:"oversleep_p50_us"`
	OversleepP99Us  float64 `json:"oversleep_p99_us"`
	OversleepMaxUs  float64 `json:"oversleep_max_us"`
	OversleepMeanUs float64 `json:"oversleep_mean_us"`
}

func main() {
	n := flag.Int("n", defaultN, "sleeping goroutines")
	bench.Init("timers")
	if *n <= 0 {
		bench.Fail("--n must be > 0")
	}

	durationsUs = make([]int64, *n)
	oversleepNs = make([]int64, *n)
	x := seed
	var requestedSumUs int64
	for i := range durationsUs {
		durationsUs[i] = minUs + int64((xorshift64star(&x)>>32)%(maxUs-minUs+1))
		requestedSumUs += durationsUs[i]
	}

	start := bench.Now()
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go sleeper(i)
	}
	wg.Wait()
	wall := bench.Now() - start

	slices.Sort(oversleepNs)
	if oversleepNs[0] < 0 {
		bench.Fail("a goroutine woke %d ns early", -oversleepNs[0])
	}
	total := 0.0
	for _, v := range oversleepNs {
		total += float64(v)
	}
	bench.Emit(report{
		Workload:        "timers",
		Maxprocs:        *bench.Maxprocs,
		N:               *n,
		RequestedSumUs:  requestedSumUs,
		WallMs:          float64(wall) / 1e6,
		OversleepP50Us:  float64(bench.Percentile(oversleepNs, 50)) / 1e3,
		OversleepP99Us:  float64(bench.Percentile(oversleepNs, 99)) / 1e3,
		OversleepMaxUs:  float64(oversleepNs[len(oversleepNs)-1]) / 1e3,
		OversleepMeanUs: total / float64(len(oversleepNs)) / 1e3,
	})
}
