//! What the chapter 7 fuzz targets share: an in-memory connection whose reads
//! and writes the input shapes ([`Wire`]), a servlet driven by the request it
//! receives ([`scripted_dispatch`]), and a checker that reads back every
//! response the session wrote with a parser that is not the server's
//! ([`check_responses`]).
//!
//! The targets (in `fuzz_targets/`) assert more than "no panic": every byte
//! the session writes must parse as complete, correctly framed responses, one
//! per servlet call plus at most one refusal, and a refusal always ends the
//! connection.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::{LazyLock, Once};

use sylar_tcpserver::http::{HttpLimits, HttpRequest, HttpResponse, Method, ServletDispatch};

// ANCHOR: wire
/// An in-memory connection: reads hand out `input` at most `read_step` bytes
/// at a time, and may fail once at a chosen point; writes accept at most
/// `write_step` bytes at a time, and may fail from a chosen point on.
#[derive(Debug)]
pub struct Wire<'a> {
    input: &'a [u8],
    at: usize,
    read_step: usize,
    write_step: usize,
    /// After this many input bytes, the next read fails once with this kind.
    read_failure: Option<(usize, io::ErrorKind)>,
    /// Writes fail (broken pipe) once this many bytes have been written.
    write_limit: Option<usize>,
    /// Every byte written, in order.
    pub output: Vec<u8>,
}
// ANCHOR_END: wire

impl<'a> Wire<'a> {
    /// The whole input in one read, writes whole, no failure.
    pub fn whole(input: &'a [u8]) -> Wire<'a> {
        Wire {
            input,
            at: 0,
            read_step: usize::MAX,
            write_step: usize::MAX,
            read_failure: None,
            write_limit: None,
            output: Vec::new(),
        }
    }

    /// A wire shaped by the 4 control bytes `c`: read and write sizes, a read
    /// failure (timeout, reset, interrupt...) and a write failure.
    pub fn shaped(c: [u8; 4], input: &'a [u8]) -> Wire<'a> {
        const KINDS: [io::ErrorKind; 8] = [
            io::ErrorKind::WouldBlock, // what SO_RCVTIMEO gives
            io::ErrorKind::TimedOut,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::Interrupted, // must be retried, not treated as an end
            io::ErrorKind::UnexpectedEof,
            io::ErrorKind::Other,
            io::ErrorKind::InvalidData,
        ];
        Wire {
            input,
            at: 0,
            read_step: if c[0] == 0 { usize::MAX } else { c[0] as usize },
            write_step: if c[1] == 0 {
                usize::MAX
            } else {
                c[1] as usize * 7
            },
            read_failure: (c[2] != 0).then(|| ((c[2] as usize - 1) * 4, KINDS[c[3] as usize & 7])),
            write_limit: (c[3] & 0x10 != 0).then_some(c[2] as usize * 8),
            output: Vec::new(),
        }
    }

    /// Whether every write succeeded, so that the output is complete.
    pub fn writes_are_whole(&self) -> bool {
        self.write_limit.is_none()
    }
}

impl Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((at, kind)) = self.read_failure
            && self.at >= at
        {
            self.read_failure = None;
            return Err(kind.into());
        }
        let n = (self.input.len() - self.at)
            .min(self.read_step)
            .min(buf.len());
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Bytes in memory: a write never waits.
impl sylar_tcpserver::http::SessionStream for Wire<'_> {}

impl Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut n = buf.len().min(self.write_step);
        if let Some(limit) = self.write_limit {
            let room = limit.saturating_sub(self.output.len());
            if room == 0 && n > 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            n = n.min(room);
        }
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The limits of a small server (so that the fuzzer reaches them) or the
/// defaults.
pub fn limits(small: bool) -> HttpLimits {
    match small {
        true => HttpLimits {
            max_header_bytes: 256,
            max_headers: 8,
            max_body_bytes: 64,
            ..HttpLimits::default()
        },
        false => HttpLimits::default(),
    }
}

/// The message of the panics the scripted servlet raises on purpose.
pub const EXPECTED_PANIC: &str = "fuzz: the servlet panics on purpose";

/// libfuzzer-sys aborts on any panic, caught or not. Let the servlet's
/// deliberate panics through quietly (the session must contain them); any
/// other panic still goes to libfuzzer's hook and is a crash.
pub fn allow_servlet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let expected = payload.downcast_ref::<&str>() == Some(&EXPECTED_PANIC)
                || payload
                    .downcast_ref::<String>()
                    .is_some_and(|s| s == EXPECTED_PANIC);
            if !expected {
                fuzzer_hook(info);
            }
        }));
    });
}

