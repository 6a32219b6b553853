//! `CONNECT`: a 2xx answer turns the connection into a tunnel (RFC 9110
//! §9.3.6), which this server does not provide. The answer carries no
//! `Content-Length` or `Transfer-Encoding` and no body, the connection is
//! closed after it, and what the client sends into the "tunnel" is never
//! parsed as a request. Any other status to `CONNECT` is an ordinary
//! response on a connection that stays open.

#[path = "common/http.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TestServer, read_response, read_until_closed};
use sylar_tcpserver::http::{HttpRequest, HttpResponse, Method, ServletDispatch};

/// A server whose default servlet accepts `CONNECT` to `ok:443` (200, with
/// a body it must not send), streams a body to `stream:443`, refuses any
/// other `CONNECT` target with 403, and counts every other request.
fn tunnel_server() -> (TestServer, Arc<AtomicUsize>) {
    let others = Arc::new(AtomicUsize::new(0));
    let seen = others.clone();
    let mut dispatch = ServletDispatch::new();
    dispatch.set_default(move |req: &HttpRequest, resp: &mut HttpResponse| {
        match (req.method(), req.target()) {
            (Method::Connect, "ok:443") => resp.set_body("not a body: tunnel bytes"),
            (Method::Connect, "stream:443") => {
                resp.set_body_reader(&b"streamed tunnel bytes"[..], None)
            }
            (Method::Connect, _) => {
                resp.set_status(403);
                resp.set_body("no tunnel there");
            }
            _ => {
                seen.fetch_add(1, Ordering::SeqCst);
                resp.set_body("served");
            }
        }
    });
    (TestServer::start(dispatch), others)
}

#[test]
fn a_2xx_to_connect_has_no_framing_and_closes_before_the_tunnel_bytes() {
    let (server, others) = tunnel_server();
    for target in ["ok:443", "stream:443"] {
        // What follows the CONNECT head is tunnel data, although it looks
        // like a request: it must never reach a servlet.
        let request = format!(
            "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n\
             GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
        );
        let answer = String::from_utf8(server.exchange(request.as_bytes())).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
        // The head and nothing after it: no body, no second response.
        assert!(answer.ends_with("\r\n\r\n"), "{target}: {answer:?}");
        assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer:?}");
        let head = answer.to_ascii_lowercase();
        assert!(!head.contains("content-length"), "{answer:?}");
        assert!(!head.contains("transfer-encoding"), "{answer:?}");
        assert!(head.contains("\r\nconnection: close\r\n"), "{answer:?}");
    }
    assert_eq!(others.load(Ordering::SeqCst), 0);
}

#[test]
fn a_refused_connect_is_an_ordinary_response_on_an_open_connection() {
    let (server, others) = tunnel_server();
    let (mut writer, mut reader) = server.connect_split();
    writer
        .write_all(b"CONNECT elsewhere:443 HTTP/1.1\r\nHost: elsewhere:443\r\n\r\n")
        .unwrap();
    let refused = read_response(&mut reader, false);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("content-length"), Some("15"));
    assert_eq!(refused.text(), "no tunnel there");
    writer
        .write_all(b"GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let next = read_response(&mut reader, false);
    assert_eq!((next.status, next.text()), (200, "served".to_owned()));
    assert_eq!(others.load(Ordering::SeqCst), 1);
    let mut stream = reader.into_inner();
    assert!(read_until_closed(&mut stream).is_empty());
}
