//! The response side of the rate limits: a client that takes a large
//! response too slowly (the slow read attack: a tiny receive window, a few
//! bytes read now and then) is cut off once it falls behind
//! `min_send_rate` after `send_grace`, long before the socket's write
//! timeout would notice; a client that reads in small pieces at a good rate
//! gets everything; a rate of 0 turns the check off.

#[path = "common/http.rs"]
mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{PATIENCE, TestServer};
use sylar_tcpserver::http::{HttpLimits, HttpRequest, HttpResponse, ServletDispatch};

/// The size of every response here: far more than the socket buffers hold.
const BODY: usize = 8 << 20;

/// A dispatch with `/big` (a buffered body of [`BODY`] bytes) and
/// `/stream` (a streamed body of [`BODY`] bytes, whose reader reports its
/// drop on `dropped`).
fn big_responses(dropped: mpsc::Sender<()>) -> ServletDispatch {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/big", |_: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body(vec![b'x'; BODY]);
    });
    let dropped = std::sync::Mutex::new(dropped);
    dispatch.add_servlet(
        "/stream",
        move |_: &HttpRequest, resp: &mut HttpResponse| {
            let tx = dropped.lock().unwrap().clone();
            let reader = ReportsDrop(io::repeat(b'y').take(BODY as u64), tx);
            resp.set_body_reader(reader, Some(BODY as u64));
        },
    );
    dispatch
}

/// A reader that says on a channel when it is dropped.
struct ReportsDrop<R>(R, mpsc::Sender<()>);

impl<R: Read> Read for ReportsDrop<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R> Drop for ReportsDrop<R> {
    fn drop(&mut self) {
        let _ = self.1.send(());
    }
}

/// A server whose write timeout is [`PATIENCE`] (30 s), with the given
/// response rate and grace.
fn server(min_send_rate: u64, send_grace: Duration) -> (TestServer, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let limits = HttpLimits {
        min_send_rate,
        send_grace,
        ..HttpLimits::default()
    };
    (
        TestServer::start_with(big_responses(tx), limits, PATIENCE),
        rx,
    )
}

/// A client whose receive buffer is as small as the kernel allows (set
/// before `connect`, so that the window it announces is small from the
/// start), with a read timeout of [`PATIENCE`].
fn small_window_client(addr: SocketAddr) -> TcpStream {
    let SocketAddr::V4(v4) = addr else {
        panic!("the test server binds 127.0.0.1")
    };
    // SAFETY: plain socket calls on a new fd that we own; the sockaddr_in
    // and the int live across the calls that read them.
    let fd = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
        let size: libc::c_int = 4096;
        let rc = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "SO_RCVBUF: {}", io::Error::last_os_error());
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect: {}", io::Error::last_os_error());
        fd
    };
    // SAFETY: `fd` is a connected socket that nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads `piece` bytes at a time with `pause` between reads until the
/// server closes the connection (end of stream or reset) or `stop_after`
/// bytes have arrived; returns the bytes read and when it stopped.
fn read_slowly(
    stream: &mut TcpStream,
    piece: usize,
    pause: Duration,
    stop_after: usize,
) -> (usize, Instant) {
    let mut buf = vec![0u8; piece];
    let mut total = 0;
    while total < stop_after {
        std::thread::sleep(pause); // the client's pace, not a synchronisation
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the client's read failed after {total} bytes: {e}"),
        }
    }
    (total, Instant::now())
}

/// Asks for `path` from a small-window client that then reads nothing,
/// and checks that the server resets it after `grace` and well before the
/// 4 s that the kernel's buffers would buy it at the tests' rates.
fn assert_cut_though_it_reads_nothing(addr: SocketAddr, path: &str, grace: Duration) {
    let mut client = small_window_client(addr);
    let asked = ask(&mut client, path);
    let reset = reset_without_reading(&client).expect("no reset in 30 s");
    let took = reset - asked;
    assert!(
        took >= grace,
        "{path}: cut after {took:?}, within the grace"
    );
    assert!(took < Duration::from_secs(4), "{path}: cut after {took:?}");
}

/// Waits, without reading a byte, until the server resets `stream` (poll
/// reports an error or a hang-up; data waiting to be read does not wake
/// it), or [`PATIENCE`] passes; returns when, or `None`.
fn reset_without_reading(stream: &TcpStream) -> Option<Instant> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: 0, // POLLERR and POLLHUP are always reported
        revents: 0,
    };
    let ms = PATIENCE.as_millis() as libc::c_int;
    // SAFETY: one valid pollfd on our stack, on a socket `stream` owns.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    assert!(rc >= 0, "poll: {}", io::Error::last_os_error());
    (rc > 0).then(Instant::now)
}

