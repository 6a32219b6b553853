//! A peer that sends its last bytes and closes at once: epoll (edge-triggered)
//! reports both in one notification. The fiber that was woken reads the
//! bytes (a short read), and its next read must see the end of the stream at
//! once. It used to park instead: a short read marks the socket as drained,
//! so the next read waited for an edge first, and none ever comes after a
//! hang-up. The connection then hung until its read timeout (120 s in
//! chapter 7's server). Found by the reliability tests of chapter 7 (clients
//! that reset in the middle of a request).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::{PATIENCE, within};
use sylar_iomanager::IoManager;

/// Waits (on this plain thread, where the hook is off) until `fd` reports
/// `events`, so that the test knows what the kernel has received.
fn until_ready(fd: i32, events: libc::c_short) {
    loop {
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 10) };
        if pfd.revents & events == events {
            return;
        }
    }
}

fn run(hang_up: impl FnOnce(TcpStream) + Send + 'static) -> (usize, std::io::Result<usize>) {
    within(PATIENCE, move || {
        // One worker: while it is busy, nobody reads the epoll notifications.
        let iom = IoManager::new(1, false, "hangup").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (fd_tx, fd_rx) = mpsc::channel();
        let (result_tx, result_rx) = mpsc::channel();
        iom.schedule(move || {
            let (mut conn, _) = listener.accept().unwrap();
            fd_tx.send(conn.as_raw_fd()).unwrap();
            let mut buf = [0u8; 4096];
            let first = conn.read(&mut buf).unwrap(); // parks: nothing sent yet
            let second = conn.read(&mut buf); // the end of the stream
            result_tx.send((first, second)).unwrap();
        })
        .unwrap();
        let fd = fd_rx.recv().unwrap();
        // The reader is parked once its wait is registered.
        while iom.pending_events() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Keep the only worker busy while the bytes and the hang-up arrive,
        // so that one notification reports both.
        let go = Arc::new(AtomicBool::new(false));
        let (busy_tx, busy_rx) = mpsc::channel();
        let release = go.clone();
        iom.schedule(move || {
            busy_tx.send(()).unwrap();
            while !release.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
        })
        .unwrap();
        busy_rx.recv().unwrap();
        client.write_all(b"last").unwrap();
        hang_up(client);
        until_ready(fd, libc::POLLIN | libc::POLLRDHUP);
        go.store(true, Ordering::Release);
        let result = result_rx.recv().unwrap();
        iom.stop();
        result
    })
}

#[test]
fn a_read_after_a_short_read_sees_the_end_that_came_with_the_bytes() {
    let (first, second) = run(|client| client.shutdown(Shutdown::Write).unwrap());
    assert_eq!(first, 4);
    assert_eq!(second.unwrap(), 0, "end of stream");
}

#[test]
fn a_read_after_a_short_read_sees_the_reset_that_came_with_the_bytes() {
    let (first, second) = run(|client| {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid socket and a live `linger` of the size given.
        let rc = unsafe {
            libc::setsockopt(
                client.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        drop(client); // close with SO_LINGER 0: a reset
    });
    assert_eq!(first, 4);
    // The reset, or the end of the stream once the reset was reported.
    assert!(matches!(&second, Ok(0)) || second.is_err(), "{second:?}");
}
