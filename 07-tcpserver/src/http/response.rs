//! [`HttpResponse`]: what a servlet fills in.

use super::encode::{is_field_value, is_sendable_field};
use super::headers::Headers;
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
/// The body is built in memory and sent whole: chunked framing changes the
/// bytes on the wire, not when they are sent.
#[derive(Debug, Clone)]
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
}
// ANCHOR_END: response

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

    /// Replaces the body (one chunk, if the response is chunked).
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        self.body = body.into();
        self.chunk_ends.clear();
    }

    /// Appends to the body, in the buffer the connection reuses: the way to
    /// answer without allocating.
    pub fn append_body(&mut self, bytes: &[u8]) {
        self.body.extend_from_slice(bytes);
    }

    /// The body buffer itself (for `write!` and the like).
    pub fn body_mut(&mut self) -> &mut Vec<u8> {
        &mut self.body
    }

    /// The whole body (all chunks, for a chunked response).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Sends the body with `Transfer-Encoding: chunked` (`true`) or
    /// `Content-Length` (`false`, the default). An HTTP/1.0 client, or a `HEAD`
    /// request, gets `Content-Length` regardless: it cannot take chunks.
    pub fn set_chunked(&mut self, chunked: bool) {
        self.chunked = chunked;
    }

    /// True if the body is to be sent chunked.
    pub fn is_chunked(&self) -> bool {
        self.chunked
    }

    /// Appends one chunk to the body and makes the response chunked. An empty
    /// chunk is skipped: on the wire, size 0 means "the end".
    pub fn append_chunk(&mut self, bytes: &[u8]) {
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
    pub(crate) fn recycle(&mut self, status: u16, keep_alive: bool, keep: usize) {
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

impl PartialEq for HttpResponse {
    /// Same status, fields, body and framing (whether the fields were
    /// checked as they were set does not matter).
    fn eq(&self, other: &HttpResponse) -> bool {
        self.status == other.status
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
    fn recycle_resets_everything() {
        let mut resp = HttpResponse::new(404);
        resp.set_header("X", "y");
        resp.append_chunk(b"z");
        resp.set_keep_alive(false);
        resp.recycle(200, true, 1024);
        assert_eq!(resp, HttpResponse::new(200));
    }
}
