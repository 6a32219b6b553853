//! Parsing a request head with `httparse`, then deciding, strictly, how long
//! its body is.
//!
//! `httparse` (hyper's parser; sylar used mongrel2's ragel grammar) checks the
//! syntax: the method and header names are tokens, header values hold no
//! control bytes, obs-fold and spaces before the colon are refused. It parses
//! in place: names and values are slices of the read buffer, collected in an
//! array on the stack. What it leaves to us is meaning: the request-target's
//! form, and which headers frame the body (the `framing` module, where request
//! smuggling is refused).

use std::mem::MaybeUninit;

use super::error::RequestError;
use super::framing::{BodyFraming, FramingFields};
use super::limits::HttpLimits;
use super::method::Method;
use super::request::HttpRequest;
use super::version::Version;
use super::words::any_word;

/// Header slots kept on the stack (a slot is 32 bytes). A configuration that
/// allows more takes them from the heap.
const STACK_SLOTS: usize = 128;

/// A parsed request head: how many bytes it took, and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// Bytes of the head, blank line included.
    pub len: usize,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// The client sent `Expect: 100-continue` and waits for our go-ahead.
    pub expect_continue: bool,
}

// ANCHOR: parse_head
/// Parses the request head at the start of `buf` into `req`.
///
/// `Ok(None)`: the head is not complete yet, read more. `Ok(Some(head))`: `req`
/// holds method, target, version and headers; the body starts at `head.len`.
/// `Err`: refuse the request with that status.
#[inline] // once a request: only picks where the header slots live
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &HttpLimits,
    req: &mut HttpRequest,
) -> Result<Option<Head>, RequestError> {
    let slots = limits.header_slots();
    let parsed = if slots <= STACK_SLOTS {
        let mut headers = [const { MaybeUninit::uninit() }; STACK_SLOTS];
        parse_into(buf, limits, req, &mut headers[..slots])
    } else {
        let mut headers = Vec::with_capacity(slots);
        headers.resize_with(slots, MaybeUninit::uninit);
        parse_into(buf, limits, req, &mut headers)
    };
    if parsed.is_err() {
        note_refused_head(buf, req);
    }
    parsed
}

/// [`parse_head`] with the header slots provided.
fn parse_into<'b>(
    buf: &'b [u8],
    limits: &HttpLimits,
    req: &mut HttpRequest,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<Head>, RequestError> {
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= limits.max_header_bytes => {
            return Err(RequestError::head_too_large(
                "request head larger than the limit",
            ));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        // A bad version is 505 or 400 depending on the whole version token:
        // decide once the request line has ended, not on how TCP split it.
        Err(httparse::Error::Version) if !request_line(buf).1 => {
            if buf.len() >= limits.max_header_bytes {
                return Err(RequestError::head_too_large(
                    "request head larger than the limit",
                ));
            }
            return Ok(None);
        }
        Err(err) => return Err(syntax_error(err, buf)),
    };
    if len > limits.max_header_bytes {
        return Err(RequestError::head_too_large(
            "request head larger than the limit",
        ));
    }
    // Complete: httparse has set all three.
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(RequestError::bad("incomplete request line"));
    };
    let version = Version::from_minor(minor);
    let method = Method::from_token(method);
    check_target(&method, target)?;
    // Cold: an origin-form target (`/...`) is one byte compare.
    let authority = match target.starts_with('/') {
        true => None,
        false => absolute_authority(target)?,
    };

    req.set_target(target);
    let (req_method, req_version, headers, body) = req.parts_mut();
    *req_method = method;
    *req_version = version;
    headers.clear();
    body.clear();

    let mut fields = FramingFields::default();
    for header in parsed.headers.iter() {
        let value =
            ascii_str(header.value).ok_or(RequestError::bad("non-ASCII byte in a header value"))?;
        fields.note(header.name, value)?;
        headers.append(header.name, value);
    }
    let framing = fields.framing(version, limits)?;
    if let Some(authority) = authority {
        headers.insert("host", authority);
    }
    let expect_continue = fields.expect_continue(version)?;
    Ok(Some(Head {
        len,
        framing,
        expect_continue,
    }))
}
// ANCHOR_END: parse_head

