// SPDX-License-Identifier: MIT
//! idle_cost (Tokio): what does the runtime cost while it has nothing to do?
//!
//! Definition (as in tools/bench/workloads/idle_cost/gmpx.c, a task per
//! goroutine):
//!  - Arguments: --maxprocs=P (worker threads, src/lib.rs), --n=N (parked
//!    tasks; default 1,000), --idle_ms=I (the idle window; default 10,000).
//!  - Setup: a tokio::sync::Semaphore `release` with no permits (the
//!    waitgroup of the C program: acquiring it parks until main adds N);
//!    a bench::Wg `exited` of N; atomic counters `started` and `released`.
//!    main spawns N tasks, each doing started += 1, then
//!    release.acquire().await (it parks until the end), then released += 1
//!    and exited.done(). main yields (tokio::task::yield_now) until
//!    started == N, then SETTLE_YIELDS more yields and a
//!    tokio::time::sleep of SETTLE_MS.
//!  - Idle window: r0 = getrusage(RUSAGE_SELF), t0 = clock; main sleeps I ms
//!    with tokio::time::sleep (no task is runnable, every worker idle);
//!    t1 = clock, r1 = getrusage(RUSAGE_SELF).
//!  - Report: idle_cpu_us, idle_cpu_pct, wakeups, voluntary, involuntary,
//!    idle_wall_ms, as the C program (the whole process, all threads).
//!  - Then: release.add_permits(N) wakes the N tasks; main awaits exited.
//!  - Verify: started == N before the window; the window lasted at least I
//!    ms; after the release, released == N.
//!
//! Output: {"workload":"idle_cost","maxprocs":P,"n":N,"idle_ms":I,"idle_wall_ms":...,
//!          "idle_cpu_us":...,"idle_cpu_pct":...,"wakeups":...,"voluntary":...,"involuntary":...}

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// DEFAULT_N is the number of parked tasks; DEFAULT_IDLE_MS the window.
const DEFAULT_N: i64 = 1000;
const DEFAULT_IDLE_MS: i64 = 10_000;
/// SETTLE_YIELDS and SETTLE_MS let the tasks finish parking and the
/// runtime finish starting up before the window opens.
const SETTLE_YIELDS: i32 = 100;
const SETTLE_MS: u64 = 100;

struct Shared {
    started: AtomicI64,
    released: AtomicI64,
    release: Semaphore,
    exited: bench::Wg,
}

fn main() {
    let o = bench::parse("idle_cost", &[("maxprocs", 0), ("n", DEFAULT_N), ("idle_ms", DEFAULT_IDLE_MS)]);
    let (n, idle_ms) = (o.get("n"), o.get("idle_ms"));
    if n <= 0 || n > Semaphore::MAX_PERMITS as i64 {
        bench::usage(&format!("--n must be in [1, {}]", Semaphore::MAX_PERMITS));
    }
    if idle_ms <= 0 {
        bench::usage("--idle_ms must be > 0");
    }
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let s = Arc::new(Shared {
            started: AtomicI64::new(0),
            released: AtomicI64::new(0),
            release: Semaphore::new(0),
            exited: bench::Wg::new(n),
        });
        for _ in 0..n {
            let s = s.clone();
            tokio::spawn(async move {
                s.started.fetch_add(1, SeqCst);
                s.release.acquire().await.unwrap_or_else(|e| bench::fail(&format!("acquire: {e}"))).forget();
                s.released.fetch_add(1, SeqCst);
                s.exited.done();
            });
        }
        while s.started.load(SeqCst) < n {
            tokio::task::yield_now().await;
        }
        for _ in 0..SETTLE_YIELDS {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
        if s.started.load(SeqCst) != n {
            bench::fail(&format!("{} tasks started, want {n}", s.started.load(SeqCst)));
        }

        let (c0, v0, i0) = bench::rusage();
        let t0 = bench::now_ns();
        tokio::time::sleep(Duration::from_millis(idle_ms as u64)).await;
        let t1 = bench::now_ns();
        let (c1, v1, i1) = bench::rusage();
        let (wall, cpu, vol, invol) = (t1 - t0, c1 - c0, v1 - v0, i1 - i0);
        if wall < idle_ms * 1_000_000 {
            bench::fail(&format!("the idle window lasted {wall} ns, less than {idle_ms} ms"));
        }
        if cpu < 0 || vol < 0 || invol < 0 {
            bench::fail("getrusage went backwards");
        }

        s.release.add_permits(n as usize);
        s.exited.wait().await;
        if s.released.load(SeqCst) != n {
            bench::fail(&format!("{} tasks finished after the release, want {n}", s.released.load(SeqCst)));
        }
        println!("{{\"workload\":\"idle_cost\",\"maxprocs\":{maxprocs},\"n\":{n},\"idle_ms\":{idle_ms},\
                  \"idle_wall_ms\":{:.3},\"idle_cpu_us\":{cpu},\"idle_cpu_pct\":{:.5},\"wakeups\":{},\
                  \"voluntary\":{vol},\"involuntary\":{invol}}}",
                 wall as f64 / 1e6, cpu as f64 * 1e3 / wall as f64 * 100.0, vol + invol);
    })
}
