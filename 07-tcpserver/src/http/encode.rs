//! Serializing a response into the connection's write buffer, with small
//! number-writing helpers instead of `format!` (no allocation, no formatter
//! machinery on the hot path).

use super::date::{DATE_LEN, http_date_now};
use super::method::is_tchar;
use super::response::HttpResponse;
use super::status::forbids_body;
use super::version::Version;

/// Bodies up to this size are copied behind the head, so that the whole
/// response (and its pipelined neighbours) leaves in one write; larger ones are
/// written from where they are, beside the head, with one vectored write.
pub(crate) const INLINE_BODY_MAX: usize = 16 * 1024;

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let at = decimal_at_end(&mut digits, n);
    out.extend_from_slice(&digits[at..]);
}

/// Writes `n` in decimal at the end of `buf` (20 bytes hold any `u64`) and
/// returns where its first digit is.
fn decimal_at_end(buf: &mut [u8], mut n: u64) -> usize {
    // Two digits a step from a table of the hundred pairs "00" to "99", as
    // std's own formatting does: half the divisions, and a length under a
    // hundred (the usual small body) takes no loop at all.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                                2021222324252627282930313233343536373839\
                                4041424344454647484950515253545556575859\
                                6061626364656667686970717273747576777879\
                                8081828384858687888990919293949596979899";
    let mut at = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    at
}

/// Appends `Content-Length: n\r\n`, built on the stack and appended once.
/// Always inlined: the buffered encoder must keep it inline although the
/// streamed one calls it too.
#[inline(always)]
fn push_content_length(out: &mut Vec<u8>, n: u64) {
    const NAME: &[u8; 16] = b"Content-Length: ";
    let mut line = [0u8; 16 + 20 + 2];
    let end = line.len() - 2;
    line[end..].copy_from_slice(b"\r\n");
    let at = decimal_at_end(&mut line[..end], n);
    line[at - NAME.len()..at].copy_from_slice(NAME);
    out.extend_from_slice(&line[at - NAME.len()..]);
}

/// Appends `n` in lowercase hexadecimal (a chunk size).
pub(crate) fn push_hex(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// What the response's framing depends on beyond the response itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framing<'a> {
    /// The request was `HEAD`: headers as for `GET`, no body.
    pub head_request: bool,
    /// The client's version: HTTP/1.0 gets no chunks, and an explicit
    /// `Connection: keep-alive` when kept alive.
    pub client_version: Version,
    /// Whether the connection stays open after this response.
    pub keep_alive: bool,
    /// The whole `Server` line (`Server: name\r\n`), or empty for none: the
    /// session builds it once per connection, from a name it checked with
    /// [`is_sendable_field`].
    pub server_line: &'a [u8],
}

/// True if `name: value` may be sent: the name a token, the value free of
/// CR, LF, NUL and the other control characters (tab excepted).
pub(crate) fn is_sendable_field(name: &str, value: &str) -> bool {
    // `fold` and `&`, not `all`: no early exit, so no branch per byte (a
    // field is valid almost always, and every field set is checked); each
    // byte is one table load, eight to a step once unrolled.
    let name_ok = name.bytes().fold(true, |ok, b| ok & is_tchar(b));
    !name.is_empty() && name_ok && is_field_value(value)
}

/// True if `value` may be sent as a field value: no CR, LF, NUL or other
/// control character (tab excepted).
#[inline] // folds away for a constant value (`set_content_type("text/plain")`)
pub(crate) fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .fold(true, |ok, b| ok & FIELD_VALUE[usize::from(b)])
}

/// For every byte, whether a field value may hold it: anything but the
/// control characters (tab allowed) and DEL. A table, like `is_tchar`'s: one
/// load a byte, and no vector constants for the compiler to keep loading
/// around the encoder's calls to `memcpy` (a short value gains nothing from
/// vectors anyway).
const FIELD_VALUE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b == b'\t' as usize || (b >= b' ' as usize && b != 0x7f);
        b += 1;
    }
    table
};

