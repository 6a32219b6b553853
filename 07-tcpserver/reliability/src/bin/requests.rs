//! Keep-alive clients that tell a clean close from a reset: `--conns`
//! connections (a thread each) send `GET /hello` one after another for
//! `--secs` seconds, or until the server ends the connection. Each ending is
//! classified: closed cleanly (end of file before the next response began),
//! reset, timed out, or cut in the middle of a response (wrong).
//!
//! ```text
//! requests --addr 127.0.0.1:18180 [--conns 200] [--secs 10]
//! ```
//!
//! run.sh runs it through a shutdown: every request the server accepted must
//! be answered, and every connection it ends must end with a FIN, never a
//! reset or half a response. Connections refused once the server has gone
//! are counted apart (`refused`).

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use sylar_reliability::{Args, Outcome, read_hello};

const USAGE: &str = "--addr HOST:PORT [--conns 200] [--secs 10]";

fn main() {
    let args = Args::parse("requests", USAGE);
    let addr = args.addr();
    let conns: usize = args.get("conns", 200);
    let secs = Duration::from_secs(args.get("secs", 10));
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    for _ in 0..conns {
        let (tx, stop) = (tx.clone(), stop.clone());
        std::thread::spawn(move || {
            let (mut served, mut ending) = (0_u64, None);
            match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                Err(_) => ending = Some("refused"),
                Ok(mut s) => {
                    while !stop.load(Ordering::Relaxed) {
                        if s.write_all(b"GET /hello HTTP/1.1\r\nHost: q\r\n\r\n")
                            .is_err()
                        {
                            // Closed under us: the read says how.
                        }
                        match read_hello(&mut s, Duration::from_secs(10)) {
                            Outcome::Served => served += 1,
                            Outcome::Closed => {
                                ending = Some("closed");
                                break;
                            }
                            Outcome::Reset => {
                                ending = Some("reset");
                                break;
                            }
                            Outcome::TimedOut => {
                                ending = Some("timeout");
                                break;
                            }
                            Outcome::Wrong => {
                                ending = Some("wrong");
                                break;
                            }
                        }
                    }
                }
            }
            let _ = tx.send((served, ending));
        });
    }
    drop(tx);
    let deadline = start + secs;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let results: Vec<(u64, Option<&str>)> = rx.iter().collect();
    let served: u64 = results.iter().map(|r| r.0).sum();
    let count = |what: &str| results.iter().filter(|r| r.1 == Some(what)).count();
    println!(
        "requests: conns={conns} served={served} closed={} reset={} timeout={} wrong={} refused={} still_open={}",
        count("closed"),
        count("reset"),
        count("timeout"),
        count("wrong"),
        count("refused"),
        results.iter().filter(|r| r.1.is_none()).count(),
    );
}
