//! A panicking servlet is contained: its client gets a 500 and a closed
//! connection, every other connection carries on.

#[path = "common/http.rs"]
mod common;

use std::io::Write;

use common::{TestServer, counting_echo, parse_all, read_response};
use sylar_tcpserver::http::{HttpRequest, HttpResponse, ServletDispatch};

fn dispatch() -> (
    ServletDispatch,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/panic", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body("half-written");
        panic!("servlet failure (expected by the test)");
    });
    dispatch.add_glob_servlet("/*", counting_echo(calls.clone()));
    (dispatch, calls)
}

#[test]
fn a_panic_is_answered_with_500_and_the_server_carries_on() {
    let (dispatch, calls) = dispatch();
    let server = TestServer::start(dispatch);

    // A kept-alive connection opened before the panic...
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(b"GET /before HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).status, 200);

    // ...a request that panics (with another pipelined behind it, never run)...
    let responses = parse_all(&server.exchange(
        b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\nGET /after-panic HTTP/1.1\r\nHost: t\r\n\r\n",
    ));
    assert_eq!(responses.len(), 1);
    assert_eq!(
        responses[0].status_line,
        "HTTP/1.1 500 Internal Server Error"
    );
    assert_eq!(responses[0].header("connection"), Some("close"));
    assert!(!responses[0].text().contains("half-written"));
    assert_eq!(server.next_outcome(), Ok(()));
    assert_eq!(server.stats.snapshot().panics, 1);

    // ...and both the old connection and a new one still work.
    writer
        .write_all(b"GET /still HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut reader, false).header("x-path"),
        Some("/still")
    );
    let fresh =
        parse_all(&server.exchange(b"GET /fresh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    assert_eq!(fresh[0].status, 200);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn every_panic_is_counted() {
    let (dispatch, _) = dispatch();
    let server = TestServer::start(dispatch);
    for _ in 0..3 {
        let responses = parse_all(&server.exchange(b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(responses[0].status, 500);
    }
    assert_eq!(server.stats.snapshot().panics, 3);
    assert_eq!(server.stats.snapshot().requests, 3);
}
