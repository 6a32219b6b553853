//! [`serve_connection`]: the HTTP session loop, sylar's
//! `HttpServer::handleClient` — read a request, dispatch it, answer, repeat
//! while the connection is kept alive.
//!
//! ```text
//!            ┌──────────── keep-alive ─────────────┐
//!            v                                     │
//!   read head ──> read body ──> servlet ──> encode into wbuf ──> (flush)
//!   │ (flush wbuf before      (catch_unwind:         │
//!   │  any blocking read)      panic -> 500)         ├─ streamed body: flush the
//!   │                                                │  head, then pull the reader
//!   │                                                │  a piece at a time, writing
//!   │                                                │  each (send_streamed)
//!   │                                                └─ close: flush, return
//!   └─ refused: error response + Connection: close, flush, return
//! ```
//!
//! Pipelining falls out of two rules: bytes a request did not consume stay in
//! the read buffer for the next one, and responses collect in the write buffer
//! until the session is about to block on a read (or the buffer is large). A
//! client that sends ten requests in one packet gets ten responses in one write.

use std::any::Any;
use std::io::{self, IoSlice, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use super::body::{BodyPace, read_chunked, read_exact_body};
use super::buffer::{INITIAL_READ_BUF, ReadBuf};
use super::dispatch::ServletDispatch;
use super::encode::{
    Framing, StreamFraming, encode_response, encode_streamed_head, encode_tunnel_head,
    is_sendable_field, push_decimal, push_hex,
};
use super::error::{Failure, RequestError};
use super::framing::BodyFraming;
use super::limits::HttpLimits;
use super::method::Method;
use super::parse::{Head, parse_head};
use super::request::HttpRequest;
use super::response::{HttpResponse, StreamedBody};
use super::send_pace::{PACED_FROM, SendPace, Unsent, write_paced};
use super::session_stream::SessionStream;
use super::stats::SessionStats;
use super::version::Version;

/// A request's or response's buffer larger than this is released after use,
/// so that one large upload does not pin memory for the connection's life.
const KEEP_BYTES: usize = 64 * 1024;

/// Pending responses are written once they reach this size, even if more
/// pipelined requests are waiting.
const FLUSH_AT: usize = 32 * 1024;

/// A streamed body is read in pieces of at most this size, into one buffer
/// per response: the memory a streamed response costs, whatever its length.
const STREAM_PIECE: usize = 64 * 1024;

/// The write buffer is released above this capacity (it reaches about
/// `FLUSH_AT` plus one inline response in normal use, and is then kept).
const WBUF_KEEP: usize = 128 * 1024;

// ANCHOR: serve_connection
/// Serves HTTP/1.x on one connection until it should close, then returns; the
/// caller closes the stream (dropping it, or with
/// [`lingering_close`](super::lingering_close)).
///
/// Works on any `Read + Write`: a hooked `TcpStream` in a fiber, a plain one
/// on a thread, or an in-memory stream in a fuzzer. Returns `Ok(())` for every
/// normal end: the peer closed, either side asked for `Connection: close`, a
/// refused request was answered, the peer vanished (reset, broken pipe), or a
/// read or write timed out (the socket's `SO_RCVTIMEO`/`SO_SNDTIMEO`). `Err`
/// is kept for I/O failures worth a log line. Never panics on what the peer
/// sends; a panicking servlet is answered with 500. A client that takes a
/// large response more slowly than [`HttpLimits::min_send_rate`] is cut
/// off; `S`'s [`SessionStream`] is how a write is kept from waiting past that.
pub fn serve_connection<S: Read + Write + SessionStream>(
    stream: &mut S,
    dispatch: &ServletDispatch,
    limits: &HttpLimits,
    server_name: &str,
    stats: &SessionStats,
) -> io::Result<()> {
    SessionStats::bump(&stats.connections);
    // The `Server` line, built once for every response on the connection;
    // an empty name, or one that is not a valid field value, is not sent.
    let server_line = match !server_name.is_empty() && is_sendable_field("Server", server_name) {
        true => [b"Server: ", server_name.as_bytes(), b"\r\n"].concat(),
        false => Vec::new(),
    };
    let mut session = Session {
        stream,
        limits,
        server_line: &server_line,
        stats,
        rbuf: ReadBuf::with_capacity(INITIAL_READ_BUF),
        wbuf: Vec::new(),
        req: HttpRequest::default(),
        resp: HttpResponse::default(),
    };
    match session.run(dispatch) {
        Err(err) if ends_quietly(&err) => {
            log::debug!(target: "system", "http: connection ended: {err}");
            Ok(())
        }
        result => result,
    }
}
// ANCHOR_END: serve_connection

// ANCHOR: ends_quietly
/// Errors that are just how connections end: the peer left, or went quiet
/// past the timeout.
fn ends_quietly(err: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        err.kind(),
        WouldBlock
            | TimedOut
            | ConnectionReset
            | ConnectionAborted
            | BrokenPipe
            | UnexpectedEof
            | NotConnected
    )
}
// ANCHOR_END: ends_quietly

