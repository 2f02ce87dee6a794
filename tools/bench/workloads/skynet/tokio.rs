// SPDX-License-Identifier: MIT
//! skynet (Tokio): the classic cross-runtime test; a 10-ary tree of tasks,
//! its leaves sending their ids up through channels, every inner node summing.
//!
//! Definition (as in tools/bench/workloads/skynet/gmpx.c, a task per
//! goroutine; Tokio has no unbuffered channel: each is a
//! tokio::sync::mpsc::channel of capacity 1, its smallest):
//!  - Arguments: --maxprocs=P (the runner uses 1 and 2), --n=N (leaves, a
//!    power of DIV = 10; default 1,000,000).
//!  - skynet(parent, num, size): if size == 1, send num on parent and
//!    return. Else make a channel rc of i64, spawn DIV tasks
//!    skynet(rc, num + i*(size/DIV), size/DIV) for i in 0..DIV-1, receive
//!    DIV values from rc and sum them, and send the sum on parent.
//!  - Timed region: main makes a channel c, spawns the task
//!    skynet(c, 0, N) and receives the result from c.
//!  - Report: goroutines = (DIV*N - 1)/(DIV - 1) (every node of the tree),
//!    wall_ms, ns_per_goroutine = wall time of the timed region / goroutines.
//!  - Verify: result == N*(N-1)/2 (N = 1,000,000: 499,999,500,000) and every
//!    send and receive succeeded.
//!
//! Output: {"workload":"skynet","maxprocs":P,"n":N,"goroutines":G,"result":R,"wall_ms":...,
//!          "ns_per_goroutine":...}

use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc;

/// DIV: children per inner node; DEFAULT_N: leaves of a full run; CHAN_CAP:
/// each channel's capacity (Tokio's smallest).
const DIV: i64 = 10;
const DEFAULT_N: i64 = 1_000_000;
const CHAN_CAP: usize = 1;

fn skynet(parent: mpsc::Sender<i64>, num: i64, size: i64) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if size == 1 {
            if parent.send(num).await.is_err() {
                bench::fail("send failed");
            }
            return;
        }
        let (tx, mut rx) = mpsc::channel::<i64>(CHAN_CAP);
        let sub = size / DIV;
        for i in 0..DIV {
            tokio::spawn(skynet(tx.clone(), num + i * sub, sub));
        }
        drop(tx);
        let mut sum = 0;
        for _ in 0..DIV {
            match rx.recv().await {
                Some(v) => sum += v,
                None => bench::fail("receive failed"),
            }
        }
        if parent.send(sum).await.is_err() {
            bench::fail("send failed");
        }
    })
}

fn main() {
    let o = bench::parse("skynet", &[("maxprocs", 0), ("n", DEFAULT_N)]);
    let n = o.get("n");
    let mut m = n;
    while m > 1 && m % DIV == 0 {
        m /= DIV;
    }
    if m != 1 {
        bench::usage(&format!("--n must be a power of {DIV}"));
    }
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let (tx, mut rx) = mpsc::channel::<i64>(CHAN_CAP);
        let start = bench::now_ns();
        tokio::spawn(skynet(tx, 0, n));
        let result = rx.recv().await.unwrap_or_else(|| bench::fail("receiving the result failed"));
        let wall = bench::now_ns() - start;
        let goroutines = (DIV * n - 1) / (DIV - 1);
        if result != n * (n - 1) / 2 {
            bench::fail(&format!("result {result}, want {}", n * (n - 1) / 2));
        }
        println!("{{\"workload\":\"skynet\",\"maxprocs\":{maxprocs},\"n\":{n},\"goroutines\":{goroutines},\"result\":{result},\"wall_ms\":{:.6},\"ns_per_goroutine\":{:.3}}}",
                 wall as f64 / 1e6, wall as f64 / goroutines as f64);
    });
}
