//! connect: waits for writability with a timeout and reports the real
//! SO_ERROR; a Unix connect to a full backlog waits for room.

mod common;

use std::io::{ErrorKind, Read, Write};
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

fn sockaddr_in(addr: SocketAddr) -> libc::sockaddr_in {
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 expected")
    };
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn raw_connect(addr: SocketAddr, timeout: Option<Duration>) -> (i32, Option<i32>, Duration) {
    let sin = sockaddr_in(addr);
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

#[test]
fn a_socket_made_in_a_fiber_still_connects_blocking_on_a_plain_thread() {
    // The hook makes a socket created in a fiber non-blocking underneath. A
    // plain thread that connects it cannot park, and must still get the
    // blocking connect it asked for, not EINPROGRESS.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sin = sockaddr_in(listener.local_addr().unwrap());
    // SAFETY: a fresh TCP socket, made by the hooked `socket` in a fiber.
    let fd = in_fiber(|| unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) });
    assert!(fd >= 0);
    // SAFETY: a valid sockaddr_in for our own socket, on this plain thread.
    let rc = unsafe {
        libc::connect(
            fd,
            (&raw const sin).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    let error = std::io::Error::last_os_error();
    assert_eq!(rc, 0, "connect failed: {error}");
    // SAFETY: we own `fd` from here on; the stream closes it.
    let mut stream = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let (mut accepted, _) = listener.accept().unwrap();
    stream.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    accepted.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

/// A Unix listener with backlog 0 and one connection waiting in it: its
/// queue is full. Another fiber (or thread) accepts that one after 200 ms,
/// which makes room. Returns the listener's path and the waiting connection.
fn full_unix_backlog() -> (std::path::PathBuf, std::os::unix::net::UnixStream) {
    use std::os::unix::net::{UnixListener, UnixStream};
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("sylar-hook-{}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    // SAFETY: listen again on our own socket, with backlog 0.
    unsafe { libc::listen(listener.as_raw_fd(), 0) };
    let first = UnixStream::connect(&path).unwrap();
    common::beside(move || {
        std::thread::sleep(Duration::from_millis(200));
        let accepted = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        drop((accepted, listener));
    });
    (path, first)
}

/// Connects to a full Unix backlog with std; the outcome.
fn connect_to_a_full_unix_backlog() -> Result<(), ErrorKind> {
    let (path, first) = full_unix_backlog();
    let second = std::os::unix::net::UnixStream::connect(&path).map_err(|e| e.kind());
    let _ = std::fs::remove_file(&path);
    drop(first);
    second.map(drop)
}

#[test]
fn a_unix_connect_to_a_full_backlog_waits_for_room_as_in_the_kernel() {
    let plain = common::within(common::PATIENCE, connect_to_a_full_unix_backlog);
    assert_eq!(plain, Ok(()), "the kernel's blocking connect waits");
    assert_eq!(in_fiber(connect_to_a_full_unix_backlog), plain);
}

#[test]
fn a_unix_socket_made_in_a_fiber_waits_for_backlog_room_on_a_plain_thread() {
    // SAFETY: a fresh Unix socket, made by the hooked `socket` in a fiber
    // (so non-blocking underneath).
    let fd = in_fiber(|| unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) });
    assert!(fd >= 0);
    let (path, first) = full_unix_backlog();
    // SAFETY: an all-zero sockaddr_un is valid; the path fits (checked).
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    assert!(bytes.len() < sun.sun_path.len());
    for (to, &from) in sun.sun_path.iter_mut().zip(bytes) {
        *to = from as libc::c_char;
    }
    // SAFETY: a valid sockaddr_un for our own socket, on this plain thread.
    let rc = unsafe {
        libc::connect(
            fd,
            (&raw const sun).cast(),
            size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    let error = std::io::Error::last_os_error();
    let _ = std::fs::remove_file(&path);
    drop(first);
    // SAFETY: our own fd, no longer used.
    unsafe { libc::close(fd) };
    assert_eq!(rc, 0, "connect failed: {error}");
}
