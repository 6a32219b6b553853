//! Opens `--conns` connections at once (a thread each), sends `GET /hello`
//! on each and waits up to `--answer-secs` for the answer, then holds every
//! connection open until `--hold-secs` have passed since the start. Against
//! a server out of file descriptors, some are served and the rest shed
//! (closed at once) or left waiting in the listen queue.
//!
//! ```text
//! hold --addr 127.0.0.1:18181 [--conns 100] [--answer-secs 5] [--hold-secs 10]
//! ```
//!
//! Prints `hold: ... holding` once every connection has its outcome (the
//! line run.sh waits for before it measures the server's CPU), and a last
//! summary line when it lets go.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

use sylar_reliability::{Args, Outcome, read_hello};

const USAGE: &str = "--addr HOST:PORT [--conns 100] [--answer-secs 5] [--hold-secs 10]";

fn main() {
    let args = Args::parse("hold", USAGE);
    let addr = args.addr();
    let conns: usize = args.get("conns", 100);
    let answer = Duration::from_secs(args.get("answer-secs", 5));
    let hold = Duration::from_secs(args.get("hold-secs", 10));
    let start = Instant::now();
    let release = Arc::new(Barrier::new(conns + 1));
    let (tx, rx) = mpsc::channel();
    let clients: Vec<_> = (0..conns)
        .map(|_| {
            let (release, tx) = (release.clone(), tx.clone());
            std::thread::spawn(move || {
                let opened = TcpStream::connect_timeout(&addr, answer);
                let (outcome, stream) = match opened {
                    Err(_) => (None, None),
                    Ok(mut s) => match s.write_all(b"GET /hello HTTP/1.1\r\nHost: h\r\n\r\n") {
                        Err(_) => (Some(Outcome::Reset), None),
                        Ok(()) => (Some(read_hello(&mut s, answer)), Some(s)),
                    },
                };
                tx.send(outcome).unwrap();
                release.wait(); // hold the connection until everyone lets go
                drop(stream);
            })
        })
        .collect();
    drop(tx);
    let outcomes: Vec<Option<Outcome>> = rx.iter().take(conns).collect();
    let count = |o: Option<Outcome>| outcomes.iter().filter(|&&x| x == o).count();
    let summary = format!(
        "conns={conns} served={} shed={} reset={} waiting={} wrong={} connect_failed={}",
        count(Some(Outcome::Served)),
        count(Some(Outcome::Closed)),
        count(Some(Outcome::Reset)),
        count(Some(Outcome::TimedOut)),
        count(Some(Outcome::Wrong)),
        count(None),
    );
    println!("hold: {summary} holding");
    std::io::stdout().flush().ok();
    std::thread::sleep(hold.saturating_sub(start.elapsed()));
    release.wait();
    for client in clients {
        let _ = client.join();
    }
    println!(
        "hold: released after {:.1} s",
        start.elapsed().as_secs_f64()
    );
}
