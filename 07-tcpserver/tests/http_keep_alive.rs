//! Keep-alive by the HTTP/1.1 and HTTP/1.0 rules, and the headers every
//! response carries: Content-Length (even 0), Date, Server, Connection.

#[path = "common/http.rs"]
mod common;

use std::io::Write;
use std::sync::atomic::Ordering;

use common::{
    PATIENCE, SERVER_NAME, TestServer, echo_everything, parse_one, read_response, read_until_closed,
};
use sylar_tcpserver::http::{HttpConnection, HttpRequest, HttpResponse, ServletDispatch};

#[test]
fn http11_connection_serves_requests_until_the_client_says_close() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    for i in 0..3 {
        write!(writer, "GET /n{i} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let resp = read_response(&mut reader, false);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-path"), Some(format!("/n{i}").as_str()));
        assert_eq!(
            resp.header("connection"),
            None,
            "HTTP/1.1 keep-alive needs no header"
        );
    }
    writer
        .write_all(b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut reader, false);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(read_until_closed(reader.get_mut()).is_empty());
    assert_eq!(server.next_outcome(), Ok(()));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(server.stats.snapshot().connections, 1);
}

#[test]
fn http10_closes_after_one_response_by_default() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    // Two requests: the second must never be answered.
    let all = server.exchange(b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    let resp = parse_one(&all);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-path"), Some("/a"));
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(server.next_outcome(), Ok(()));
}

#[test]
fn http10_keep_alive_is_honoured_and_announced() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    for path in ["/one", "/two"] {
        write!(
            writer,
            "GET {path} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
        )
        .unwrap();
        let resp = read_response(&mut reader, false);
        assert_eq!(resp.header("x-path"), Some(path));
        assert_eq!(resp.header("connection"), Some("keep-alive"));
    }
    writer.write_all(b"GET /three HTTP/1.0\r\n\r\n").unwrap();
    let resp = read_response(&mut reader, false);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(read_until_closed(reader.get_mut()).is_empty());
}

#[test]
fn empty_bodies_carry_content_length_zero() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/empty", |_: &HttpRequest, _: &mut HttpResponse| {});
    dispatch.add_servlet("/created", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_status(201)
    });
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    for path in ["/empty", "/created"] {
        write!(
            writer,
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let resp = read_response(&mut reader, false);
        assert_eq!(resp.header("content-length"), Some("0"), "{path}");
        assert!(resp.body.is_empty());
    }
    // Still open: the client knew where each response ended.
    writer
        .write_all(b"GET /empty HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).status, 200);
}

#[test]
fn head_gets_the_length_of_the_body_but_not_the_body() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/page", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body("eleven char")
    });
    let server = TestServer::start(dispatch);
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(b"HEAD /page HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let head = read_response(&mut reader, true);
    assert_eq!(head.header("content-length"), Some("11"));
    // Had a body followed the HEAD response, it would be read as this status line.
    writer
        .write_all(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let get = read_response(&mut reader, false);
    assert_eq!(get.status_line, "HTTP/1.1 200 OK");
    assert_eq!(get.body, b"eleven char");
}

#[test]
fn a_servlet_can_close_the_connection() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/bye", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_keep_alive(false);
        resp.set_body("bye");
    });
    let server = TestServer::start(dispatch);
    let all = server
        .exchange(b"GET /bye HTTP/1.1\r\nHost: t\r\n\r\nGET /bye HTTP/1.1\r\nHost: t\r\n\r\n");
    let resp = parse_one(&all);
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(resp.body, b"bye");
}

#[test]
fn every_response_has_date_and_server() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let resp =
        parse_one(&server.exchange(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    assert_eq!(resp.header("server"), Some(SERVER_NAME));
    let date = resp.header("date").unwrap();
    assert_eq!(date.len(), 29, "{date}");
    assert!(
        date.ends_with(" GMT") && date.as_bytes()[3] == b',',
        "{date}"
    );
    assert_eq!(resp.count("date"), 1);
}

#[test]
fn http_connection_reuses_one_connection() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut client = HttpConnection::connect(server.addr, PATIENCE).unwrap();
    for i in 0..5 {
        let body = format!("request {i}");
        let resp = client.post("/echo", body.as_bytes()).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), body);
        assert!(client.is_open());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(server.stats.snapshot().connections, 1);
}
