//! Chapter 7 benchmark: the HTTP session's own cost per keep-alive request,
//! in memory (no socket, no hook, no reactor), against the least the same
//! exchange can cost in Rust: `httparse` on the request head and a response
//! of the same bytes copied out whole.
//!
//! Run: `cargo bench -p sylar-tcpserver --bench http`

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sylar_tcpserver::builtin::{self, SERVER_NAME};
use sylar_tcpserver::http::{HttpLimits, ServletDispatch, SessionStats, serve_connection};

const REQUESTS: usize = 200_000;

/// What wrk sends for `wrk http://127.0.0.1:8080/hello`.
const WRK_HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

/// A browser's request for the same page: eight more header lines.
const BROWSER_HELLO: &[u8] = b"GET /hello?lang=en HTTP/1.1\r\n\
Host: 127.0.0.1:8080\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

/// A POST to `/echo` with a 64-byte body, which comes back.
const ECHO_POST: &[u8] = b"POST /echo HTTP/1.1\r\n\
Host: 127.0.0.1:8080\r\n\
Content-Type: text/plain\r\n\
Content-Length: 64\r\n\
\r\n\
0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A client on the other end of an in-memory connection: each read hands
/// the session one whole request, as a keep-alive client that waits for each
/// answer does; after `left` requests it hangs up. It counts what is written
/// and keeps the first 4 KiB of it.
struct Client {
    request: &'static [u8],
    left: usize,
    written: usize,
    writes: usize,
    output: Vec<u8>,
}

impl Client {
    fn new(request: &'static [u8], requests: usize) -> Client {
        Client {
            request,
            left: requests,
            written: 0,
            writes: 0,
            output: Vec::new(),
        }
    }
}

impl Read for Client {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        assert!(
            buf.len() >= self.request.len(),
            "the session reads in small pieces"
        );
        self.left -= 1;
        buf[..self.request.len()].copy_from_slice(self.request);
        Ok(self.request.len())
    }
}

/// Bytes in memory: a write never waits.
impl sylar_tcpserver::http::SessionStream for Client {}

impl Write for Client {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len();
        self.writes += 1;
        if self.output.len() < 4096 {
            self.output.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The session answering `REQUESTS` of `request`, each with `response`'s
/// length: ns per request.
fn session(dispatch: &ServletDispatch, request: &'static [u8], response: &[u8]) -> f64 {
    let limits = HttpLimits::default();
    let stats = SessionStats::new();
    let mut client = Client::new(request, REQUESTS);
    let start = Instant::now();
    serve_connection(&mut client, dispatch, &limits, SERVER_NAME, &stats).unwrap();
    let elapsed = start.elapsed();
    assert!(client.writes >= REQUESTS, "every request was answered");
    assert_eq!(
        client.written,
        REQUESTS * response.len(),
        "same answer each time"
    );
    per(elapsed)
}

/// The floor for `request`: parse its head with `httparse` and copy out
/// `response`, our answer to it, whole (no date to format, no headers to
/// check, no routing, no body framing to decide).
fn floor(request: &'static [u8], response: &[u8]) -> f64 {
    let mut out = Vec::with_capacity(4096);
    let start = Instant::now();
    for _ in 0..REQUESTS {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        let parsed = req.parse(black_box(request)).unwrap();
        assert!(parsed.is_complete());
        out.clear();
        out.extend_from_slice(response);
        black_box(&out);
    }
    per(start.elapsed())
}

/// Our response to one `request`, as the session writes it.
fn our_response(dispatch: &ServletDispatch, request: &'static [u8]) -> Vec<u8> {
    let mut client = Client::new(request, 1);
    let (limits, stats) = (HttpLimits::default(), SessionStats::new());
    serve_connection(&mut client, dispatch, &limits, SERVER_NAME, &stats).unwrap();
    assert!(client.output.starts_with(b"HTTP/1.1 200 OK\r\n"));
    client.output
}

fn per(d: Duration) -> f64 {
    d.as_nanos() as f64 / REQUESTS as f64
}

/// Runs `f` once to warm up, then five times; the median.
fn median(mut f: impl FnMut() -> f64) -> f64 {
    black_box(f());
    let mut runs: Vec<f64> = (0..5).map(|_| f()).collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    let dispatch = builtin::dispatch(Arc::new(OnceLock::new()));
    let cases = [
        ("GET /hello as wrk sends it", WRK_HELLO),
        ("GET /hello as a browser sends it", BROWSER_HELLO),
        ("POST /echo with 64 bytes", ECHO_POST),
    ];
    println!("{REQUESTS} keep-alive requests in memory, ns per request (median of 5)");
    println!("  {:<36}{:>12}{:>12}", "", "floor", "session");
    for (name, request) in cases {
        let response = our_response(&dispatch, request);
        let floor_ns = median(|| floor(request, &response));
        let session_ns = median(|| session(&dispatch, request, &response));
        println!(
            "  {name:<36}{floor_ns:>12.1}{session_ns:>12.1}   {:.2}x the floor ({} bytes back)",
            session_ns / floor_ns,
            response.len()
        );
    }
}