// ANCHOR: session
/// One connection's state: the stream, its two buffers, and the request and
/// response objects reused for every exchange.
struct Session<'a, S> {
    stream: &'a mut S,
    limits: &'a HttpLimits,
    /// `Server: name\r\n`, or empty (see [`Framing::server_line`]).
    server_line: &'a [u8],
    stats: &'a SessionStats,
    /// Bytes read and not yet consumed: the rest of this request, or the next.
    rbuf: ReadBuf,
    /// Responses encoded and not yet written.
    wbuf: Vec<u8>,
    req: HttpRequest,
    resp: HttpResponse,
}
// ANCHOR_END: session

impl<S: Read + Write + SessionStream> Session<'_, S> {
    // ANCHOR: session_loop
    /// The loop: one request and its response a turn.
    fn run(&mut self, dispatch: &ServletDispatch) -> io::Result<()> {
        loop {
            let head = match self.read_head() {
                Ok(Some(head)) => head,
                Ok(None) => return self.flush(), // the peer is done
                Err(Failure::Reject(err)) => return self.reject(err),
                Err(Failure::Io(err)) => return Err(err),
            };
            match self.read_body(&head) {
                Ok(()) => {}
                Err(Failure::Reject(err)) => return self.reject(err),
                Err(Failure::Io(err)) => return Err(err),
            }
            if !self.respond(dispatch)? {
                return self.flush();
            }
            self.req.recycle(KEEP_BYTES);
            self.rbuf.shrink_if_idle(INITIAL_READ_BUF);
        }
    }
    // ANCHOR_END: session_loop

    // ANCHOR: read_head
    /// Reads until a whole head is buffered and parses it into `self.req`.
    /// `Ok(None)` when the peer closed (between requests, or in the middle of
    /// one: there is nobody to answer).
    fn read_head(&mut self) -> Result<Option<Head>, Failure> {
        // Set once part of a head is here: the whole head must follow in
        // time (the inner `None`: no head timeout, so no deadline).
        let mut deadline: Option<Option<Instant>> = None;
        loop {
            // Between keep-alive requests the buffer is usually empty: no
            // head to parse, so go straight to the read.
            if !self.rbuf.is_empty() {
                if let Some(head) = parse_head(self.rbuf.data(), self.limits, &mut self.req)? {
                    self.rbuf.consume(head.len);
                    return Ok(Some(head));
                }
                let now = Instant::now();
                let due = *deadline.get_or_insert_with(|| self.limits.head_deadline(now));
                if due.is_some_and(|due| now >= due) {
                    return Err(RequestError::head_too_slow().into());
                }
            }
            // About to wait for the peer: first send what it is waiting for.
            self.flush()?;
            // Between requests a stopping server may close us, or has.
            if self.rbuf.is_empty() && !self.stream.awaiting_request() {
                return Ok(None);
            }
            if self.rbuf.fill(self.stream)? == 0 {
                if self.rbuf.data().iter().any(|&b| b != b'\r' && b != b'\n') {
                    log::debug!(target: "system", "http: peer closed in the middle of a request head");
                }
                return Ok(None);
            }
            self.stream.request_started();
        }
    }
    // ANCHOR_END: read_head

    // ANCHOR: read_body
    /// Reads the body the head announced into `self.req`, after sending
    /// `100 Continue` if the client waits for it; a body that falls behind
    /// `min_body_rate` is refused with 408 (see [`BodyPace`]).
    fn read_body(&mut self, head: &Head) -> Result<(), Failure> {
        let fully_buffered = match head.framing {
            BodyFraming::Empty => return Ok(()),
            BodyFraming::Length(len) => self.rbuf.data().len() as u64 >= len,
            BodyFraming::Chunked => false,
        };
        if head.expect_continue && self.rbuf.is_empty() {
            self.wbuf
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        if !fully_buffered {
            self.flush()?; // we may block: nothing owed may wait behind us
        }
        let (_, _, _, body) = self.req.parts_mut();
        // The clock starts at the first read that may wait, not here.
        let limits = self.limits;
        let mut pace = BodyPace::new(limits.min_body_rate, limits.body_grace, body.len());
        match head.framing {
            BodyFraming::Length(len) => {
                read_exact_body(&mut self.rbuf, self.stream, body, len, &mut pace)?
            }
            BodyFraming::Chunked => read_chunked(
                &mut self.rbuf,
                self.stream,
                body,
                limits.max_body_bytes,
                limits.max_header_bytes,
                &mut pace,
            )?,
            BodyFraming::Empty => {}
        }
        Ok(())
    }
    // ANCHOR_END: read_body

    // ANCHOR: respond
    /// Runs the servlet (containing a panic) and encodes its response.
    /// Returns whether the connection stays open.
    fn respond(&mut self, dispatch: &ServletDispatch) -> io::Result<bool> {
        let wants_keep_alive = self.req.keep_alive();
        self.resp.recycle(200, wants_keep_alive, KEEP_BYTES);
        SessionStats::bump(&self.stats.requests);
        let (req, resp) = (&self.req, &mut self.resp);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| dispatch.handle(req, resp)));
        if let Err(payload) = outcome {
            SessionStats::bump(&self.stats.panics);
            log::error!(
                target: "system",
                "http: servlet panicked on {} {}: {}",
                req.method(),
                req.path(),
                panic_message(payload.as_ref())
            );
            internal_error(resp);
        } else if !(200..=999).contains(&resp.status()) {
            log::error!(target: "system", "http: servlet set status {}; sent 500", resp.status());
            internal_error(resp);
        }
        let keep_alive = wants_keep_alive
            && resp.keep_alive()
            && !resp.headers().has_token("connection", "close");
        let framing = Framing {
            head_request: *req.method() == Method::Head,
            client_version: req.version(),
            keep_alive,
            server_line: self.server_line,
        };
        if matches!(req.method(), Method::Connect) && (200..300).contains(&resp.status()) {
            // Out of line: the connection would become a tunnel.
            self.accept_tunnel(&framing);
            return Ok(false);
        }
        if resp.is_streamed() {
            // Out of line: pulls the body from the servlet's reader.
            return Ok(self.send_streamed(&framing)? && keep_alive);
        }
        if encode_response(&mut self.wbuf, resp, &framing) {
            self.write_large_body()?;
        } else if self.wbuf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(keep_alive)
    }
    // ANCHOR_END: respond

    // ANCHOR: accept_tunnel
    /// Answers a `CONNECT` that a servlet accepted (2xx). After such a head
    /// the connection is a tunnel (RFC 9110 §9.3.6), which this server does
    /// not provide: the head goes out without framing fields and with
    /// `Connection: close`, any body the servlet set (buffered or streamed)
    /// is dropped unsent, and the session ends, so that nothing the client
    /// sends into the tunnel is ever parsed as a request.
    #[cold]
    #[inline(never)]
    fn accept_tunnel(&mut self, framing: &Framing) {
        if !self.resp.body().is_empty() || self.resp.is_streamed() {
            log::warn!(
                target: "system",
                "http: a {} to CONNECT carries no body; the servlet's was dropped",
                self.resp.status()
            );
        }
        // Its `Drop` contains a panic of the reader's own.
        drop(self.resp.take_body_reader());
        encode_tunnel_head(&mut self.wbuf, &self.resp, framing);
    }
    // ANCHOR_END: accept_tunnel

    // ANCHOR: write_large_body
    /// Writes what `wbuf` holds and then the response's body, from where it
    /// is (a body too large to copy into `wbuf`), in one vectored write; at
    /// `PACED_FROM` bytes and up, at the minimum rate. Out of line: the
    /// small responses of the usual path never come here.
    #[inline(never)]
    fn write_large_body(&mut self) -> io::Result<()> {
        let mut slices = [IoSlice::new(&self.wbuf), IoSlice::new(self.resp.body())];
        let result = match self.wbuf.len() + self.resp.body().len() >= PACED_FROM {
            true => {
                let mut pace = self.send_pace();
                let sent = write_paced(self.stream, &mut slices, &mut pace);
                self.paced_end(sent, &mut pace)
            }
            false => write_all_vectored(self.stream, &mut slices),
        };
        self.wbuf.clear();
        result
    }
    // ANCHOR_END: write_large_body

    // ANCHOR: send_streamed
    /// Sends a streamed response: its head, framed by the encoder, then its
    /// body, pulled from the servlet's reader a piece at a time. Returns
    /// whether the connection may stay open: not if the body ends with the
    /// close (HTTP/1.0), nor if it was cut short (the reader failed,
    /// panicked or ended before its declared length), which is logged; the
    /// client sees the body cut.
    #[cold]
    #[inline(never)]
    fn send_streamed(&mut self, framing: &Framing) -> io::Result<bool> {
        let how = encode_streamed_head(&mut self.wbuf, &self.resp, framing);
        let Some(mut body) = self.resp.take_body_reader() else {
            return Ok(true); // `respond` saw a reader: not reached
        };
        // HEAD, 204, 304: never read. Every way out of here drops `body`,
        // and its `Drop` contains a panic of the reader's own.
        let open = match how {
            StreamFraming::Skip => true,
            _ => {
                // The reader may block (a pipe, another socket): what the
                // client is owed, this head included, goes out first.
                self.flush()?;
                self.pump_body(&mut body, how)?
            }
        };
        drop(body);
        if self.wbuf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(open)
    }

    /// Pulls `body` to the client framed as `how`, through one buffer the
    /// size of a piece (or of the whole body, if declared smaller). Returns
    /// whether the connection may stay open; a chunked body's terminator is
    /// left in `wbuf`, to go out with whatever follows it.
    fn pump_body(&mut self, body: &mut StreamedBody, how: StreamFraming) -> io::Result<bool> {
        let size = match (how, body.len) {
            (StreamFraming::Length, Some(len)) => len.min(STREAM_PIECE as u64) as usize,
            _ => STREAM_PIECE,
        };
        let mut piece = vec![0; size];
        let mut pace = self.send_pace();
        let result = pump(
            &mut *self.stream,
            &mut *body.reader,
            how,
            body.len,
            &mut piece,
            &mut self.wbuf,
            &mut pace,
        );
        self.wbuf.clear(); // chunk-size lines; the terminator comes next
        let result = match result {
            Err(Cut::Client(unsent)) => {
                return self.paced_end(Err(unsent), &mut pace).map(|()| false);
            }
            result => result,
        };
        self.paced_end(Ok(()), &mut pace)?;
        match result {
            Ok(()) if how == StreamFraming::Chunked => {
                self.wbuf.extend_from_slice(b"0\r\n\r\n");
                Ok(true)
            }
            Ok(()) => Ok(how != StreamFraming::UntilClose),
            Err(Cut::Client(_)) => Ok(false), // returned above
            Err(Cut::Panic(why)) => {
                // The reader is servlet code: its panic counts as one.
                SessionStats::bump(&self.stats.panics);
                Ok(self.body_cut(&why))
            }
            Err(Cut::Body(why)) => Ok(self.body_cut(&why)),
        }
    }

    /// Logs why a streamed body stopped short; the connection closes.
    fn body_cut(&self, why: &str) -> bool {
        log::error!(
            target: "system",
            "http: streamed body of {} {} cut short: {why}; closing the connection",
            self.req.method(),
            self.req.path()
        );
        false
    }
    // ANCHOR_END: send_streamed

    // ANCHOR: reject
    /// Answers a refused request with its status and a one-line reason, and
    /// `Connection: close`; what follows the request on the wire cannot be
    /// trusted, so the session ends here.
    fn reject(&mut self, err: RequestError) -> io::Result<()> {
        SessionStats::bump(&self.stats.bad_requests);
        log::debug!(target: "system", "http: refused a request: {err}");
        self.resp.recycle(err.status, false, KEEP_BYTES);
        self.resp.set_content_type("text/plain; charset=utf-8");
        let body = self.resp.body_mut();
        push_decimal(body, u64::from(err.status));
        body.push(b' ');
        body.extend_from_slice(super::status::reason_phrase(err.status).as_bytes());
        body.extend_from_slice(b": ");
        body.extend_from_slice(err.reason.as_bytes());
        body.push(b'\n');
        let framing = Framing {
            // Refused after its request line, a HEAD still gets no body.
            head_request: *self.req.method() == Method::Head,
            client_version: Version::Http11,
            keep_alive: false,
            server_line: self.server_line,
        };
        // A fresh response: nothing left to send but what `wbuf` holds.
        encode_response(&mut self.wbuf, &self.resp, &framing);
        self.flush()
    }
    // ANCHOR_END: reject

    // ANCHOR: flush
    /// Writes every pending response in one go; a large lot (a buffered
    /// chunked body) keeps the minimum rate.
    fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let result = match self.wbuf.len() >= PACED_FROM {
            false => write_all_once(self.stream, &self.wbuf),
            true => self.flush_paced(),
        };
        self.wbuf.clear();
        if self.wbuf.capacity() > WBUF_KEEP {
            self.wbuf = Vec::new();
        }
        result?;
        self.stream.flush()
    }
    // ANCHOR_END: flush

    /// [`flush`](Self::flush) for a large `wbuf`, at the minimum rate.
    #[cold]
    #[inline(never)]
    fn flush_paced(&mut self) -> io::Result<()> {
        let mut pace = self.send_pace();
        let sent = write_paced(self.stream, &mut [IoSlice::new(&self.wbuf)], &mut pace);
        self.paced_end(sent, &mut pace)
    }

    /// A pace for one response, at the configured minimum rate.
    fn send_pace(&self) -> SendPace {
        SendPace::new(self.limits.min_send_rate, self.limits.send_grace)
    }

    // ANCHOR: paced_end
    /// Ends a paced write: puts the socket's send timeout back, or, if the
    /// client fell behind the minimum rate, logs it, counts it, aborts the
    /// connection (see [`SessionStream::abort`]) and fails with `TimedOut`,
    /// which ends the session quietly: no response can be sent any more,
    /// the stream is in the middle of a body.
    fn paced_end(&mut self, sent: Result<(), Unsent>, pace: &mut SendPace) -> io::Result<()> {
        match sent {
            Ok(()) => pace.restore(&*self.stream),
            Err(Unsent::Io(err)) => Err(err),
            Err(Unsent::TooSlow) => {
                SessionStats::bump(&self.stats.slow_readers);
                let (sent, waited) = pace.progress();
                log::debug!(
                    target: "system",
                    "http: response to {} {} too slow: the client took {sent} bytes in {waited:?} \
                     (min_send_rate {} B/s after {:?}); closing the connection",
                    self.req.method(),
                    self.req.path(),
                    self.limits.min_send_rate,
                    self.limits.send_grace
                );
                if let Err(err) = self.stream.abort() {
                    log::debug!(target: "system", "http: aborting a slow reader's connection: {err}");
                }
                Err(io::Error::new(io::ErrorKind::TimedOut, "response too slow"))
            }
        }
    }
    // ANCHOR_END: paced_end
}

