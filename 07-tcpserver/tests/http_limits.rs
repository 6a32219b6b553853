//! Limits on the head and the body: 431 and 413, answered with
//! `Connection: close`, checked before the memory is committed, and never
//! reaching a servlet.

#[path = "common/http.rs"]
mod common;

use std::io::{BufReader, Write};
use std::sync::atomic::Ordering;

use common::{PATIENCE, TestServer, echo_everything, parse_one, read_response, read_until_closed};
use sylar_tcpserver::http::HttpLimits;

const LIMITS: HttpLimits = HttpLimits {
    max_header_bytes: 1024,
    max_headers: 10,
    max_body_bytes: 1000,
    head_timeout: std::time::Duration::from_secs(30),
};

fn limited_server() -> (TestServer, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let (dispatch, calls) = echo_everything();
    (TestServer::start_with(dispatch, LIMITS, PATIENCE), calls)
}

/// A GET with `extra` header lines whose head is exactly `len` bytes long.
fn head_of_len(len: usize, extra: &str) -> Vec<u8> {
    let start = format!("GET / HTTP/1.1\r\nHost: t\r\n{extra}X-Pad: ");
    let end = "\r\n\r\n";
    let pad = len - start.len() - end.len();
    format!("{start}{}{end}", "p".repeat(pad)).into_bytes()
}

#[test]
fn a_head_at_the_limit_is_served_and_one_byte_more_is_431() {
    let (server, calls) = limited_server();
    let at_limit = head_of_len(1024, "Connection: close\r\n");
    assert_eq!(at_limit.len(), 1024);
    assert_eq!(parse_one(&server.exchange(&at_limit)).status, 200);

    let resp = parse_one(&server.exchange(&head_of_len(1025, "")));
    assert_eq!(resp.status, 431);
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(server.stats.snapshot().bad_requests, 1);
}

#[test]
fn a_head_that_never_ends_is_431_without_waiting_for_its_end() {
    let (server, calls) = limited_server();
    let mut stream = server.connect();
    // No blank line ever comes: the server must answer once it has 1024 bytes.
    let mut endless = b"GET / HTTP/1.1\r\nHost: t\r\n".to_vec();
    while endless.len() < 4000 {
        endless.extend_from_slice(b"X-More: yes\r\n");
    }
    stream.write_all(&endless).unwrap();
    let resp = parse_one(&read_until_closed(&mut stream));
    assert_eq!(resp.status, 431);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn too_many_headers_is_431() {
    let (server, calls) = limited_server();
    let with_headers = |count: usize| {
        let mut req = String::from("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
        for i in 2..count {
            req.push_str(&format!("X-{i}: v\r\n"));
        }
        req.push_str("\r\n");
        req
    };
    assert_eq!(
        parse_one(&server.exchange(with_headers(10).as_bytes())).status,
        200
    );
    let resp = parse_one(&server.exchange(with_headers(11).as_bytes()));
    assert_eq!(resp.status, 431);
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_declared_body_over_the_limit_is_413_before_any_of_it_is_sent() {
    let (server, calls) = limited_server();
    // The body never comes: the answer cannot depend on reading it.
    let resp = parse_one(
        &server.exchange(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n"),
    );
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("connection"), Some("close"));
    // Nor does a gigantic declaration allocate anything.
    let resp = parse_one(
        &server.exchange(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999\r\n\r\n"),
    );
    assert_eq!(resp.status, 413);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn an_upload_refused_by_its_length_gets_413_instead_of_100_continue() {
    let (server, calls) = limited_server();
    let resp = parse_one(&server.exchange(
        b"PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
    ));
    assert_eq!(resp.status_line, "HTTP/1.1 413 Content Too Large");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_413_reaches_a_client_that_already_sent_part_of_the_body() {
    let (server, _) = limited_server();
    let mut req = b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n".to_vec();
    req.extend_from_slice(&[b'b'; 50_000]);
    // The unread part of the body is drained by the lingering close, not
    // answered with a reset that could destroy the 413 before it is read.
    let resp = parse_one(&server.exchange(&req));
    assert_eq!(resp.status, 413);
}

#[test]
fn a_body_at_the_limit_is_served() {
    let (server, _) = limited_server();
    let stream = server.connect();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    writer
        .write_all(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
        .unwrap();
    writer.write_all(&[b'a'; 1000]).unwrap();
    let resp = read_response(&mut reader, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), 1000);
}

#[test]
fn a_chunked_body_over_the_limit_is_413_at_the_chunk_that_passes_it() {
    let (server, calls) = limited_server();
    let mut req = b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"12c\r\n"); // 300 bytes each: 900 in all
        req.extend_from_slice(&[b'c'; 300]);
        req.extend_from_slice(b"\r\n");
    }
    // The fourth chunk would make 1200: refused before its data is read
    // (none is sent).
    req.extend_from_slice(b"12c\r\n");
    let resp = parse_one(&server.exchange(&req));
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_chunked_body_within_the_limit_is_served() {
    let (server, _) = limited_server();
    let mut req =
        b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for _ in 0..2 {
        req.extend_from_slice(b"1f4\r\n"); // 500 bytes each: exactly the limit
        req.extend_from_slice(&[b'c'; 500]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let resp = parse_one(&server.exchange(&req));
    assert_eq!((resp.status, resp.body.len()), (200, 1000));
}

#[test]
fn limits_come_from_the_configuration() {
    sylar_config::global()
        .load_yaml_str(
            "http:\n  request:\n    max_header_size: 2048\n    max_headers: 20\n    max_body_size: 4096\n",
        )
        .unwrap();
    assert_eq!(
        HttpLimits::from_config(),
        HttpLimits {
            max_header_bytes: 2048,
            max_headers: 20,
            max_body_bytes: 4096,
            head_timeout: std::time::Duration::from_secs(30),
        }
    );
    let names = sylar_config::global().names();
    for name in [
        "http.request.max_header_size",
        "http.request.max_headers",
        "http.request.max_body_size",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} registered");
    }
}

/// A head dribbled a byte at a time (slowloris) is answered with 408 once
/// `head_timeout` has passed, however often bytes keep coming.
#[test]
fn a_head_that_dribbles_in_is_closed_after_the_head_timeout() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let limits = sylar_tcpserver::http::HttpLimits {
        head_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let dispatch = sylar_tcpserver::http::ServletDispatch::new();
        let stats = sylar_tcpserver::http::SessionStats::new();
        let _ = sylar_tcpserver::http::serve_connection(&mut conn, &dispatch, &limits, "t", &stats);
    });
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    let start = Instant::now();
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut sent = 0;
    // One byte every 20 ms: each read is quick, the head never ends.
    while sent < head.len() {
        if client.write_all(&head[sent..sent + 1]).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
        if start.elapsed() > Duration::from_secs(30) {
            panic!("never closed");
        }
    }
    let mut answer = String::new();
    let _ = client.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    assert!(start.elapsed() >= Duration::from_millis(300));
}
