//! The whole stack: HttpServer on an I/O manager (fibers, hooked std
//! sockets), driven by the HTTP client from plain threads.

mod common;

use std::time::Duration;

use common::{PATIENCE, within};
use sylar_iomanager::IoManager;
use sylar_tcpserver::HttpServer;
use sylar_tcpserver::http::{HttpConnection, HttpRequest, HttpResponse, ServletDispatch};

fn start(dispatch: ServletDispatch, threads: usize) -> (IoManager, HttpServer, String) {
    let iom = IoManager::new(threads, false, "http").unwrap();
    let server = HttpServer::new("test", dispatch, &iom, &iom, &iom);
    server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    server.start().unwrap();
    let addr = server.local_addresses()[0].to_string();
    (iom, server, addr)
}

fn hello_dispatch() -> ServletDispatch {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/hello", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_content_type("text/plain");
        resp.set_body("Hello World");
    });
    dispatch.add_servlet("/boom", |_: &HttpRequest, _: &mut HttpResponse| {
        panic!("this servlet always fails");
    });
    dispatch
}

#[test]
fn the_hooks_are_linked_into_the_server_crate() {
    assert!(
        sylar_hook::is_live(),
        "sylar-tcpserver must link sylar-hook"
    );
}

#[test]
fn keep_alive_requests_share_one_connection_and_fiber() {
    within(PATIENCE, || {
        let (iom, server, addr) = start(hello_dispatch(), 1);
        let mut client = HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
        for _ in 0..100 {
            let response = client.get("/hello").unwrap();
            assert_eq!(response.status, 200);
            assert_eq!(response.body, b"Hello World");
            assert_eq!(response.headers.get("content-length"), Some("11"));
            assert!(response.headers.get("date").is_some());
            assert_eq!(response.headers.get("server"), Some("test"));
        }
        assert_eq!(server.accepted(), 1, "one connection for 100 requests");
        assert_eq!(server.stats().snapshot().requests, 100);
        server.stop(Duration::from_secs(5));
        iom.stop();
    });
}

#[test]
fn a_panicking_servlet_gets_a_500_and_the_server_carries_on() {
    within(PATIENCE, || {
        let (iom, server, addr) = start(hello_dispatch(), 2);
        for _ in 0..10 {
            let mut client =
                HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
            assert_eq!(client.get("/boom").unwrap().status, 500);
            let mut again =
                HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
            assert_eq!(again.get("/hello").unwrap().status, 200);
        }
        assert_eq!(server.stats().snapshot().panics, 10);
        // Every connection's fiber ended: none leaked.
        let deadline = std::time::Instant::now() + PATIENCE;
        while server.connections() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "connections left open"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        server.stop(Duration::from_secs(5));
        iom.stop();
    });
}

#[test]
fn many_concurrent_clients_on_two_threads_all_get_answers() {
    within(PATIENCE * 2, || {
        let (iom, server, addr) = start(hello_dispatch(), 2);
        let clients: Vec<_> = (0..32)
            .map(|_| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let mut client =
                        HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
                    (0..200)
                        .filter(|_| client.get("/hello").unwrap().body == b"Hello World")
                        .count()
                })
            })
            .collect();
        let ok: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(ok, 32 * 200);
        server.stop(Duration::from_secs(5));
        iom.stop();
    });
}

#[test]
fn stop_closes_idle_keep_alive_connections() {
    within(PATIENCE, || {
        let (iom, server, addr) = start(hello_dispatch(), 1);
        let mut clients: Vec<_> = (0..10)
            .map(|_| HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap())
            .collect();
        for c in &mut clients {
            assert_eq!(c.get("/hello").unwrap().status, 200);
        }
        assert_eq!(server.connections(), 10);
        let start = std::time::Instant::now();
        server.stop(Duration::from_secs(30));
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(server.connections(), 0);
        for c in &mut clients {
            assert!(c.get("/hello").is_err(), "the connection was closed");
        }
        iom.stop();
    });
}

#[test]
fn stop_lets_a_request_whose_body_is_still_arriving_finish() {
    use std::io::{BufRead, BufReader, Read, Write};
    within(PATIENCE, || {
        let mut dispatch = hello_dispatch();
        dispatch.add_servlet("/echo", |req: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body(req.body().to_vec());
        });
        let (iom, server, addr) = start(dispatch, 1);
        // An idle keep-alive connection: its end-of-file will say that
        // `stop` has shut the connections it may shut.
        let mut idle = std::net::TcpStream::connect(addr.as_str()).unwrap();
        idle.set_read_timeout(Some(PATIENCE)).unwrap();
        idle.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut idle = BufReader::new(idle);
        let mut line = String::new();
        idle.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        // A request whose head is in and whose body is not: `100 Continue`
        // says the server has read the head.
        let busy = std::net::TcpStream::connect(addr.as_str()).unwrap();
        busy.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut writer = busy.try_clone().unwrap();
        writer
            .write_all(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\
                  Expect: 100-continue\r\n\r\n",
            )
            .unwrap();
        let mut busy = BufReader::new(busy);
        line.clear();
        busy.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 100"), "{line}");
        busy.read_line(&mut line).unwrap(); // the blank line after it
        std::thread::scope(|scope| {
            let stopper = scope.spawn(|| server.stop(Duration::from_secs(30)));
            // The idle connection ends: `stop` has made its pass.
            let mut rest = Vec::new();
            idle.read_to_end(&mut rest).unwrap();
            // The busy one does not: no end-of-file comes in the next 200 ms
            // (a `stop` that shut it too would close it within a few).
            busy.get_ref()
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let early = busy.get_mut().read(&mut [0u8; 1]);
            assert!(
                early.as_ref().is_err_and(|e| matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )),
                "the connection with a request under way was closed: {early:?}"
            );
            busy.get_ref().set_read_timeout(Some(PATIENCE)).unwrap();
            // Its body arrives after that; the request is answered anyway.
            writer.write_all(b"helloworld").unwrap();
            let mut answer = Vec::new();
            busy.read_to_end(&mut answer).unwrap();
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            assert!(answer.ends_with("helloworld"), "{answer}");
            stopper.join().unwrap();
        });
        assert_eq!(server.connections(), 0);
        iom.stop();
    });
}
