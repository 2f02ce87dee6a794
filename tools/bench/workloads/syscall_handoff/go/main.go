// syscall_handoff: a goroutine blocks in a system call on the only P; how
// soon does the other runnable goroutine get the P?
//
// Definition (identical in tools/bench/workloads/syscall_handoff/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 1), --iters=N (blocking reads;
//     default 200), --delay_us=D (the helper's delay; default 20,000),
//     --yield_us=Y (B's yield period; default 1,000), --unwrapped=U (0, the
//     default, or 1; see "Unwrapped" below).
//   - Setup (untimed, before the goroutines start): two pipes, req and rep,
//     both blocking (no O_NONBLOCK) and close-on-exec (syscall.Pipe2: NOT
//     os.Pipe, whose reads park in the netpoller instead of blocking in a
//     system call), and a helper PROCESS. C forks and the child runs the
//     loop below; Go cannot fork without exec, so it re-executes itself
//     (os/exec) with GMPXBENCH_HELPER=syscall_handoff in the environment, req
//     as stdin and rep as stdout, and the child loops: syscall.Read 1 byte
//     from req (end of file or an error: exit 0 or 1), syscall.Nanosleep D
//     us, syscall.Write that same byte to rep. The parent closes the child's
//     ends.
//   - Timed region: main starts goroutine B, then goroutine A (`go` each; A
//     thus runs first, from runnext), and waits on a WaitGroup of 2.
//     A, for i in 0..N-1: b = i mod 256; syscall.Write(req, b) must return
//     1; entry[i] = clock; published = i + 1 (atomic); syscall.Read(rep, c)
//     must return 1 with c == b (the read blocks about D us: the P sits in
//     a system call with B runnable; Go wraps every syscall.Read and Write
//     in entersyscall/exitsyscall as C's gx_sys_read/gx_sys_write do). (C
//     then calls gx_preempt_check(); in Go every function call already is
//     such a check.) Then A sets done = 1 (atomic).
//     B loops: t = clock (a "B timestamp"); gap = t - previous B timestamp,
//     maxStall = max(maxStall, gap); for every j not yet claimed with
//     j < published (atomic) and entry[j] <= t, in order:
//     handoff[j] = t - entry[j] (the first B timestamp after A's read-entry
//     minus that read-entry); if done (atomic) and all N claimed: stop; if
//     t >= nextYield: runtime.Gosched() (C's gx_yield), counted, and
//     nextYield is set to the first B timestamp after it + Y. Before the
//     loop nextYield = B's first timestamp + Y. B calls nothing else: its
//     yields hand the P back to A once A's read has returned (A then waits
//     on the global run queue) and keep B from reaching the 10 ms
//     preemption quantum.
//   - Unwrapped (--unwrapped=1): A's write to req and its read from rep
//     are syscall.RawSyscall(SYS_WRITE/SYS_READ, ...), each retried while
//     it fails with EINTR: the one way Go has to make a system call
//     without telling the runtime (no entersyscall/exitsyscall; Go's
//     documentation reserves it for calls that do not block). Everything
//     else is identical. As in gmpx's off mode, nothing hands the P off:
//     sysmon sees A running and asks it to yield after 10 ms, but the
//     signal cannot stop it inside the system call (SA_RESTART restarts
//     the read), so B waits until the read returns and A's next function
//     call yields: B's stall is about D. (C's unwrapped variant uses plain
//     read(2)/write(2); there a kernel-assisted runtime can do better.)
//   - After the timed region: close req; the helper sees end of file and
//     exits; cmd.Wait reaps it.
//   - Report: wall_ms of the timed region; hand-off latency percentiles over
//     all N (nearest rank on the sorted values: the k-th percentile is
//     element ceil(k/100 * N) - 1): handoff_p50_us, handoff_p99_us,
//     handoff_max_us; b_max_stall_us (B's longest gap between consecutive
//     timestamps, over B's whole life); b_yields; sysmon_cpu_pct: null (C
//     reports the CPU share of the thread named "gx-sysmon"; Go's sysmon
//     thread has no name of its own).
//   - Verify: every write and read moved 1 byte and every reply was the byte
//     sent; every hand-off latency >= 0; the helper exited with status 0.
//
// Clock: bench.Now (time.Since: the runtime's nanotime, CLOCK_MONOTONIC
// through the vDSO), as C's bench_now_ns.
//
// Output: {"workload":"syscall_handoff","maxprocs":P,"iters":N,"delay_us":D,"yield_us":Y,
// "syscalls":"wrapped"|"unwrapped","wall_ms":...,"handoff_p50_us":...,"handoff_p99_us":...,
// "handoff_max_us":...,"b_max_stall_us":...,"b_yields":...,"sysmon_cpu_pct":null}
package main

