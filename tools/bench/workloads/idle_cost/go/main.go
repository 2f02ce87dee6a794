// idle_cost: what does the runtime cost while it has nothing to do?
//
// Definition (identical in tools/bench/workloads/idle_cost/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 2), --n=N (parked goroutines;
//     default 1,000), --idle_ms=I (the idle window; default 10,000).
//   - Setup: a WaitGroup `release` gets Add(1); a WaitGroup `exited` gets
//     Add(N); atomic counters `started` and `released` start at 0. main
//     starts N goroutines, each doing started.Add(1), then release.Wait()
//     (it parks until the end), then released.Add(1) and exited.Done().
//     main yields (runtime.Gosched) until started == N, then settleYields
//     more yields and a time.Sleep of settleSleep, so every goroutine has
//     parked and start-up work is over before the window.
//   - Idle window: r0 = syscall.Getrusage(RUSAGE_SELF), t0 = clock; main
//     sleeps I ms with time.Sleep (no goroutine is runnable, every P is
//     idle); t1 = clock, r1 = Getrusage(RUSAGE_SELF).
//   - Report: idle_cpu_us = (utime + stime of r1) - (utime + stime of r0),
//     the whole process's CPU time (all threads) during the window;
//     idle_cpu_pct = idle_cpu_us / (t1 - t0) * 100 (of one CPU); wakeups =
//     (Nvcsw + Nivcsw of r1) - (the same of r0), the process's context
//     switches during the window; idle_wall_ms = t1 - t0.
//   - Then: release.Done() wakes the N goroutines; exited.Wait() waits for
//     them all to finish; main returns (exit 0).
//   - Verify: started == N before the window; the window lasted at least I
//     ms; runtime.NumGoroutine() >= N+1 at its end; after the release,
//     exited reached 0 and released == N.
//
// Clock: bench.Now (the runtime's nanotime), as C's bench_now_ns.
//
// Output: {"workload":"idle_cost","maxprocs":P,"n":N,"idle_ms":I,"idle_wall_ms":...,
// "idle_cpu_us":...,"idle_cpu_pct":...,"wakeups":...,"voluntary":...,"involuntary":...}
package main

import (
	"flag"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gmpxbench/internal/bench"
)

// defaultN is the number of parked goroutines.
const defaultN = 1000

// defaultIdleMs is the length of the idle window.
const defaultIdleMs = 10000

// settleYields and settleSleep let the goroutines finish parking and the
// runtime finish starting up before the window opens.
const (
	settleYields = 100
	settleSleep  = 100 * time.Millisecond
)

var (
	started, released atomic.Int64
	release, exited   sync.WaitGroup
)

func parker() {
	started.Add(1)
	release.Wait()
	released.Add(1)
	exited.Done()
}

// cpuUs is the user + system CPU time of r, in microseconds.
func cpuUs(r *syscall.Rusage) int64 {
	return (r.Utime.Sec+r.Stime.Sec)*1000000 + r.Utime.Usec + r.Stime.Usec
}

type report struct {
	Workload    string  `json:"workload"`
	Maxprocs    int     `json:"maxprocs"`
	N           int     `json:"n"`
	IdleMs      int     `json:"idle_ms"`
	IdleWallMs  float64 `json:"idle_wall_ms"`
	IdleCPUUs   int64   `json:"idle_cpu_us"`
	IdleCPUPct  float64 `json:"idle_cpu_pct"`
	Wakeups     int64   `json:"wakeups"`
	Voluntary   int64   `json:"voluntary"`
	Involuntary int64   `json:"involuntary"`
}

func main() {
	n := flag.Int("n", defaultN, "parked goroutines")
	idleMs := flag.Int("idle_ms", defaultIdleMs, "the idle window (ms)")
	bench.Init("idle_cost")
	if *n <= 0 {
		bench.Fail("--n must be > 0")
	}
	if *idleMs <= 0 {
		bench.Fail("--idle_ms must be > 0")
	}

	release.Add(1)
	exited.Add(*n)
	for i := 0; i < *n; i++ {
		go parker()
	}
	for started.Load() < int64(*n) {
		runtime.Gosched()
	}
	for i := 0; i < settleYields; i++ {
		runtime.Gosched()
	}
	time.Sleep(settleSleep)
	if got := started.Load(); got != int64(*n) {
		bench.Fail("%d goroutines started, want %d", got, *n)
	}

	var r0, r1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r0); err != nil {
		bench.Fail("getrusage: %v", err)
	}
	t0 := bench.Now()
	time.Sleep(time.Duration(*idleMs) * time.Millisecond)
	t1 := bench.Now()
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r1); err != nil {
		bench.Fail("getrusage: %v", err)
	}
	alive := runtime.NumGoroutine()

	wall, cpu := t1-t0, cpuUs(&r1)-cpuUs(&r0)
	vol, invol := r1.Nvcsw-r0.Nvcsw, r1.Nivcsw-r0.Nivcsw
	if wall < int64(*idleMs)*1000000 {
		bench.Fail("the idle window lasted %d ns, less than %d ms", wall, *idleMs)
	}
	if alive < *n+1 {
		bench.Fail("%d goroutines alive during the window, want at least %d", alive, *n+1)
	}
	if cpu < 0 || vol < 0 || invol < 0 {
		bench.Fail("getrusage went backwards")
	}

	release.Done()
	exited.Wait()
	if got := released.Load(); got != int64(*n) {
		bench.Fail("%d goroutines finished after the release, want %d", got, *n)
	}
	bench.Emit(report{
		Workload:    "idle_cost",
		Maxprocs:    *bench.Maxprocs,
		N:           *n,
		IdleMs:      *idleMs,
		IdleWallMs:  float64(wall) / 1e6,
		IdleCPUUs:   cpu,
		IdleCPUPct:  float64(cpu) * 1e3 / float64(wall) * 100,
		Wakeups:     vol + invol,
		Voluntary:   vol,
		Involuntary: invol,
	})
}
