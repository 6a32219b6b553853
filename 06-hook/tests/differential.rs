//! The same blocking-style std::net code, run on plain threads with the hook
//! off and in fibers on one I/O manager thread with the hook on, gives the
//! same results. In the fiber runs every helper is a fiber on the same single
//! thread, so a call that blocked the thread would hang the scenario.

mod common;

use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::{PATIENCE, beside, in_fiber, within};

// ANCHOR: same_both_ways
/// Runs a scenario both ways and checks the outcomes match.
fn same_both_ways<T: PartialEq + std::fmt::Debug + Send + 'static>(scenario: fn() -> T) -> T {
    let plain = within(PATIENCE, scenario);
    let fibers = in_fiber(scenario);
    assert_eq!(plain, fibers, "hook off (left) and hook on (right) differ");
    fibers
}
// ANCHOR_END: same_both_ways

/// Accepts one connection and keeps it open, reading nothing, until the
/// peer closes it. (Waiting on a std channel instead would block the whole
/// thread: channels are not hooked, only sockets and sleeps are.)
fn hold_until_peer_closes(listener: TcpListener) {
    let (conn, _) = listener.accept().unwrap();
    let mut pfd = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&conn),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd; waits until the peer hangs up (hooked: parks).
    unsafe { libc::poll(&mut pfd, 1, PATIENCE.as_millis() as i32) };
}

fn listener() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[test]
fn connect_accept_and_echo() {
    let echoed = same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let n = conn.read(&mut buf).unwrap();
            conn.write_all(&buf[..n]).unwrap();
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"hello, fiber").unwrap();
        let mut back = [0u8; 12];
        client.read_exact(&mut back).unwrap();
        String::from_utf8(back.to_vec()).unwrap()
    });
    assert_eq!(echoed, "hello, fiber");
}

#[test]
fn partial_writes_are_read_whole_with_read_exact() {
    same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || {
            let (mut conn, _) = listener.accept().unwrap();
            for chunk in [&b"12345"[..], b"67", b"890"] {
                conn.write_all(chunk).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let mut client = TcpStream::connect(addr).unwrap();
        let mut all = [0u8; 10];
        client.read_exact(&mut all).unwrap();
        all
    });
}

#[test]
fn a_read_timeout_fails_with_would_block_after_the_timeout() {
    let (kind, waited_enough) = same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || hold_until_peer_closes(listener));
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let start = Instant::now();
        let err = client.read(&mut [0u8; 8]).unwrap_err();
        let waited = start.elapsed();
        (err.kind(), waited >= Duration::from_millis(50))
    });
    assert_eq!(kind, ErrorKind::WouldBlock);
    assert!(waited_enough);
}

#[test]
fn a_write_timeout_fails_with_would_block_when_the_peer_never_reads() {
    let kind = same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || hold_until_peer_closes(listener));
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_write_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let chunk = vec![0u8; 1 << 16];
        let err = loop {
            if let Err(e) = client.write(&chunk) {
                break e;
            }
        };
        err.kind()
    });
    assert_eq!(kind, ErrorKind::WouldBlock);
}

// ANCHOR: write_timeout_bounds_the_whole_write
/// SO_SNDTIMEO bounds the whole of one blocking write, not each wait in it:
/// a peer that keeps taking a little (here 64 KiB every millisecond, far
/// too slow to take 64 MiB within the timeout) cannot keep one write going
/// for ever. The kernel returns what it wrote once the timeout is spent; so
/// must the hook, whose write waits many times to write it all.
#[test]
fn a_write_timeout_bounds_the_whole_write_while_the_peer_reads_slowly() {
    let cut_short = same_both_ways(|| {
        let (listener, addr) = listener();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader_done = done.clone();
        beside(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 1 << 16];
            while !reader_done.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1)); // hooked: parks
                if let Ok(0) | Err(_) = conn.read(&mut buf) {
                    return;
                }
            }
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_write_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let all = vec![0u8; 64 << 20];
        let wrote = client.write(&all);
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        // A short count, or WouldBlock if nothing went: never the whole.
        match wrote {
            Ok(n) => n < all.len(),
            Err(e) => e.kind() == ErrorKind::WouldBlock,
        }
    });
    assert!(cut_short, "one write outlived its timeout");
}
// ANCHOR_END: write_timeout_bounds_the_whole_write

#[test]
fn a_peer_that_closes_gives_end_of_file() {
    let n = same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || {
            let (conn, _) = listener.accept().unwrap();
            conn.shutdown(Shutdown::Write).unwrap();
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.read(&mut [0u8; 8]).unwrap()
    });
    assert_eq!(n, 0);
}

