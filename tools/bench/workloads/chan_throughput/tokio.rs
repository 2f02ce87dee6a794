// SPDX-License-Identifier: MIT
//! chan_throughput (Tokio): int64s through one buffered channel, K producers
//! to C consumers.
//!
//! Definition (as in tools/bench/workloads/chan_throughput/gmpx.c, a task
//! per goroutine; the channel is a tokio::sync::mpsc::channel of capacity
//! B, closed when every Sender is dropped; Tokio's mpsc has one receiver,
//! so the C consumers share it behind a tokio::sync::Mutex, each taking
//! the lock for one receive):
//!  - Arguments: --maxprocs=P (the runner uses 2), --items=N (default
//!    10,000,000), --producers=K and --consumers=C (the runner uses 1 and 1,
//!    and 4 and 4), --cap=B (the channel's capacity; default 1024).
//!  - Timed region: main spawns C consumers, then K producers; producer p
//!    (0..K-1) sends the values i for i in [p*N/K, (p+1)*N/K), in order, then
//!    drops its Sender (the last one closes the channel). A consumer
//!    receives until the channel is closed and drained, summing the values
//!    and counting them locally, then adds its sum and count to shared
//!    atomic totals and calls done; main waits on the consumers' Wg.
//!  - Report: ns_per_item = wall time of the timed region / N.
//!  - Verify: total count == N, total sum == N*(N-1)/2, and no send failed.
//!
//! Output: {"workload":"chan_throughput","maxprocs":P,"items":N,"producers":K,"consumers":C,
//!          "cap":B,"wall_ns":...,"ns_per_item":...}

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};

/// Defaults of a full run.
const DEFAULT_ITEMS: i64 = 10_000_000;
const DEFAULT_CAP: i64 = 1024;

fn main() {
    let o = bench::parse("chan_throughput", &[("maxprocs", 0), ("items", DEFAULT_ITEMS), ("producers", 1),
                                               ("consumers", 1), ("cap", DEFAULT_CAP)]);
    let (items, k, c, cap) = (o.get("items"), o.get("producers"), o.get("consumers"), o.get("cap"));
    if k < 1 || c < 1 || cap < 1 {
        bench::usage("--producers, --consumers and --cap must be >= 1");
    }
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let (tx, rx) = mpsc::channel::<i64>(cap as usize);
        let rx = Arc::new(Mutex::new(rx));
        let (sum, count, errors) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
        let wg = Arc::new(bench::Wg::new(c));
        let start = bench::now_ns();
        for _ in 0..c {
            let (rx, sum, count, wg) = (rx.clone(), sum.clone(), count.clone(), wg.clone());
            tokio::spawn(async move {
                let (mut s, mut n) = (0i64, 0i64);
                loop {
                    let v = rx.lock().await.recv().await;
                    match v {
                        Some(v) => { s += v; n += 1; }
                        None => break,
                    }
                }
                sum.fetch_add(s, SeqCst);
                count.fetch_add(n, SeqCst);
                wg.done();
            });
        }
        for p in 0..k {
            let (tx, errors) = (tx.clone(), errors.clone());
            tokio::spawn(async move {
                for i in p * items / k..(p + 1) * items / k {
                    if tx.send(i).await.is_err() {
                        errors.fetch_add(1, SeqCst);
                        break;
                    }
                }
            });
        }
        drop(tx);
        wg.wait().await;
        let wall = bench::now_ns() - start;
        let (s, n, e) = (sum.load(SeqCst), count.load(SeqCst), errors.load(SeqCst));
        if n != items || s != items * (items - 1) / 2 || e != 0 {
            bench::fail(&format!("count {n} sum {s} errors {e}; want {items}, {}, 0", items * (items - 1) / 2));
        }
        println!("{{\"workload\":\"chan_throughput\",\"maxprocs\":{maxprocs},\"items\":{items},\"producers\":{k},\"consumers\":{c},\"cap\":{cap},\"wall_ns\":{wall},\"ns_per_item\":{:.3}}}",
                 wall as f64 / items as f64);
    });
}
