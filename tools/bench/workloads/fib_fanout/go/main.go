// fib_fanout: fork-join parallelism with many short goroutines.
//
// Definition (identical in tools/bench/workloads/fib_fanout/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=F (default 32).
//   - fib(n): if n <= cutoff (12), plain sequential recursion
//     fibSeq(n) = n < 2 ? n : fibSeq(n-1) + fibSeq(n-2).
//     Otherwise: a task struct {n: n-1, result, WaitGroup} lives on the
//     caller's frame (Go moves it to the heap because it escapes; C keeps it
//     on the goroutine stack); wg.Add(1); `go fibTask(&task)` computes
//     fib(n-1) into task.result and calls wg.Done(); the caller computes
//     fib(n-2) itself, then wg.Wait(), and returns task.result + fib(n-2).
//     So each call with n > cutoff starts exactly one goroutine.
//   - Timed region: the top-level call fib(F) from main.
//   - Report: wall_ms; goroutines = number of goroutines started
//     (computed separately, outside the timed region). The runner derives
//     the speedup t(P=1)/t(P=2) per implementation.
//   - Verify: result == the iteratively computed fib(F) (fib(32) = 2178309).
//
// Output: {"workload":"fib_fanout","maxprocs":P,"n":F,"cutoff":12,"result":...,"goroutines":...,"wall_ms":...}
package main

import (
	"flag"
	"sync"

	"gmpxbench/internal/bench"
)

// defaultN is the argument of the top-level fib call of a full run.
const defaultN = 32

// cutoff: calls with n <= cutoff recurse sequentially without goroutines.
const cutoff = 12

type task struct {
	n      int
	result int64
	wg     sync.WaitGroup
}

func fibSeq(n int) int64 {
	if n < 2 {
		return int64(n)
	}
	return fibSeq(n-1) + fibSeq(n-2)
}

func fibTask(t *task) {
	t.result = fib(t.n)
	t.wg.Done()
}

func fib(n int) int64 {
	if n <= cutoff {
		return fibSeq(n)
	}
	var child task
	child.n = n - 1
	child.wg.Add(1)
	go fibTask(&child)
	r := fib(n - 2)
	child.wg.Wait()
	return child.result + r
}

// spawns returns how many goroutines fib(n) starts.
func spawns(n int) int64 {
	if n <= cutoff {
		return 0
	}
	return 1 + spawns(n-1) + spawns(n-2)
}

// fibIter is the reference value for verification.
func fibIter(n int) int64 {
	a, b := int64(0), int64(1)
	for i := 0; i < n; i++ {
		a, b = b, a+b
	}
	return a
}

type report struct {
	Workload   string  `json:"workload"`
	Maxprocs   int     `json:"maxprocs"`
	N          int     `json:"n"`
	Cutoff     int     `json:"cutoff"`
	Result     int64   `json:"result"`
	Goroutines int64   `json:"goroutines"`
	WallMs     float64 `json:"wall_ms"`
}

func main() {
	n := flag.Int("n", defaultN, "argument of the top-level fib call")
	bench.Init("fib_fanout")
	if *n < 0 || *n > 90 {
		bench.Fail("--n must be in [0, 90]")
	}

	start := bench.Now()
	result := fib(*n)
	wall := bench.Now() - start

	if want := fibIter(*n); result != want {
		bench.Fail("fib(%d) = %d, want %d", *n, result, want)
	}
	bench.Emit(report{
		Workload:   "fib_fanout",
		Maxprocs:   *bench.Maxprocs,
		N:          *n,
		Cutoff:     cutoff,
		Result:     result,
		Goroutines: spawns(*n),
		WallMs:     float64(wall) / 1e6,
	})
}
