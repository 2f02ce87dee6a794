// SPDX-License-Identifier: MIT
//! yield_switch (Tokio): the cost of one task switch on one worker.
//!
//! Definition (as in tools/bench/workloads/yield_switch/gmpx.c, a task per
//! goroutine):
//!  - Arguments: --maxprocs=P (the runner uses 1: the current-thread
//!    runtime), --iters=I (yields per task; default 5,000,000).
//!  - Timed region: main spawns two tasks sharing {iters, a bench::Wg of 2};
//!    each calls tokio::task::yield_now().await I times, then done; main
//!    waits on the Wg (it is parked, so the two yielders alternate).
//!  - Report: switches = 2*I, ns_per_switch = wall time of the timed
//!    region / switches.
//!  - Verify: each yielder counted exactly I yields (a shared atomic sum == 2*I).
//!
//! Output: {"workload":"yield_switch","maxprocs":P,"iters":I,"switches":2I,"wall_ns":...,"ns_per_switch":...}

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;

/// DEFAULT_ITERS is the number of yields per task of a full run.
const DEFAULT_ITERS: i64 = 5_000_000;

fn main() {
    let o = bench::parse("yield_switch", &[("maxprocs", 0), ("iters", DEFAULT_ITERS)]);
    let iters = o.get("iters");
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let wg = Arc::new(bench::Wg::new(2));
        let sum = Arc::new(AtomicI64::new(0));
        let start = bench::now_ns();
        for _ in 0..2 {
            let (wg, sum) = (wg.clone(), sum.clone());
            tokio::spawn(async move {
                let mut n = 0;
                for _ in 0..iters {
                    tokio::task::yield_now().await;
                    n += 1;
                }
                sum.fetch_add(n, SeqCst);
                wg.done();
            });
        }
        wg.wait().await;
        let wall = bench::now_ns() - start;
        let switches = 2 * iters;
        if sum.load(SeqCst) != switches {
            bench::fail(&format!("yielders counted {}, want {switches}", sum.load(SeqCst)));
        }
        println!("{{\"workload\":\"yield_switch\",\"maxprocs\":{maxprocs},\"iters\":{iters},\"switches\":{switches},\"wall_ns\":{wall},\"ns_per_switch\":{:.3}}}",
                 wall as f64 / switches as f64);
    });
}
