//! Faults on the whole stack (HttpServer on an I/O manager, fibers, hooked
//! sockets): clients that reset in the middle of a request or a response by
//! the hundred, half-closed clients, a servlet that panics on every tenth
//! request, and a servlet blocked for ever in a hooked call. After each, the
//! server's connection count and the process's live fibers are back where
//! they started, and the server still answers.
//!
//! The tests of this file run one at a time (they share the process-wide
//! fiber count): each holds [`serial`] while it runs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use common::{PATIENCE, within};
use sylar_fiber::Fiber;
use sylar_iomanager::IoManager;
use sylar_tcpserver::http::{HttpConnection, HttpRequest, HttpResponse, ServletDispatch};
use sylar_tcpserver::{Address, HttpServer};

/// A body far larger than the socket buffers: its response is still being
/// written when the client resets.
const BIG: usize = 4 * 1024 * 1024;

/// Serialises the tests of this file.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// An HttpServer on its own I/O manager, and the most fibers it may keep
/// alive while idle.
struct Running {
    iom: IoManager,
    server: HttpServer,
    addr: SocketAddr,
    idle_fibers: usize,
}

impl Running {
    fn start(mut dispatch: ServletDispatch, threads: usize) -> Running {
        dispatch.add_servlet("/hello", |_: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body("Hello World");
        });
        dispatch.add_servlet("/big", |_: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body(vec![b'z'; BIG]);
        });
        dispatch.add_servlet("/echo", |req: &HttpRequest, resp: &mut HttpResponse| {
            resp.set_body(req.body().to_vec());
        });
        let before = Fiber::live_count();
        let iom = IoManager::new(threads, false, "faults").unwrap();
        let server = HttpServer::new("faults", dispatch, &iom, &iom, &iom);
        server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
        server.start().unwrap();
        let Address::Inet(addr) = server.local_addresses()[0] else {
            panic!("TCP expected")
        };
        // One request answered: the accept fiber is up and parked.
        assert_eq!(get(addr, "/hello").0, 200);
        wait_for("the first connection to close", || {
            server.connections() == 0
        });
        // Idle, the server keeps its accept fiber, parked, and each worker
        // thread at most one free runner fiber (chapter 4) for the next task.
        let idle_fibers = before + 1 + threads;
        assert!(Fiber::live_count() <= idle_fibers);
        Running {
            iom,
            server,
            addr,
            idle_fibers,
        }
    }

    /// Waits until no connection is open and the fibers are back within the
    /// idle count, then checks that the server still answers.
    fn assert_back_to_idle(&self) {
        let server = &self.server;
        wait_for("every connection to close", || server.connections() == 0);
        let idle = self.idle_fibers;
        wait_for("the fibers to return to the idle count", || {
            Fiber::live_count() <= idle
        });
        let (status, body) = get(self.addr, "/hello");
        assert_eq!((status, body.as_slice()), (200, &b"Hello World"[..]));
    }

    fn stop(self) {
        self.server.stop(Duration::from_secs(5));
        self.iom.stop();
    }
}

/// Polls `done` (every 2 ms) until it holds; fails after [`PATIENCE`].
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One GET on a new connection: status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let mut client = HttpConnection::connect(addr, PATIENCE).unwrap();
    let response = client.get(path).unwrap();
    (response.status, response.body)
}

/// Closes `stream` with a reset instead of a FIN: SO_LINGER with a zero
/// timeout makes close(2) discard unsent data and send RST.
fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a pointer to a live `linger` of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
    drop(stream);
}

// ANCHOR: resets
#[test]
fn clients_that_reset_mid_request_and_mid_response_leave_nothing_behind() {
    let _serial = serial();
    within(PATIENCE * 2, || {
        let running = Running::start(ServletDispatch::new(), 2);
        let addr = running.addr;
        // 4 threads x 50 rounds x 3 kinds of reset: 600 resets.
        let clients: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        // In the middle of the head.
                        let mut s = TcpStream::connect(addr).unwrap();
                        s.write_all(b"GET /hello HTTP/1.1\r\nHo").unwrap();
                        reset(s);
                        // In the middle of a body.
                        let mut s = TcpStream::connect(addr).unwrap();
                        s.write_all(
                            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\npart",
                        )
                        .unwrap();
                        reset(s);
                        // In the middle of a 4 MiB response.
                        let mut s = TcpStream::connect(addr).unwrap();
                        s.set_read_timeout(Some(PATIENCE)).unwrap();
                        s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
                            .unwrap();
                        let mut first = [0u8; 4096];
                        s.read_exact(&mut first).unwrap();
                        assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
                        reset(s);
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
        running.assert_back_to_idle();
        let stats = running.server.stats().snapshot();
        assert_eq!(stats.panics, 0);
        assert!(running.server.accepted() >= 600);
        running.stop();
    });
}
// ANCHOR_END: resets

