//! Streamed response bodies (`HttpResponse::set_body_reader`): pulled from a
//! reader after the servlet returns, in bounded pieces, framed by the declared
//! length (`Content-Length`), or chunked, or by the close for HTTP/1.0; cut
//! honestly when the reader fails, panics or ends short; never read for
//! `HEAD`; and costing the same memory whatever their size.

#[path = "common/http.rs"]
mod common;
#[path = "common/counting.rs"]
mod counting;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use common::{PATIENCE, TestServer, parse_one, read_response};
use counting::{Counting, Memory, allocated};
use sylar_iomanager::IoManager;
use sylar_tcpserver::HttpServer;
use sylar_tcpserver::http::{
    HttpConnection, HttpLimits, HttpRequest, HttpResponse, ServletDispatch, SessionStats,
    serve_connection,
};

const MIB: u64 = 1024 * 1024;

/// The byte at offset `i` of every test body: not periodic at any power of
/// two, so a dropped, repeated or swapped piece shows.
fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

fn pattern(len: u64) -> Vec<u8> {
    (0..len).map(pattern_byte).collect()
}

/// The uneven sizes the pattern reader hands out, in turn (each capped by the
/// buffer it is given and by what is left).
const READ_SIZES: [usize; 6] = [1, 1000, 65_536, 70_000, 17, 40_000];

/// How a [`PatternReader`] ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    /// After `total` bytes, `Ok(0)`.
    Eof,
    /// At `total` bytes, an error.
    Error,
    /// At `total` bytes, a panic.
    Panic,
}

/// Yields `total` bytes of the pattern in uneven reads, then ends as told;
/// counts its reads and the bytes it gave.
struct PatternReader {
    at: u64,
    total: u64,
    end: End,
    turn: usize,
    reads: Arc<AtomicUsize>,
    given: Arc<AtomicU64>,
}