/// `write_all`, with the usual case first: one `write` that takes every
/// byte (a blocking socket's, or the hook's emulation of one, writes all it
/// is given unless an error or a timeout cuts it short).
fn write_all_once<W: Write + ?Sized>(stream: &mut W, buf: &[u8]) -> io::Result<()> {
    match stream.write(buf) {
        Ok(n) if n == buf.len() => Ok(()),
        Ok(0) => Err(io::ErrorKind::WriteZero.into()),
        Ok(n) => stream.write_all(&buf[n..]),
        Err(err) if err.kind() == io::ErrorKind::Interrupted => stream.write_all(buf),
        Err(err) => Err(err),
    }
}

/// Why a streamed body stopped before its end.
enum Cut {
    /// Writing to the client failed (the session's usual I/O error), or the
    /// client fell behind the minimum rate.
    Client(Unsent),
    /// The body itself failed (read error, ended short): why.
    Body(String),
    /// The body's reader panicked: its message.
    Panic(String),
}

// ANCHOR: pump
/// Copies `reader` to `out` framed as `how` (not `Skip`), a piece of at most
/// `piece.len()` bytes a read, each written before the next read; `frame`
/// holds each chunk-size line. A `Length` body reads no byte past `len`.
/// The chunked terminator is the caller's to send. Every write keeps
/// `pace`, which counts only the time spent writing: a slow reader is the
/// servlet's, not the client's.
fn pump<W: Write + SessionStream + ?Sized>(
    out: &mut W,
    reader: &mut (dyn Read + Send),
    how: StreamFraming,
    len: Option<u64>,
    piece: &mut [u8],
    frame: &mut Vec<u8>,
    pace: &mut SendPace,
) -> Result<(), Cut> {
    let declared = match how {
        StreamFraming::Length => len.unwrap_or(0),
        _ => u64::MAX, // until the reader ends
    };
    let mut left = declared;
    while left > 0 {
        let want = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = read_piece(reader, &mut piece[..want])?;
        if n == 0 {
            break;
        }
        if how == StreamFraming::Length {
            left -= n as u64;
        }
        let data = &piece[..n];
        let written = if how == StreamFraming::Chunked {
            frame.clear();
            push_hex(frame, n as u64);
            frame.extend_from_slice(b"\r\n");
            let mut slices = [
                IoSlice::new(frame),
                IoSlice::new(data),
                IoSlice::new(b"\r\n"),
            ];
            write_paced(out, &mut slices, pace)
        } else {
            write_paced(out, &mut [IoSlice::new(data)], pace)
        };
        written.map_err(Cut::Client)?;
    }
    match how {
        StreamFraming::Length if left > 0 => Err(Cut::Body(format!(
            "the reader ended after {} of its {declared} bytes",
            declared - left
        ))),
        _ => Ok(()),
    }
}
// ANCHOR_END: pump

