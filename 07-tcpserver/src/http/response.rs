//! [`HttpResponse`]: what a servlet fills in.

use std::fmt;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};

use super::encode::{is_field_value, is_sendable_field};
use super::headers::Headers;
use super::session::panic_message;
use super::status::reason_phrase;

// ANCHOR: response
/// A response under construction: status, headers, body, and how to frame it.
///
/// The session owns the framing: it writes `Content-Length` (always, even `0`,
/// unless the status forbids a body), or `Transfer-Encoding: chunked` when
/// [`set_chunked`](Self::set_chunked) asked for it, and `Date`, `Server` and
/// `Connection`. Values a servlet sets for `Content-Length`,
/// `Transfer-Encoding` or `Connection` are ignored, except that a `close`
/// token in `Connection` closes the connection as
/// [`set_keep_alive(false)`](Self::set_keep_alive) does.
///
/// The body is either built in memory and sent whole (chunked framing then
/// changes the bytes on the wire, not when they are sent), or *streamed*: a
/// reader handed over with [`set_body_reader`](Self::set_body_reader), which
/// the session pulls from in bounded pieces after the servlet returns.
pub struct HttpResponse {
    status: u16,
    headers: Headers,
    /// True while every field came in through [`set_header`](Self::set_header)
    /// or [`set_content_type`](Self::set_content_type), which check it and
    /// found it sendable: the encoder then sends the fields without checking
    /// them again. [`headers_mut`](Self::headers_mut) clears it (a field can
    /// change unseen through it), and so does a field that failed the check.
    fields_checked: bool,
    body: Vec<u8>,
    /// When chunked: where each appended chunk ends in `body`. Bytes after the
    /// last end (from `set_body` or `body_mut`) form one more chunk.
    chunk_ends: Vec<usize>,
    chunked: bool,
    keep_alive: bool,
    /// A streamed body, if the servlet handed one over: it replaces `body`.
    /// Checked once per response, after the servlet: a buffered response
    /// pays for one test of `None`.
    /// Boxed: one pointer, and a test of `None` is a test of null.
    streamed: Option<Box<StreamedBody>>,
}
// ANCHOR_END: response

// ANCHOR: streamed_body
/// A body the session pulls from a reader, and the length the servlet
/// declared for it (`None`: unknown, sent chunked, or until the close for an
/// HTTP/1.0 client).
pub(crate) struct StreamedBody {
    /// `Send`: the fiber that pulls from it may park on hooked I/O and resume
    /// on another worker thread.
    pub reader: Box<dyn Read + Send>,
    pub len: Option<u64>,
}

impl Drop for StreamedBody {
    /// A reader's own `Drop` is servlet code, run wherever the body is let
    /// go (sent, skipped for `HEAD`, replaced, left behind by a servlet that
    /// panicked, or abandoned when the client vanished): a panic in it is
    /// contained and logged here, once for all those paths.
    fn drop(&mut self) {
        let reader = std::mem::replace(&mut self.reader, Box::new(std::io::empty()));
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(reader))) {
            log::error!(
                target: "system",
                "http: a body reader panicked when dropped: {}",
                panic_message(payload.as_ref())
            );
        }
    }
}
// ANCHOR_END: streamed_body

