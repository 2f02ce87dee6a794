// SPDX-License-Identifier: MIT
//! fib_fanout (Tokio): recursive fib, one task per call above the cutoff.
//!
//! Definition (as in tools/bench/workloads/fib_fanout/gmpx.c, a task per
//! goroutine; the JoinHandle stands for the task struct's waitgroup):
//!  - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=F (default 32).
//!  - fib(n): if n <= CUTOFF (12), plain sequential recursion
//!    fib_seq(n) = n < 2 ? n : fib_seq(n-1) + fib_seq(n-2). Otherwise:
//!    tokio::spawn(fib(n-1)) computes fib(n-1); the caller computes fib(n-2)
//!    itself, then awaits the JoinHandle, and returns the sum. So each call
//!    with n > CUTOFF starts exactly one task.
//!  - Timed region: the top-level call fib(F) from main.
//!  - Report: wall_ms; goroutines = number of tasks started (computed
//!    separately, outside the timed region).
//!  - Verify: result == the iteratively computed fib(F) (fib(32) = 2178309).
//!
//! Output: {"workload":"fib_fanout","maxprocs":P,"n":F,"cutoff":12,"result":...,"goroutines":...,"wall_ms":...}

use std::future::Future;
use std::pin::Pin;

/// CUTOFF: calls with n <= CUTOFF run sequentially, in the caller.
const CUTOFF: i64 = 12;
/// DEFAULT_N is F of a full run.
const DEFAULT_N: i64 = 32;

fn fib_seq(n: i64) -> i64 {
    if n < 2 { n } else { fib_seq(n - 1) + fib_seq(n - 2) }
}

fn fib(n: i64) -> Pin<Box<dyn Future<Output = i64> + Send>> {
    Box::pin(async move {
        if n <= CUTOFF {
            return fib_seq(n);
        }
        let h = tokio::spawn(fib(n - 1));
        let b = fib(n - 2).await;
        h.await.unwrap_or_else(|e| bench::fail(&format!("task: {e}"))) + b
    })
}

fn spawns(n: i64) -> i64 {
    if n <= CUTOFF { 0 } else { 1 + spawns(n - 1) + spawns(n - 2) }
}

fn main() {
    let o = bench::parse("fib_fanout", &[("maxprocs", 0), ("n", DEFAULT_N)]);
    let n = o.get("n");
    if n > 60 {
        bench::usage("--n must be <= 60");
    }
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let start = bench::now_ns();
        let result = fib(n).await;
        let wall = bench::now_ns() - start;
        let (mut a, mut b) = (0i64, 1i64);
        for _ in 0..n {
            (a, b) = (b, a + b);
        }
        if result != a {
            bench::fail(&format!("fib({n}) = {result}, want {a}"));
        }
        println!("{{\"workload\":\"fib_fanout\",\"maxprocs\":{maxprocs},\"n\":{n},\"cutoff\":{CUTOFF},\"result\":{result},\"goroutines\":{},\"wall_ms\":{:.6}}}",
                 spawns(n), wall as f64 / 1e6);
    });
}
