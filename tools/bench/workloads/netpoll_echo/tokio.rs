// SPDX-License-Identifier: MIT
//! netpoll_echo (Tokio): a TCP echo server, one task per connection (the
//! server half of the netpoll_echo workload; the client is client.c).
//!
//! Definition (as in tools/bench/workloads/netpoll_echo/gmpx.c, a task per
//! goroutine, Tokio's reactor (mio, epoll) for the netpoller):
//!  - Arguments: --maxprocs=P (worker threads, src/lib.rs), --port=N (0:
//!    any free port).
//!  - Raises RLIMIT_NOFILE's soft limit to the hard limit.
//!  - Listens on 127.0.0.1:N with backlog 4096 (tokio::net::TcpSocket) and
//!    prints "listening on :PORT" on stdout once it accepts connections.
//!  - Accept loop in the main task; each accepted connection gets
//!    TCP_NODELAY and a task that loops: read up to 4096 bytes into its
//!    buffer, write them all back (write_all), until EOF or an error; then
//!    it drops (closes) the connection and adds the bytes it echoed to a
//!    shared total (one atomic add per connection).
//!  - On SIGTERM (tokio::signal) it waits (up to 2 s) until no connection
//!    is open, prints ONE line of JSON with the totals and exits 0.
//!
//! Output at exit: {"workload":"netpoll_echo_server","maxprocs":P,"conns":C,"bytes":B}

use std::io::Write;
use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::signal::unix::{signal, SignalKind};

/// BACKLOG is listen(2)'s backlog, as the C server's.
const BACKLOG: u32 = 4096;

#[derive(Default)]
struct Totals {
    open: AtomicI64,
    conns: AtomicI64,
    bytes: AtomicI64,
}

fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit read and write the struct they are given.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

fn main() {
    let o = bench::parse("netpoll_echo", &[("maxprocs", 0), ("port", 0)]);
    let port = o.get("port");
    if port > 65535 {
        bench::usage("--port must be <= 65535");
    }
    raise_nofile();
    bench::run(o.get("maxprocs"), move |maxprocs| async move {
        let t = Arc::new(Totals::default());
        let mut term = signal(SignalKind::terminate()).unwrap_or_else(|e| bench::fail(&format!("signal: {e}")));
        let tt = t.clone();
        tokio::spawn(async move {
            term.recv().await;
            let until = bench::now_ns() + 2_000_000_000;
            while tt.open.load(SeqCst) > 0 && bench::now_ns() < until {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            println!("{{\"workload\":\"netpoll_echo_server\",\"maxprocs\":{maxprocs},\"conns\":{},\"bytes\":{}}}",
                     tt.conns.load(SeqCst), tt.bytes.load(SeqCst));
            let _ = std::io::stdout().flush();
            std::process::exit(0);
        });
        let addr = format!("127.0.0.1:{port}").parse().unwrap_or_else(|e| bench::fail(&format!("address: {e}")));
        let sock = TcpSocket::new_v4().unwrap_or_else(|e| bench::fail(&format!("socket: {e}")));
        sock.bind(addr).unwrap_or_else(|e| bench::fail(&format!("bind {addr}: {e}")));
        let l = sock.listen(BACKLOG).unwrap_or_else(|e| bench::fail(&format!("listen {addr}: {e}")));
        let local = l.local_addr().unwrap_or_else(|e| bench::fail(&format!("local_addr: {e}")));
        println!("listening on :{}", local.port());
        let _ = std::io::stdout().flush();
        loop {
            let (mut c, _) = l.accept().await.unwrap_or_else(|e| bench::fail(&format!("accept: {e}")));
            t.open.fetch_add(1, SeqCst);
            t.conns.fetch_add(1, SeqCst);
            let t = t.clone();
            tokio::spawn(async move {
                let _ = c.set_nodelay(true);
                let mut buf = [0u8; 4096];
                let mut bytes = 0i64;
                loop {
                    let n = match c.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if c.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    bytes += n as i64;
                }
                drop(c);
                t.bytes.fetch_add(bytes, SeqCst);
                t.open.fetch_sub(1, SeqCst);
            });
        }
    })
}
