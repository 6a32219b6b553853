//! The memory probe's client: opens N keep-alive connections to a server,
//! sends one `GET /hello` on each and reads the whole response, then holds
//! every connection open, idle, while `memory.sh` reads the server's RSS.
//!
//! ```text
//! idle_clients --addr 127.0.0.1:8081 [--conns 10000] [--hold 30]
//! ```
//!
//! It prints `holding N connections` once all N have had their answer (the
//! line `memory.sh` waits for), then sleeps for `--hold` seconds and exits,
//! closing them all. It fails with a clear message if any connection cannot
//! be opened or gets anything but a complete `200` response: a probe that
//! held fewer connections than it claims would understate the cost.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::exit;
use std::time::{Duration, Instant};

use sylar_peers::HELLO_PATH;

/// What the command line asked for.
#[derive(Debug)]
struct Options {
    addr: SocketAddr,
    conns: usize,
    hold: Duration,
}

fn options() -> Options {
    let usage = || -> ! {
        eprintln!("usage: idle_clients --addr HOST:PORT [--conns N (10000)] [--hold SECS (30)]");
        exit(2);
    };
    let mut addr = None;
    let mut conns = 10_000;
    let mut hold = 30;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().unwrap_or_else(|_| usage())),
            "--conns" => conns = value.parse().unwrap_or_else(|_| usage()),
            "--hold" => hold = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    Options {
        addr: addr.unwrap_or_else(|| usage()),
        conns,
        hold: Duration::from_secs(hold),
    }
}

/// Sends one request on `stream` and reads exactly one response, checking it
/// is a `200` with a `Content-Length` body. The connection stays open.
fn one_request(stream: &mut TcpStream, host: &SocketAddr) -> io::Result<()> {
    let request = format!("GET {HELLO_PATH} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut buf = [0u8; 4096];
    let mut len = 0;
    loop {
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection before answering",
            ));
        }
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response
            .parse(&buf[..len])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let httparse::Status::Complete(head) = parsed else {
            if len == buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "response head too long",
                ));
            }
            continue;
        };
        if response.code != Some(200) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("status {:?}, expected 200", response.code),
            ));
        }
        let body_len = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| {
                std::str::from_utf8(h.value)
                    .ok()?
                    .trim()
                    .parse::<usize>()
                    .ok()
            })
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
        if head + body_len > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response too long",
            ));
        }
        // Read the rest of the body, if it did not arrive with the head.
        while len < head + body_len {
            let n = stream.read(&mut buf[len..head + body_len])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "body cut short",
                ));
            }
            len += n;
        }
        return Ok(());
    }
}

fn main() {
    let opts = options();
    let started = Instant::now();
    let mut held = Vec::with_capacity(opts.conns);
    for i in 0..opts.conns {
        let result = TcpStream::connect(opts.addr).and_then(|mut stream| {
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            one_request(&mut stream, &opts.addr)?;
            Ok(stream)
        });
        match result {
            Ok(stream) => held.push(stream),
            Err(e) => {
                eprintln!("idle_clients: connection {} of {}: {e}", i + 1, opts.conns);
                if e.raw_os_error() == Some(EMFILE) {
                    eprintln!("idle_clients: out of file descriptors: raise `ulimit -n`");
                }
                exit(1);
            }
        }
    }
    println!(
        "holding {} connections (opened in {:.1} s)",
        held.len(),
        started.elapsed().as_secs_f64()
    );
    // Flush now: `memory.sh` waits for this line before it measures.
    io::stdout().flush().ok();
    std::thread::sleep(opts.hold);
    drop(held);
}

/// `EMFILE` ("too many open files") on Linux, without a libc dependency
/// for one constant.
const EMFILE: i32 = 24;