// ANCHOR: note_refused_head
/// Before a refusal: a request that is a `HEAD` is marked so, whatever
/// stopped the parse (a bad target or header, a head too large), since the
/// answer to a `HEAD` has no body, and a body the client does not expect
/// would be read as the start of something else. Refusals are rare: cold.
#[cold]
#[inline(never)]
fn note_refused_head(buf: &[u8], req: &mut HttpRequest) {
    if request_line(buf).0.starts_with(b"HEAD ") {
        *req.parts_mut().0 = Method::Head;
    }
}
// ANCHOR_END: note_refused_head

// ANCHOR: ascii_str
/// `bytes` as a `str` if every byte is ASCII. The ASCII check is all a
/// header value needs: `from_utf8` would first validate it as UTF-8 (about
/// 90 instructions even for a short value), then `is_ascii` would look at
/// every byte again.
#[inline]
fn ascii_str(bytes: &[u8]) -> Option<&str> {
    if !is_ascii(bytes) {
        return None;
    }
    // SAFETY: every byte is below 0x80 (checked just above), and a sequence
    // of ASCII bytes is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}
// ANCHOR_END: ascii_str

/// `<[u8]>::is_ascii`, for the short strings of a request head, a word at
/// a time (see `words.rs`).
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    !any_word(bytes, |word| word & 0x8080_8080_8080_8080 != 0)
}

/// The status and reason for a syntax error from httparse.
fn syntax_error(err: httparse::Error, buf: &[u8]) -> RequestError {
    match err {
        httparse::Error::TooManyHeaders => RequestError::head_too_large("too many header fields"),
        httparse::Error::Version if is_other_version(buf) => RequestError {
            status: 505,
            reason: "only HTTP/1.0 and HTTP/1.1 are supported",
        },
        httparse::Error::Version => RequestError::bad("malformed HTTP version"),
        httparse::Error::Token => RequestError::bad("malformed request line"),
        httparse::Error::HeaderName => RequestError::bad("malformed header name or line folding"),
        httparse::Error::HeaderValue => RequestError::bad("control byte in a header value"),
        httparse::Error::NewLine | httparse::Error::Status => {
            RequestError::bad("malformed line ending")
        }
    }
}

/// The request line (after any empty lines before it) without its line
/// end, and whether that end has arrived.
fn request_line(buf: &[u8]) -> (&[u8], bool) {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = &buf[start..];
    match line.iter().position(|&b| b == b'\n') {
        Some(end) => (
            line[..end].strip_suffix(b"\r").unwrap_or(&line[..end]),
            true,
        ),
        None => (line, false),
    }
}

/// True if the request line is `method SP target SP HTTP/x.y` with a
/// well-formed version that is simply not 1.0 or 1.1 (then the answer is 505,
/// not 400).
fn is_other_version(buf: &[u8]) -> bool {
    let (line, _) = request_line(buf);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit() && !(*major == b'1' && *minor <= b'1'))
}