/// Asks for `path` on `stream`.
fn ask(stream: &mut TcpStream, path: &str) -> Instant {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    Instant::now()
}

// ANCHOR: slow_reader_is_cut_off
/// 16 bytes every millisecond (at most 16 KB/s) against a minimum of
/// 1 MiB/s after 300 ms of grace: the server resets the connection and
/// counts a slow reader, within a wide window. Not before the grace, and
/// well before the 30 s write timeout, which this client would never
/// trigger (each read lets a write progress) and which reading all 8 MiB at
/// this pace would exceed many times over.
#[test]
fn a_client_that_reads_a_large_response_slowly_is_cut_off() {
    let grace = Duration::from_millis(300);
    let (server, _) = server(1 << 20, grace);
    for path in ["/big", "/stream"] {
        let mut client = small_window_client(server.addr);
        let asked = ask(&mut client, path);
        let (got, closed) = read_slowly(&mut client, 16, Duration::from_millis(1), BODY);
        let took = closed - asked;
        assert!(got < BODY / 2, "{path}: {got} bytes before the cut");
        assert!(
            took >= grace,
            "{path}: cut after {took:?}, within the grace"
        );
        assert!(took < PATIENCE / 2, "{path}: cut after {took:?}");
        assert_eq!(server.next_outcome(), Ok(()), "{path}");
    }
    assert_eq!(server.stats.snapshot().slow_readers, 2);
    assert_eq!(server.stats.snapshot().requests, 2);
}
// ANCHOR_END: slow_reader_is_cut_off

/// When a streamed body's client is cut off, the servlet's reader is
/// dropped (so an upstream it reads from is released) with the rest unread.
#[test]
fn a_streamed_body_is_dropped_when_its_slow_client_is_cut_off() {
    let (server, dropped) = server(1 << 20, Duration::from_millis(200));
    let mut client = small_window_client(server.addr);
    ask(&mut client, "/stream");
    // The client stops reading altogether: the rate ends this in a few
    // seconds, the 30 s write timeout only after twice this wait.
    dropped
        .recv_timeout(PATIENCE / 2)
        .expect("the reader was not dropped");
    assert_eq!(server.next_outcome(), Ok(()));
    assert_eq!(server.stats.snapshot().slow_readers, 1);
    drop(client);
}

// ANCHOR: unread_bytes_are_not_taken
/// A client that reads nothing at all, against a minimum of 16 KiB/s after
/// 200 ms of grace: the kernel takes the first write's bytes into the
/// socket's send buffer (hundreds of KiB, megabytes on loopback), and were
/// they counted as taken, they would buy the client many seconds at this
/// rate. They are not: what the client's TCP has not acknowledged is
/// subtracted, so the cut comes soon after the grace, both for a buffered
/// and for a streamed body.
#[test]
fn bytes_the_kernel_holds_for_a_client_that_reads_nothing_buy_it_no_time() {
    let grace = Duration::from_millis(200);
    let (server, _) = server(16 << 10, grace);
    for path in ["/big", "/stream"] {
        assert_cut_though_it_reads_nothing(server.addr, path, grace);
        assert_eq!(server.next_outcome(), Ok(()), "{path}");
    }
    assert_eq!(server.stats.snapshot().slow_readers, 2);
}
// ANCHOR_END: unread_bytes_are_not_taken

/// Reads of at most 16 KiB (a few KiB each, through the small window),
/// one every half millisecond (several MB/s), against a minimum of
/// 200 KB/s after only 100 ms of grace: the whole body arrives, both
/// buffered and streamed. Reading 8 MiB takes this client far longer than
/// the grace, so this fails if the bytes it took did not count (or if the
/// ones still queued for it were subtracted twice).
#[test]
fn a_client_that_reads_in_small_pieces_at_a_good_rate_gets_everything() {
    let (server, _) = server(200_000, Duration::from_millis(100));
    for (path, fill) in [("/big", b'x'), ("/stream", b'y')] {
        let mut client = small_window_client(server.addr);
        let asked = ask(&mut client, path);
        let body = read_body(
            &mut client,
            Vec::new(),
            16 * 1024,
            Duration::from_micros(500),
        );
        assert!(body.iter().all(|&b| b == fill), "{path}: a wrong byte");
        assert!(
            asked.elapsed() > Duration::from_millis(100),
            "{path}: read faster than the grace: the rate was never tested"
        );
    }
    assert_eq!(server.stats.snapshot().slow_readers, 0);
}

