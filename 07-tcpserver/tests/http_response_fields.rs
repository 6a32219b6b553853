//! A servlet cannot split a response in two: a header field that cannot be
//! sent (a name that is not a token, a value with CR, LF or another control
//! byte) is dropped, whichever way the servlet set it: `set_header`,
//! `set_content_type`, or the raw list from `headers_mut`, before or after
//! the others, on the first request of a connection or a later one.

#[path = "common/http.rs"]
mod common;

use common::{TestServer, parse_all};
use sylar_tcpserver::http::{HttpRequest, HttpResponse, ServletDispatch};

/// One way of setting fields, and the good fields it leaves.
type Case = (
    fn(&mut HttpResponse),
    &'static [(&'static str, &'static str)],
);

const CASES: [Case; 7] = [
    (|r| r.set_header("X-Bad", "a\r\nInjected: 1"), &[]),
    (|r| r.set_content_type("text/plain\r\nInjected: 1"), &[]),
    (|r| r.headers_mut().append("X-Bad", "a\r\nInjected: 1"), &[]),
    (
        |r| {
            r.set_header("X-Good", "1");
            r.headers_mut().append("X-Bad", "a\nInjected: 1");
        },
        &[("x-good", "1")],
    ),
    (
        |r| {
            r.headers_mut().append("Bad Name", "1");
            r.set_content_type("text/plain");
        },
        &[("content-type", "text/plain")],
    ),
    (
        |r| {
            r.set_header("X-Good", "1");
            r.headers_mut().insert("X-Good", "2\r\nInjected: 1");
        },
        &[],
    ),
    // Nothing bad: everything arrives.
    (
        |r| {
            r.set_content_type("text/plain");
            r.set_header("X-Good", "tab\tinside");
        },
        &[("content-type", "text/plain"), ("x-good", "tab\tinside")],
    ),
];

#[test]
fn unsendable_fields_are_dropped_however_they_were_set() {
    let mut dispatch = ServletDispatch::new();
    for (i, (set_fields, _)) in CASES.iter().enumerate() {
        let set_fields = *set_fields;
        dispatch.add_servlet(
            &format!("/{i}"),
            move |_: &HttpRequest, resp: &mut HttpResponse| {
                set_fields(resp);
                resp.append_body(b"ok");
            },
        );
    }
    let server = TestServer::start(dispatch);
    // Every case twice on one connection, in both orders: a response
    // starts afresh whatever the one before it did.
    let order: Vec<usize> = (0..CASES.len()).chain((0..CASES.len()).rev()).collect();
    let mut batch = String::new();
    for i in &order {
        batch.push_str(&format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    batch.push_str("GET /end HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let responses = parse_all(&server.exchange(batch.as_bytes()));
    assert_eq!(responses.len(), order.len() + 1);
    for (i, resp) in order.iter().zip(&responses) {
        assert_eq!(resp.status, 200, "case {i}");
        assert_eq!(resp.text(), "ok", "case {i}");
        assert_eq!(resp.count("injected"), 0, "case {i}");
        assert_eq!(resp.count("x-bad") + resp.count("bad name"), 0, "case {i}");
        for (name, value) in CASES[*i].1 {
            assert_eq!(resp.header(name), Some(*value), "case {i}");
        }
        let expected_good = CASES[*i].1.len();
        let good = resp.count("x-good") + resp.count("content-type");
        assert_eq!(good, expected_good, "case {i}");
    }
}
