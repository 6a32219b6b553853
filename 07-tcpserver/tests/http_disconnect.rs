//! Clients that vanish mid-request or mid-response, and clients that go
//! quiet: the session ends cleanly (`Ok`), no servlet sees half a request,
//! and the server keeps serving.

#[path = "common/http.rs"]
mod common;

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{PATIENCE, TestServer, counting_echo, echo_everything, parse_one};
use sylar_tcpserver::http::{HttpLimits, HttpRequest, HttpResponse, ServletDispatch};

#[test]
fn a_client_that_leaves_mid_head_ends_the_session_quietly() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /half HTTP/1.1\r\nHost: t\r\nX-Unfinished: ")
        .unwrap();
    drop(stream);
    assert_eq!(server.next_outcome(), Ok(()));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_client_that_leaves_mid_body_ends_the_session_quietly() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    for request in [
        &b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part"[..],
        b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly part",
        b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    ] {
        let mut stream = server.connect();
        stream.write_all(request).unwrap();
        drop(stream);
        assert_eq!(server.next_outcome(), Ok(()));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // And the server still answers.
    let resp =
        parse_one(&server.exchange(b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    assert_eq!(resp.status, 200);
}

#[test]
fn a_client_that_leaves_mid_response_ends_the_session_quietly() {
    const BIG: usize = 32 * 1024 * 1024; // far more than the socket buffers hold
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/big", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body(vec![b'z'; BIG]);
    });
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    dispatch.add_servlet("/small", counting_echo(calls.clone()));
    let server = TestServer::start(dispatch);

    let mut stream = server.connect();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 1024];
    stream.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
    drop(stream); // unread data: the kernel resets the connection
    assert_eq!(server.next_outcome(), Ok(()));

    let resp =
        parse_one(&server.exchange(b"GET /small HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    assert_eq!(resp.status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_quiet_client_is_let_go_by_the_read_timeout() {
    let (dispatch, calls) = echo_everything();
    let server =
        TestServer::start_with(dispatch, HttpLimits::default(), Duration::from_millis(200));
    // Idle between requests, and idle in the middle of one.
    let mut idle = server.connect();
    let mut slow = server.connect();
    slow.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    assert_eq!(server.next_outcome(), Ok(()));
    assert_eq!(server.next_outcome(), Ok(()));
    // Both were closed by the server, without an answer.
    let mut rest = Vec::new();
    idle.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(idle.read_to_end(&mut rest).unwrap(), 0);
    assert_eq!(slow.read_to_end(&mut rest).unwrap(), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
