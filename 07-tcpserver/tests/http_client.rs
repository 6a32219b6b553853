//! `HttpConnection`: requests with a timeout, keep-alive reuse, the three
//! body framings, and a closed or silent server reported as an error.

#[path = "common/http.rs"]
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{PATIENCE, TestServer, echo_everything};
use sylar_tcpserver::http::{
    HttpConnection, HttpRequest, HttpResponse, Method, ServletDispatch, Version,
};

/// Accepts one connection and reads a request head from it a byte at a
/// time (so that nothing after the head is taken); returns the connection
/// and the bytes read, short of a head if the client closed first.
fn accept_head(listener: &TcpListener) -> (TcpStream, Vec<u8>) {
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    let request = read_head(&mut conn);
    (conn, request)
}

/// Reads the next request head from `conn` a byte at a time; short of a
/// head if the client closed first.
fn read_head(conn: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).unwrap() == 0 {
            break;
        }
        request.push(byte[0]);
    }
    request
}

/// A one-connection server that reads one request head, then writes
/// `response` raw and closes (or, with `None`, holds the connection open
/// without answering until the client leaves).
fn raw_server(response: Option<&'static [u8]>) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut conn, request) = accept_head(&listener);
        if !request.ends_with(b"\r\n\r\n") {
            return request;
        }
        let mut byte = [0u8; 1];
        match response {
            Some(response) => conn.write_all(response).unwrap(),
            None => {
                let _ = conn.read(&mut byte); // until the client gives up
            }
        }
        request
    });
    (addr, handle)
}

#[test]
fn get_and_post_share_one_connection() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    let resp = client.get("/a?x=1").unwrap();
    assert_eq!(
        (resp.status, resp.reason.as_str(), resp.version),
        (200, "OK", Version::Http11)
    );
    assert_eq!(resp.header("x-method"), Some("GET"));
    let resp = client.post("/b", b"posted").unwrap();
    assert_eq!(resp.text(), "posted");
    let resp = client
        .request(
            Method::Put,
            "/c",
            &[("X-Extra", "1"), ("Accept", "*/*")],
            b"put body",
        )
        .unwrap();
    assert_eq!(
        (resp.header("x-method"), resp.text().as_str()),
        (Some("PUT"), "put body")
    );
    let resp = client.request("HEAD", "/d", &[], b"").unwrap();
    assert_eq!(resp.header("content-length"), Some("0"));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(server.stats.snapshot().connections, 1);
}

#[test]
fn a_closed_connection_is_an_error_until_the_caller_reconnects() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/close", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_keep_alive(false);
        resp.set_body("last");
    });
    let server = TestServer::start(dispatch);
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    assert_eq!(client.get("/close").unwrap().text(), "last");
    assert!(!client.is_open());
    let err = client.get("/close").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotConnected);
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    assert_eq!(client.get("/close").unwrap().status, 200);
}

#[test]
fn a_client_connection_close_header_finishes_the_connection() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    let resp = client
        .request("GET", "/", &[("Connection", "close")], b"")
        .unwrap();
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(!client.is_open());
}

#[test]
fn a_server_that_closes_without_answering_is_an_error() {
    let (addr, server) = raw_server(Some(b""));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let err = client.get("/").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    assert!(!client.is_open());
    server.join().unwrap();
}

#[test]
fn a_broken_response_is_an_error() {
    let (addr, server) = raw_server(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    assert_eq!(
        client.get("/").unwrap_err().kind(),
        ErrorKind::UnexpectedEof
    );
    server.join().unwrap();
    let (addr, server) = raw_server(Some(b"HTTP/1.1 2OO OK\r\n\r\n"));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap_err().kind(), ErrorKind::InvalidData);
    server.join().unwrap();
}

#[test]
fn a_silent_server_times_out() {
    let (addr, server) = raw_server(None);
    let mut client = HttpConnection::connect(addr, Duration::from_millis(200)).unwrap();
    let err = client.get("/").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    drop(client);
    server.join().unwrap();
}

