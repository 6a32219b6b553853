//! Behaviours pinned down after review: poll on a hang-up, poll woken by
//! stop, whole blocking writes, peeking, and sockets that are not ours.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{PATIENCE, in_fiber, within};
use sylar_iomanager::{IoHandle, IoManager};

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    (a, b)
}

#[test]
fn poll_for_a_hang_up_alone_wakes_when_the_peer_closes() {
    let (n, hung_up, quick) = in_fiber(|| {
        let (a, b) = pair();
        IoHandle::current()
            .unwrap()
            .schedule(move || {
                std::thread::sleep(Duration::from_millis(30));
                drop(b);
            })
            .unwrap();
        let mut pfd = libc::pollfd {
            fd: a.as_raw_fd(),
            events: libc::POLLRDHUP,
            revents: 0,
        };
        let start = Instant::now();
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 10_000) };
        (
            n,
            pfd.revents & libc::POLLRDHUP != 0,
            start.elapsed() < Duration::from_secs(5),
        )
    });
    assert_eq!((n, hung_up, quick), (1, true, true));
}

#[test]
fn a_fiber_parked_in_a_timer_only_poll_is_woken_by_stop() {
    let result = within(PATIENCE, || {
        let iom = IoManager::new(1, false, "pollstop").unwrap();
        let (tx, rx) = mpsc::channel();
        let (parked_tx, parked_rx) = mpsc::channel();
        iom.schedule(move || {
            parked_tx.send(()).unwrap();
            // SAFETY: poll with no fds: a sleep of up to an hour.
            let n = unsafe { libc::poll(std::ptr::null_mut(), 0, 3_600_000) };
            tx.send((n, std::io::Error::last_os_error().raw_os_error()))
                .unwrap();
        })
        .unwrap();
        parked_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        iom.stop();
        rx.recv().unwrap()
    });
    assert_eq!(result, (-1, Some(libc::EINTR)));
}

#[test]
fn a_blocking_write_writes_everything() {
    const SIZE: usize = 8 << 20;
    let (written, received) = in_fiber(|| {
        let (mut a, mut b) = pair();
        let (tx, rx) = mpsc::channel();
        IoHandle::current()
            .unwrap()
            .schedule(move || {
                let mut all = Vec::new();
                b.read_to_end(&mut all).unwrap();
                tx.send(all.len()).unwrap();
            })
            .unwrap();
        let data = vec![42u8; SIZE];
        // One write(2) call, not write_all: a blocking write completes.
        let written = a.write(&data).unwrap();
        drop(a);
        let received = loop {
            if let Ok(n) = rx.try_recv() {
                break n;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        (written, received)
    });
    assert_eq!((written, received), (SIZE, SIZE));
}

#[test]
fn a_peek_does_not_make_the_next_read_wait() {
    let got = in_fiber(|| {
        let (mut a, b) = pair();
        a.write_all(b"hello").unwrap();
        let mut buf = [0u8; 64];
        let peeked = b.peek(&mut buf).unwrap(); // short, but nothing consumed
        let mut b = b;
        let n = b.read(&mut buf).unwrap();
        (peeked, buf[..n].to_vec())
    });
    assert_eq!(got, (5, b"hello".to_vec()));
}

#[test]
fn a_socket_we_did_not_create_is_never_made_nonblocking() {
    let nonblocking = in_fiber(|| {
        let mut fds = [0i32; 2];
        // SAFETY: the raw system call, bypassing every hook: like a socket
        // inherited from a parent process.
        unsafe {
            libc::syscall(
                libc::SYS_socketpair,
                libc::AF_UNIX,
                libc::SOCK_STREAM,
                0,
                fds.as_mut_ptr(),
            );
        }
        // SAFETY: the fds were just created and are owned here.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let mut a = std::fs::File::from(a);
        a.write_all(b"x").unwrap();
        let mut byte = [0u8; 1];
        std::fs::File::from(b).read_exact(&mut byte).unwrap();
        // SAFETY: F_GETFL through the raw system call.
        let flags = unsafe { libc::syscall(libc::SYS_fcntl, a.as_raw_fd(), libc::F_GETFL) } as i32;
        flags & libc::O_NONBLOCK != 0
    });
    assert!(
        !nonblocking,
        "an inherited socket's O_NONBLOCK is shared with other processes"
    );
}