import (
	"flag"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"gmpxbench/internal/bench"
)

// defaultIters is the number of blocking reads A makes.
const defaultIters = 200

// defaultDelayUs is how long the helper waits before it replies.
const defaultDelayUs = 20000

// defaultYieldUs is how long B runs between two yields.
const defaultYieldUs = 1000

// helperEnv names the environment variable that makes this program the helper.
const helperEnv = "GMPXBENCH_HELPER"

var (
	reqW, repR int     // the parent's ends of the two pipes
	entryNs    []int64 // entry[i]: written by A before publishing i+1
	handoffNs  []int64 // handoff[j]: written by B
	published  atomic.Int64
	done       atomic.Int32
	bMaxStall  int64
	bYields    int64
	aError     string // A's failed check, if any
	wg         sync.WaitGroup
)

// helper is the child process: echo each request byte (stdin) on stdout
// after the delay.
func helper(delayUs int64) {
	d := syscall.NsecToTimespec(delayUs * 1000)
	b := make([]byte, 1)
	for {
		r, err := syscall.Read(0, b)
		if err == syscall.EINTR {
			continue
		}
		if r == 0 && err == nil {
			os.Exit(0)
		}
		if err != nil {
			os.Exit(1)
		}
		left := d
		for {
			err := syscall.Nanosleep(&left, &left)
			if err == nil {
				break
			}
			if err != syscall.EINTR {
				os.Exit(1)
			}
		}
		if w, err := syscall.Write(1, b); w != 1 || err != nil {
			os.Exit(1)
		}
	}
}

// startHelper makes the two pipes and starts the helper process.
func startHelper(delayUs int) *exec.Cmd {
	var req, rep [2]int
	if err := syscall.Pipe2(req[:], syscall.O_CLOEXEC); err != nil {
		bench.Fail("pipe2: %v", err)
	}
	if err := syscall.Pipe2(rep[:], syscall.O_CLOEXEC); err != nil {
		bench.Fail("pipe2: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		bench.Fail("os.Executable: %v", err)
	}
	childIn := os.NewFile(uintptr(req[0]), "req")
	childOut := os.NewFile(uintptr(rep[1]), "rep")
	cmd := exec.Command(self, "--delay_us="+strconv.Itoa(delayUs))
	cmd.Env = append(os.Environ(), helperEnv+"=syscall_handoff")
	cmd.Stdin = childIn
	cmd.Stdout = childOut
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		bench.Fail("starting the helper: %v", err)
	}
	childIn.Close()
	childOut.Close()
	reqW, repR = req[1], rep[0]
	return cmd
}

// rawRW is the unwrapped read or write: syscall.RawSyscall, retried on
// EINTR, with nothing telling the runtime. It returns what the call did.
func rawRW(trap uintptr, fd int, p []byte) (int, error) {
	for {
		r, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return int(r), e
		}
		return int(r), nil
	}
}

func goroutineA(n int, unwrapped bool) {
	b, c := make([]byte, 1), make([]byte, 1)
	write, read := syscall.Write, syscall.Read
	if unwrapped {
		write = func(fd int, p []byte) (int, error) { return rawRW(syscall.SYS_WRITE, fd, p) }
		read = func(fd int, p []byte) (int, error) { return rawRW(syscall.SYS_READ, fd, p) }
	}
	for i := 0; i < n; i++ {
		b[0], c[0] = byte(i%256), 0
		if w, err := write(reqW, b); w != 1 || err != nil {
			aError = "write to the helper failed"
			break
		}
		entryNs[i] = bench.Now()
		published.Store(int64(i + 1))
		r, err := read(repR, c)
		if r != 1 || err != nil || c[0] != b[0] {
			if r != 1 || err != nil {
				aError = "read from the helper failed"
			} else {
				aError = "the helper replied with another byte"
			}
			break
		}
	}
	done.Store(1)
	wg.Done()
}

