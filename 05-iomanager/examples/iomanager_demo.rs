//! Chapter 5 demo: fibers that park on sockets and on time, on one worker
//! thread, and a `stop` that wakes whoever still waits.
//!
//! Run: `cargo run -p sylar-iomanager --example iomanager_demo`
//!
//! Tasks report through a channel and `main` prints, so the output is the
//! same on every run.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use sylar_iomanager::{Event, EventError, IoHandle, IoManager, WakeReason};

/// A connected pair of non-blocking Unix stream sockets.
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("non-blocking");
    b.set_nonblocking(true).expect("non-blocking");
    (a, b)
}

/// Blocks `main` (a plain thread) until `n` waiters are parked in the I/O
/// manager, so that what follows wakes a fiber that really waits.
fn until_parked(iom: &IoManager, n: usize) {
    while iom.pending_events() < n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ANCHOR: read_parked
/// Reads into `buf` inside a fiber: try the read, and while it would block,
/// park until epoll says the socket is readable. Returns the byte count, or
/// the reason the wait ended if it was not `Woken`.
fn read_parked(io: &IoHandle, s: &mut UnixStream, buf: &mut [u8]) -> Result<usize, WakeReason> {
    loop {
        match s.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match io.wait(s.as_raw_fd(), Event::Read, None) {
                    Ok(WakeReason::Woken) => continue,
                    Ok(other) => return Err(other),
                    Err(e) => panic!("cannot wait: {e}"),
                }
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
}
// ANCHOR_END: read_parked

fn main() {
    // ANCHOR: new
    // One worker thread, "demo_0", runs every fiber below.
    let iom = IoManager::new(1, false, "demo").expect("epoll and eventfd");
    let (tx, rx) = mpsc::channel::<String>();
    // ANCHOR_END: new

    println!("1. a fiber parks on a socket; a write from main wakes it");
    // ANCHOR: park_on_socket
    let (mut reader, mut writer) = pair();
    let out = tx.clone();
    iom.schedule(move || {
        let io = IoHandle::current().expect("on an I/O manager");
        let mut buf = [0u8; 16];
        let n = read_parked(&io, &mut reader, &mut buf).expect("data");
        let thread = std::thread::current();
        out.send(format!(
            "fiber on {} read {:?}",
            thread.name().unwrap_or("?"),
            String::from_utf8_lossy(&buf[..n])
        ))
        .unwrap();
    })
    .unwrap();
    until_parked(&iom, 1);
    println!("parked waiters: {}", iom.pending_events());
    writer.write_all(b"hello").unwrap();
    println!("{}", rx.recv().unwrap());
    println!("parked waiters: {}", iom.pending_events());
    // ANCHOR_END: park_on_socket

    println!("\n2. one waiter per fd and direction: a second is an error");
    // ANCHOR: second_waiter
    let (quiet, _quiet_peer) = pair();
    let fd = quiet.as_raw_fd();
    iom.add_event(fd, Event::Read, |_| {}).unwrap();
    match iom.add_event(fd, Event::Read, |_| {}) {
        Err(EventError::AlreadyWaiting(_, event)) => {
            println!("second waiter for {event:?}: refused, the process lives on")
        }
        other => println!("unexpected: {other:?}"),
    }
    // Forget the fd before closing it: its callback is woken with Cancelled.
    iom.forget_fd(fd);
    drop(quiet);
    // ANCHOR_END: second_waiter

    println!("\n3. a wait with a deadline, on a socket that stays silent");
    // ANCHOR: timeout
    let (silent, _silent_peer) = pair();
    let out = tx.clone();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(50);
        let reason = io.wait(silent.as_raw_fd(), Event::Read, Some(deadline));
        out.send(format!(
            "wait returned {:?} after at least 50 ms: {}",
            reason.unwrap(),
            start.elapsed() >= Duration::from_millis(50)
        ))
        .unwrap();
        io.forget_fd(silent.as_raw_fd());
    })
    .unwrap();
    println!("{}", rx.recv().unwrap());
    // ANCHOR_END: timeout

    println!("\n4. a sleeping fiber does not hold its thread");
    // ANCHOR: sleep
    let out = tx.clone();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let start = Instant::now();
        let reason = io.sleep(Duration::from_millis(100)).unwrap();
        out.send(format!(
            "sleeper: woke {reason:?} after at least 100 ms: {}",
            start.elapsed() >= Duration::from_millis(100)
        ))
        .unwrap();
    })
    .unwrap();
    let out = tx.clone();
    iom.schedule(move || {
        out.send("another fiber ran on demo_0 meanwhile".into())
            .unwrap()
    })
    .unwrap();
    println!("{}", rx.recv().unwrap());
    println!("{}", rx.recv().unwrap());
    // ANCHOR_END: sleep

    println!("\n5. a recurring timer, cancelled after three ticks");
    // ANCHOR: recurring
    let ticks = Arc::new(AtomicUsize::new(0));
    let (tick_tx, tick_rx) = mpsc::channel();
    let counter = ticks.clone();
    let timer = iom.add_recurring_timer(Duration::from_millis(10), move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = tick_tx.send(n);
    });
    let first: Vec<usize> = tick_rx.iter().take(3).collect();
    println!("ticks {first:?}; cancel() -> {}", timer.cancel());
    println!("cancel() again -> {} (already cancelled)", timer.cancel());
    // ANCHOR_END: recurring

    println!("\n6. stop wakes a fiber that would wait forever, and ends a recurring timer");
    // ANCHOR: stop
    let (mut never, _never_peer) = pair();
    let out = tx.clone();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let mut buf = [0u8; 1];
        let result = read_parked(&io, &mut never, &mut buf);
        out.send(format!("the parked fiber's read ended with {result:?}"))
            .unwrap();
    })
    .unwrap();
    iom.add_recurring_timer(Duration::from_millis(5), || {});
    until_parked(&iom, 1);
    println!(
        "before stop: {} parked waiter, {} live timer",
        iom.pending_events(),
        iom.timers().len()
    );
    iom.stop();
    println!("stop returned");
    println!("{}", rx.recv().unwrap());
    println!(
        "after stop: {} parked waiters, {} live timers",
        iom.pending_events(),
        iom.timers().len()
    );
    // ANCHOR_END: stop
}
