//! Malformed request lines, methods, versions and header lines: each gets its
//! 4xx/5xx with `Connection: close`, and no servlet sees it.

#[path = "common/http.rs"]
mod common;

use std::io::Write;

use common::{TestServer, assert_refused, echo_everything};
use sylar_tcpserver::http::{HttpLimits, SessionStats, serve_connection};

#[test]
fn malformed_request_lines_are_400() {
    for request in [
        &b"GET\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n",
        b" GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1\rHost: t\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n",
    ] {
        assert_refused(request, 400);
    }
}

#[test]
fn invalid_method_tokens_are_400() {
    for request in [
        &b"G@T / HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"GE\"T / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET\x00 / HTTP/1.1\r\nHost: t\r\n\r\n",
        b"G\xc3\x89T / HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        assert_refused(request, 400);
    }
}

#[test]
fn unsupported_versions_are_505_and_malformed_ones_400() {
    assert_refused(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    assert_refused(b"GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505);
    assert_refused(b"GET / HTTP/0.9\r\nHost: t\r\n\r\n", 505);
    assert_refused(b"GET / HTTP/1.10\r\nHost: t\r\n\r\n", 400);
    assert_refused(b"GET / http/1.1\r\nHost: t\r\n\r\n", 400);
    assert_refused(b"GET / FOO/1.1\r\nHost: t\r\n\r\n", 400);
}

#[test]
fn host_is_required_once_in_http11() {
    assert_refused(b"GET / HTTP/1.1\r\n\r\n", 400);
    assert_refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    assert_refused(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

#[test]
fn an_absolute_form_target_overrides_the_host_field() {
    // RFC 9112 §3.2.2: with an absolute-form target the server must ignore
    // Host and use the target's authority; a servlet reading `Host` must not
    // see one authority while a proxy in front routed by the other.
    let mut dispatch = sylar_tcpserver::http::ServletDispatch::new();
    dispatch.set_default(
        |req: &sylar_tcpserver::http::HttpRequest,
         resp: &mut sylar_tcpserver::http::HttpResponse| {
            let hosts: Vec<&str> = req.headers().get_all("host").collect();
            resp.set_body(hosts.join("|"));
        },
    );
    let server = TestServer::start(dispatch);
    let all = server.exchange(
        b"GET http://target.example:8080/x?q HTTP/1.1\r\nHost: other.example\r\n\r\n\
          GET HTTPS://Plain.example HTTP/1.1\r\nHost: other.example\r\n\r\n\
          GET http://q.example?x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
          GET http://[::1]:80/ HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /origin HTTP/1.1\r\nHost: kept.example\r\nConnection: close\r\n\r\n",
    );
    let responses = common::parse_all(&all);
    let bodies: Vec<String> = responses.iter().map(|r| r.text()).collect();
    assert_eq!(
        bodies,
        [
            "target.example:8080",
            "Plain.example",
            "q.example",
            "[::1]:80",
            "kept.example"
        ]
    );
    // No authority, user information, or what no host holds: 400.
    for target in ["http:///x", "http://user@evil.example/", "https://?q"] {
        let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_refused(request.as_bytes(), 400);
        let (dispatch, _) = echo_everything();
        let refused = common::parse_one(&TestServer::start(dispatch).exchange(request.as_bytes()));
        assert!(
            refused.text().contains("authority"),
            "{target}: {}",
            refused.text()
        );
    }
}

#[test]
fn malformed_header_lines_are_400() {
    for request in [
        &b"GET / HTTP/1.1\r\nHost: t\r\nNo-Colon\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: t\r\nBad Name: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Latin: caf\xc3\xa9\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Raw: \xff\r\n\r\n",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET nowhere HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        assert_refused(request, 400);
    }
}

#[test]
fn other_request_target_forms_are_served() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let all = server.exchange(
        b"GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n\
          OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let responses = common::parse_all(&all);
    assert_eq!(responses[0].header("x-path"), Some("/abs"));
    // `*` is no route: the default servlet answers.
    assert_eq!(responses[1].status, 404);
}

#[test]
fn a_connection_that_only_sends_blank_lines_is_closed_without_an_answer() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut stream = server.connect();
    std::io::Write::write_all(&mut stream, b"\r\n\r\n\r\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(common::read_until_closed(&mut stream).is_empty());
    assert_eq!(server.next_outcome(), Ok(()));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// An in-memory connection that hands the server one byte per read.
struct ByteByByte {
    input: Vec<u8>,
    at: usize,
    output: Vec<u8>,
}

impl std::io::Read for ByteByByte {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = usize::from(self.at < self.input.len() && !buf.is_empty());
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl sylar_tcpserver::http::SessionStream for ByteByByte {}

impl Write for ByteByByte {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_version_status_does_not_depend_on_how_the_line_arrives() {
    // httparse stops at the first bad byte of a version; whether the answer
    // is 505 (a version we do not speak) or 400 (no version at all) must be
    // decided on the whole line, however TCP splits it.
    let (dispatch, _) = echo_everything();
    for (request, status) in [
        (&b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"[..], "505"),
        (b"GET / HTTP/1.80\r\nHost: x\r\n\r\n", "400"),
    ] {
        let mut conn = ByteByByte {
            input: request.to_vec(),
            at: 0,
            output: Vec::new(),
        };
        let stats = SessionStats::new();
        serve_connection(&mut conn, &dispatch, &HttpLimits::default(), "t", &stats).unwrap();
        let answer = String::from_utf8_lossy(&conn.output);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{:?} byte by byte: {answer:?}",
            String::from_utf8_lossy(request)
        );
    }
}

#[test]
fn a_refused_head_request_gets_no_body() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    // Refused for a header, for its target (the method is known by then),
    // and for its target after a GET on the same connection.
    for (request, status) in [
        (
            &b"HEAD / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"[..],
            "417",
        ),
        (b"HEAD nowhere HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        (b"HEAD http:///x HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        (b"HEAD / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", "400"),
    ] {
        let answer = server.exchange(request);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text:?}");
        assert!(
            text.ends_with("\r\n\r\n"),
            "a body after the head: {text:?}"
        );
    }
    let answer = server.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD nowhere HTTP/1.1\r\n\r\n");
    let text = String::from_utf8_lossy(&answer);
    let refusal = &text[text.find("HTTP/1.1 400 ").expect("a 400")..];
    assert!(
        refusal.ends_with("\r\n\r\n"),
        "a body after the head: {refusal:?}"
    );
}