/// What [`check_responses`] must know of a request the servlet answered:
/// its answer's framing depends on the method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `HEAD`: the head only, whatever the framing fields announce.
    Head,
    /// `CONNECT`: a 2xx answer is a bare head that closes the connection.
    Connect,
    /// Any other method: an ordinary, framed response.
    Other,
}

thread_local! {
    /// One entry per servlet call, in order.
    static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
}

/// Forgets the servlet calls recorded so far; returns them.
pub fn take_calls() -> Vec<Call> {
    CALLS.with(|calls| std::mem::take(&mut *calls.borrow_mut()))
}

// ANCHOR: scripted_servlet
/// One servlet on every path. It reads everything a request offers, then
/// builds its response as the query parameter `ops` says, one byte an
/// operation: bodies set, appended, chunked and truncated behind the chunks'
/// backs, headers from the decoded query (CR LF included: response
/// splitting), framing headers that are not the servlet's to set, any status
/// from 0 to 65535, keep-alive off, and a panic.
pub fn scripted_dispatch() -> &'static ServletDispatch {
    static DISPATCH: LazyLock<ServletDispatch> = LazyLock::new(|| {
        let mut dispatch = ServletDispatch::new();
        dispatch.set_default(scripted_servlet);
        dispatch
    });
    &DISPATCH
}

fn scripted_servlet(req: &HttpRequest, resp: &mut HttpResponse) {
    let call = match req.method() {
        Method::Head => Call::Head,
        Method::Connect => Call::Connect,
        _ => Call::Other,
    };
    CALLS.with(|calls| calls.borrow_mut().push(call));
    // Everything a servlet may look at must be safe to look at.
    let mut seen = req.method().as_str().len() + req.target().len() + req.path().len();
    seen += req.query().map_or(0, str::len) + req.decoded_path().len();
    seen += req.query_params().len() + req.headers().iter().count() + req.body().len();
    seen += usize::from(req.keep_alive()) + usize::from(req.header("host").is_some());
    std::hint::black_box(seen);

    let Some(ops) = req.query_param("ops") else {
        resp.set_body(req.body().to_vec());
        return;
    };
    let value = req.query_param("v").unwrap_or_default();
    for op in ops.bytes() {
        match op % 12 {
            0 => resp.set_body(req.body().to_vec()),
            1 => resp.append_body(value.as_bytes()),
            2 => resp.append_chunk(value.as_bytes()),
            3 => {
                let len = resp.body().len() / 2;
                resp.body_mut().truncate(len);
            }
            4 => resp.set_chunked(op & 0x10 != 0),
            5 => resp.set_header(&req.query_param("n").unwrap_or_default(), &value),
            6 => resp.set_status(value.parse().unwrap_or(u16::from(op) * 7)),
            7 => resp.set_keep_alive(false),
            8 => std::panic::panic_any(EXPECTED_PANIC),
            9 => {
                let name = ["Content-Length", "Transfer-Encoding", "Connection"][op as usize % 3];
                resp.headers_mut().append(name, &value);
            }
            10 => resp.set_body(vec![b'L'; 20_000 + usize::from(op)]),
            _ => resp.body_mut().clear(),
        }
    }
}
// ANCHOR_END: scripted_servlet

/// The statuses the session refuses a request with.
const REFUSALS: [u16; 7] = [400, 408, 413, 417, 431, 501, 505];

