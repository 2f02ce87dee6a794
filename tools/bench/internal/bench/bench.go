// Package bench holds the few helpers every Go peer workload shares:
// the command-line convention, the clock, RSS, and the one-line JSON report.
// Its C twin is tools/bench/include/bench.h; keep the two in step.
package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Name is the workload name, used in error messages.
var Name = "bench"

// Maxprocs is parsed from --maxprocs=N by Init and applied with
// runtime.GOMAXPROCS, as the C workloads apply it with gx_maxprocs.
var Maxprocs = flag.Int("maxprocs", 0, "GOMAXPROCS (0: leave the default)")

// Init parses the command line (flags of the form --name=value, all
// integers, exactly as the C workloads accept them) and sets GOMAXPROCS.
func Init(name string) {
	Name = name
	flag.Parse()
	if flag.NArg() != 0 {
		Fail("unexpected argument %q", flag.Arg(0))
	}
	if *Maxprocs < 0 {
		Fail("--maxprocs must be >= 0")
	}
	if *Maxprocs > 0 {
		runtime.GOMAXPROCS(*Maxprocs)
	}
	*Maxprocs = runtime.GOMAXPROCS(0)
}

// Now returns a monotonic timestamp in nanoseconds (C: CLOCK_MONOTONIC).
// Only differences of two values are meaningful.
func Now() int64 { return int64(time.Since(epoch)) }

var epoch = time.Now()

// RSSBytes returns the resident set size from /proc/self/statm (second
// field, in pages) in bytes, the same source the C workloads read.
func RSSBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		Fail("read /proc/self/statm: %v", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		Fail("malformed /proc/self/statm: %q", data)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		Fail("malformed /proc/self/statm: %q", data)
	}
	return pages * int64(os.Getpagesize())
}

// Emit prints v as ONE line of JSON on stdout: the workload's report.
func Emit(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		Fail("json: %v", err)
	}
	fmt.Printf("%s\n", line)
}

// Fail reports a failed check (or bad usage) on stderr and exits with 1,
// which the runner counts as a failed run.
func Fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s (go): %s\n", Name, fmt.Sprintf(format, args...))
	os.Exit(1)
}

// Percentile is the nearest rank in the sorted v: element ceil(k/100*n)-1
// (the same definition as bench_percentile in the C workloads).
func Percentile(v []int64, k int) int64 {
	rank := (int64(k)*int64(len(v)) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return v[rank-1]
}
