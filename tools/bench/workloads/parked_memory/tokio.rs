// SPDX-License-Identifier: MIT
//! parked_memory (Tokio): memory and creation cost of tasks that block forever.
//!
//! Definition (as in tools/bench/workloads/parked_memory/gmpx.c, a task per
//! goroutine). Tokio's tasks are stackless: a parked task is its future's
//! state machine (here a few words: two Arcs and a Notified) in one heap
//! block, not a stack. That is a different model from a goroutine's, which
//! has a stack of its own and can block anywhere in any call depth; the
//! row shows what each model costs.
//!  - Arguments: --maxprocs=P (worker threads, src/lib.rs), --n=N (default
//!    1,000,000).
//!  - A tokio::sync::Notify `block` that is never notified: awaiting it
//!    blocks forever. Atomic counters `started` and `finished` start at 0.
//!  - rss_before = RSS from /proc/self/statm, read just before the spawn loop.
//!  - Timed region: a loop spawning N tasks (tokio::spawn, the JoinHandle
//!    dropped), each doing started += 1, then block.notified().await, then
//!    finished += 1 (never reached); then main yields
//!    (tokio::task::yield_now) until started == N.
//!  - Settle (untimed): SETTLE_YIELDS more yields and a SETTLE_SLEEP sleep
//!    (tokio::time::sleep), so the last tasks finish parking; then
//!    rss_after is read.
//!  - Report: bytes_per_goroutine = (rss_after - rss_before) / N,
//!    ns_per_goroutine = timed region / N.
//!  - Verify: started == N and finished == 0 (no task got past its wait).
//!    Tokio 1.24 has no stable count of live tasks.
//!  - Then the process exits with the N tasks still blocked.
//!
//! Output: {"workload":"parked_memory","maxprocs":P,"n":N,"rss_before":...,"rss_after":...,
//!          "bytes_per_goroutine":...,"create_ns":...,"ns_per_goroutine":...}

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// DEFAULT_N is the number of blocked tasks of a full run.
const DEFAULT_N: i64 = 1_000_000;
/// SETTLE_YIELDS and SETTLE_SLEEP give the last tasks time to park after
/// they bumped `started`, before RSS is read.
const SETTLE_YIELDS: i32 = 100;
const SETTLE_SLEEP: Duration = Duration::from_millis(20);

struct Shared {
    started: AtomicI64,
    finished: AtomicI64,
    block: Notify,
}

fn main() {
    let o = bench::parse("parked_memory", &[("maxprocs", 0), ("n", DEFAULT_N)]);
    let n = o.get("n");
    if n <= 0 {
        bench::usage("--n must be > 0");
    }
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let s = Arc::new(Shared { started: AtomicI64::new(0), finished: AtomicI64::new(0), block: Notify::new() });
        let rss_before = bench::rss_bytes();
        let start = bench::now_ns();
        for _ in 0..n {
            let s = s.clone();
            tokio::spawn(async move {
                s.started.fetch_add(1, SeqCst);
                s.block.notified().await;
                s.finished.fetch_add(1, SeqCst);
            });
        }
        while s.started.load(SeqCst) < n {
            tokio::task::yield_now().await;
        }
        let create = bench::now_ns() - start;
        for _ in 0..SETTLE_YIELDS {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(SETTLE_SLEEP).await;
        let rss_after = bench::rss_bytes();
        let (started, finished) = (s.started.load(SeqCst), s.finished.load(SeqCst));
        if started != n || finished != 0 {
            bench::fail(&format!("{started} tasks started and {finished} finished, want {n} and 0"));
        }
        println!("{{\"workload\":\"parked_memory\",\"maxprocs\":{maxprocs},\"n\":{n},\"rss_before\":{rss_before},\
                  \"rss_after\":{rss_after},\"bytes_per_goroutine\":{:.3},\"create_ns\":{create},\"ns_per_goroutine\":{:.3}}}",
                 (rss_after - rss_before) as f64 / n as f64, create as f64 / n as f64);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // exit with the N tasks still blocked (no runtime shutdown dropping them)
        std::process::exit(0);
    })
}