// ANCHOR: check_responses
/// Reads back `output`: complete, correctly framed responses (interim
/// `100 Continue` allowed), one per servlet call in `calls` (whose entries
/// say which requests were HEAD or CONNECT) plus at most one refusal, which
/// comes last; a 2xx to CONNECT is a bare head that closes; nothing may
/// follow a response that says `Connection: close`.
pub fn check_responses(output: &[u8], calls: &[Call]) {
    let mut rest = output;
    let mut finals = 0;
    let mut closed = false;
    while !rest.is_empty() {
        assert!(!closed, "bytes after a Connection: close response");
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        let head = match response.parse(rest) {
            Ok(httparse::Status::Complete(len)) => len,
            other => panic!(
                "unparsable response ({other:?}): {:?}",
                String::from_utf8_lossy(rest)
            ),
        };
        let status = response.code.expect("a status");
        assert_eq!(response.version, Some(1), "responses are HTTP/1.1");
        rest = &rest[head..];
        if status == 100 {
            continue;
        }
        let (head_request, tunnel) = match calls.get(finals) {
            Some(&call) => (
                call == Call::Head,
                call == Call::Connect && (200..300).contains(&status),
            ),
            None => {
                assert!(
                    REFUSALS.contains(&status),
                    "a response with no servlet call: {status}"
                );
                // A refused HEAD gets its head and no body. The refusal is the
                // last response (it closes), so "no bytes after the head" is
                // that case; any bytes must be the whole announced body.
                (rest.is_empty(), false)
            }
        };
        finals += 1;
        let lengths: Vec<&[u8]> = field_values(response.headers, "content-length").collect();
        let chunked = field_values(response.headers, "transfer-encoding").any(|v| v == b"chunked");
        assert!(lengths.len() <= 1, "several Content-Length fields");
        assert!(
            !(chunked && !lengths.is_empty()),
            "both Content-Length and chunked"
        );
        closed = field_values(response.headers, "connection").any(|v| v == b"close");
        if tunnel {
            // No body follows, and no tunnel either: the server ends here.
            assert!(
                lengths.is_empty() && !chunked,
                "framing on a {status} to CONNECT"
            );
            assert!(closed, "a {status} to CONNECT must close the connection");
        } else if status == 204 || status == 304 {
            assert!(lengths.is_empty() && !chunked, "framing on a {status}");
        } else if chunked {
            assert!(!head_request, "a chunked body answering HEAD");
            rest = skip_chunked(rest);
        } else {
            let len: usize = std::str::from_utf8(lengths.first().expect("Content-Length"))
                .unwrap()
                .parse()
                .expect("a decimal Content-Length");
            if !head_request {
                assert!(
                    rest.len() >= len,
                    "the body is shorter than its Content-Length"
                );
                rest = &rest[len..];
            }
        }
    }
    let refusals = finals.saturating_sub(calls.len());
    assert!(
        refusals <= 1,
        "{finals} responses for {} servlet calls",
        calls.len()
    );
    if refusals == 1 {
        assert!(closed, "a refusal must close the connection");
    }
    assert!(
        finals >= calls.len(),
        "{finals} responses for {} servlet calls",
        calls.len()
    );
}
// ANCHOR_END: check_responses

fn field_values<'h>(
    fields: &'h [httparse::Header<'_>],
    name: &'h str,
) -> impl Iterator<Item = &'h [u8]> + 'h {
    fields
        .iter()
        .filter(move |f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value)
}

/// Skips a chunked body (strictly: hex sizes, CRLF everywhere, no trailers).
fn skip_chunked(mut rest: &[u8]) -> &[u8] {
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk-size line");
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .expect("a hexadecimal chunk size");
        rest = &rest[line_end + 2..];
        assert!(rest.len() >= size + 2, "a truncated chunk");
        assert_eq!(
            &rest[size..size + 2],
            b"\r\n",
            "a chunk not followed by CRLF"
        );
        rest = &rest[size + 2..];
        if size == 0 {
            return rest;
        }
    }
}