func goroutineB(yieldUs int) {
	yieldNs := int64(yieldUs) * 1000
	prev := bench.Now()
	nextYield := prev + yieldNs
	var maxStall, yields int64
	claimed := int64(0)
	yielded := false
	// prev is B's first timestamp: claim what it can, as every later one does.
	for t := prev; ; t = bench.Now() {
		if gap := t - prev; gap > maxStall {
			maxStall = gap
		}
		prev = t
		if yielded {
			nextYield = t + yieldNs
			yielded = false
		}
		pub := published.Load()
		for claimed < pub && entryNs[claimed] <= t {
			handoffNs[claimed] = t - entryNs[claimed]
			claimed++
		}
		if done.Load() != 0 && claimed == published.Load() {
			break
		}
		if t >= nextYield {
			runtime.Gosched()
			yields++
			yielded = true
		}
	}
	bMaxStall = maxStall
	bYields = yields
	wg.Done()
}

type report struct {
	Workload     string   `json:"workload"`
	Maxprocs     int      `json:"maxprocs"`
	Iters        int      `json:"iters"`
	DelayUs      int      `json:"delay_us"`
	YieldUs      int      `json:"yield_us"`
	Syscalls     string   `json:"syscalls"`
	WallMs       float64  `json:"wall_ms"`
	HandoffP50Us float64  `json:"handoff_p50_us"`
	HandoffP99Us float64  `json:"handoff_p99_us"`
	HandoffMaxUs float64  `json:"handoff_max_us"`
	BMaxStallUs  float64  `json:"b_max_stall_us"`
	BYields      int64    `json:"b_yields"`
	SysmonCPUPct *float64 `json:"sysmon_cpu_pct"`
}

func main() {
	iters := flag.Int("iters", defaultIters, "blocking reads")
	delayUs := flag.Int("delay_us", defaultDelayUs, "the helper's delay before each reply (us)")
	yieldUs := flag.Int("yield_us", defaultYieldUs, "B's yield period (us)")
	unwrapped := flag.Int("unwrapped", 0, "1: A's read and write are syscall.RawSyscall (the runtime is not told)")
	if os.Getenv(helperEnv) == "syscall_handoff" {
		flag.Parse()
		helper(int64(*delayUs))
	}
	bench.Init("syscall_handoff")
	if *iters <= 0 {
		bench.Fail("--iters must be > 0")
	}
	if *yieldUs <= 0 {
		bench.Fail("--yield_us must be > 0")
	}
	if *unwrapped != 0 && *unwrapped != 1 {
		bench.Fail("--unwrapped must be 0 or 1")
	}
	if *delayUs < 0 {
		bench.Fail("--delay_us must be >= 0")
	}
	cmd := startHelper(*delayUs)

	entryNs = make([]int64, *iters)
	handoffNs = make([]int64, *iters)
	start := bench.Now()
	wg.Add(2)
	go goroutineB(*yieldUs)
	go goroutineA(*iters, *unwrapped == 1)
	wg.Wait()
	wall := bench.Now() - start

	syscall.Close(reqW)
	err := cmd.Wait()
	if aError != "" {
		bench.Fail("%s", aError)
	}
	if err != nil {
		bench.Fail("the helper process failed: %v", err)
	}
	slices.Sort(handoffNs)
	if handoffNs[0] < 0 {
		bench.Fail("a hand-off latency is negative (%d ns)", handoffNs[0])
	}
	bench.Emit(report{
		Workload:     "syscall_handoff",
		Maxprocs:     *bench.Maxprocs,
		Iters:        *iters,
		DelayUs:      *delayUs,
		YieldUs:      *yieldUs,
		Syscalls:     map[bool]string{false: "wrapped", true: "unwrapped"}[*unwrapped == 1],
		WallMs:       float64(wall) / 1e6,
		HandoffP50Us: float64(bench.Percentile(handoffNs, 50)) / 1e3,
		HandoffP99Us: float64(bench.Percentile(handoffNs, 99)) / 1e3,
		HandoffMaxUs: float64(handoffNs[len(handoffNs)-1]) / 1e3,
		BMaxStallUs:  float64(bMaxStall) / 1e3,
		BYields:      bYields,
		SysmonCPUPct: nil,
	})
}
