//! Chunked bodies in both directions, and `Expect: 100-continue`.

#[path = "common/http.rs"]
mod common;

use std::io::{Read, Write};
use std::sync::atomic::Ordering;

use common::{PATIENCE, TestServer, echo_everything, parse_one, read_response};
use sylar_tcpserver::http::{HttpConnection, HttpRequest, HttpResponse, ServletDispatch, Version};

#[test]
fn chunked_request_bodies_are_decoded() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(
            b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n\
              1;ext=\"quoted\"\r\n,\r\n\
              B\r\n 0123456789\r\n\
              0\r\nX-Checksum: abc\r\n\r\n",
        )
        .unwrap();
    let resp = read_response(&mut reader, false);
    assert_eq!(resp.text(), "hello, 0123456789");
    // The connection goes on after a chunked body and its trailer.
    writer
        .write_all(b"POST /again HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).text(), "ok");
}

fn chunky_dispatch() -> ServletDispatch {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/chunks", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_content_type("text/plain");
        resp.append_chunk(b"first chunk, ");
        resp.append_chunk(b"");
        resp.append_chunk(b"second, ");
        resp.append_chunk(&[b'x'; 300]);
    });
    dispatch
}

#[test]
fn chunked_responses_are_sent_in_chunks() {
    let server = TestServer::start(chunky_dispatch());
    let resp = parse_one(
        &server.exchange(b"GET /chunks HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("content-length"), None);
    let mut wire = b"d\r\nfirst chunk, \r\n8\r\nsecond, \r\n12c\r\n".to_vec();
    wire.extend_from_slice(&[b'x'; 300]);
    wire.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(resp.wire_body, wire);
}

#[test]
fn http_connection_decodes_chunked_responses() {
    let server = TestServer::start(chunky_dispatch());
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    for _ in 0..2 {
        let resp = client.get("/chunks").unwrap();
        assert_eq!(resp.header("Transfer-Encoding"), Some("chunked"));
        assert_eq!(resp.body.len(), 13 + 8 + 300);
        assert!(resp.text().starts_with("first chunk, second, xxx"));
    }
    assert_eq!(server.stats.snapshot().connections, 1);
}

#[test]
fn http10_clients_get_a_length_instead_of_chunks() {
    let server = TestServer::start(chunky_dispatch());
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    let req = HttpRequest::new("GET".into(), "/chunks").with_version(Version::Http10);
    let resp = client.send(&req).unwrap();
    assert_eq!(resp.header("content-length"), Some("321"));
    assert_eq!(resp.header("transfer-encoding"), None);
    assert_eq!(resp.body.len(), 321);
    assert!(!client.is_open(), "HTTP/1.0 without keep-alive closes");
}

#[test]
fn head_of_a_chunked_response_has_its_length_and_no_body() {
    let server = TestServer::start(chunky_dispatch());
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(
            b"HEAD /chunks HTTP/1.1\r\nHost: t\r\n\r\nGET /chunks HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
    let head = read_response(&mut reader, true);
    assert_eq!(head.header("content-length"), Some("321"));
    let get = read_response(&mut reader, false);
    assert_eq!(get.status_line, "HTTP/1.1 200 OK");
    assert_eq!(get.body.len(), 321);
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_read() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(
            b"PUT /file HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        )
        .unwrap();
    // The interim response arrives while the body has not been sent.
    let mut interim = [0u8; 25];
    reader.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    writer.write_all(b"data").unwrap();
    let resp = read_response(&mut reader, false);
    assert_eq!((resp.status, resp.text().as_str()), (200, "data"));
}

#[test]
fn a_client_that_sends_the_body_at_once_gets_no_interim_response() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let resp = parse_one(&server.exchange(
        b"POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\
          Connection: close\r\n\r\npayload",
    ));
    assert_eq!((resp.status, resp.text().as_str()), (200, "payload"));
}

#[test]
fn an_expectation_we_cannot_meet_is_417() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let resp = parse_one(&server.exchange(
        b"PUT /file HTTP/1.1\r\nHost: t\r\nExpect: something-else\r\nContent-Length: 4\r\n\r\ndata",
    ));
    assert_eq!(resp.status, 417);
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
