//! Hostile requests that `http_smuggling.rs`, `http_malformed.rs` and
//! `http_limits.rs` leave out (issue 8): NUL and non-ASCII bytes wherever
//! they can hide, more invalid methods and versions, bare LF and obs-fold in
//! trailers, negative and duplicate lengths, chunk sizes at the 64-bit edge,
//! header counts and sizes at the default limits, bodies one byte over them.
//! Each is refused with its 4xx (or 505) and `Connection: close`, the
//! connection is closed, and no servlet runs. A few near misses are served,
//! to show where the line is. The last test sends them all to the real
//! fiber server.

#[path = "common/http.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{PATIENCE, TestServer, assert_refused, echo_everything, parse_all, parse_one};

const CHUNKED: &[u8] = b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";

/// A chunked POST whose body (chunks and trailers) is `rest`.
fn chunked(rest: &[u8]) -> Vec<u8> {
    [CHUNKED, rest].concat()
}

// ANCHOR: nul_and_non_ascii
#[test]
fn nul_and_non_ascii_bytes_in_the_head_are_400() {
    for request in [
        &b"\x00GET / HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"GET /a\x00b HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /a%00b\x00 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1\x00\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.\xb1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX\x00Y: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-\xc3\xa9: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\x00.evil\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        assert_refused(request, 400);
    }
}
// ANCHOR_END: nul_and_non_ascii

#[test]
fn nul_and_control_bytes_in_chunk_extensions_and_trailers_are_400() {
    for rest in [
        &b"3;a\x00b\r\nabc\r\n0\r\n\r\n"[..],
        b"3;a=\"\x7f\"\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabc\r\n0\r\nX-T: a\x00b\r\n\r\n",
        b"3\r\nabc\r\n0\r\nX\x00T: a\r\n\r\n",
        b"3\r\nabc\r\n0\r\nX-T: a\rb\r\n\r\n",
    ] {
        assert_refused(&chunked(rest), 400);
    }
}

#[test]
fn nul_and_non_ascii_bytes_in_a_body_are_data_and_reach_the_servlet_intact() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let body = b"\x00\xff\r\n\x00GET / HTTP/1.1\r\n\r\n";
    let mut request = format!(
        "POST /bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let resp = parse_one(&server.exchange(&request));
    assert_eq!((resp.status, resp.body.as_slice()), (200, &body[..]));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn more_invalid_methods_are_400() {
    for request in [
        &b"GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"G,T / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET: / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"[GET] / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET/ HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GE T / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"\x7fGET / HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        assert_refused(request, 400);
    }
}

#[test]
fn a_method_longer_than_the_head_limit_is_431() {
    let mut request = vec![b'A'; 9 * 1024];
    request.extend_from_slice(b" / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_refused(&request, 431);
}

#[test]
fn more_malformed_versions_are_400_and_unknown_ones_505() {
    for request in [
        &b"GET / HTTP/1\r\nHost: t\r\n\r\n"[..],
        b"GET / HTTP/11\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1.1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/ 1.1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: t\r\n\r\n",
        b"GET / \r\nHost: t\r\n\r\n",
        b"GET / HTTP/3\r\nHost: t\r\n\r\n",
        b"GET / HTTP/-1.1\r\nHost: t\r\n\r\n",
    ] {
        assert_refused(request, 400);
    }
    assert_refused(b"GET / HTTP/9.9\r\nHost: t\r\n\r\n", 505);
}

// ANCHOR: bare_lf
/// A bare LF ends a line of the head (RFC 9112 §2.2 lets a server accept
/// it, as nginx and hyper do): a `Content-Length` behind one frames the body
/// like any other, so nothing hides behind it. A bare CR is refused (see
/// `http_malformed.rs`), and in chunked framing a bare LF is refused
/// everywhere, trailers included.
#[test]
fn a_bare_lf_in_the_head_ends_a_line_and_frames_the_body_like_crlf() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let all = server.exchange(
        b"POST /first HTTP/1.1\nHost: t\r\nX-Before: a\nContent-Length: 5\n\nhello\
          GET /second HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let responses = parse_all(&all);
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].body, b"hello");
    assert_eq!(responses[1].header("x-path"), Some("/second"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_bare_lf_in_chunked_trailers_is_400() {
    for rest in [
        &b"3\r\nabc\r\n0\r\nX-T: 1\n\r\n"[..],
        b"3\r\nabc\r\n0\r\nX-T: 1\r\n\n",
        b"0\n\n",
    ] {
        assert_refused(&chunked(rest), 400);
    }
}
// ANCHOR_END: bare_lf

#[test]
fn obs_fold_with_a_tab_on_a_length_or_in_a_trailer_is_400() {
    assert_refused(
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n\tb\r\n\r\n",
        400,
    );
    assert_refused(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n 5\r\n\r\nhello",
        400,
    );
    assert_refused(&chunked(b"3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n"), 400);
    assert_refused(&chunked(b"3\r\nabc\r\n0\r\nX-T: a\r\n\tb\r\n\r\n"), 400);
}

#[test]
fn negative_and_signed_lengths_are_400() {
    for value in [
        "-0",
        "-5",
        "- 5",
        "+0",
        "5-",
        "\u{2212}5",
        "0x0",
        "5.0",
        "５",
    ] {
        let request = format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {value}\r\n\r\nhello");
        assert_refused(request.as_bytes(), 400);
    }
}

/// Identical duplicates are one length (RFC 9110 §8.6 lets a recipient
/// accept them); the body they frame is read once, and the request behind it
/// is a request of its own, not part of the body.
#[test]
fn identical_duplicate_lengths_frame_the_body_once() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let all = server.exchange(
        b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\nhello\
          GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let responses = parse_all(&all);
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].body, b"hello");
    assert_eq!(responses[1].header("x-path"), Some("/b"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The same two fields with different values are refused.
    assert_refused(
        b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello!",
        400,
    );
}

// ANCHOR: chunk_overflow
#[test]
fn chunk_sizes_at_the_64_bit_edge() {
    // 2^64 - 1 fits in 64 bits: a size, refused by the body limit (413).
    assert_refused(&chunked(b"ffffffffffffffff\r\n"), 413);
    assert_refused(&chunked(b"FFFFFFFFFFFFFFFF;ext=1\r\n"), 413);
    // One more digit (or any value from 2^64 up) overflows: malformed (400).
    assert_refused(&chunked(b"1ffffffffffffffff\r\n"), 400);
    assert_refused(&chunked(b"ffffffffffffffff0\r\n"), 400);
    // A size that fits only after the limit's own arithmetic would wrap:
    // the limit is checked without adding to it.
    assert_refused(&chunked(b"4\r\nabcd\r\nfffffffffffffffd\r\n"), 413);
}
// ANCHOR_END: chunk_overflow

#[test]
fn leading_zeros_do_not_overflow_a_chunk_size() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut request =
        b"POST /z HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    request.extend_from_slice(b"00000000000000000000000000000003\r\nabc\r\n0000\r\n\r\n");
    let resp = parse_one(&server.exchange(&request));
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"abc"[..]));
}

