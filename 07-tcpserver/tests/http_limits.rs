//! Limits on the head and the body: 431 and 413, answered with
//! `Connection: close`, checked before the memory is committed, and never
//! reaching a servlet; 408 for a head or a body that arrives too slowly.

#[path = "common/http.rs"]
mod common;

use std::io::Write;
use std::sync::atomic::Ordering;

use common::{PATIENCE, TestServer, echo_everything, parse_one, read_response, read_until_closed};
use sylar_tcpserver::http::HttpLimits;

const LIMITS: HttpLimits = HttpLimits {
    max_header_bytes: 1024,
    max_headers: 10,
    max_body_bytes: 1000,
    head_timeout: std::time::Duration::from_secs(30),
    min_body_rate: 240,
    body_grace: std::time::Duration::from_secs(5),
    min_send_rate: 240,
    send_grace: std::time::Duration::from_secs(5),
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
    let (mut writer, mut reader) = server.connect_split();
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
            "http:\n  request:\n    max_header_size: 2048\n    max_headers: 20\n    max_body_size: 4096\n    min_body_rate: 1000\n    body_grace: 250\n  response:\n    min_send_rate: 4096\n    send_grace: 750\n",
        )
        .unwrap();
    assert_eq!(
        HttpLimits::from_config(),
        HttpLimits {
            max_header_bytes: 2048,
            max_headers: 20,
            max_body_bytes: 4096,
            head_timeout: std::time::Duration::from_secs(30),
            min_body_rate: 1000,
            body_grace: std::time::Duration::from_millis(250),
            min_send_rate: 4096,
            send_grace: std::time::Duration::from_millis(750),
        }
    );
    // A negative rate is not a u64: the load is refused, nothing changes.
    assert!(
        sylar_config::global()
            .load_yaml_str("http:\n  request:\n    min_body_rate: -1\n")
            .is_err()
    );
    assert_eq!(HttpLimits::from_config().min_body_rate, 1000);
    assert!(
        sylar_config::global()
            .load_yaml_str("http:\n  response:\n    send_grace: -750\n")
            .is_err()
    );
    assert_eq!(
        HttpLimits::from_config().send_grace,
        std::time::Duration::from_millis(750)
    );
    let names = sylar_config::global().names();
    for name in [
        "http.request.max_header_size",
        "http.request.max_headers",
        "http.request.max_body_size",
        "http.request.head_timeout",
        "http.request.min_body_rate",
        "http.request.body_grace",
        "http.response.min_send_rate",
        "http.response.send_grace",
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

/// A server whose every route is a counting echo, with the default limits
/// but a body rate of `min_body_rate` bytes/s after 200 ms of grace.
fn paced_server(
    min_body_rate: u64,
    body_grace: std::time::Duration,
) -> (TestServer, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let (dispatch, calls) = echo_everything();
    let limits = HttpLimits {
        min_body_rate,
        body_grace,
        ..HttpLimits::default()
    };
    (TestServer::start_with(dispatch, limits, PATIENCE), calls)
}

/// Writes `pieces` one at a time, `gap` apart, on a connection of its own
/// that does not wait for Nagle (each piece is its own segment).
fn send_in_pieces(server: &TestServer, pieces: &[&[u8]], gap: std::time::Duration) -> Vec<u8> {
    let mut stream = server.connect();
    stream.set_nodelay(true).unwrap();
    for piece in pieces {
        stream.write_all(piece).unwrap();
        std::thread::sleep(gap);
    }
    read_until_closed(&mut stream)
}

// ANCHOR: slow_body
/// A body dribbled a byte every 20 ms (50 B/s) against a minimum of
/// 1000 B/s after 200 ms of grace is answered with 408 and closed, long
/// before its 100,000 bytes could arrive; no servlet runs. Each read is
/// quick, so the socket's read timeout never fires: only the rate does.
#[test]
fn a_body_that_dribbles_in_is_408_once_it_falls_behind_the_minimum_rate() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};
    let (server, calls) = paced_server(1000, std::time::Duration::from_millis(200));
    let mut stream = server.connect();
    let start = Instant::now();
    stream
        .write_all(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        .unwrap();
    let answered = Arc::new(AtomicBool::new(false));
    let dribbler = {
        let mut writer = stream.try_clone().unwrap();
        let answered = answered.clone();
        std::thread::spawn(move || {
            let mut sent = 0;
            while !answered.load(Ordering::SeqCst) && writer.write_all(b"x").is_ok() {
                sent += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            sent
        })
    };
    // The signal is the answer and the close; without the check this read
    // times out after PATIENCE and the test fails.
    let all = read_until_closed(&mut stream);
    let elapsed = start.elapsed();
    answered.store(true, Ordering::SeqCst);
    let sent = dribbler.join().unwrap();
    let resp = parse_one(&all);
    assert_eq!(resp.status, 408, "{}", resp.text());
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(resp.text(), "408 Request Timeout: request body too slow\n");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(elapsed >= Duration::from_millis(200), "after {elapsed:?}");
    assert!(sent < 100_000);
    assert_eq!(server.stats.snapshot().bad_requests, 1);
    assert_eq!(server.next_outcome(), Ok(()));
}
// ANCHOR_END: slow_body

/// A body in six pieces 10 ms apart, with no grace at all: each 500 bytes
/// buy 5 s at 100 B/s, so the body keeps ahead only if what arrived counts
/// (and a stall of up to 5 s on a busy machine is still in time). It
/// reaches the servlet whole.
#[test]
fn a_body_in_pieces_at_a_good_rate_is_served() {
    let head = b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\nConnection: close\r\n\r\n";
    let parts: Vec<Vec<u8>> = (b'a'..b'g').map(|c| vec![c; 500]).collect();
    let mut pieces: Vec<&[u8]> = vec![head];
    pieces.extend(parts.iter().map(Vec::as_slice));
    assert_served_in_pieces(&pieces, &parts.concat());
}

/// The same for a chunked body, its size lines and data in separate writes
/// (the first size line with the head: framing buys no time, and with no
/// grace a size line alone, read before any data, would already be late).
#[test]
fn a_chunked_body_in_pieces_at_a_good_rate_is_served() {
    let head =
        b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let parts: Vec<Vec<u8>> = (b'a'..b'e').map(|c| vec![c; 500]).collect();
    let first = [&head[..], b"1f4\r\n"].concat();
    let mut pieces: Vec<&[u8]> = vec![&first];
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            pieces.push(b"1f4\r\n");
        }
        pieces.push(part);
        pieces.push(b"\r\n");
    }
    pieces.push(b"0\r\n\r\n");
    assert_served_in_pieces(&pieces, &parts.concat());
}

