//! What asking the kernel how much a peer has not taken costs a paced write.
//!
//! The response pace asks a TCP socket for its unacknowledged bytes
//! (`SessionStream::unread_by_peer`, an `ioctl(SIOCOUTQ)`) before each
//! write but a response's first. This times that question on a loopback
//! connection whose send queue is full, and a paced write of 64 KiB (the
//! size of a streamed body's piece) to a client that drains as fast as it
//! can, so the two can be compared.
//!
//! Run: `cargo run --release -p sylar-tcpserver --example unread_cost`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use sylar_tcpserver::http::SessionStream;

/// Questions asked, writes made.
const QUESTIONS: u32 = 1_000_000;
const WRITES: u32 = 20_000;

/// A connected pair on loopback: (the server's end, the client's).
fn pair() -> std::io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((server, client))
}

/// Nanoseconds per iteration of `f`, run `n` times.
fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let began = Instant::now();
    for _ in 0..n {
        f();
    }
    began.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() -> std::io::Result<()> {
    // A client that reads nothing: the server's send queue fills, and the
    // question has something to count.
    let (mut server, _idle) = pair()?;
    server.set_write_timeout(Some(Duration::from_millis(200)))?;
    let chunk = vec![b'x'; 64 * 1024];
    while server.write(&chunk).is_ok() {}
    let queued = server.unread_by_peer().unwrap_or(0);
    let mut sum = 0usize;
    let ask = per_call(QUESTIONS, || {
        sum = sum.wrapping_add(std::hint::black_box(&server).unread_by_peer().unwrap_or(0));
    });
    println!("unread_by_peer: {ask:.0} ns a call ({queued} bytes queued; sum {sum})");

    // A client that drains: what one 64 KiB write costs beside it.
    let (mut server, mut client) = pair()?;
    let drain = std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        while matches!(client.read(&mut buf), Ok(n) if n > 0) {}
    });
    let write = per_call(WRITES, || {
        server.write_all(&chunk).expect("the draining client left");
    });
    drop(server);
    drain.join().expect("the drain thread panicked");
    println!(
        "write_all of 64 KiB: {write:.0} ns; the question adds {:.1} %",
        100.0 * ask / write
    );
    Ok(())
}
