// SPDX-License-Identifier: MIT
//! What every Tokio peer shares: the command line, the clock, percentiles,
//! failing a check, the runtime for --maxprocs, and the process's RSS and
//! CPU time. The Rust twin of
//! tools/bench/include/bench_common.h and tools/bench/internal/bench/bench.go;
//! keep them in step.
//!
//! Command line: --name=value options, all non-negative integers; every
//! program takes --maxprocs=P. Tokio's analogue of GOMAXPROCS is its number
//! of worker threads: P = 1 is the current-thread runtime (every task on
//! the one thread, as on one P), P > 1 the multi-thread runtime with P
//! workers (work stealing), the workload's main task spawned onto it; P = 0:
//! the multi-thread runtime with Tokio's default (one worker per CPU). A
//! program prints ONE line of JSON on stdout and exits 0; a failed check
//! prints "NAME (tokio): why" on stderr and exits 1; bad usage exits 2. The
//! JSON has no "kassist" field.

use std::sync::OnceLock;
use std::time::Instant;

static NAME: OnceLock<String> = OnceLock::new();
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn leave(code: i32, msg: &str) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    eprintln!("{} (tokio): {}", NAME.get().map(String::as_str).unwrap_or("bench"), msg);
    std::process::exit(code) // other tasks may be running: leave at once
}

/// A check failed: report it and exit with status 1.
pub fn fail(msg: &str) -> ! {
    leave(1, msg)
}

/// Bad usage: report it and exit with status 2.
pub fn usage(msg: &str) -> ! {
    leave(2, msg)
}

/// The parsed options: each default overwritten by its --name=value.
pub struct Opts {
    vals: Vec<(&'static str, i64)>,
}

impl Opts {
    /// The value of option `name` (which must be one of the defaults).
    pub fn get(&self, name: &str) -> i64 {
        self.vals.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
            .unwrap_or_else(|| usage(&format!("no option {name}")))
    }
}

/// Parse the command line against `defaults` (name, default value).
pub fn parse(name: &str, defaults: &[(&'static str, i64)]) -> Opts {
    let _ = NAME.set(name.to_string());
    EPOCH.get_or_init(Instant::now);
    let mut vals = defaults.to_vec();
    for arg in std::env::args().skip(1) {
        let Some(rest) = arg.strip_prefix("--") else { usage(&format!("bad argument '{arg}' (want --name=value)")) };
        let Some((k, v)) = rest.split_once('=') else { usage(&format!("bad argument '{arg}' (want --name=value)")) };
        let Some(slot) = vals.iter_mut().find(|(n, _)| *n == k) else { usage(&format!("unknown option '{arg}'")) };
        match v.parse::<i64>() {
            Ok(x) if x >= 0 => slot.1 = x,
            _ => usage(&format!("bad value in '{arg}'")),
        }
    }
    Opts { vals }
}

/// The runtime for --maxprocs=P (see the module comment) and the number of
/// worker threads it runs.
pub fn runtime(p: i64) -> (tokio::runtime::Runtime, i64) {
    let rt = if p == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if p > 1 {
            b.worker_threads(p as usize);
        }
        b.enable_all().build()
    };
    let n = if p > 0 { p } else { std::thread::available_parallelism().map(|n| n.get() as i64).unwrap_or(1) };
    (rt.unwrap_or_else(|e| fail(&format!("runtime: {e}"))), n)
}

/// Run the workload's main future on the runtime for --maxprocs=P: as a
/// spawned task (on a worker thread, like the C programs' main goroutine),
/// and return its result.
pub fn run<F, T>(p: i64, f: impl FnOnce(i64) -> F) -> T
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (rt, n) = runtime(p);
    let fut = f(n);
    let r = rt.block_on(async move { tokio::spawn(fut).await });
    r.unwrap_or_else(|e| fail(&format!("main task: {e}")))
}

/// CLOCK_MONOTONIC-like nanoseconds (only differences matter).
pub fn now_ns() -> i64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as i64
}

/// Nearest rank in the sorted v: element ceil(k/100*n)-1, as bench_percentile.
pub fn percentile(v: &[i64], k: i64) -> i64 {
    let rank = (k * v.len() as i64 + 99) / 100;
    v[if rank > 0 { rank as usize - 1 } else { 0 }]
}

/// A waitgroup: a count of tasks still running and a Notify the last one
/// signals (notify_one keeps the permit if nobody waits yet).
pub struct Wg {
    left: std::sync::atomic::AtomicI64,
    done: tokio::sync::Notify,
}

impl Wg {
    pub fn new(n: i64) -> Wg {
        Wg { left: std::sync::atomic::AtomicI64::new(n), done: tokio::sync::Notify::new() }
    }
    pub fn done(&self) {
        if self.left.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.done.notify_one();
        }
    }
    pub async fn wait(&self) {
        if self.left.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            self.done.notified().await;
        }
    }
}

/// Resident set size in bytes: /proc/self/statm field 2 (pages), as
/// bench_rss_bytes.
pub fn rss_bytes() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_else(|e| fail(&format!("/proc/self/statm: {e}")));
    let pages: i64 = s.split_whitespace().nth(1).and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fail("/proc/self/statm: no RSS field"));
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as i64
}

/// getrusage(RUSAGE_SELF): the whole process's CPU time (user + system) in
/// microseconds and its context switches (voluntary, involuntary).
pub fn rusage() -> (i64, i64, i64) {
    // SAFETY: getrusage writes the struct it is given; zeroed is a valid one.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut r) } != 0 {
        fail(&format!("getrusage: {}", std::io::Error::last_os_error()));
    }
    let us = |t: libc::timeval| t.tv_sec as i64 * 1_000_000 + t.tv_usec as i64;
    (us(r.ru_utime) + us(r.ru_stime), r.ru_nvcsw as i64, r.ru_nivcsw as i64)
}

/// The calling thread's id (gettid(2)).
pub fn gettid() -> i64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i64 }
}