/// One read from a servlet's reader, retried when interrupted. An error, a
/// panic (the reader runs after the servlet's `catch_unwind`, so it has its
/// own) and a count larger than asked all come back as why the body failed.
fn read_piece(reader: &mut (dyn Read + Send), buf: &mut [u8]) -> Result<usize, Cut> {
    loop {
        let asked = buf.len();
        match panic::catch_unwind(AssertUnwindSafe(|| reader.read(buf))) {
            Ok(Ok(n)) if n <= asked => return Ok(n),
            Ok(Ok(n)) => {
                return Err(Cut::Body(format!(
                    "the reader claimed {n} bytes of {asked}"
                )));
            }
            Ok(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
            Ok(Err(err)) => return Err(Cut::Body(format!("read failed: {err}"))),
            Err(payload) => {
                return Err(Cut::Panic(format!(
                    "the reader panicked: {}",
                    panic_message(payload.as_ref())
                )));
            }
        }
    }
}

/// Replaces whatever the servlet left with a plain 500 that closes the
/// connection.
fn internal_error(resp: &mut HttpResponse) {
    resp.recycle(500, false, KEEP_BYTES);
    resp.set_content_type("text/plain; charset=utf-8");
    resp.append_body(b"500 Internal Server Error\n");
}

/// The text of a panic payload, when it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(not a string)"
    }
}

