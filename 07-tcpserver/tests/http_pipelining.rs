//! Pipelining: several requests in one write are all answered, in order;
//! bytes after one request are the start of the next.

#[path = "common/http.rs"]
mod common;

use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::Ordering;

use common::{TestServer, echo_everything, parse_all, read_until_closed};

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut batch = String::new();
    for i in 0..20 {
        batch.push_str(&format!("GET /r{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    batch.push_str("GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let responses = parse_all(&server.exchange(batch.as_bytes()));
    let paths: Vec<_> = responses
        .iter()
        .map(|r| r.header("x-path").unwrap().to_owned())
        .collect();
    let mut expected: Vec<_> = (0..20).map(|i| format!("/r{i}")).collect();
    expected.push("/last".into());
    assert_eq!(paths, expected);
    assert_eq!(calls.load(Ordering::SeqCst), 21);
}

#[test]
fn bodies_of_every_framing_can_be_pipelined() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let batch: &[u8] = b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst\
        POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n\
        GET /c HTTP/1.1\r\nHost: t\r\n\r\n\
        POST /d HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird";
    // Split the batch at awkward places: inside a head, inside a body.
    let mut stream = server.connect();
    for piece in [&batch[..30], &batch[30..58], &batch[58..140], &batch[140..]] {
        stream.write_all(piece).unwrap();
    }
    let responses = parse_all(&read_until_closed(&mut stream));
    let bodies: Vec<_> = responses.iter().map(|r| r.text()).collect();
    assert_eq!(bodies, ["first", "second", "", "third"]);
}

#[test]
fn a_refused_request_in_a_pipeline_comes_after_the_good_answers() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let all = server.exchange(
        b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /2 HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n\
          GET /4 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let statuses: Vec<_> = parse_all(&all).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 400]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_half_closed_client_still_gets_every_answer() {
    let (dispatch, _) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\nGET /y HTTP/1.1\r\nHost: t\r\n\r\nGET /z HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let responses = parse_all(&read_until_closed(&mut stream));
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[2].header("x-path"), Some("/z"));
    assert_eq!(server.next_outcome(), Ok(()));
}

#[test]
fn large_pipelines_lose_nothing() {
    let (dispatch, calls) = echo_everything();
    let server = TestServer::start(dispatch);
    let mut batch = Vec::new();
    for i in 0..500 {
        let body = format!("body number {i}");
        batch.extend_from_slice(
            format!(
                "POST /p{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    batch.extend_from_slice(b"GET /end HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut stream = server.connect();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || stream.write_all(&batch).unwrap())
    };
    let responses = parse_all(&read_until_closed(&mut stream));
    writer.join().unwrap();
    assert_eq!(responses.len(), 501);
    for (i, resp) in responses.iter().take(500).enumerate() {
        assert_eq!(resp.text(), format!("body number {i}"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 501);
}
