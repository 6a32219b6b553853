//! Clients that reset (RST) by the thousand, on `--threads` threads, in
//! four kinds, `--conns` in all:
//!
//! - `connect`: connects and resets at once, before sending anything;
//! - `head`: resets in the middle of a request head;
//! - `body`: resets in the middle of a declared body;
//! - `response`: sends 500 pipelined `GET /` and resets after the first
//!   kilobyte of answers, while the server is still writing the rest.
//!
//! ```text
//! resets --addr 127.0.0.1:18180 [--conns 3000] [--threads 4]
//! ```
//!
//! Prints how many of each kind ran, and how many did not go as planned
//! (a connect that failed, a response that did not start with a 200).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sylar_reliability::{Args, reset};

const USAGE: &str = "--addr HOST:PORT [--conns 3000] [--threads 4]";
const KINDS: [&str; 4] = ["connect", "head", "body", "response"];

/// One client of kind `kind`; `Err` says what went wrong.
fn one(addr: SocketAddr, kind: usize, pipelined: &[u8]) -> Result<(), String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("connect: {e}"))?;
    let sent = match KINDS[kind] {
        "connect" => Ok(()),
        "head" => s.write_all(b"GET /hello HTTP/1.1\r\nHost: r\r\nX-Cut: "),
        "body" => s.write_all(
            b"POST /echo HTTP/1.1\r\nHost: r\r\nContent-Length: 100000\r\n\r\nonly the start",
        ),
        _ => s.write_all(pipelined),
    };
    sent.map_err(|e| format!("send: {e}"))?;
    if KINDS[kind] == "response" {
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let mut first = [0u8; 1024];
        s.read_exact(&mut first).map_err(|e| format!("read: {e}"))?;
        if !first.starts_with(b"HTTP/1.1 200 ") {
            return Err("the response did not start with 200".into());
        }
    }
    reset(s);
    Ok(())
}

fn main() {
    let args = Args::parse("resets", USAGE);
    let addr = args.addr();
    let conns: usize = args.get("conns", 3000);
    let threads: usize = args.get::<usize>("threads", 4).max(1);
    let pipelined = b"GET / HTTP/1.1\r\nHost: r\r\n\r\n".repeat(500);
    let next = Arc::new(AtomicUsize::new(0));
    let done: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
    let failed: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (next, done, failed) = (next.clone(), done.clone(), failed.clone());
            let pipelined = pipelined.clone();
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= conns {
                        break;
                    }
                    let kind = i % KINDS.len();
                    match one(addr, kind, &pipelined) {
                        Ok(()) => done[kind].fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if failed[kind].fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("resets: {}: {e}", KINDS[kind]);
                            }
                            0
                        }
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let mut line = format!(
        "resets: conns={conns} secs={:.1}",
        started.elapsed().as_secs_f64()
    );
    for (k, name) in KINDS.iter().enumerate() {
        line += &format!(
            " {name}={} {name}_failed={}",
            done[k].load(Ordering::Relaxed),
            failed[k].load(Ordering::Relaxed)
        );
    }
    println!("{line}");
}