#[test]
fn a_body_delimited_by_the_close_is_read_to_the_end() {
    let (addr, server) = raw_server(Some(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let resp = client.get("/").unwrap();
    assert_eq!(
        (resp.version, resp.text().as_str()),
        (Version::Http10, "until the end")
    );
    assert!(!client.is_open());
    let request = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(request.starts_with("GET / HTTP/1.1\r\n"));
    assert!(request.contains(&format!("\r\nHost: {addr}\r\n")));
}

#[test]
fn interim_responses_and_trailers_are_skipped() {
    let (addr, server) = raw_server(Some(
        b"HTTP/1.1 100 Continue\r\n\r\n\
          HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n\
          4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\nX-Trailer: t\r\n\r\n",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let resp = client.post("/", b"").unwrap();
    assert_eq!((resp.status, resp.text().as_str()), (201, "Wikipedia "));
    assert!(client.is_open());
    server.join().unwrap();
}

#[test]
fn oversized_responses_are_refused() {
    let (addr, server) = raw_server(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    client.set_max_body_bytes(999);
    assert_eq!(client.get("/").unwrap_err().kind(), ErrorKind::InvalidData);
    server.join().unwrap();
}

#[test]
fn requests_that_cannot_be_sent_are_refused_before_sending() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    let err = client
        .request("GET", "/", &[("X-Bad", "a\r\nInjected: 1")], b"")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = client.request("GET", "/with space", &[], b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn connecting_to_nothing_fails() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }; // closed again: nobody listens there now
    assert!(HttpConnection::connect(addr, PATIENCE).is_err());
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn a_header_value_with_bytes_above_ascii_is_accepted() {
    // obs-text (RFC 9110 §5.5): allowed in a value, shown as U+FFFD.
    let (addr, server) = raw_server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"caf\xe9.txt\"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let response = client.get("/").unwrap();
    assert_eq!(response.body, b"hi");
    let value = response.headers.get("content-disposition").unwrap();
    assert_eq!(value, "attachment; filename=\"caf\u{fffd}.txt\"");
    server.join().unwrap();
}

#[test]
fn an_http_1_0_response_with_transfer_encoding_closes_the_connection() {
    // Faulty framing in HTTP/1.0: read the message, then close (RFC 9112 §6.1).
    let (addr, server) = raw_server(Some(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap().body, b"hi");
    assert!(!client.is_open());
    server.join().unwrap();
}

#[test]
fn endless_interim_responses_are_refused() {
    // A hostile server answers with `100 Continue` after `100 Continue`: the
    // interim heads count against the response head limit (64 KiB), so the
    // client gives up instead of reading them for as long as they come.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut head = [0u8; 1024];
        let _ = conn.read(&mut head).unwrap();
        for _ in 0..10_000 {
            if conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                return; // the client has given up: what we expect
            }
        }
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let err = client.get("/").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    assert!(!client.is_open());
    drop(client);
    server.join().unwrap();
}

#[test]
fn a_switching_protocols_response_finishes_the_connection() {
    // After 101 the connection speaks another protocol: no HTTP request may
    // follow on it.
    let (addr, server) = raw_server(Some(
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let resp = client
        .request(
            "GET",
            "/ws",
            &[("Connection", "Upgrade"), ("Upgrade", "websocket")],
            b"",
        )
        .unwrap();
    assert_eq!(resp.status, 101);
    assert!(!client.is_open());
    assert_eq!(client.get("/").unwrap_err().kind(), ErrorKind::NotConnected);
    server.join().unwrap();
}

#[test]
fn a_response_framed_both_ways_is_read_by_its_chunks_and_ends_the_connection() {
    // Content-Length and Transfer-Encoding together: the chunks decide the
    // body (RFC 9112 §6.3), and the message is suspect, so nothing after it
    // on this connection is trusted: the next request fails as never sent.
    let (addr, server) = raw_server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap().body, b"hello");
    assert!(!client.is_open());
    assert_eq!(client.get("/").unwrap_err().kind(), ErrorKind::NotConnected);
    server.join().unwrap();
}

#[test]
fn an_http_1_0_request_without_keep_alive_finishes_the_connection() {
    // An HTTP/1.0 request asks for the connection to close after its
    // response (RFC 9112 §9.3), even if the answer, in HTTP/1.1, does not
    // say `Connection: close`: the next request must fail as never sent
    // (`NotConnected`), not be written to a connection the server closes.
    let (addr, server) = raw_server(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let request = HttpRequest::new(Method::Get, "/").with_version(Version::Http10);
    assert_eq!(client.send(&request).unwrap().body, b"hi");
    assert!(!client.is_open());
    assert_eq!(client.get("/").unwrap_err().kind(), ErrorKind::NotConnected);
    let request = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(request.starts_with("GET / HTTP/1.0\r\n"), "{request}");
}

#[test]
fn a_status_below_100_is_a_broken_response() {
    // Status codes run from 100 to 999 (RFC 9110 §15): `099` is not a
    // bodiless interim answer, it is a malformed status line, and what
    // follows it must not be read as the next response.
    let (addr, server) = raw_server(Some(
        b"HTTP/1.1 099 Odd\r\nContent-Length: 38\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap_err().kind(), ErrorKind::InvalidData);
    assert!(!client.is_open());
    server.join().unwrap();
}

#[test]
fn bytes_after_a_response_are_never_taken_for_the_next_one() {
    // The client sends one request at a time: whatever the server sends
    // beyond a complete response was asked for by nobody, and must not come
    // back as the answer to the next request (which the server never saw).
    let (addr, server) = raw_server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\
          HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake",
    ));
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap().body, b"hi");
    let err = client.get("/next").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
    assert!(!client.is_open());
    let request = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
}

#[test]
fn a_connection_the_server_closed_while_idle_fails_as_never_sent() {
    // A keep-alive connection the server has since closed (its idle
    // timeout): the next request fails with `NotConnected`, the error that
    // says it was not sent, rather than being written into the closed
    // connection and failing as maybe-sent.
    let (addr, server) = raw_server(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
    let stream = TcpStream::connect(addr).unwrap();
    let watcher = stream.try_clone().unwrap();
    let mut client = HttpConnection::from_stream(stream, PATIENCE).unwrap();
    assert_eq!(client.get("/").unwrap().body, b"hi");
    assert!(client.is_open());
    server.join().unwrap(); // the server has closed its end
    watcher.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(watcher.peek(&mut [0u8; 1]).unwrap(), 0, "the close arrived");
    let err = client.get("/again").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
    assert!(!client.is_open());
}

#[test]
fn a_2xx_to_connect_has_no_body_and_finishes_the_connection() {
    // After a 2xx to CONNECT the connection is a tunnel: the bytes after the
    // head are the tunnel's, not a body to read until the close. The server
    // keeps the connection open, as a tunnel would, until the client leaves.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, request) = accept_head(&listener);
        assert!(request.ends_with(b"\r\n\r\n"), "request cut short");
        conn.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\nSSH-2.0-tunnel\r\n")
            .unwrap();
        let _ = conn.read(&mut [0u8; 1]); // until the client leaves
        request
    });
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let resp = client
        .request("CONNECT", "example.com:443", &[], b"")
        .unwrap();
    assert_eq!((resp.status, resp.body.len()), (200, 0));
    assert!(!client.is_open());
    assert_eq!(client.get("/").unwrap_err().kind(), ErrorKind::NotConnected);
    drop(client);
    let request = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(
        request.starts_with("CONNECT example.com:443 HTTP/1.1\r\n"),
        "{request:?}"
    );
}

/// A one-connection server that answers with a head announcing 100,000
/// bytes, then trickles the body a byte every 50 ms, each byte well inside
/// any read timeout, until the client leaves (or 10 s have passed).
fn trickling_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut conn, request) = accept_head(&listener);
        if !request.ends_with(b"\r\n\r\n") {
            return;
        }
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
        if conn.write_all(head).is_err() {
            return;
        }
        for _ in 0..200 {
            if conn.write_all(b"z").is_err() {
                return; // the client left
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    addr
}

#[test]
fn a_trickled_response_fails_once_the_response_timeout_passes() {
    // The per-read timeout (30 s) never fires: only the whole-exchange
    // bound can stop this.
    let mut client = HttpConnection::connect(trickling_server(), PATIENCE).unwrap();
    client.set_response_timeout(Some(Duration::from_secs(1)));
    assert_eq!(client.response_timeout(), Some(Duration::from_secs(1)));
    let start = std::time::Instant::now();
    let err = client.get("/slow").unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "cut off after {took:?}"
    );
    assert!(!client.is_open());
}

#[test]
fn responses_within_the_response_timeout_are_read_on_a_kept_alive_connection() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    // Shorter than the connection's 30 s timeout: the socket's timeouts are
    // shortened near the deadline, and must be put back for the next one.
    client.set_response_timeout(Some(Duration::from_secs(20)));
    for i in 0..3 {
        let body = format!("request {i}");
        let resp = client.post("/echo", body.as_bytes()).unwrap();
        assert_eq!((resp.status, resp.text()), (200, body));
        assert!(client.is_open());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn the_usual_timeout_comes_back_after_a_deadline_and_a_chunked_body_is_cut_by_one() {
    // One kept-alive connection, three exchanges: a quick one under a 1 s
    // response timeout (the 5 s socket timeout is shortened for it); one with
    // no response timeout, answered after 1.5 s, which only a socket timeout
    // put back to 5 s waits for; and a chunked body trickled a chunk every
    // 50 ms under a 1 s response timeout, cut in the middle of its chunks.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = accept_head(&listener);
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        let mut heads = 1;
        let mut next_head = |conn: &mut TcpStream| {
            assert!(read_head(conn).ends_with(b"\r\n\r\n"), "client left");
            heads += 1;
        };
        next_head(&mut conn);
        std::thread::sleep(Duration::from_millis(1500)); // the subject: late
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
            .unwrap();
        next_head(&mut conn);
        conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        for _ in 0..200 {
            if conn.write_all(b"1\r\nx\r\n").is_err() {
                break; // the client gave up
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        heads
    });
    let mut client = HttpConnection::connect(addr, Duration::from_secs(5)).unwrap();
    client.set_response_timeout(Some(Duration::from_secs(1)));
    assert_eq!(client.get("/quick").unwrap().text(), "ok");
    client.set_response_timeout(None);
    assert_eq!(client.get("/late").unwrap().text(), "late");
    client.set_response_timeout(Some(Duration::from_secs(1)));
    let start = std::time::Instant::now();
    let err = client.get("/chunks").unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "cut off after {took:?}"
    );
    assert!(!client.is_open());
    drop(client);
    assert_eq!(server.join().unwrap(), 3);
}

#[test]
fn host_repeats_the_authority_of_a_connect_or_absolute_form_target() {
    // RFC 9112 §3.2: a target with an authority (CONNECT's host:port, a
    // proxy's absolute URI) must be sent with a Host naming that authority,
    // not the address the client connected to; user information is no
    // part of it. An origin-form target gets the connected address.
    for (method, target, host) in [
        ("CONNECT", "tunnel.example:443", Some("tunnel.example:443")),
        (
            "GET",
            "http://origin.example:8080/a?b",
            Some("origin.example:8080"),
        ),
        (
            "GET",
            "https://user:pw@secure.example?q",
            Some("secure.example"),
        ),
        ("OPTIONS", "http://bare.example", Some("bare.example")),
        ("GET", "/plain", None),
    ] {
        let (addr, server) =
            raw_server(Some(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
        let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
        let resp = client.request(method, target, &[], b"").unwrap();
        assert_eq!(resp.status, 403);
        let request = String::from_utf8(server.join().unwrap()).unwrap();
        let host = host.map_or_else(|| addr.to_string(), str::to_owned);
        assert!(
            request.contains(&format!("\r\nHost: {host}\r\n")),
            "{target}: {request:?}"
        );
    }
}
