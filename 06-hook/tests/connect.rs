//! connect: waits for writability with a timeout and reports the real SO_ERROR.

mod common;

use std::io::ErrorKind;
use std::mem::size_of;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::in_fiber;
use sylar_hook::connect_with_timeout;

/// A listening socket with backlog 0 whose queue is filled: further SYNs are
/// dropped, so a new connect neither succeeds nor fails until it times out.
fn unresponsive_listener() -> (TcpListener, Vec<TcpStream>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen on our own socket with backlog 0.
    unsafe { libc::listen(listener.as_raw_fd(), 0) };
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    (listener, fillers, addr)
}

fn raw_connect(addr: SocketAddr, timeout: Option<Duration>) -> (i32, Option<i32>, Duration) {
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 expected")
    };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a fresh TCP socket, connected with a valid sockaddr_in, closed after.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        let start = Instant::now();
        let rc = connect_with_timeout(
            fd,
            (&raw const sin).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
            timeout,
        );
        let errno = std::io::Error::last_os_error().raw_os_error();
        let took = start.elapsed();
        libc::close(fd);
        (rc, (rc != 0).then_some(errno).flatten(), took)
    }
}

#[test]
fn connect_with_timeout_gives_etimedout_when_nobody_answers() {
    let (rc, errno, took) = in_fiber(|| {
        let (_listener, _fillers, addr) = unresponsive_listener();
        raw_connect(addr, Some(Duration::from_millis(100)))
    });
    assert_eq!((rc, errno), (-1, Some(libc::ETIMEDOUT)));
    assert!(took >= Duration::from_millis(100), "{took:?}");
}

#[test]
fn a_refused_connect_reports_the_real_error() {
    let (rc, errno, _) = in_fiber(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        raw_connect(addr, Some(Duration::from_secs(5)))
    });
    assert_eq!((rc, errno), (-1, Some(libc::ECONNREFUSED)));
}

#[test]
fn std_connect_uses_the_configured_default_timeout() {
    // `tcp.connect.timeout` (ms) bounds a plain std connect in a fiber.
    sylar_config::global()
        .load_yaml_str("tcp:\n  connect:\n    timeout: 150\n")
        .unwrap();
    let (kind, took) = in_fiber(|| {
        let (_listener, _fillers, addr) = unresponsive_listener();
        let start = Instant::now();
        let err = TcpStream::connect(addr).unwrap_err();
        (err.kind(), start.elapsed())
    });
    assert_eq!(kind, ErrorKind::TimedOut);
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(30),
        "{took:?}"
    );
}

#[test]
fn std_connect_timeout_parks_in_poll() {
    let (kind, took) = in_fiber(|| {
        let (_listener, _fillers, addr) = unresponsive_listener();
        let start = Instant::now();
        let err = TcpStream::connect_timeout(&addr, Duration::from_millis(100)).unwrap_err();
        (err.kind(), start.elapsed())
    });
    assert_eq!(kind, ErrorKind::TimedOut);
    assert!(took >= Duration::from_millis(100));
}
