// SPDX-License-Identifier: MIT
//! spawn_join (Tokio): the cost of starting, running and joining a tiny task.
//!
//! Definition (as in tools/bench/workloads/spawn_join/gmpx.c, a task per
//! goroutine):
//!  - Arguments: --maxprocs=P (worker threads, src/lib.rs), --n=N (tasks;
//!    default 1,000,000).
//!  - One shared struct holds an atomic i64 counter and a waitgroup (an
//!    atomic count of tasks still running and a tokio::sync::Notify).
//!  - Timed region: the waitgroup's count set to N once, then a loop
//!    starting N tasks, each tokio::spawn of an async block holding an Arc
//!    of the shared struct (the JoinHandle dropped: a goroutine needs no
//!    join); each does one atomic add of 1 to the counter and its "done"
//!    (the last one notifies); then main awaits the notification.
//!  - Report: ns_per_goroutine = wall time of the timed region / N.
//!  - Verify: counter == N after the wait.
//!
//! Output: {"workload":"spawn_join","maxprocs":P,"n":N,"wall_ns":...,"ns_per_goroutine":...}

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use tokio::sync::Notify;

/// DEFAULT_N is the number of tasks of a full run.
const DEFAULT_N: i64 = 1_000_000;

struct Shared {
    counter: AtomicI64,
    left: AtomicI64,
    done: Notify,
}

fn main() {
    let o = bench::parse("spawn_join", &[("maxprocs", 0), ("n", DEFAULT_N)]);
    let n = o.get("n");
    if n <= 0 || n > i32::MAX as i64 {
        bench::usage(&format!("--n must be in [1, {}]", i32::MAX));
    }
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let s = Arc::new(Shared { counter: AtomicI64::new(0), left: AtomicI64::new(0), done: Notify::new() });
        let start = bench::now_ns();
        s.left.store(n, SeqCst);
        for _ in 0..n {
            let s = s.clone();
            tokio::spawn(async move {
                s.counter.fetch_add(1, SeqCst);
                if s.left.fetch_sub(1, SeqCst) == 1 {
                    s.done.notify_one();
                }
            });
        }
        s.done.notified().await;
        let wall = bench::now_ns() - start;
        let got = s.counter.load(SeqCst);
        if got != n {
            bench::fail(&format!("counter is {got}, want {n}"));
        }
        println!("{{\"workload\":\"spawn_join\",\"maxprocs\":{maxprocs},\"n\":{n},\"wall_ns\":{wall},\"ns_per_goroutine\":{:.3}}}",
                 wall as f64 / n as f64);
    });
}