/// Sends `pieces` 10 ms apart to a server that wants 100 B/s of body with no
/// grace, and checks that its servlet ran once and echoed `body`.
fn assert_served_in_pieces(pieces: &[&[u8]], body: &[u8]) {
    let (server, calls) = paced_server(100, std::time::Duration::ZERO);
    let resp = parse_one(&send_in_pieces(
        &server,
        pieces,
        std::time::Duration::from_millis(10),
    ));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.body, body);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// `min_body_rate: 0` turns the check off: five body bytes 30 ms apart with
/// no grace at all, which any rate above about 35 B/s would refuse at the
/// second byte, are served.
#[test]
fn a_zero_rate_turns_the_check_off() {
    let (dispatch, calls) = echo_everything();
    let limits = HttpLimits {
        min_body_rate: 0,
        body_grace: std::time::Duration::ZERO,
        ..HttpLimits::default()
    };
    let server = TestServer::start_with(dispatch, limits, PATIENCE);
    let head = b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
    let pieces: [&[u8]; 6] = [head, b"s", b"l", b"o", b"w", b"!"];
    let resp = parse_one(&send_in_pieces(
        &server,
        &pieces,
        std::time::Duration::from_millis(30),
    ));
    assert_eq!((resp.status, resp.text()), (200, "slow!".to_owned()));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// `head_timeout: 0` means no head deadline, as 0 means no limit for the
/// socket's timeouts: a head split across two reads, its second half sent
/// only after the server has had time to read (and judge) the first, is
/// served. Before, the deadline was "now + 0" and the first half alone was
/// answered with 408.
#[test]
fn a_zero_head_timeout_means_no_head_deadline() {
    use std::io::{BufReader, ErrorKind, Read};
    use std::time::Duration;
    let (dispatch, calls) = echo_everything();
    let limits = HttpLimits {
        head_timeout: Duration::ZERO,
        ..HttpLimits::default()
    };
    let server = TestServer::start_with(dispatch, limits, PATIENCE);
    let mut stream = server.connect();
    stream.set_nodelay(true).unwrap();
    stream.write_all(b"GET /split HTTP/1.1\r\nHo").unwrap();
    // The server reads the first half and must stay silent: a 408 would
    // arrive here well within the wait.
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut early = [0u8; 64];
    match stream.read(&mut early) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!(
            "answered a half head: {other:?} {:?}",
            String::from_utf8_lossy(&early)
        ),
    }
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(b"st: t\r\n\r\n").unwrap();
    let resp = read_response(&mut BufReader::new(stream), false);
    assert_eq!(resp.status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
