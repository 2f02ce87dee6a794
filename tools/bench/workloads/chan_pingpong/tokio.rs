// SPDX-License-Identifier: MIT
//! chan_pingpong (Tokio): the round-trip cost of two channels between two tasks.
//!
//! Definition (as in tools/bench/workloads/chan_pingpong/gmpx.c, a task per
//! goroutine; Tokio has no unbuffered channel: each is a
//! tokio::sync::mpsc::channel of capacity 1, its smallest, which makes no
//! difference to a ping-pong: each side waits for the other's reply):
//!  - Arguments: --maxprocs=P (the runner uses 1 and 2), --trips=T (round
//!    trips; default 1,000,000).
//!  - Two channels of i64, ping and pong, made before the timed region.
//!  - Timed region: main spawns the pinger A, then the ponger B, and waits
//!    on a bench::Wg of 2. For i in 0..T-1: A sends i on ping, B receives v
//!    from ping and sends v + 1 on pong, A receives w from pong and counts
//!    an error unless w == i + 1. Each then calls done.
//!  - Report: ns_per_roundtrip = wall time of the timed region / T.
//!  - Verify: every send and receive succeeded and every reply was right
//!    (errors == 0).
//!
//! Output: {"workload":"chan_pingpong","maxprocs":P,"trips":T,"wall_ns":...,"ns_per_roundtrip":...}

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use tokio::sync::mpsc;

/// DEFAULT_TRIPS is the number of round trips of a full run.
const DEFAULT_TRIPS: i64 = 1_000_000;
/// CHAN_CAP: the capacity of each channel (Tokio's smallest).
const CHAN_CAP: usize = 1;

fn main() {
    let o = bench::parse("chan_pingpong", &[("maxprocs", 0), ("trips", DEFAULT_TRIPS)]);
    let trips = o.get("trips");
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let (ping_tx, mut ping_rx) = mpsc::channel::<i64>(CHAN_CAP);
        let (pong_tx, mut pong_rx) = mpsc::channel::<i64>(CHAN_CAP);
        let wg = Arc::new(bench::Wg::new(2));
        let errors = Arc::new(AtomicI64::new(0));
        let start = bench::now_ns();
        let (wa, ea) = (wg.clone(), errors.clone());
        tokio::spawn(async move {
            for i in 0..trips {
                if ping_tx.send(i).await.is_err() {
                    ea.fetch_add(1, SeqCst);
                    break;
                }
                match pong_rx.recv().await {
                    Some(w) if w == i + 1 => {}
                    _ => { ea.fetch_add(1, SeqCst); }
                }
            }
            wa.done();
        });
        let (wb, eb) = (wg.clone(), errors.clone());
        tokio::spawn(async move {
            for _ in 0..trips {
                match ping_rx.recv().await {
                    Some(v) => if pong_tx.send(v + 1).await.is_err() { eb.fetch_add(1, SeqCst); break; },
                    None => { eb.fetch_add(1, SeqCst); break; }
                }
            }
            wb.done();
        });
        wg.wait().await;
        let wall = bench::now_ns() - start;
        if errors.load(SeqCst) != 0 {
            bench::fail(&format!("{} errors", errors.load(SeqCst)));
        }
        println!("{{\"workload\":\"chan_pingpong\",\"maxprocs\":{maxprocs},\"trips\":{trips},\"wall_ns\":{wall},\"ns_per_roundtrip\":{:.3}}}",
                 wall as f64 / trips as f64);
    });
}