// ANCHOR: stream_framing
/// How a streamed body goes on the wire, decided with its head by
/// [`encode_streamed_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamFraming {
    /// No body (`HEAD`, 204, 304): the reader is dropped unread.
    Skip,
    /// `Content-Length: n`, `n` the declared length: exactly `n` bytes.
    Length,
    /// `Transfer-Encoding: chunked`: a chunk a read, then `0\r\n\r\n`.
    Chunked,
    /// HTTP/1.0 and no length: the body ends when the connection closes
    /// (the head says `Connection: close`).
    UntilClose,
}
// ANCHOR_END: stream_framing

// ANCHOR: encode_response
/// Appends `resp`, a buffered response, to `out` as HTTP/1.1. Returns true
/// if the body still has to be written after `out` (a large `Content-Length`
/// body, left in place to save a copy); false if `out` now holds the whole
/// response. A streamed response goes through [`encode_streamed_head`].
pub(crate) fn encode_response(out: &mut Vec<u8>, resp: &HttpResponse, framing: &Framing) -> bool {
    debug_assert!(!resp.is_streamed(), "see encode_streamed_head");
    push_head_fields(out, resp, framing);
    let status = resp.status();
    let body = resp.body();
    let chunked =
        resp.is_chunked() && framing.client_version == Version::Http11 && !framing.head_request;
    let mut body_after = false;
    if forbids_body(status) {
        // 1xx, 204, 304: no body and no Content-Length (RFC 9110 §8.6).
    } else if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else {
        push_content_length(out, body.len() as u64);
    }
    end_head(out, framing.keep_alive, framing.client_version);

    if forbids_body(status) || framing.head_request {
        // headers only
    } else if chunked {
        for chunk in resp.chunks() {
            push_hex(out, chunk.len() as u64);
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else if body.len() <= INLINE_BODY_MAX {
        out.extend_from_slice(body);
    } else {
        body_after = true;
    }
    body_after
}

/// The status line and the fields of `resp`, all but the framing: the same
/// for a buffered response and a streamed one. Inlined: in the buffered
/// path, it is the code it always was.
#[inline(always)]
fn push_head_fields(out: &mut Vec<u8>, resp: &HttpResponse, framing: &Framing) {
    let status = resp.status();
    debug_assert!(
        (100..=999).contains(&status),
        "the session checks the status"
    );
    // Fixed-size pieces are built on the stack and appended whole: every
    // append checks the capacity and copies, so fewer appends cost less.
    if status == 200 {
        // Nearly every response: the whole line as it is, no digits to
        // write and no reason phrase to look up.
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        let digit = |n: u16| b'0' + (n % 10) as u8;
        let mut start = *b"HTTP/1.1 000 ";
        start[9..12].copy_from_slice(&[digit(status / 100), digit(status / 10), digit(status)]);
        out.extend_from_slice(&start);
        out.extend_from_slice(resp.reason().as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    let (mut has_date, mut has_server) = (false, false);
    // Fields set through `set_header` were checked then; any other way in
    // (`headers_mut`) and they are checked here.
    let check_fields = !resp.fields_checked();
    for (name, value) in resp.headers().iter() {
        // Spelled out, not `[..].iter().any(..)`: this code is inlined into
        // both encoders, and two callers made the compiler keep `any` out
        // of line, a call per field.
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("connection")
        {
            continue; // the framing is ours to write
        }
        if check_fields && !is_sendable_field(name, value) {
            log_dropped(name);
            continue;
        }
        has_date |= name.eq_ignore_ascii_case("date");
        has_server |= name.eq_ignore_ascii_case("server");
        push_field(out, name.as_bytes(), value.as_bytes());
    }
    if !has_server {
        out.extend_from_slice(framing.server_line);
    }
    if !has_date {
        let mut date = *b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n";
        date[6..6 + DATE_LEN].copy_from_slice(&http_date_now());
        out.extend_from_slice(&date);
    }
}

/// Ends a head: the `Connection` field if one is needed (`close`, or an
/// HTTP/1.0 client's `keep-alive` said back), then the blank line. Shared by
/// both encoders, so always inlined, like the rest of the buffered path.
#[inline(always)]
fn end_head(out: &mut Vec<u8>, keep_alive: bool, client_version: Version) {
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if client_version == Version::Http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}
// ANCHOR_END: encode_response

// ANCHOR: encode_streamed_head
/// Appends the head of `resp`, a streamed response, to `out`: the same
/// status line and fields as [`encode_response`], then the framing, decided
/// from the declared length, the client's version and the method. Returns
/// how the body is to follow. Out of line and cold: the buffered path never
/// carries it.
#[cold]
#[inline(never)]
pub(crate) fn encode_streamed_head(
    out: &mut Vec<u8>,
    resp: &HttpResponse,
    framing: &Framing,
) -> StreamFraming {
    encode_cold_head(out, resp, framing, false)
}
// ANCHOR_END: encode_streamed_head

// ANCHOR: encode_tunnel_head
/// Appends the head of a 2xx response to `CONNECT`: the status line and the
/// fields, no `Content-Length` or `Transfer-Encoding` (RFC 9110 §9.3.6: the
/// bytes after this head belong to a tunnel, not to a body), and
/// `Connection: close`, since we provide no tunnel and end the connection
/// after it. Cold: the usual path never comes here.
#[cold]
#[inline(never)]
pub(crate) fn encode_tunnel_head(out: &mut Vec<u8>, resp: &HttpResponse, framing: &Framing) {
    encode_cold_head(out, resp, framing, true);
}
// ANCHOR_END: encode_tunnel_head

// ANCHOR: encode_streamed_head
/// The two heads above, in one function: the fields are written by the
/// same inlined code as in [`encode_response`], and a third inlined copy of
/// it would change how the compiler treats the buffered path (measured: the
/// `Date` cache was no longer inlined there, 80 instructions a response).
#[cold]
#[inline(never)]
fn encode_cold_head(
    out: &mut Vec<u8>,
    resp: &HttpResponse,
    framing: &Framing,
    tunnel: bool,
) -> StreamFraming {
    push_head_fields(out, resp, framing);
    let len = resp.streamed_len();
    let bodiless = tunnel || forbids_body(resp.status());
    let how = if bodiless || framing.head_request {
        StreamFraming::Skip
    } else if len.is_some() {
        StreamFraming::Length
    } else if framing.client_version == Version::Http11 {
        StreamFraming::Chunked
    } else {
        StreamFraming::UntilClose
    };
    match (bodiless, len, how) {
        // No body and no length (RFC 9110 §8.6), or a tunnel's bytes next.
        (true, _, _) => {}
        (false, Some(n), _) => push_content_length(out, n), // HEAD too
        (false, None, StreamFraming::Chunked) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        // HEAD of an unknown length: nothing to announce. HTTP/1.0: the
        // close ends the body.
        (false, None, _) => {}
    }
    let keep_alive = framing.keep_alive && !tunnel && how != StreamFraming::UntilClose;
    end_head(out, keep_alive, framing.client_version);
    how
}
// ANCHOR_END: encode_streamed_head

/// Logs a field the servlet set that cannot be sent. Out of line: the
/// formatting machinery would otherwise crowd the common path.
#[cold]
fn log_dropped(name: &str) {
    log::warn!(target: "system", "http: dropped response header {name:?}: not a valid field");
}

/// Appends `name: value\r\n`.
fn push_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Framing<'static> = Framing {
        head_request: false,
        client_version: Version::Http11,
        keep_alive: true,
        server_line: b"Server: test/1\r\n",
    };

    fn encode(resp: &HttpResponse, framing: &Framing) -> String {
        let mut out = Vec::new();
        assert!(!encode_response(&mut out, resp, framing));
        String::from_utf8(out).unwrap()
    }

    /// The response with its Date line blanked (it changes every second).
    fn without_date(text: &str) -> String {
        text.lines()
            .filter(|line| !line.starts_with("Date: "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn field_values_refuse_control_bytes_but_tab() {
        for b in 0u8..128 {
            let value = format!("a{}b", b as char);
            let allowed = b == b'\t' || (b >= b' ' && b != 0x7f);
            assert_eq!(is_sendable_field("X", &value), allowed, "byte {b:#04x}");
        }
        // Longer than any vector step, the bad byte last; and obs-text.
        assert!(!is_sendable_field("X", &format!("{}\n", "v".repeat(40))));
        assert!(is_sendable_field("X", "caf\u{e9} \u{2603}"));
    }

    #[test]
    fn numbers() {
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (1234567890, "1234567890"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, text.as_bytes());
        }
        for (n, line) in [
            (0, "Content-Length: 0\r\n"),
            (11, "Content-Length: 11\r\n"),
            (u64::MAX, "Content-Length: 18446744073709551615\r\n"),
        ] {
            let mut out = b"x".to_vec();
            push_content_length(&mut out, n);
            assert_eq!(out, format!("x{line}").as_bytes());
        }
        let mut out = Vec::new();
        push_hex(&mut out, 0);
        push_hex(&mut out, 0x1a2b);
        assert_eq!(out, b"01a2b");
    }

    #[test]
    fn decimals_match_std_at_every_digit_count() {
        // Every number up to 100,000, then each power of ten and its
        // neighbours: an odd and an even count of digits, every pair.
        let powers = (1..20).map(|k| 10u64.pow(k));
        let edges = powers.flat_map(|p| [p - 1, p, p + 1]).chain([u64::MAX]);
        for n in (0..=100_000).chain(edges) {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes(), "{n}");
        }
    }

    #[test]
    fn empty_body_still_has_content_length() {
        let text = encode(&HttpResponse::new(200), &KEEP);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("\r\nContent-Length: 0\r\n"));
        assert!(text.contains("\r\nServer: test/1\r\n"));
        assert!(text.contains("\r\nDate: "));
        assert!(!text.contains("Connection"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn status_lines_match_the_reason_table() {
        // 200 has a line of its own; it must say what the table says.
        for status in [200, 201, 204, 299, 404, 500, 999] {
            let text = encode(&HttpResponse::new(status), &KEEP);
            let reason = crate::http::status::reason_phrase(status);
            let line = format!("HTTP/1.1 {status} {reason}\r\n");
            assert!(text.starts_with(&line), "{status}: {text:?}");
        }
    }

    #[test]
    fn head_gets_the_length_without_the_body() {
        let mut resp = HttpResponse::new(200);
        resp.set_body("hello");
        let framing = Framing {
            head_request: true,
            ..KEEP
        };
        let text = encode(&resp, &framing);
        assert!(text.contains("Content-Length: 5\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn chunked_for_http11_and_length_for_http10() {
        let mut resp = HttpResponse::new(200);
        resp.append_chunk(b"hello ");
        resp.append_chunk(&[b'x'; 20]);
        let text = encode(&resp, &KEEP);
        assert!(text.contains("Transfer-Encoding: chunked\r\n"));
        assert!(!text.contains("Content-Length"));
        assert!(text.ends_with("\r\n\r\n6\r\nhello \r\n14\r\nxxxxxxxxxxxxxxxxxxxx\r\n0\r\n\r\n"));
        let framing = Framing {
            client_version: Version::Http10,
            ..KEEP
        };
        let text = encode(&resp, &framing);
        assert!(text.contains("Content-Length: 26\r\n"));
        assert!(text.contains("Connection: keep-alive\r\n"));
        assert!(text.ends_with("\r\n\r\nhello xxxxxxxxxxxxxxxxxxxx"));
    }

    #[test]
    fn framing_headers_are_ours_and_bad_fields_dropped() {
        let mut resp = HttpResponse::new(404);
        resp.set_header("Content-Length", "999");
        resp.set_header("Transfer-Encoding", "gzip");
        resp.set_header("Connection", "keep-alive");
        resp.set_header("X-Split", "a\r\nSet-Cookie: evil=1");
        resp.set_header("Bad Name", "x");
        resp.set_header("X-Ok", "fine\tvalue");
        resp.set_body("nope");
        let framing = Framing {
            keep_alive: false,
            ..KEEP
        };
        let text = without_date(&encode(&resp, &framing));
        assert_eq!(
            text,
            "HTTP/1.1 404 Not Found\nX-Ok: fine\tvalue\nServer: test/1\n\
             Content-Length: 4\nConnection: close\n\nnope"
        );
    }

    #[test]
    fn user_date_and_server_win() {
        let mut resp = HttpResponse::new(200);
        resp.set_header("server", "mine");
        resp.set_header("date", "Thu, 01 Jan 1970 00:00:00 GMT");
        let text = encode(&resp, &KEEP);
        assert_eq!(
            text.matches("Date").count() + text.matches("date").count(),
            1
        );
        assert!(text.contains("server: mine\r\n") && !text.contains("test/1"));
    }

    #[test]
    fn bodiless_statuses_have_no_length() {
        let mut resp = HttpResponse::new(204);
        resp.set_body("ignored");
        let text = encode(&resp, &KEEP);
        assert!(!text.contains("Content-Length") && text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn large_bodies_are_left_in_place() {
        let mut resp = HttpResponse::new(200);
        resp.set_body(vec![b'a'; INLINE_BODY_MAX + 1]);
        let mut out = Vec::new();
        assert!(encode_response(&mut out, &resp, &KEEP));
        assert!(out.ends_with(b"\r\n\r\n"));
    }

    /// The head of a streamed response and what is left to do.
    fn encode_streamed(
        len: Option<u64>,
        status: u16,
        framing: &Framing,
    ) -> (String, StreamFraming) {
        let mut resp = HttpResponse::new(status);
        resp.set_chunked(true); // ignored: the length decides
        resp.set_body_reader(std::io::empty(), len);
        let mut out = Vec::new();
        let rest = encode_streamed_head(&mut out, &resp, framing);
        (without_date(&String::from_utf8(out).unwrap()), rest)
    }

    #[test]
    fn streamed_framing_follows_the_length_the_version_and_the_method() {
        let http10 = Framing {
            client_version: Version::Http10,
            ..KEEP
        };
        let head = Framing {
            head_request: true,
            ..KEEP
        };
        let cases = [
            (
                Some(7),
                200,
                KEEP,
                "Content-Length: 7\n",
                StreamFraming::Length,
            ),
            (
                None,
                200,
                KEEP,
                "Transfer-Encoding: chunked\n",
                StreamFraming::Chunked,
            ),
            (
                Some(7),
                200,
                http10,
                "Content-Length: 7\nConnection: keep-alive\n",
                StreamFraming::Length,
            ),
            (
                None,
                200,
                http10,
                "Connection: close\n",
                StreamFraming::UntilClose,
            ),
            (
                Some(7),
                200,
                head,
                "Content-Length: 7\n",
                StreamFraming::Skip,
            ),
            (None, 200, head, "", StreamFraming::Skip),
            (Some(7), 204, KEEP, "", StreamFraming::Skip),
        ];
        for (len, status, framing, fields, how) in cases {
            let (text, rest) = encode_streamed(len, status, &framing);
            let reason = crate::http::status::reason_phrase(status);
            let expected = format!("HTTP/1.1 {status} {reason}\nServer: test/1\n{fields}");
            assert_eq!((text, rest), (expected, how), "{len:?} {status}");
        }
    }
}
