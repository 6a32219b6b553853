//! What the reliability clients share: a tiny `--flag value` parser, closing
//! with a reset, and reading one response.
//!
//! Each client prints one `key=value` summary line that `run.sh` parses, and
//! exits 0 unless its arguments were wrong: judging the figures is the
//! script's job.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::exit;
use std::time::Duration;

/// `--name value` pairs from the command line, with defaults.
#[derive(Debug)]
pub struct Args {
    program: &'static str,
    usage: &'static str,
    values: HashMap<String, String>,
}

impl Args {
    /// Parses the command line; `usage` lists the flags (shown on errors).
    pub fn parse(program: &'static str, usage: &'static str) -> Args {
        let mut values = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let (Some(name), Some(value)) = (flag.strip_prefix("--"), args.next()) else {
                fail(program, usage, &format!("unexpected argument {flag:?}"));
            };
            values.insert(name.to_owned(), value);
        }
        Args {
            program,
            usage,
            values,
        }
    }

    /// The value of `--name` parsed as `T`, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.values.get(name) {
            None => default,
            Some(text) => text.parse().unwrap_or_else(|_| {
                fail(self.program, self.usage, &format!("bad --{name} {text:?}"))
            }),
        }
    }

    /// The server address (`--addr`), required.
    pub fn addr(&self) -> SocketAddr {
        let text = self.values.get("addr").map(String::as_str).unwrap_or("");
        text.parse()
            .unwrap_or_else(|_| fail(self.program, self.usage, "--addr HOST:PORT is required"))
    }
}

fn fail(program: &str, usage: &str, why: &str) -> ! {
    eprintln!("{program}: {why}\nusage: {program} {usage}");
    exit(2);
}

// ANCHOR: reset
/// Closes `stream` with a reset (RST) instead of a FIN: SO_LINGER with a
/// zero timeout makes close(2) drop unsent data and abort the connection.
pub fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a pointer to a live `linger` of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}
// ANCHOR_END: reset

/// How one request on a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A whole `200` response with the expected body.
    Served,
    /// The server closed the connection (end of file) before answering.
    Closed,
    /// The server reset the connection before answering.
    Reset,
    /// No answer within the timeout.
    TimedOut,
    /// Anything else: a malformed or unexpected response.
    Wrong,
}

/// Reads one response to `GET /hello` (a `Content-Length` body of `Hello
/// World`) and classifies how it ended.
pub fn read_hello(stream: &mut TcpStream, timeout: Duration) -> Outcome {
    if stream.set_read_timeout(Some(timeout)).is_err() {
        return Outcome::Reset;
    }
    let expected = b"Hello World";
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) if got.is_empty() => return Outcome::Closed,
            Ok(0) => return Outcome::Wrong,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::TimedOut;
            }
            Err(_) if got.is_empty() => return Outcome::Reset,
            Err(_) => return Outcome::Wrong,
        }
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let body = &got[end + 4..];
            if body.len() >= expected.len() {
                let ok = head.starts_with("http/1.1 200 ")
                    && head.contains("content-length: 11")
                    && body == expected;
                return if ok { Outcome::Served } else { Outcome::Wrong };
            }
        }
    }
}

/// `min`, median and `max` of `values` (sorted in place), or zeros.
pub fn spread(values: &mut [u64]) -> (u64, u64, u64) {
    values.sort_unstable();
    match values {
        [] => (0, 0, 0),
        _ => (
            values[0],
            values[values.len() / 2],
            values[values.len() - 1],
        ),
    }
}
