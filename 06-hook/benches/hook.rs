//! Chapter 6 benchmark: what the hook costs, in the same process.
//!
//! Run: `cargo bench -p sylar-hook --bench hook`
//!
//! 1. A TCP ping-pong in which every `read` would block, so every message is
//!    a park and a wake-up: plain std code in two fibers on one I/O manager
//!    thread (hooked), against two plain threads with blocking sockets.
//! 2. A hooked call that does not block (`recv` with data waiting) against
//!    the same call on a thread where hooking is off: the fast-path cost.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sylar_hook as _;
use sylar_iomanager::IoManager;

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nodelay(true).unwrap();
    b.set_nodelay(true).unwrap();
    (a, b)
}

fn ping_pong(
    mut a: TcpStream,
    mut b: TcpStream,
    rounds: usize,
    spawn: impl FnOnce(Box<dyn FnOnce() + Send>),
) -> Duration {
    spawn(Box::new(move || {
        let mut msg = [0u8; 16];
        for _ in 0..rounds {
            b.read_exact(&mut msg).unwrap();
            b.write_all(&msg).unwrap();
        }
    }));
    let start = Instant::now();
    let mut msg = [7u8; 16];
    for _ in 0..rounds {
        a.write_all(&msg).unwrap();
        a.read_exact(&mut msg).unwrap();
    }
    start.elapsed()
}

fn threads(rounds: usize) -> f64 {
    let (a, b) = tcp_pair();
    let elapsed = ping_pong(a, b, rounds, |f| {
        std::thread::spawn(f);
    });
    elapsed.as_nanos() as f64 / rounds as f64
}

fn fibers(rounds: usize) -> f64 {
    let iom = IoManager::new(1, false, "bench").unwrap();
    let (a, b) = tcp_pair();
    let (tx, rx) = mpsc::channel();
    let io = iom.handle();
    iom.schedule(move || {
        let elapsed = ping_pong(a, b, rounds, |f| io.schedule(f).unwrap());
        tx.send(elapsed).unwrap();
    })
    .unwrap();
    let elapsed = rx.recv().unwrap();
    iom.stop();
    elapsed.as_nanos() as f64 / rounds as f64
}

/// `recv` that finds data at once: the price of the hook's checks.
fn recv_ready(calls: usize, in_fiber: bool) -> f64 {
    let (mut a, mut b) = tcp_pair();
    let mut job = move || {
        let mut buf = [0u8; 1];
        let start = Instant::now();
        for _ in 0..calls {
            a.write_all(b"x").unwrap();
            b.read_exact(&mut buf).unwrap();
        }
        start.elapsed().as_nanos() as f64 / calls as f64
    };
    if !in_fiber {
        return job();
    }
    let iom = IoManager::new(1, false, "fast").unwrap();
    let (tx, rx) = mpsc::channel();
    iom.schedule(move || tx.send(job()).unwrap()).unwrap();
    let ns = rx.recv().unwrap();
    iom.stop();
    ns
}

fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut v: Vec<f64> = (0..5).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v[2]
}

fn main() {
    let rounds = 100_000;
    let t = median(|| threads(rounds));
    let f = median(|| fibers(rounds));
    println!("TCP ping-pong, {rounds} round trips, every read parks (median of 5)");
    println!(
        "  {:<44}{t:>9.0} ns/round trip   1.00x",
        "two threads, blocking std sockets"
    );
    println!(
        "  {:<44}{f:>9.0} ns/round trip   {:.2}x",
        "two fibers on one thread, same std code",
        f / t
    );
    let calls = 200_000;
    let off = median(|| recv_ready(calls, false));
    let on = median(|| recv_ready(calls, true));
    println!("send + recv of 1 byte that never waits, {calls} times (median of 5)");
    println!(
        "  {:<44}{off:>9.0} ns/pair        1.00x",
        "hook off (plain thread)"
    );
    println!(
        "  {:<44}{on:>9.0} ns/pair        {:.2}x",
        "hook on (in a fiber)",
        on / off
    );
}
