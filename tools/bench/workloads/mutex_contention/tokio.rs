// SPDX-License-Identifier: MIT
//! mutex_contention (Tokio): lock/unlock of one contended async mutex.
//!
//! Definition (as in tools/bench/workloads/mutex_contention/gmpx.c, a task
//! per goroutine; tokio::sync::Mutex, which parks the task as gx_mutex
//! parks the goroutine):
//!  - Arguments: --maxprocs=P (the runner uses 2), --workers=W (tasks;
//!    default 4), --iters=I (lock/unlock pairs per task; default 1,000,000).
//!  - One shared tokio::sync::Mutex<i64> counter and a bench::Wg of W.
//!  - Timed region: main spawns W tasks; each does I times { lock;
//!    counter += 1; unlock } and then done; main waits on the Wg.
//!  - Report: pairs = W*I, ns_per_pair = wall time of the timed region / pairs.
//!  - Verify: counter == W*I.
//!
//! Output: {"workload":"mutex_contention","maxprocs":P,"workers":W,"iters":I,"pairs":W*I,
//!          "wall_ns":...,"ns_per_pair":...}

use std::sync::Arc;

/// DEFAULT_WORKERS, DEFAULT_ITERS: tasks and pairs per task of a full run.
const DEFAULT_WORKERS: i64 = 4;
const DEFAULT_ITERS: i64 = 1_000_000;

fn main() {
    let o = bench::parse("mutex_contention", &[("maxprocs", 0), ("workers", DEFAULT_WORKERS), ("iters", DEFAULT_ITERS)]);
    let (workers, iters) = (o.get("workers"), o.get("iters"));
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let mu = Arc::new(tokio::sync::Mutex::new(0i64));
        let wg = Arc::new(bench::Wg::new(workers));
        let start = bench::now_ns();
        for _ in 0..workers {
            let (mu, wg) = (mu.clone(), wg.clone());
            tokio::spawn(async move {
                for _ in 0..iters {
                    *mu.lock().await += 1;
                }
                wg.done();
            });
        }
        wg.wait().await;
        let wall = bench::now_ns() - start;
        let pairs = workers * iters;
        let got = *mu.lock().await;
        if got != pairs {
            bench::fail(&format!("counter is {got}, want {pairs}"));
        }
        println!("{{\"workload\":\"mutex_contention\",\"maxprocs\":{maxprocs},\"workers\":{workers},\"iters\":{iters},\"pairs\":{pairs},\"wall_ns\":{wall},\"ns_per_pair\":{:.3}}}",
                 wall as f64 / pairs as f64);
    });
}