// ANCHOR: default_limits
/// The default limits: 8 KiB of head, 100 header fields, 8 MiB of body.
#[test]
fn header_counts_and_sizes_over_the_default_limits_are_431() {
    let with_fields = |count: usize| {
        let mut request = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
        for i in 1..count {
            request.push_str(&format!("X-{i}: v\r\n"));
        }
        request + "\r\n"
    };
    assert_refused(with_fields(101).as_bytes(), 431);
    assert_refused(with_fields(10_000).as_bytes(), 431);
    let long_value = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "v".repeat(9000)
    );
    assert_refused(long_value.as_bytes(), 431);
    let long_name = format!(
        "GET / HTTP/1.1\r\nHost: t\r\n{}: v\r\n\r\n",
        "N".repeat(9000)
    );
    assert_refused(long_name.as_bytes(), 431);
    // A line that never ends: refused once the limit is reached, without
    // waiting for (or buffering) the rest.
    let endless = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Endless: {}",
        "e".repeat(64 * 1024)
    );
    assert_refused(endless.as_bytes(), 431);
}

#[test]
fn a_head_just_within_the_default_limits_is_served() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut request = String::from("GET /full HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
    for i in 2..100 {
        request.push_str(&format!("X-{i}: v\r\n"));
    }
    request.push_str("\r\n");
    assert_eq!(parse_one(&server.exchange(request.as_bytes())).status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn bodies_one_byte_over_the_default_limit_are_413() {
    const LIMIT: usize = 8 * 1024 * 1024;
    assert_refused(
        format!(
            "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            LIMIT + 1
        )
        .as_bytes(),
        413,
    );
    // Chunked: the limit exactly, then one chunk of one byte more.
    let mut request = CHUNKED.to_vec();
    let chunk = vec![b'c'; 1024 * 1024];
    for _ in 0..8 {
        request.extend_from_slice(b"100000\r\n");
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"1\r\nc\r\n0\r\n\r\n");
    assert_refused(&request, 413);
}
// ANCHOR_END: default_limits

// ANCHOR: fiber_server
/// The same refusals from the real server: HttpServer on fibers, hooked
/// sockets, lingering close. Every request gets its status and a closed
/// connection, and the servlet never runs.
#[test]
fn the_fiber_server_refuses_them_the_same_way() {
    use sylar_iomanager::IoManager;
    use sylar_tcpserver::{Address, HttpServer};
    let iom = IoManager::new(2, false, "hostile").unwrap();
    let (dispatch, calls) = echo_everything();
    let server = HttpServer::new("hostile", dispatch, &iom, &iom, &iom);
    server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    server.start().unwrap();
    let Address::Inet(addr) = server.local_addresses()[0] else {
        panic!("TCP expected")
    };
    let cases: [(&[u8], u16); 8] = [
        (b"GET /a\x00b HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET / HTTP/1.1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n\tb\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\nhello", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 8388609\r\n\r\n", 413),
    ];
    for (request, status) in cases {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.write_all(request).unwrap();
        let mut all = Vec::new();
        stream.read_to_end(&mut all).expect("closed by the server");
        let resp = parse_one(&all);
        let shown = String::from_utf8_lossy(request);
        assert_eq!(resp.status, status, "{shown:?}");
        assert_eq!(resp.header("connection"), Some("close"), "{shown:?}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(server.stats().snapshot().bad_requests, 8);
    server.stop(Duration::from_secs(5));
    iom.stop();
}
// ANCHOR_END: fiber_server