/// `write_all` for several slices, in as few system calls as the stream allows.
fn write_all_vectored<W: Write + ?Sized>(
    writer: &mut W,
    mut slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match writer.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory connection: reads from `input` in `step`-byte pieces,
    /// records every write.
    struct Duplex {
        input: Vec<u8>,
        at: usize,
        step: usize,
        output: Vec<u8>,
        writes: usize,
    }

    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (self.input.len() - self.at).min(self.step).min(buf.len());
            buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    impl SessionStream for Duplex {}

    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            self.writes += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn serve(input: &[u8], step: usize) -> (String, usize, SessionStats) {
        let mut dispatch = ServletDispatch::new();
        dispatch.add_servlet("/echo", |req: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body(req.body().to_vec());
        });
        dispatch.add_servlet("/panic", |_: &HttpRequest, _: &mut HttpResponse| {
            panic!("servlet failure (expected by the test)")
        });
        dispatch.add_servlet("/continue", |_: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_status(100);
        });
        let stats = SessionStats::new();
        let mut conn = Duplex {
            input: input.to_vec(),
            at: 0,
            step,
            output: Vec::new(),
            writes: 0,
        };
        serve_connection(&mut conn, &dispatch, &HttpLimits::default(), "t", &stats).unwrap();
        (
            String::from_utf8_lossy(&conn.output).into_owned(),
            conn.writes,
            stats,
        )
    }

    /// Takes at most `max` bytes a write, after answering the first
    /// `interrupts` writes with `Interrupted`.
    struct Slow {
        max: usize,
        interrupts: usize,
        written: Vec<u8>,
    }

    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.interrupts > 0 {
                self.interrupts -= 1;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.max);
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_and_interrupted_writes_go_on_to_the_end() {
        let text = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        for (max, interrupts) in [(usize::MAX, 0), (7, 0), (1, 0), (usize::MAX, 2), (5, 1)] {
            let mut out = Slow {
                max,
                interrupts,
                written: Vec::new(),
            };
            write_all_once(&mut out, text).unwrap();
            assert_eq!(out.written, text, "max {max}, interrupts {interrupts}");
        }
        let mut full = Slow {
            max: 0,
            interrupts: 0,
            written: Vec::new(),
        };
        let err = write_all_once(&mut full, text).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn a_server_name_that_is_not_a_field_value_is_not_sent() {
        // An empty name is not sent either (no `Server: ` with nothing after).
        for name in ["a\r\nX: y", ""] {
            let mut conn = Duplex {
                input: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                at: 0,
                step: usize::MAX,
                output: Vec::new(),
                writes: 0,
            };
            let (dispatch, limits) = (ServletDispatch::new(), HttpLimits::default());
            let stats = SessionStats::new();
            serve_connection(&mut conn, &dispatch, &limits, name, &stats).unwrap();
            let out = String::from_utf8_lossy(&conn.output);
            assert!(out.starts_with("HTTP/1.1 404 "), "{name:?}: {out:?}");
            assert!(
                !out.contains("Server") && !out.contains("X: y"),
                "{name:?}: {out:?}"
            );
        }
    }

    #[test]
    fn pipelined_requests_leave_in_one_write() {
        let one = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
        let input = one.repeat(5);
        let (out, writes, stats) = serve(input.as_bytes(), usize::MAX);
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 5);
        assert_eq!(out.matches("\r\n\r\nabc").count(), 5);
        assert_eq!(writes, 1);
        assert_eq!(stats.snapshot().requests, 5);
    }

    #[test]
    fn any_split_of_the_input_gives_the_same_answers() {
        let input = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                      3\r\nabc\r\n0\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
        let (whole, _, _) = serve(input, usize::MAX);
        let strip = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with("Date: "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for step in 1..20 {
            let (out, _, _) = serve(input, step);
            assert_eq!(strip(&out), strip(&whole), "step {step}");
        }
        assert!(whole.contains("Content-Length: 3\r\n\r\nabc"));
        assert!(whole.ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn panics_become_500_and_close() {
        let input = b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
        let (out, _, stats) = serve(input, usize::MAX);
        assert!(out.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(out.contains("Connection: close\r\n"));
        assert_eq!(out.matches("HTTP/1.1").count(), 1);
        assert_eq!(stats.snapshot().panics, 1);
    }

    #[test]
    fn a_1xx_final_status_becomes_500() {
        let (out, _, _) = serve(b"GET /continue HTTP/1.1\r\nHost: x\r\n\r\n", usize::MAX);
        assert!(out.starts_with("HTTP/1.1 500 "));
    }

    #[test]
    fn expect_continue_is_answered_before_the_body() {
        // The body is not buffered with the head: the client is waiting.
        let head =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
        let mut input = head.to_vec();
        input.extend_from_slice(b"hi");
        let (out, _, _) = serve(&input, head.len());
        assert!(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
        assert!(out.ends_with("\r\n\r\nhi"));
    }

    #[test]
    fn refusals_close_after_answering() {
        let (out, _, stats) = serve(
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            usize::MAX,
        );
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(out.contains("Connection: close\r\n"));
        assert!(out.ends_with("400 Bad Request: conflicting Content-Length fields\n"));
        assert_eq!(stats.snapshot().bad_requests, 1);
        assert_eq!(stats.snapshot().requests, 0);
    }

    #[test]
    fn large_bodies_are_written_vectored() {
        let mut input =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'z', 100_000));
        let (out, _, _) = serve(&input, 7000);
        assert!(out.contains("Content-Length: 100000\r\n"));
        assert!(out.ends_with(&"z".repeat(100_000)));
    }

    /// A tiny deterministic generator (xorshift64*), so that a failure replays.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Mutates valid requests at random (flips, insertions of the bytes that
    /// matter to HTTP, cuts, repeats) and serves them in random-sized reads.
    /// A mutation-based smoke test of "never panics on any input"; the
    /// coverage-guided fuzzing belongs to `cargo fuzz`.
    pub(crate) fn fuzz_rounds(seed: u64, rounds: usize) {
        const SEEDS: [&[u8]; 4] = [
            b"GET /echo?a=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
            b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n",
        ];
        const SPECIAL: &[u8] = b"\r\n\0 :;,\t0123456789aAfF-+\x7f\x80\xff";
        let mut rng = Rng(seed | 1);
        let limits = HttpLimits {
            max_header_bytes: 256,
            max_headers: 8,
            max_body_bytes: 64,
            ..HttpLimits::default()
        };
        let mut dispatch = ServletDispatch::new();
        dispatch.add_servlet("/echo", |req: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body(req.body().to_vec());
            if req.body().len() % 2 == 1 {
                resp.append_chunk(b"odd");
            }
        });
        for _ in 0..rounds {
            let mut input = Vec::new();
            for _ in 0..1 + rng.below(3) {
                input.extend_from_slice(SEEDS[rng.below(SEEDS.len())]);
            }
            for _ in 0..rng.below(6) {
                let at = rng.below(input.len() + 1);
                match rng.below(4) {
                    0 if at < input.len() => input[at] = rng.next() as u8,
                    1 => input.insert(at, SPECIAL[rng.below(SPECIAL.len())]),
                    2 => input.truncate(at),
                    _ => {
                        let end = (at + rng.below(16)).min(input.len());
                        let copy = input[at..end].to_vec();
                        input.splice(at..at, copy);
                    }
                }
            }
            let mut conn = Duplex {
                input,
                at: 0,
                step: 1 + rng.below(64),
                output: Vec::new(),
                writes: 0,
            };
            let stats = SessionStats::new();
            serve_connection(&mut conn, &dispatch, &limits, "fuzz", &stats).unwrap();
            assert!(conn.output.is_empty() || conn.output.starts_with(b"HTTP/1.1 "));
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        fuzz_rounds(0x5eed, 3_000);
    }
}