impl HttpResponse {
    /// A response with `status`, no headers, an empty body, keep-alive on.
    pub fn new(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            headers: Headers::new(),
            fields_checked: true,
            body: Vec::new(),
            chunk_ends: Vec::new(),
            chunked: false,
            keep_alive: true,
            streamed: None,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Sets the status code. A code outside 200..=999 (a 1xx cannot be a final
    /// answer) is sent as 500.
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// The standard reason phrase of the status (`"Not Found"`), or `""`.
    pub fn reason(&self) -> &'static str {
        reason_phrase(self.status)
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to change. Fields set this way are checked when
    /// the response is sent.
    pub fn headers_mut(&mut self) -> &mut Headers {
        self.fields_checked = false;
        &mut self.headers
    }

    /// True if every field was checked as it was set (see
    /// [`set_header`](Self::set_header)): the encoder need not check again.
    pub(crate) fn fields_checked(&self) -> bool {
        self.fields_checked
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Sets header `name` to `value`, replacing any previous value. A field
    /// whose name is not a token, or whose value holds CR, LF or another control
    /// character, is dropped when the response is sent (and logged): no
    /// response splitting through a header built from user input.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.fields_checked &= is_sendable_field(name, value);
        self.headers.insert(name, value);
    }

    /// Sets `Content-Type`.
    #[inline] // in nearly every servlet: no call
    pub fn set_content_type(&mut self, content_type: &str) {
        // The name is a token: only the value needs a check, and for a
        // constant type (`"text/plain"`) the compiler works it out when it
        // builds the servlet.
        self.fields_checked &= is_field_value(content_type);
        self.headers.insert("Content-Type", content_type);
    }

    /// Replaces the body (one chunk, if the response is chunked), and drops
    /// a body reader set before.
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        self.drop_body_reader();
        self.body = body.into();
        self.chunk_ends.clear();
    }

    /// Appends to the body, in the buffer the connection reuses: the way to
    /// answer without allocating. Drops a body reader set before.
    pub fn append_body(&mut self, bytes: &[u8]) {
        self.drop_body_reader();
        self.body.extend_from_slice(bytes);
    }

    /// The body buffer itself (for `write!` and the like). Drops a body
    /// reader set before: what is written here is the body.
    pub fn body_mut(&mut self) -> &mut Vec<u8> {
        self.drop_body_reader();
        &mut self.body
    }

    /// The whole body (all chunks, for a chunked response). Empty for a
    /// streamed response: its bytes are in the reader, and are only read
    /// while they are sent.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    // ANCHOR: set_body_reader
    /// Streams the body from `body` instead of holding it: after the servlet
    /// returns, the session sends the head, then reads `body` in bounded
    /// pieces (64 KiB at most, into one buffer) and writes each out, so a body
    /// of any size costs the same memory. Replaces the buffered body (which
    /// [`body`](Self::body) then shows empty); [`set_body`](Self::set_body),
    /// [`append_body`](Self::append_body), [`body_mut`](Self::body_mut) and
    /// [`append_chunk`](Self::append_chunk) drop the reader again.
    ///
    /// The session runs in a fiber: `body` may block on hooked I/O (a pipe,
    /// another socket) and only this connection's fiber waits. But while it
    /// waits, nobody watches the client, and the server's `stop` cannot wake
    /// it: a reader must bound its own waits (a read timeout on an upstream
    /// socket, say), or a stalled source holds the connection as long as it
    /// stalls.
    ///
    /// Framing follows `len`, not [`set_chunked`](Self::set_chunked):
    /// - `Some(n)`: `Content-Length: n`, and exactly `n` bytes are read; a
    ///   reader that ends sooner leaves the client a short body, and the
    ///   connection is closed (the head is out: there is nothing else to do).
    /// - `None`: chunked for HTTP/1.1, one chunk per read; for HTTP/1.0, no
    ///   length and `Connection: close`, the end of the body being the close.
    ///
    /// A `HEAD` request gets the head only, with `Content-Length` when `len`
    /// is known; a status without a body (204, 304) gets the head without a
    /// length field, and so does a 2xx to `CONNECT` (whose connection then
    /// closes: see the session). Either way the reader is dropped unread. A reader that
    /// fails or panics midway is logged and the connection closed without
    /// the chunked terminator, so a client can tell the body was cut; a
    /// panic in the reader's own `Drop` is contained and logged too.
    pub fn set_body_reader(&mut self, body: impl Read + Send + 'static, len: Option<u64>) {
        self.body.clear();
        self.chunk_ends.clear();
        self.streamed = Some(Box::new(StreamedBody {
            reader: Box::new(body),
            len,
        }));
    }
    // ANCHOR_END: set_body_reader

    /// True if the body is streamed from a reader (see
    /// [`set_body_reader`](Self::set_body_reader)).
    pub fn is_streamed(&self) -> bool {
        self.streamed.is_some()
    }

    /// The declared length of a streamed body (`None` when unknown).
    pub(crate) fn streamed_len(&self) -> Option<u64> {
        self.streamed.as_ref().and_then(|s| s.len)
    }

    /// Takes the streamed body out, to be sent (or dropped unread).
    pub(crate) fn take_body_reader(&mut self) -> Option<Box<StreamedBody>> {
        self.streamed.take()
    }

    /// Drops a body reader, if any. The test is inline (a buffered body pays
    /// one compare); dropping the box is out of line.
    #[inline]
    fn drop_body_reader(&mut self) {
        if self.streamed.is_some() {
            self.drop_body_reader_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn drop_body_reader_slow(&mut self) {
        self.streamed = None;
    }

    /// Sends the body with `Transfer-Encoding: chunked` (`true`) or
    /// `Content-Length` (`false`, the default). An HTTP/1.0 client, or a `HEAD`
    /// request, gets `Content-Length` regardless: it cannot take chunks. A
    /// streamed body is framed by its declared length instead (see
    /// [`set_body_reader`](Self::set_body_reader)).
    pub fn set_chunked(&mut self, chunked: bool) {
        self.chunked = chunked;
    }

    /// True if the body is to be sent chunked.
    pub fn is_chunked(&self) -> bool {
        self.chunked
    }

    /// Appends one chunk to the body and makes the response chunked. An empty
    /// chunk is skipped: on the wire, size 0 means "the end".
    /// Drops a body reader set before.
    pub fn append_chunk(&mut self, bytes: &[u8]) {
        self.drop_body_reader();
        self.chunked = true;
        if bytes.is_empty() {
            return;
        }
        self.body.extend_from_slice(bytes);
        self.chunk_ends.push(self.body.len());
    }

    // ANCHOR: chunks
    /// The body's chunks, non-empty, in order: every byte of the body once.
    ///
    /// The recorded chunk ends are only a hint: a servlet may have shortened
    /// or replaced the body through [`body_mut`](Self::body_mut) after
    /// appending chunks, so an end past the body, or before the previous one,
    /// is clamped rather than trusted (trusting it panicked while encoding,
    /// outside the servlet's `catch_unwind`).
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let len = self.body.len();
        let mut start = 0;
        self.chunk_ends
            .iter()
            .copied()
            .chain(std::iter::once(len))
            .filter_map(move |end| {
                let end = end.min(len);
                if end <= start {
                    return None;
                }
                let chunk = &self.body[start..end];
                start = end;
                Some(chunk)
            })
    }
    // ANCHOR_END: chunks

    /// Whether the connection stays open after this response (the request's
    /// wish, unless a servlet turned it off).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// `false` closes the connection after this response. `true` cannot keep
    /// open a connection the client asked to close.
    pub fn set_keep_alive(&mut self, keep_alive: bool) {
        self.keep_alive = keep_alive;
    }

    /// Resets to a fresh response (`status`, keep-alive as given) for the next
    /// request on the connection, keeping memory up to `keep` bytes a buffer.
    /// A body reader still here (the servlet panicked after setting it) is
    /// dropped.
    pub(crate) fn recycle(&mut self, status: u16, keep_alive: bool, keep: usize) {
        self.drop_body_reader();
        self.status = status;
        self.keep_alive = keep_alive;
        self.chunked = false;
        self.chunk_ends.clear();
        self.headers.clear();
        self.headers.shrink_to(keep);
        self.fields_checked = true;
        self.body.clear();
        if self.body.capacity() > keep {
            self.body = Vec::new();
        }
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("fields_checked", &self.fields_checked)
            .field("body", &self.body)
            .field("chunk_ends", &self.chunk_ends)
            .field("chunked", &self.chunked)
            .field("keep_alive", &self.keep_alive)
            .field(
                "streamed",
                &self
                    .streamed
                    .as_ref()
                    .map(|s| format!("reader, length {:?}", s.len)),
            )
            .finish()
    }
}

impl PartialEq for HttpResponse {
    /// Same status, fields, body and framing (whether the fields were
    /// checked as they were set does not matter). Two streamed responses are
    /// compared by their declared lengths: a reader cannot be compared
    /// without being consumed.
    fn eq(&self, other: &HttpResponse) -> bool {
        let streamed = |r: &HttpResponse| r.streamed.as_ref().map(|s| s.len);
        streamed(self) == streamed(other)
            && self.status == other.status
            && self.headers == other.headers
            && self.body == other.body
            && self.chunk_ends == other.chunk_ends
            && self.chunked == other.chunked
            && self.keep_alive == other.keep_alive
    }
}

impl Eq for HttpResponse {}

impl Default for HttpResponse {
    /// `200 OK`, empty.
    fn default() -> Self {
        HttpResponse::new(200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(resp: &HttpResponse) -> Vec<&[u8]> {
        resp.chunks().collect()
    }

    #[test]
    fn defaults() {
        let resp = HttpResponse::default();
        assert_eq!((resp.status(), resp.reason()), (200, "OK"));
        assert!(resp.keep_alive() && !resp.is_chunked() && resp.body().is_empty());
    }

    #[test]
    fn chunks_are_kept_apart_and_empty_ones_skipped() {
        let mut resp = HttpResponse::new(200);
        resp.append_chunk(b"ab");
        resp.append_chunk(b"");
        resp.append_chunk(b"cde");
        assert!(resp.is_chunked());
        assert_eq!(resp.body(), b"abcde");
        assert_eq!(chunks(&resp), [&b"ab"[..], b"cde"]);
        resp.append_body(b"fg");
        assert_eq!(chunks(&resp), [&b"ab"[..], b"cde", b"fg"]);
    }

    #[test]
    fn chunks_survive_a_body_changed_behind_their_back() {
        let mut resp = HttpResponse::new(200);
        resp.append_chunk(b"abcd");
        resp.append_chunk(b"efgh");
        resp.body_mut().truncate(6);
        assert_eq!(chunks(&resp), [&b"abcd"[..], b"ef"]);
        resp.body_mut().clear();
        assert!(chunks(&resp).is_empty());
        resp.append_chunk(b"xyz"); // an end (3) below the stale ones (4, 8)
        assert_eq!(chunks(&resp), [&b"xyz"[..]]);
    }

    #[test]
    fn set_body_is_one_chunk() {
        let mut resp = HttpResponse::new(200);
        resp.append_chunk(b"old");
        resp.set_body("new body");
        assert_eq!(chunks(&resp), [&b"new body"[..]]);
        resp.set_body(Vec::new());
        assert!(chunks(&resp).is_empty());
    }

    #[test]
    fn equality_ignores_how_fields_were_set() {
        let mut checked = HttpResponse::new(200);
        checked.set_header("X", "1");
        let mut raw = HttpResponse::new(200);
        raw.headers_mut().append("X", "1");
        assert!(checked.fields_checked() && !raw.fields_checked());
        assert_eq!(checked, raw);
        raw.set_header("X", "2");
        assert_ne!(checked, raw);
    }

    #[test]
    fn a_reader_and_a_buffered_body_replace_each_other() {
        let mut resp = HttpResponse::new(200);
        resp.set_body("buffered");
        resp.set_body_reader(&b"streamed"[..], Some(8));
        assert!(resp.is_streamed() && resp.body().is_empty());
        assert_eq!(resp.streamed_len(), Some(8));
        resp.set_body("again");
        assert!(!resp.is_streamed() && resp.body() == b"again");
        resp.set_body_reader(&b"x"[..], None);
        resp.append_chunk(b"c");
        assert!(!resp.is_streamed());
        resp.set_body_reader(&b"x"[..], None);
        resp.body_mut().push(b'y');
        assert!(!resp.is_streamed());
        assert!(format!("{resp:?}").contains("streamed: None"));
    }

    #[test]
    fn recycle_resets_everything() {
        let mut resp = HttpResponse::new(404);
        resp.set_header("X", "y");
        resp.append_chunk(b"z");
        resp.set_body_reader(std::io::empty(), None);
        resp.set_keep_alive(false);
        resp.recycle(200, true, 1024);
        assert_eq!(resp, HttpResponse::new(200));
    }
}