#[test]
fn a_half_closed_client_still_gets_every_response() {
    let _serial = serial();
    within(PATIENCE, || {
        let running = Running::start(ServletDispatch::new(), 1);
        // Three pipelined requests, then "I have nothing more to send".
        let mut s = TcpStream::connect(running.addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s.write_all(
            b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n\
              POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping\
              GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut reader = BufReader::new(s);
        let mut bodies = Vec::new();
        for _ in 0..3 {
            bodies.push(read_response(&mut reader));
        }
        assert_eq!(bodies, [&b"Hello World"[..], b"ping", b"Hello World"]);
        // Then the server closes its side too.
        let mut rest = Vec::new();
        assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0, "{rest:?}");
        running.assert_back_to_idle();
        running.stop();
    });
}

/// Reads one `Content-Length` response and returns its body (status 200).
fn read_response(reader: &mut impl BufRead) -> Vec<u8> {
    let mut length = None;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200 "), "{line:?}");
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = Some(value.trim().parse::<usize>().unwrap());
        }
    }
    let mut body = vec![0; length.expect("Content-Length")];
    reader.read_exact(&mut body).unwrap();
    body
}

// ANCHOR: panics
#[test]
fn a_servlet_that_panics_on_every_tenth_request_leaks_nothing() {
    let _serial = serial();
    within(PATIENCE, || {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut dispatch = ServletDispatch::new();
        let counter = calls.clone();
        dispatch.add_servlet("/flaky", move |_: &HttpRequest, resp: &mut HttpResponse| {
            if counter.fetch_add(1, Ordering::SeqCst) % 10 == 9 {
                panic!("every tenth request fails (expected by the test)");
            }
            resp.set_body("fine");
        });
        let running = Running::start(dispatch, 2);
        let (mut ok, mut failed) = (0, 0);
        let mut client = HttpConnection::connect(running.addr, PATIENCE).unwrap();
        for _ in 0..200 {
            if !client.is_open() {
                // A 500 closes its connection: open another.
                client = HttpConnection::connect(running.addr, PATIENCE).unwrap();
            }
            match client.get("/flaky").unwrap().status {
                200 => ok += 1,
                500 => failed += 1,
                other => panic!("unexpected status {other}"),
            }
        }
        drop(client);
        assert_eq!((ok, failed), (180, 20));
        assert_eq!(running.server.stats().snapshot().panics, 20);
        running.assert_back_to_idle();
        running.stop();
    });
}
// ANCHOR_END: panics

// ANCHOR: blocked
#[test]
fn stop_completes_while_a_servlet_is_blocked_for_ever_in_a_hooked_read() {
    let _serial = serial();
    // A peer that accepts and never writes: the servlet's read waits for ever.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let (blocked_tx, blocked_rx) = mpsc::channel::<()>();
    let (result_tx, result_rx) = mpsc::channel::<std::io::Result<usize>>();
    let (blocked_tx, result_tx) = (Mutex::new(blocked_tx), Mutex::new(result_tx));
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/stuck", move |_: &HttpRequest, resp: &mut HttpResponse| {
        let mut upstream = TcpStream::connect(silent_addr).unwrap();
        blocked_tx.lock().unwrap().send(()).unwrap();
        let read = upstream.read(&mut [0u8; 16]); // hooked: parks this fiber
        let _ = result_tx.lock().unwrap().send(read);
        resp.set_status(502);
    });
    within(PATIENCE, move || {
        let before = Fiber::live_count();
        let running = Running::start(dispatch, 2);
        let mut client = TcpStream::connect(running.addr).unwrap();
        client
            .write_all(b"GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        blocked_rx.recv().unwrap();
        let _upstream = silent.accept().unwrap(); // held open, never written
        let Running { iom, server, .. } = running;
        // The grace period passes, the connection is shut down, and the
        // servlet still waits on its own socket: stop gives up on it...
        server.stop(Duration::from_millis(200));
        // ...and stopping the I/O manager wakes it with an error.
        iom.stop();
        let read = result_rx.recv().unwrap();
        assert!(read.is_err(), "the parked read ended with {read:?}");
        assert_eq!(server.connections(), 0);
        assert_eq!(Fiber::live_count(), before, "fibers left after iom.stop");
        let mut rest = Vec::new();
        client.set_read_timeout(Some(PATIENCE)).unwrap();
        let _ = client.read_to_end(&mut rest); // closed (EOF or reset)
    });
}
// ANCHOR_END: blocked