#[test]
fn a_peer_that_resets_gives_connection_reset() {
    let kind = same_both_ways(|| {
        let mut client = connected_to_a_peer_that_resets();
        client.read(&mut [0u8; 8]).unwrap_err().kind()
    });
    assert_eq!(kind, ErrorKind::ConnectionReset);
}

/// A client that has sent one byte to a peer that answers with a reset.
fn connected_to_a_peer_that_resets() -> TcpStream {
    let (listener, addr) = listener();
    beside(move || {
        let (mut conn, _) = listener.accept().unwrap();
        // Wait for the client's first byte: the connection is fully up
        // on both sides before we reset it.
        conn.read_exact(&mut [0u8; 1]).unwrap();
        reset(conn);
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client.write_all(b"x").unwrap();
    client
}

/// Closes `conn` with an RST instead of a FIN (linger on, with a zero timeout).
fn reset(conn: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: SO_LINGER with a valid linger struct on an open socket.
    unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&conn),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(conn);
}

#[test]
fn writing_after_a_reset_fails_with_broken_pipe() {
    let kinds = same_both_ways(|| {
        let mut client = connected_to_a_peer_that_resets();
        // The read reports the reset (and clears it); a write after it
        // finds the connection gone: EPIPE, and no SIGPIPE (MSG_NOSIGNAL).
        let read = client.read(&mut [0u8; 8]).unwrap_err().kind();
        let write = client.write(b"y").unwrap_err().kind();
        (read, write)
    });
    assert_eq!(kinds, (ErrorKind::ConnectionReset, ErrorKind::BrokenPipe));
}

#[test]
fn vectored_writes_and_reads_carry_every_byte() {
    let echoed = same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let (mut head, mut tail) = ([0u8; 5], [0u8; 7]);
            let mut got = 0;
            while got < 12 {
                let n = if got < 5 {
                    let mut bufs = [
                        IoSliceMut::new(&mut head[got..]),
                        IoSliceMut::new(&mut tail),
                    ];
                    conn.read_vectored(&mut bufs).unwrap()
                } else {
                    conn.read(&mut tail[got - 5..]).unwrap()
                };
                assert!(n > 0, "the client closed early");
                got += n;
            }
            conn.write_all(&[head.as_slice(), tail.as_slice()].concat())
                .unwrap();
        });
        let mut client = TcpStream::connect(addr).unwrap();
        let mut slices = [IoSlice::new(b"hello"), IoSlice::new(b", world")];
        let mut sent = 0;
        while sent < 12 {
            let n = client.write_vectored(&slices).unwrap();
            sent += n;
            IoSlice::advance_slices(&mut &mut slices[..], n);
        }
        let mut back = [0u8; 12];
        client.read_exact(&mut back).unwrap();
        String::from_utf8(back.to_vec()).unwrap()
    });
    assert_eq!(echoed, "hello, world");
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let kind = same_both_ways(|| {
        let (listener, addr) = listener();
        drop(listener);
        TcpStream::connect(addr).unwrap_err().kind()
    });
    assert_eq!(kind, ErrorKind::ConnectionRefused);
}

#[test]
fn a_user_nonblocking_socket_gets_would_block_at_once() {
    let kind = same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || hold_until_peer_closes(listener));
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_nonblocking(true).unwrap();
        let err = client.read(&mut [0u8; 8]).unwrap_err();
        // And blocking again afterwards works.
        client.set_nonblocking(false).unwrap();
        err.kind()
    });
    assert_eq!(kind, ErrorKind::WouldBlock);
}

#[test]
fn udp_send_to_and_recv_from() {
    let got = same_both_ways(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b_addr = b.local_addr().unwrap();
        let a_addr = a.local_addr().unwrap();
        beside(move || {
            let mut buf = [0u8; 32];
            let (n, from) = b.recv_from(&mut buf).unwrap();
            b.send_to(&buf[..n], from).unwrap();
        });
        a.send_to(b"datagram", b_addr).unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = a.recv_from(&mut buf).unwrap();
        (buf[..n].to_vec(), from == b_addr, a_addr.ip().is_loopback())
    });
    assert_eq!(got, (b"datagram".to_vec(), true, true));
}

#[test]
fn sleep_sleeps_at_least_as_long_as_asked() {
    let ok = same_both_ways(|| {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let long = start.elapsed() >= Duration::from_millis(20);
        let start = Instant::now();
        std::thread::sleep(Duration::from_micros(300));
        let short = start.elapsed() >= Duration::from_micros(300);
        (long, short)
    });
    assert_eq!(ok, (true, true), "sub-millisecond sleeps are not zero");
}

#[test]
fn connect_timeout_to_a_live_listener_succeeds() {
    let ok = same_both_ways(|| {
        let (listener, addr) = listener();
        beside(move || {
            let _ = listener.accept();
        });
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok()
    });
    assert!(ok);
}
