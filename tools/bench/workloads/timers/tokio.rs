// SPDX-License-Identifier: MIT
//! timers (Tokio): N tasks each sleeping once for 1-10 ms; how late do they wake?
//!
//! Definition (as in tools/bench/workloads/timers/gmpx.c, a task per
//! goroutine, tokio::time::sleep for gx_sleep; Tokio's timer wheel has 1 ms
//! resolution, which the oversleep shows):
//!  - Arguments: --maxprocs=P (the runner uses 2), --n=N (sleeping tasks;
//!    default 100,000).
//!  - Durations (untimed, before the timed region): d[i] for i in 0..N-1,
//!    in whole microseconds, d[i] = MIN_US + (r >> 32) % (MAX_US - MIN_US + 1)
//!    with MIN_US 1000 and MAX_US 10000 (so 1 to 10 ms), where r is the i-th
//!    output of xorshift64* (x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
//!    r = x * 0x2545F4914F6CDD1D) started from x = SEED (0x9E3779B97F4A7C15).
//!    requested_sum_us, the sum of all d[i], shows the sequence is the same.
//!  - Timed region: a bench::Wg of N, then a loop spawning N tasks; task i
//!    reads the clock (t0), sleeps d[i] us, reads the clock (t1), stores
//!    oversleep[i] = (t1 - t0) - d[i] in ns (a slot of its own), and calls
//!    done; main waits on the Wg.
//!  - Report: wall_ms of the timed region; oversleep percentiles over all N
//!    (nearest rank): oversleep_p50_us, oversleep_p99_us, and
//!    oversleep_max_us, oversleep_mean_us.
//!  - Verify: no task woke early (every oversleep >= 0).
//!
//! Output: {"workload":"timers","maxprocs":P,"n":N,"requested_sum_us":...,"wall_ms":...,
//!          "oversleep_p50_us":...,"oversleep_p99_us":...,"oversleep_max_us":...,
//!          "oversleep_mean_us":...}

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// SEED starts the xorshift64* sequence; durations are in [MIN_US, MAX_US].
const SEED: u64 = 0x9E3779B97F4A7C15;
const MIN_US: i64 = 1000;
const MAX_US: i64 = 10000;
const DEFAULT_N: i64 = 100_000;

fn xorshift64star(x: &mut u64) -> u64 {
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    x.wrapping_mul(0x2545F4914F6CDD1D)
}

fn main() {
    let o = bench::parse("timers", &[("maxprocs", 0), ("n", DEFAULT_N)]);
    let n = o.get("n");
    if n <= 0 {
        bench::usage("--n must be > 0");
    }
    let mut x = SEED;
    let d: Arc<Vec<i64>> = Arc::new((0..n).map(|_| MIN_US + ((xorshift64star(&mut x) >> 32) % (MAX_US - MIN_US + 1) as u64) as i64).collect());
    let requested_sum_us: i64 = d.iter().sum();
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let over: Arc<Vec<AtomicI64>> = Arc::new((0..n).map(|_| AtomicI64::new(0)).collect());
        let wg = Arc::new(bench::Wg::new(n));
        let start = bench::now_ns();
        for i in 0..n as usize {
            let (d, over, wg) = (d.clone(), over.clone(), wg.clone());
            tokio::spawn(async move {
                let t0 = bench::now_ns();
                tokio::time::sleep(Duration::from_micros(d[i] as u64)).await;
                let t1 = bench::now_ns();
                over[i].store(t1 - t0 - d[i] * 1000, SeqCst);
                wg.done();
            });
        }
        wg.wait().await;
        let wall = bench::now_ns() - start;
        let mut v: Vec<i64> = over.iter().map(|a| a.load(SeqCst)).collect();
        v.sort_unstable();
        if v[0] < 0 {
            bench::fail(&format!("a task woke {} ns early", -v[0]));
        }
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        println!("{{\"workload\":\"timers\",\"maxprocs\":{maxprocs},\"n\":{n},\"requested_sum_us\":{requested_sum_us},\"wall_ms\":{:.6},\"oversleep_p50_us\":{:.3},\"oversleep_p99_us\":{:.3},\"oversleep_max_us\":{:.3},\"oversleep_mean_us\":{:.3}}}",
                 wall as f64 / 1e6, bench::percentile(&v, 50) as f64 / 1e3, bench::percentile(&v, 99) as f64 / 1e3,
                 v[v.len() - 1] as f64 / 1e3, mean / 1e3);
    });
}