// ANCHOR: check_target
/// Accepts the four request-target forms of RFC 9112 §3.2 and nothing else:
/// origin (`/path?q`), absolute (`http://host/path`), authority (`host:port`,
/// for CONNECT only) and asterisk (`*`, for OPTIONS only). Raw non-ASCII bytes
/// are refused: a URI carries them percent-encoded.
fn check_target(method: &Method, target: &str) -> Result<(), RequestError> {
    if !is_ascii(target.as_bytes()) {
        return Err(RequestError::bad("non-ASCII byte in the request target"));
    }
    let lower_starts = |prefix: &str| {
        target.len() > prefix.len() && target[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    let ok = match method {
        Method::Connect => !target.starts_with('/') && !target.contains("://"),
        Method::Options if target == "*" => true,
        _ => target.starts_with('/') || lower_starts("http://") || lower_starts("https://"),
    };
    if ok {
        Ok(())
    } else {
        Err(RequestError::bad("invalid request target"))
    }
}
// ANCHOR_END: check_target

/// Whether `authority` holds only bytes a `host[:port]` may (RFC 3986
/// §3.2): unreserved, sub-delims, `%`, `:` and the brackets of an IPv6
/// literal; so no user information (`@`), space, quote or backslash. The
/// characters, not the whole grammar.
fn is_authority(authority: &str) -> bool {
    authority
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%:[]".contains(&b))
}

// ANCHOR: absolute_authority
/// The authority part of an absolute-form target (`http://host:port/path`):
/// what lies between `://` and the path, query or fragment, unchecked.
/// `None` for a target without `://`. The client uses it too, to send the
/// `Host` such a target must repeat.
pub(crate) fn authority_in(target: &str) -> Option<&str> {
    let rest = &target[target.find("://")? + 3..];
    Some(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
}

/// The authority of an absolute-form target (`http://host:port/path`),
/// which the server must use instead of any `Host` field (RFC 9112
/// §3.2.2): a servlet reading `Host` then sees the authority a proxy in
/// front routed by. `None` for the other forms (`host:port` of a
/// `CONNECT`, `*` of an `OPTIONS`), which have no `://`. An empty
/// authority, or one with user information or other bytes no `host[:port]`
/// holds, is refused (RFC 9110 §4.2.1, §4.2.4).
#[cold]
#[inline(never)]
fn absolute_authority(target: &str) -> Result<Option<&str>, RequestError> {
    let Some(authority) = authority_in(target) else {
        return Ok(None);
    };
    if authority.is_empty() || !is_authority(authority) {
        return Err(RequestError::bad("invalid authority in the request target"));
    }
    Ok(Some(authority))
}
// ANCHOR_END: absolute_authority

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<Head>, RequestError> {
        parse_head(
            text.as_bytes(),
            &HttpLimits::default(),
            &mut HttpRequest::default(),
        )
    }

    fn status(text: &str) -> u16 {
        match parse(text) {
            Err(err) => err.status,
            Ok(Some(_)) => 200,
            Ok(None) => 0,
        }
    }

    #[test]
    fn simple_get() {
        let text = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\n\r\nNEXT";
        let mut req = HttpRequest::default();
        let head = parse_head(text.as_bytes(), &HttpLimits::default(), &mut req)
            .unwrap()
            .unwrap();
        assert_eq!(head.len, text.len() - 4);
        assert_eq!(head.framing, BodyFraming::Empty);
        assert_eq!((req.path(), req.query()), ("/a", Some("b=1")));
        assert_eq!(req.header("x-y"), Some("z"));
        assert_eq!(req.version(), Version::Http11);
    }

    #[test]
    fn partial_until_the_blank_line() {
        assert_eq!(parse("GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        assert_eq!(parse("GET / HTT"), Ok(None));
    }

    #[test]
    fn lengths() {
        let head = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.framing, BodyFraming::Length(12));
        let head =
            parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 05\r\n\r\n");
        assert_eq!(head.unwrap().unwrap().framing, BodyFraming::Length(5));
        for bad in [
            "-1",
            "+5",
            "5,5",
            "5 5",
            "0x10",
            "",
            "18446744073709551616",
            "١",
        ] {
            let text = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(status(&text), 400, "{bad:?}");
        }
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8388609\r\n\r\n"),
            413
        );
    }

    #[test]
    fn transfer_encodings() {
        let te = |value: &str| {
            status(&format!(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {value}\r\n\r\n"
            ))
        };
        assert_eq!(te("chunked"), 200);
        assert_eq!(te("Chunked"), 200);
        assert_eq!(te("gzip, chunked"), 501);
        assert_eq!(te("chunked, gzip"), 400);
        assert_eq!(te("chunked, chunked"), 400);
        assert_eq!(te("identity"), 400);
        assert_eq!(te("chunked;x=1"), 400);
        assert_eq!(te("xchunked"), 400);
        assert_eq!(
            status(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            501
        );
        assert_eq!(
            status(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
    }

    #[test]
    fn versions() {
        assert_eq!(status("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
        assert_eq!(status("GET / HTTP/1.2\r\n\r\n"), 505);
        assert_eq!(status("GET / HTTP/1.10\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTX/1.1\r\n\r\n"), 400);
        assert_eq!(status("GET / http/1.1\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.0\r\n\r\n"), 200);
        assert_eq!(status("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(status("GET /a b HTTP/2.0\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1 x\r\nHost: x\r\n\r\n"), 400);
    }

    #[test]
    fn malformed_heads() {
        for bad in [
            "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /\r\n\r\n",
            "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nName : y\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nA: b\0c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nA: b\x01c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nA: caf\u{e9}\r\n\r\n",
            "GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET example.com HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\rHost: x\r\n\r\n",
        ] {
            assert_eq!(status(bad), 400, "{bad:?}");
        }
    }

    #[test]
    fn other_target_forms() {
        assert_eq!(status("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
        assert_eq!(
            status("CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n"),
            200
        );
        assert_eq!(
            status("GET http://example.com/a HTTP/1.1\r\nHost: x\r\n\r\n"),
            200
        );
    }

    #[test]
    fn limits_on_the_head() {
        let limits = HttpLimits {
            max_header_bytes: 64,
            max_headers: 2,
            ..HttpLimits::default()
        };
        let mut req = HttpRequest::default();
        let mut run =
            |text: &str| parse_head(text.as_bytes(), &limits, &mut req).map_err(|e| e.status);
        assert_eq!(
            run("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n").map(|h| h.is_some()),
            Ok(true)
        );
        assert_eq!(
            run("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n"),
            Err(431)
        );
        let long = format!("GET / HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n", "a".repeat(40));
        assert_eq!(run(&long), Err(431));
        assert_eq!(run(&long[..64]), Err(431));
        assert_eq!(run(&long[..63]), Ok(None));
    }

    #[test]
    fn many_headers_use_the_heap() {
        let limits = HttpLimits {
            max_headers: 300,
            max_header_bytes: 1 << 20,
            ..HttpLimits::default()
        };
        let mut text = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        for i in 0..299 {
            text.push_str(&format!("X-{i}: {i}\r\n"));
        }
        text.push_str("\r\n");
        let mut req = HttpRequest::default();
        assert!(
            parse_head(text.as_bytes(), &limits, &mut req)
                .unwrap()
                .is_some()
        );
        assert_eq!(req.headers().len(), 300);
    }

    #[test]
    fn expectations() {
        let head =
            parse("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
        assert!(head.unwrap().unwrap().expect_continue);
        assert_eq!(
            status("PUT / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"),
            417
        );
        let head = parse("PUT / HTTP/1.0\r\nExpect: teapot\r\n\r\n");
        assert!(!head.unwrap().unwrap().expect_continue);
    }

    #[test]
    fn is_ascii_agrees_with_std_at_every_length_and_position() {
        for len in 0..40 {
            let clean = vec![b'a'; len];
            assert!(is_ascii(&clean), "len {len}");
            for at in 0..len {
                for high in [0x80, 0xc3, 0xff] {
                    let mut bytes = clean.clone();
                    bytes[at] = high;
                    assert!(!is_ascii(&bytes), "len {len}, byte {high:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn header_values_must_be_ascii() {
        assert_eq!(ascii_str(b""), Some(""));
        assert_eq!(
            ascii_str(b"text/plain; q=0.5\t~"),
            Some("text/plain; q=0.5\t~")
        );
        for bad in [&b"caf\xc3\xa9"[..], b"\x80", b"ok\xff", b"\xed\xa0\x80"] {
            assert_eq!(ascii_str(bad), None, "{bad:?}");
        }
        let text = b"GET / HTTP/1.1\r\nHost: x\r\nA: b\xffc\r\n\r\n";
        let result = parse_head(text, &HttpLimits::default(), &mut HttpRequest::default());
        assert_eq!(result.map_err(|e| e.status), Err(400));
    }

    #[test]
    fn a_reused_request_is_emptied() {
        let mut req = HttpRequest::default();
        let limits = HttpLimits::default();
        parse_head(
            b"GET /1 HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n",
            &limits,
            &mut req,
        )
        .unwrap();
        parse_head(b"HEAD /2 HTTP/1.0\r\n\r\n", &limits, &mut req).unwrap();
        assert_eq!(req.method(), &Method::Head);
        assert_eq!(req.path(), "/2");
        assert!(req.headers().is_empty());
    }
}