/// Goes on reading after `all`, `piece` bytes at a time with `pause`
/// between reads, until the response's head and its [`BODY`] bytes are
/// in; returns the body. A close or an error before fails the test.
fn read_body(stream: &mut TcpStream, mut all: Vec<u8>, piece: usize, pause: Duration) -> Vec<u8> {
    let mut buf = vec![0u8; piece];
    loop {
        if let Some(at) = all.windows(4).position(|w| w == b"\r\n\r\n")
            && all.len() >= at + 4 + BODY
        {
            assert_eq!(all.len(), at + 4 + BODY, "bytes past the body");
            return all.split_off(at + 4);
        }
        std::thread::sleep(pause); // the client's pace
        let n = stream.read(&mut buf).expect("the server cut a good reader");
        assert!(n > 0, "closed after {} bytes", all.len());
        all.extend_from_slice(&buf[..n]);
    }
}

/// `min_send_rate: 0` turns the check off: with no grace at all, the slow
/// client of the first test reads for half a second (with any rate, the
/// first write would have been given no time at all), then takes the rest
/// at full speed and gets all of it.
#[test]
fn a_zero_rate_turns_the_check_off() {
    let (server, _) = server(0, Duration::ZERO);
    let mut client = small_window_client(server.addr);
    ask(&mut client, "/big");
    let began = Instant::now();
    let mut all = Vec::new();
    let mut buf = [0u8; 16];
    while began.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(Duration::from_millis(1)); // the client's pace
        let n = client.read(&mut buf).expect("cut with the rate off");
        assert!(n > 0, "closed with the rate off");
        all.extend_from_slice(&buf[..n]);
    }
    let body = read_body(&mut client, all, 1 << 16, Duration::ZERO);
    assert!(body.iter().all(|&b| b == b'x'));
    assert_eq!(server.stats.snapshot().slow_readers, 0);
}

// ANCHOR: slow_reader_on_the_server
/// The same slow client against the whole stack: an `HttpServer` in fibers,
/// whose sockets the hook makes non-blocking (so the pace sets the hook's
/// own record of the send timeout), with the limits from the configuration
/// (64 KiB/s after 300 ms) and the default write timeout of 120 s. Then a
/// client that reads nothing: the connection's stream, too, says what the
/// kernel still holds for it (hundreds of KiB at least, which would buy it
/// seconds at this rate).
#[test]
fn an_http_server_cuts_off_a_slow_reader() {
    use sylar_iomanager::IoManager;
    use sylar_tcpserver::HttpServer;
    let grace = Duration::from_millis(300);
    sylar_config::global()
        .load_yaml_str("http:\n  response:\n    min_send_rate: 65536\n    send_grace: 300\n")
        .unwrap();
    let iom = IoManager::new(2, false, "slow-read").unwrap();
    let (tx, _dropped) = mpsc::channel();
    let server = HttpServer::new("slow-read", big_responses(tx), &iom, &iom, &iom);
    server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    server.start().unwrap();
    let addr = match &server.local_addresses()[0] {
        sylar_tcpserver::Address::Inet(addr) => *addr,
        other => panic!("bound {other}"),
    };
    for path in ["/big", "/stream"] {
        let mut client = small_window_client(addr);
        let asked = ask(&mut client, path);
        let (got, closed) = read_slowly(&mut client, 16, Duration::from_millis(1), BODY);
        let took = closed - asked;
        assert!(got < BODY / 2, "{path}: {got} bytes before the cut");
        assert!(took >= grace, "{path}: cut after {took:?}");
        // A few seconds with the pace; a minute or more if each write
        // could wait out the socket's 120 s.
        assert!(took < PATIENCE, "{path}: cut after {took:?}");
    }
    for path in ["/big", "/stream"] {
        assert_cut_though_it_reads_nothing(addr, path, grace);
    }
    assert_eq!(server.stats().snapshot().slow_readers, 4);
    server.stop(Duration::from_secs(5));
    iom.stop();
}
// ANCHOR_END: slow_reader_on_the_server