impl PatternReader {
    fn new(total: u64, end: End) -> PatternReader {
        PatternReader {
            at: 0,
            total,
            end,
            turn: 0,
            reads: Arc::new(AtomicUsize::new(0)),
            given: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let left = self.total - self.at;
        if left == 0 {
            match self.end {
                End::Eof => return Ok(0),
                End::Error => return Err(io::Error::other("source failed (expected by the test)")),
                End::Panic => panic!("body reader failure (expected by the test)"),
            }
        }
        let size = READ_SIZES[self.turn % READ_SIZES.len()];
        self.turn += 1;
        let n = size
            .min(buf.len())
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        for (k, byte) in buf[..n].iter_mut().enumerate() {
            *byte = pattern_byte(self.at + k as u64);
        }
        self.at += n as u64;
        self.given.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

/// Every path `/stream` takes its reader from the query: `size` bytes of
/// the pattern, then `end` (`eof`, `error`, `panic`), declared as `len`
/// bytes (absent: unknown). `/plain` is a buffered answer. The counters are
/// the last reader's.
fn stream_dispatch() -> (ServletDispatch, Arc<AtomicUsize>, Arc<AtomicU64>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let given = Arc::new(AtomicU64::new(0));
    let mut dispatch = ServletDispatch::new();
    let (r, g) = (reads.clone(), given.clone());
    dispatch.add_servlet(
        "/stream",
        move |req: &HttpRequest, resp: &mut HttpResponse| {
            let num = |name: &str| req.query_param(name).map(|v| v.parse::<u64>().unwrap());
            let end = match req.query_param("end").as_deref() {
                Some("error") => End::Error,
                Some("panic") => End::Panic,
                _ => End::Eof,
            };
            let mut reader = PatternReader::new(num("size").unwrap(), end);
            reader.reads = r.clone();
            reader.given = g.clone();
            r.store(0, Ordering::SeqCst);
            g.store(0, Ordering::SeqCst);
            resp.set_content_type("application/octet-stream");
            resp.set_body("buffered, replaced by the reader");
            resp.set_body_reader(reader, num("len"));
        },
    );
    dispatch.add_servlet("/plain", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body("plain");
    });
    (dispatch, reads, given)
}

/// A response head: its lines (status first), and the rest of `bytes`.
fn split_head(bytes: &[u8]) -> (Vec<String>, &[u8]) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8(bytes[..end].to_vec()).unwrap();
    (
        head.split("\r\n").map(str::to_owned).collect(),
        &bytes[end + 4..],
    )
}

fn field<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// Decodes a chunked body that may be cut: the data, each chunk's size,
/// and whether the terminating `0\r\n\r\n` came.
fn lenient_chunks(mut wire: &[u8]) -> (Vec<u8>, Vec<usize>, bool) {
    let (mut data, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let Some(eol) = wire.windows(2).position(|w| w == b"\r\n") else {
            return (data, sizes, false);
        };
        let size = usize::from_str_radix(std::str::from_utf8(&wire[..eol]).unwrap(), 16).unwrap();
        wire = &wire[eol + 2..];
        if size == 0 {
            assert_eq!(wire, b"\r\n", "bytes after the terminating chunk");
            return (data, sizes, true);
        }
        if wire.len() < size + 2 {
            data.extend_from_slice(&wire[..wire.len().min(size)]);
            return (data, sizes, false);
        }
        assert_eq!(&wire[size..size + 2], b"\r\n");
        data.extend_from_slice(&wire[..size]);
        sizes.push(size);
        wire = &wire[size + 2..];
    }
}

/// The chunk sizes a [`PatternReader`] of `total` bytes gives: one chunk a
/// read, each read at most 64 KiB (the session's piece).
fn expected_chunk_sizes(total: u64) -> Vec<usize> {
    let (mut left, mut sizes) = (total as usize, Vec::new());
    for turn in 0.. {
        if left == 0 {
            break;
        }
        let n = READ_SIZES[turn % READ_SIZES.len()].min(64 * 1024).min(left);
        sizes.push(n);
        left -= n;
    }
    sizes
}

#[test]
fn a_16_mib_body_of_unknown_length_arrives_chunked_and_intact() {
    let (dispatch, reads, _) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let size = 16 * MIB;
    let all = server.exchange(
        format!("GET /stream?size={size} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    let (head, wire) = split_head(&all);
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert_eq!(field(&head, "transfer-encoding"), Some("chunked"));
    assert_eq!(field(&head, "content-length"), None);
    assert_eq!(
        field(&head, "content-type"),
        Some("application/octet-stream")
    );
    let (body, sizes, terminated) = lenient_chunks(wire);
    assert!(terminated, "the chunked body has its terminator");
    assert!(body == pattern(size), "the body arrived altered");
    assert_eq!(
        sizes,
        expected_chunk_sizes(size),
        "one chunk a read, 64 KiB at most"
    );
    assert_eq!(
        reads.load(Ordering::SeqCst),
        sizes.len() + 1,
        "read to the end once"
    );
    assert_eq!(server.next_outcome(), Ok(()));
}

#[test]
fn a_16_mib_body_of_known_length_has_content_length_and_nothing_more_is_read() {
    let (dispatch, _, given) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let len = 16 * MIB;
    // The reader has a mebibyte more than declared: it must not be read.
    let size = len + MIB;
    let resp = parse_one(
        &server.exchange(
            format!(
                "GET /stream?size={size}&len={len} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        ),
    );
    assert_eq!(
        resp.header("content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(resp.header("transfer-encoding"), None);
    assert!(resp.body == pattern(len), "the body arrived altered");
    assert_eq!(
        given.load(Ordering::SeqCst),
        len,
        "no byte past the length read"
    );
}

#[test]
fn http10_gets_the_body_delimited_by_the_close() {
    let (dispatch, _, _) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let size = 3 * MIB + 5;
    // The client asks to keep the connection: without a length it cannot be.
    let all = server.exchange(
        format!("GET /stream?size={size} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").as_bytes(),
    );
    let (head, body) = split_head(&all);
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert_eq!(field(&head, "connection"), Some("close"));
    assert_eq!(field(&head, "content-length"), None);
    assert_eq!(field(&head, "transfer-encoding"), None);
    assert!(body == pattern(size), "the body arrived altered");
    assert_eq!(server.next_outcome(), Ok(()));

    // With a length, HTTP/1.0 keeps its keep-alive.
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(b"GET /stream?size=100&len=100 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut reader, false);
    assert_eq!(resp.header("connection"), Some("keep-alive"));
    assert_eq!(resp.body, pattern(100));
    writer
        .write_all(b"GET /plain HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).text(), "plain");
}

#[test]
fn head_reads_nothing_from_the_reader() {
    let (dispatch, reads, _) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    for (query, length) in [("size=5000&len=5000", Some("5000")), ("size=5000", None)] {
        writer
            .write_all(format!("HEAD /stream?{query} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        let resp = read_response(&mut reader, true);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-length"), length, "{query}");
        assert_eq!(resp.header("transfer-encoding"), None, "{query}");
        assert_eq!(resp.header("connection"), None, "{query}: kept alive");
        assert_eq!(
            reads.load(Ordering::SeqCst),
            0,
            "{query}: the reader was read"
        );
    }
    // No body bytes were sent: the next response starts right after the heads.
    writer
        .write_all(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).text(), "plain");
}

/// Fetches `/stream?{query}` on a new connection, expects the server to
/// close it, and checks the rest of the server still works.
fn fetch_cut(server: &TestServer, query: &str) -> (Vec<String>, Vec<u8>) {
    let all =
        server.exchange(format!("GET /stream?{query} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    assert_eq!(server.next_outcome(), Ok(()), "{query}");
    let (head, body) = split_head(&all);
    let body = body.to_vec();
    let fresh =
        parse_one(&server.exchange(b"GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    assert_eq!(fresh.text(), "plain", "the server serves on after {query}");
    assert_eq!(server.next_outcome(), Ok(()));
    (head, body)
}

#[test]
fn a_reader_that_fails_midway_cuts_the_body_and_the_connection() {
    let (dispatch, _, _) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let at = MIB + 3;
    for end in ["error", "panic"] {
        // Unknown length: chunked, and no terminator.
        let (head, wire) = fetch_cut(&server, &format!("size={at}&end={end}"));
        assert_eq!(field(&head, "transfer-encoding"), Some("chunked"), "{end}");
        let (body, _, terminated) = lenient_chunks(&wire);
        assert!(
            !terminated,
            "{end}: a cut chunked body must not look complete"
        );
        assert!(
            body == pattern(at),
            "{end}: what was read before the failure is sent"
        );

        // Known length: a short body.
        let len = 2 * MIB;
        let (head, body) = fetch_cut(&server, &format!("size={at}&end={end}&len={len}"));
        assert_eq!(
            field(&head, "content-length"),
            Some(len.to_string().as_str())
        );
        assert!(
            body == pattern(at),
            "{end}: the body stops where the reader failed"
        );
    }
    assert_eq!(
        server.stats.snapshot().panics,
        2,
        "each reader panic is counted (a reader is servlet code), no error is"
    );
}

#[test]
fn a_reader_shorter_than_its_length_closes_with_a_short_body() {
    let (dispatch, _, _) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let (head, body) = fetch_cut(&server, &format!("size={}&len={}", MIB, 2 * MIB));
    assert_eq!(
        field(&head, "content-length"),
        Some((2 * MIB).to_string().as_str())
    );
    assert_eq!(field(&head, "transfer-encoding"), None);
    assert!(
        body == pattern(MIB),
        "the short body is what the reader gave"
    );
}

/// Requests pipelined in one write around a chunked streamed response: the
/// buffered answer owed before it goes out before its head, and the one
/// after it follows its terminator.
#[test]
fn pipelined_requests_around_a_streamed_response_keep_their_order() {
    let (dispatch, _, _) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    let size = 200_000;
    writer
        .write_all(
            format!(
                "GET /plain HTTP/1.1\r\nHost: t\r\n\r\n\
                 GET /stream?size={size} HTTP/1.1\r\nHost: t\r\n\r\n\
                 GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(read_response(&mut reader, false).text(), "plain");
    let streamed = read_response(&mut reader, false);
    assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
    assert!(streamed.body == pattern(size), "the body arrived altered");
    assert_eq!(read_response(&mut reader, false).text(), "plain");
}

/// A reader whose own `Drop` panics (after counting the drop).
struct PanicsWhenDropped(Arc<AtomicUsize>);

impl Read for PanicsWhenDropped {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("a body reader fails as it is dropped (expected by the test)");
    }
}

/// A reader's `Drop` is servlet code: its panic is contained whether the
/// body was sent, skipped for `HEAD`, or left behind by a servlet that
/// panicked after handing it over; the connection and the server go on.
#[test]
fn a_reader_that_panics_when_dropped_is_contained_on_every_path() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut dispatch = ServletDispatch::new();
    let d = drops.clone();
    dispatch.add_servlet(
        "/drop",
        move |req: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body_reader(PanicsWhenDropped(d.clone()), Some(0));
            if req.query_param("then").as_deref() == Some("panic") {
                panic!("the servlet fails after handing a reader over (expected by the test)");
            }
        },
    );
    dispatch.add_servlet("/plain", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body("plain");
    });
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(
            b"GET /drop HTTP/1.1\r\nHost: t\r\n\r\n\
              HEAD /drop HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /plain HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
    let sent = read_response(&mut reader, false);
    assert_eq!(
        (sent.status, sent.header("content-length")),
        (200, Some("0"))
    );
    let head = read_response(&mut reader, true);
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("0"))
    );
    assert_eq!(read_response(&mut reader, false).text(), "plain");
    assert_eq!(drops.load(Ordering::SeqCst), 2);

    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(b"GET /drop?then=panic HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).status, 500);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert_eq!(
        server.stats.snapshot().panics,
        1,
        "the servlet's panic only"
    );
    let plain = server.exchange(b"GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(parse_one(&plain).text(), "plain");
}

#[test]
fn keep_alive_goes_on_after_streamed_responses() {
    let (dispatch, _, _) = stream_dispatch();
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    let size = 300_000;
    writer
        .write_all(format!("GET /stream?size={size} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    let chunked = read_response(&mut reader, false);
    assert_eq!(chunked.header("transfer-encoding"), Some("chunked"));
    assert_eq!(chunked.body, pattern(size));
    // Two more, pipelined: a streamed one with a length, then a buffered one.
    writer
        .write_all(
            format!(
                "GET /stream?size={size}&len={size} HTTP/1.1\r\nHost: t\r\n\r\n\
                 GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let sized = read_response(&mut reader, false);
    assert_eq!(
        sized.header("content-length"),
        Some(size.to_string().as_str())
    );
    assert_eq!(sized.body, pattern(size));
    let plain = read_response(&mut reader, false);
    assert_eq!(plain.text(), "plain");
    assert_eq!(plain.header("content-length"), Some("5"));
    assert_eq!(server.stats.snapshot().connections, 1);
    assert_eq!(server.stats.snapshot().requests, 3);
    // Nothing stray follows the last response.
    drop(writer);
    reader
        .get_ref()
        .shutdown(std::net::Shutdown::Write)
        .unwrap();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "stray bytes: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

// The memory test: the counting allocator of `common/counting.rs`, as in
// http_allocation.rs.

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations and bytes allocated while serving two streamed responses of
/// `size` bytes (chunked, then with a length) and a buffered one on one
/// connection in memory; and the bytes written.
fn allocations_for(size: u64, dispatch: &ServletDispatch) -> ((u64, u64), u64) {
    // Zero-padded: the servlet's copies of the query values are the same
    // size whatever the body's.
    let input = format!(
        "GET /stream?size={size:012} HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /stream?size={size:012}&len={size:012} HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"
    );
    let (limits, stats) = (HttpLimits::default(), SessionStats::new());
    let mut conn = Memory {
        input: input.as_bytes(),
        written: 0,
    };
    let (n0, b0) = allocated();
    serve_connection(&mut conn, dispatch, &limits, "alloc-test", &stats).unwrap();
    let (n1, b1) = allocated();
    assert_eq!(stats.snapshot().requests, 3);
    ((n1 - n0, b1 - b0), conn.written)
}

#[test]
fn memory_stays_bounded_whatever_the_size() {
    let (dispatch, _, _) = stream_dispatch();
    allocations_for(MIB, &dispatch); // warm up this thread (the Date cache)
    let ((small_n, small_bytes), small_written) = allocations_for(8 * MIB, &dispatch);
    let ((large_n, large_bytes), large_written) = allocations_for(64 * MIB, &dispatch);
    assert!(large_written > 2 * 64 * MIB, "every body was written");
    assert!(small_written > 2 * 8 * MIB);
    assert_eq!(
        (small_n, small_bytes),
        (large_n, large_bytes),
        "allocations grew with the body: (count, bytes) for 8 MiB, then 64 MiB"
    );
    assert!(
        large_bytes < 4 * MIB,
        "{large_bytes} bytes allocated to stream 64 MiB"
    );
}

// In a fiber: the reader blocks on hooked I/O and only its fiber waits.

/// Runs `f` on a thread and fails if it has not returned within
/// [`PATIENCE`] (a hang fails, later).
fn within_patience(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(()) => {}
        // `f` panicked (its sender is gone): show its own failure.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(payload) = worker.join() {
                std::panic::resume_unwind(payload);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("did not finish in time (hang?)"),
    }
}

#[test]
fn a_reader_blocked_on_hooked_io_parks_only_its_fiber() {
    within_patience(|| {
        // The body's source: a socket the servlet connects to, from its fiber.
        let source = TcpListener::bind("127.0.0.1:0").unwrap();
        let source_addr = source.local_addr().unwrap();
        let mut dispatch = ServletDispatch::new();
        dispatch.add_servlet("/relay", move |_: &HttpRequest, resp: &mut HttpResponse| {
            let upstream = TcpStream::connect(source_addr).unwrap();
            resp.set_body_reader(upstream, None);
        });
        dispatch.add_servlet("/hello", |_: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body("hello");
        });
        // One worker thread: if the relay's read blocked it, nothing else
        // would be served.
        let iom = IoManager::new(1, false, "stream").unwrap();
        let server = HttpServer::new("test", dispatch, &iom, &iom, &iom);
        server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
        server.start().unwrap();
        let addr = server.local_addresses()[0].to_string();

        let relay = TcpStream::connect(addr.as_str()).unwrap();
        relay.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut relay_writer = relay.try_clone().unwrap();
        let mut relay_reader = BufReader::new(relay);
        relay_writer
            .write_all(b"GET /relay HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let (mut upstream, _) = source.accept().unwrap();
        upstream.write_all(b"first;").unwrap();
        // The head and the first chunk arrive: the session is in the body,
        // and its next read waits on the silent upstream.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            relay_reader.read_until(b'\n', &mut head).unwrap();
        }
        assert!(String::from_utf8_lossy(&head).contains("Transfer-Encoding: chunked"));
        let mut first = [0u8; 11];
        relay_reader.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"6\r\nfirst;\r\n");

        // Meanwhile, on the same single thread, another client is served.
        let mut other = HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
        assert_eq!(other.get("/hello").unwrap().text(), "hello");

        upstream.write_all(b"second").unwrap();
        drop(upstream); // the body's end
        let mut rest = Vec::new();
        while !rest.ends_with(b"\r\n0\r\n\r\n") {
            assert!(relay_reader.read_until(b'\n', &mut rest).unwrap() > 0);
        }
        let (body, _, terminated) = lenient_chunks(&rest);
        assert!(terminated);
        assert_eq!(body, b"second");
        server.stop(Duration::from_secs(5));
        iom.stop();
    });
}

/// Gives `oops!` and counts its reads and its drop.
struct CountsReads {
    reads: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    left: &'static [u8],
}

impl Read for CountsReads {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.left.read(buf)
    }
}

impl Drop for CountsReads {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// 204 and 304 have no body (RFC 9110 §15.3.5, §15.4.5): a reader handed
/// over with one is dropped unread and only the head goes out, without a
/// length or chunked framing; the keep-alive connection goes on, so the
/// next response starts right after that head.
#[test]
fn a_reader_with_204_or_304_is_dropped_unread_and_only_the_head_is_sent() {
    let (reads, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut dispatch = ServletDispatch::new();
    let (r, d) = (reads.clone(), drops.clone());
    dispatch.add_servlet(
        "/empty",
        move |req: &HttpRequest, resp: &mut HttpResponse| {
            let status = req.query_param("status").unwrap().parse().unwrap();
            resp.set_status(status);
            let len = req.query_param("len").map(|l| l.parse().unwrap());
            let reader = CountsReads {
                reads: r.clone(),
                drops: d.clone(),
                left: b"oops!",
            };
            resp.set_body_reader(reader, len);
        },
    );
    dispatch.add_servlet("/plain", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body("plain");
    });
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    let cases = [(204, None), (204, Some(5)), (304, None), (304, Some(5))];
    for (i, (status, len)) in cases.into_iter().enumerate() {
        let query = match len {
            Some(len) => format!("status={status}&len={len}"),
            None => format!("status={status}"),
        };
        writer
            .write_all(format!("GET /empty?{query} HTTP/1.1\r\nHost: t\r\n\r\nGET /plain HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        let empty = read_response(&mut reader, false);
        assert_eq!(empty.status, status, "{query}");
        assert_eq!(empty.header("content-length"), None, "{query}");
        assert_eq!(empty.header("transfer-encoding"), None, "{query}");
        // The next bytes on the wire are the next response's.
        assert_eq!(read_response(&mut reader, false).text(), "plain", "{query}");
        assert_eq!(
            reads.load(Ordering::SeqCst),
            0,
            "{query}: the reader was read"
        );
        assert_eq!(drops.load(Ordering::SeqCst), i + 1, "{query}: not dropped");
    }
}
