// SPDX-License-Identifier: MIT
//! wakeup_latency (Tokio): a task spawned while another worker is idle; how
//! soon does it start running?
//!
//! Definition (as in tools/bench/workloads/wakeup_latency/gmpx.c, a task per
//! goroutine, a worker thread per P):
//!  - Arguments: --maxprocs=P (worker threads, src/lib.rs; the runner uses
//!    2), --iters=N (default 1,000), --gap_us=G (default 2,000).
//!  - For i in 0..N-1: main sleeps G us (tokio::time::sleep: every worker
//!    idle); started = 0; main_tid = gettid(); t0 = clock; tokio::spawn of
//!    the child (the JoinHandle dropped); main keeps its worker busy: it
//!    spins on `started` (acquire loads, no await) so the child cannot run
//!    on main's worker; only another worker can take it. After 1 s of
//!    spinning main yields (tokio::task::yield_now), once per further
//!    second, and counts it (spin_yields): the child then runs on main's
//!    worker and the sample shows it.
//!    child: start = clock (its first instruction), same_thread += (gettid()
//!    == main_tid), runs += 1, then started = 1 (release).
//!    lat[i] = start - t0.
//!  - Report and verify: as the C program.
//!
//! What Tokio does (1.24): a task spawned from a worker goes to that
//! worker's LIFO slot, which other workers do not steal, and a lone task
//! there does not wake a parked worker (a worker notifies others only when
//! it holds more than one runnable task). So while main spins, nobody runs
//! the child: it starts when main yields, on main's worker (same_thread and
//! spin_yields show it). The runner gives this program few iterations.
//!
//! Output: {"workload":"wakeup_latency","maxprocs":P,"iters":N,"gap_us":G,"wall_ms":...,
//!          "wake_p50_us":...,"wake_p99_us":...,"wake_max_us":...,"wake_mean_us":...,
//!          "same_thread":...,"spin_yields":...}

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// SPIN_LIMIT_NS: main spins this long before it gives its worker up once.
const SPIN_LIMIT_NS: i64 = 1_000_000_000;

#[derive(Default)]
struct Shared {
    started: AtomicI64,
    start_ns: AtomicI64,
    same_thread: AtomicI64,
    runs: AtomicI64,
    main_tid: AtomicI64,
}

fn main() {
    let o = bench::parse("wakeup_latency", &[("maxprocs", 0), ("iters", 1000), ("gap_us", 2000)]);
    let (n, gap_us) = (o.get("iters"), o.get("gap_us"));
    if n <= 0 || n > i32::MAX as i64 {
        bench::usage(&format!("--iters must be in [1, {}]", i32::MAX));
    }
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let s = Arc::new(Shared::default());
        let mut lat = Vec::with_capacity(n as usize);
        let mut spin_yields = 0i64;
        let begin = bench::now_ns();
        for _ in 0..n {
            tokio::time::sleep(Duration::from_micros(gap_us as u64)).await;
            s.started.store(0, Ordering::Relaxed);
            s.main_tid.store(bench::gettid(), Ordering::Relaxed);
            let t0 = bench::now_ns();
            let c = s.clone();
            tokio::spawn(async move {
                c.start_ns.store(bench::now_ns(), Ordering::Relaxed);
                if bench::gettid() == c.main_tid.load(Ordering::Relaxed) {
                    c.same_thread.fetch_add(1, Ordering::Relaxed);
                }
                c.runs.fetch_add(1, Ordering::Relaxed);
                c.started.store(1, Ordering::Release);
            });
            let mut limit = t0 + SPIN_LIMIT_NS;
            while s.started.load(Ordering::Acquire) == 0 {
                if bench::now_ns() > limit {
                    tokio::task::yield_now().await;
                    spin_yields += 1;
                    limit = bench::now_ns() + SPIN_LIMIT_NS;
                }
            }
            lat.push(s.start_ns.load(Ordering::Relaxed) - t0);
        }
        let wall = bench::now_ns() - begin;
        let runs = s.runs.load(Ordering::Relaxed);
        if runs != n {
            bench::fail(&format!("{runs} children ran, want {n}"));
        }
        lat.sort_unstable();
        if lat[0] < 0 {
            bench::fail(&format!("a child started {} ns before it was spawned", -lat[0]));
        }
        let mean = lat.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        println!("{{\"workload\":\"wakeup_latency\",\"maxprocs\":{maxprocs},\"iters\":{n},\"gap_us\":{gap_us},\
                  \"wall_ms\":{:.3},\"wake_p50_us\":{:.3},\"wake_p99_us\":{:.3},\"wake_max_us\":{:.3},\
                  \"wake_mean_us\":{:.3},\"same_thread\":{},\"spin_yields\":{spin_yields}}}",
                 wall as f64 / 1e6, bench::percentile(&lat, 50) as f64 / 1e3, bench::percentile(&lat, 99) as f64 / 1e3,
                 lat[lat.len() - 1] as f64 / 1e3, mean / 1e3, s.same_thread.load(Ordering::Relaxed));
    })
}
