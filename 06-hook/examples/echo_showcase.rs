//! The chapter's showcase: plain, blocking-style `std::net` code — no async,
//! no callbacks — serving thousands of concurrent clients on ONE thread.
//!
//! Run: `cargo run --release -p sylar-hook --example echo_showcase -- 2000`
//!
//! A server I/O manager (1 thread) accepts and echoes; a client I/O manager
//! (1 thread) opens N connections, holds them all open at once, then each
//! client sends a line and reads it back.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sylar_hook as _; // link the hooks (see `sylar_hook::is_live`)
use sylar_iomanager::{IoHandle, IoManager};

/// Counts live connections and remembers the most seen at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn up(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }
    fn down(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

// ANCHOR: serve
/// The whole server: an accept loop and a fiber per connection that echoes
/// lines. Nothing here knows about fibers. (When the I/O manager stops, the
/// parked `accept` fails with ECANCELED: the loop must end on errors, or it
/// would accept again for ever.)
fn serve(listener: TcpListener, gauge: Arc<Gauge>) {
    let io = IoHandle::current().expect("runs on an I/O manager");
    for conn in listener.incoming() {
        let Ok(conn) = conn else { break };
        let gauge = gauge.clone();
        io.schedule(move || {
            gauge.up();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut writer = conn;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if writer.write_all(line.as_bytes()).is_err() {
                    break;
                }
                line.clear();
            }
            gauge.down();
        })
        .unwrap();
    }
}
// ANCHOR_END: serve

/// Raises the soft fd limit: each connection costs two fds here.
fn raise_fd_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_cur.max(wanted.min(limit.rlim_max));
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

fn main() {
    let clients: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    raise_fd_limit(2 * clients as u64 + 100);
    let server = IoManager::new(1, false, "server").unwrap();
    let client_side = IoManager::new(1, false, "clients").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let gauge = Arc::new(Gauge::default());
    let g = gauge.clone();
    server.schedule(move || serve(listener, g)).unwrap();

    let start = Instant::now();
    let connected = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for i in 0..clients {
        let (connected, done_tx) = (connected.clone(), done_tx.clone());
        client_side
            .schedule(move || {
                let mut conn = TcpStream::connect(addr).unwrap();
                connected.fetch_add(1, Ordering::SeqCst);
                // Hold on until every client is connected (sleep parks).
                while connected.load(Ordering::SeqCst) < clients {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let line = format!("hello from client {i}\n");
                conn.write_all(line.as_bytes()).unwrap();
                let mut back = String::new();
                BufReader::new(&conn).read_line(&mut back).unwrap();
                done_tx.send(back == line).unwrap();
            })
            .unwrap();
    }
    let echoed = (0..clients).filter(|_| done_rx.recv().unwrap()).count();
    let elapsed = start.elapsed();
    println!("clients:                  {clients}");
    println!("echoed correctly:         {echoed}");
    println!(
        "most connections at once: {}",
        gauge.max.load(Ordering::SeqCst)
    );
    println!("server threads:           1");
    println!(
        "time:                     {:.0} ms",
        elapsed.as_secs_f64() * 1e3
    );
    client_side.stop();
    server.stop();
}
