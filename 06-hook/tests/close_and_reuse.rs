//! close (and fclose) wakes a waiting fiber with EBADF, never a retry; a new
//! fd with the same number starts clean, even when the old one was closed
//! past the hook; a wait on a number closed past the hook ends as the
//! kernel's would; fclose flushes a socket stream whole;
//! stop wakes a fiber blocked in a hooked call.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::mpsc;
use std::time::Duration;

use common::{PATIENCE, in_fiber, set_rcvtimeo, within};
use sylar_hook::{TimeoutKind, fd_context};
use sylar_iomanager::{IoHandle, IoManager};

fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

#[test]
fn close_wakes_a_waiting_reader_with_ebadf() {
    let (errno, n) = in_fiber(|| {
        let (client, _server) = connected_pair();
        let fd = client.into_raw_fd(); // raw: closed below, by another fiber
        let (tx, rx) = mpsc::channel();
        IoHandle::current()
            .unwrap()
            .schedule(move || {
                let mut buf = [0u8; 8];
                // SAFETY: a recv into a valid buffer on an fd that is open
                // when the call starts; it is closed while we wait.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                tx.send((std::io::Error::last_os_error().raw_os_error(), n))
                    .unwrap();
            })
            .unwrap();
        // Let the reader park (it is on our thread: yielding lets it run).
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: closing an fd we own (the reader only borrowed the number).
        unsafe { libc::close(fd) };
        // The reader runs once we park; channels block, so poll by sleeping.
        loop {
            if let Ok(result) = rx.try_recv() {
                break result;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    assert_eq!(n, -1);
    assert_eq!(errno, Some(libc::EBADF));
}

#[test]
fn a_new_socket_never_inherits_the_old_contexts_state() {
    let (old_timeout, new_timeout, same_number) = in_fiber(|| {
        let (client, _server) = connected_pair();
        client
            .set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        client.set_nonblocking(true).unwrap();
        let number = client.as_raw_fd();
        let ctx = fd_context(number).unwrap();
        let old = (ctx.timeout(TimeoutKind::Recv), ctx.user_nonblock());
        drop(client);
        // The lowest free number is handed out again.
        let (client2, _server2) = connected_pair();
        let ctx = fd_context(client2.as_raw_fd()).unwrap();
        let new = (ctx.timeout(TimeoutKind::Recv), ctx.user_nonblock());
        (old, new, client2.as_raw_fd() == number)
    });
    assert_eq!(old_timeout, (Some(Duration::from_millis(30)), true));
    assert_eq!(new_timeout, (None, false));
    // The numbers usually match; when they do, this proves the reset.
    let _ = same_number;
}

#[test]
fn stop_wakes_a_fiber_blocked_forever_in_a_hooked_read() {
    let kind = within(PATIENCE, || {
        let iom = IoManager::new(1, false, "forever").unwrap();
        let (client, server) = connected_pair();
        let (tx, rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        iom.schedule(move || {
            let mut client = client;
            started_tx.send(()).unwrap();
            // Nobody ever writes: only stop can end this read.
            let result = client.read(&mut [0u8; 8]);
            tx.send(result.map_err(|e| e.raw_os_error())).unwrap();
        })
        .unwrap();
        started_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        iom.stop();
        drop(server);
        rx.recv().unwrap()
    });
    assert_eq!(kind, Err(Some(libc::ECANCELED)));
}

#[test]
fn a_timed_out_read_leaves_no_timer_that_could_end_a_later_wait() {
    let (first, second) = in_fiber(|| {
        let (mut client, mut server) = connected_pair();
        client
            .set_read_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        let first = client.read(&mut [0u8; 8]).unwrap_err().kind();
        // A longer timeout now; data comes after 60 ms, past the old one.
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        IoHandle::current()
            .unwrap()
            .schedule(move || {
                std::thread::sleep(Duration::from_millis(60));
                std::io::Write::write_all(&mut server, b"late").unwrap();
            })
            .unwrap();
        let mut buf = [0u8; 4];
        let second = client.read_exact(&mut buf).map(|_| buf);
        (first, second.map_err(|e| e.kind()))
    });
    assert_eq!(first, ErrorKind::WouldBlock);
    assert_eq!(second, Ok(*b"late"));
}

#[test]
fn closing_while_another_thread_drops_its_io_manager_never_deadlocks() {
    // `close` makes every I/O manager forget the fd. If the last reference
    // to one of them is the one `close` holds, dropping it closes its epoll
    // through the hooked `close` again: that must not happen under the
    // list's lock. Many rounds of a drop racing closes.
    within(PATIENCE, || {
        for _ in 0..300 {
            let iom = sylar_iomanager::IoManager::new(1, false, "dropped").unwrap();
            let closer = std::thread::spawn(|| {
                for _ in 0..20 {
                    drop(std::os::unix::net::UnixStream::pair().unwrap());
                }
            });
            drop(iom);
            closer.join().unwrap();
        }
    });
}

/// A Unix stream pair, made by the hooked `socketpair`.
fn socket_pair() -> (i32, i32) {
    let mut sv = [0; 2];
    // SAFETY: `sv` has room for the two fds.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) };
    assert_eq!(rc, 0);
    (sv[0], sv[1])
}

/// A socket pair, through our hooked `socketpair`, one end of which has the
/// number `number`, just freed: `None` if that never happens within a few
/// seconds. The kernel hands out the lowest free number, but the other
/// tests of this file open fds on their own threads meanwhile, and one of
/// them may take `number` first; then this closes the pair it got, parks a
/// millisecond (a hooked sleep) and asks again, until the number is free
/// and comes back to us.
fn socket_pair_reusing(number: i32) -> Option<(i32, i32)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (c, d) = socket_pair();
        if c == number || d == number {
            return Some((c, d));
        }
        for fd in [c, d] {
            // SAFETY: fds this function just made.
            unsafe { libc::close(fd) };
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Parks a hooked `recv` on `fd` until `peer` sends one byte (written by
/// another fiber 20 ms later); returns what the recv returned and its errno.
fn recv_one_byte_sent_later(fd: i32, peer: i32) -> (isize, i32) {
    IoHandle::current()
        .unwrap()
        .schedule(move || {
            std::thread::sleep(Duration::from_millis(20));
            // SAFETY: one byte from a valid buffer.
            unsafe { libc::write(peer, b"x".as_ptr().cast(), 1) };
        })
        .unwrap();
    let mut buf = [0u8; 8];
    // SAFETY: a recv into a valid buffer.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    (
        n,
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
    )
}

#[test]
fn a_socket_reusing_a_number_closed_behind_the_hooks_back_is_watched_afresh() {
    // A close past the close hook (the bare system call, or glibc's own
    // internal close) leaves the I/O manager counting the number as
    // registered with epoll. A new socket that gets the number must not be
    // taken for registered, or its waits would never be woken.
    let (same_number, first, second) = in_fiber(|| {
        let (a, b) = socket_pair();
        let first = recv_one_byte_sent_later(a, b); // registers `a` with epoll
        close_behind_the_hooks_back(a);
        let pair = socket_pair_reusing(a);
        let second = match pair {
            Some((c, d)) => {
                set_rcvtimeo(a, 2, 0);
                let peer = if a == c { d } else { c };
                let second = recv_one_byte_sent_later(a, peer);
                for fd in [c, d] {
                    // SAFETY: fds this test made and no longer uses.
                    unsafe { libc::close(fd) };
                }
                second
            }
            None => (1, 0),
        };
        // SAFETY: an fd this test made and no longer uses.
        unsafe { libc::close(b) };
        (pair.is_some(), first, second)
    });
    assert_eq!(first.0, 1, "the first recv failed: errno {}", first.1);
    assert!(same_number, "the new pair did not reuse the number");
    assert_eq!(
        second.0, 1,
        "the recv on the new socket failed: errno {}",
        second.1
    );
}

/// Closes `fd` past every hook, as glibc's own code does with its internal
/// close (in `freopen`, say): the bare system call.
fn close_behind_the_hooks_back(fd: i32) {
    // SAFETY: closing an fd this test owns; nothing uses the number after.
    let rc = unsafe { libc::syscall(libc::SYS_close, fd) };
    assert_eq!(rc, 0);
}

/// Starts a fiber that parks in a hooked `recv` on `fd` and, once it is
/// parked (the I/O manager counts one more waiter), returns a receiver for
/// what the recv returned, its errno and how long it took. The caller is a
/// fiber on a one-thread I/O manager: its hooked sleeps let the reader run.
fn parked_reader(fd: i32) -> mpsc::Receiver<(isize, i32, Duration)> {
    let io = IoHandle::current().unwrap();
    let before = io.pending_events();
    let (tx, rx) = mpsc::channel();
    io.schedule(move || {
        let start = std::time::Instant::now();
        let mut buf = [0u8; 8];
        // SAFETY: a recv into a valid buffer.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        tx.send((n, errno, start.elapsed())).unwrap();
    })
    .unwrap();
    while io.pending_events() == before {
        std::thread::sleep(Duration::from_millis(1)); // parks: the reader runs
    }
    rx
}

/// Waits (parking, in steps of a hooked sleep) for the reader's result.
fn reader_result<T>(rx: &mpsc::Receiver<T>) -> T {
    loop {
        if let Ok(result) = rx.try_recv() {
            return result;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_reader_parked_on_a_number_closed_behind_the_hooks_back_fails_when_it_is_reused() {
    // The close is never seen, and epoll drops the registration with the
    // file without a word: only the reuse of the number, which our
    // `socketpair` notices, can end the wait before its timeout.
    let timeout = Duration::from_secs(10);
    let (same_number, (n, errno, took)) = in_fiber(move || {
        let (a, b) = socket_pair();
        set_rcvtimeo(a, timeout.as_secs() as libc::time_t, 0);
        let rx = parked_reader(a);
        close_behind_the_hooks_back(a);
        let pair = socket_pair_reusing(a);
        let result = reader_result(&rx);
        let (c, d) = pair.unwrap_or((-1, -1));
        for fd in [b, c, d] {
            // SAFETY: fds this test made and no longer uses (-1: none).
            unsafe { libc::close(fd) };
        }
        (pair.is_some(), result)
    });
    assert!(same_number, "the new pair did not reuse the number");
    assert_eq!((n, errno), (-1, libc::EBADF));
    assert!(took < timeout, "woken only by its timeout, after {took:?}");
}

/// A Unix stream pair, one end moved to the number `high` (which must be
/// free, and under the fd limit); returns the other end. The end at `high`
/// is then its file's only fd: closing it closes the socket.
fn pair_with_one_end_at(high: i32) -> i32 {
    assert!(common::raise_fd_limit(high as u64 + 1) > high as u64);
    let (a, b) = socket_pair();
    // SAFETY: `a` is open and `high` is free; the hooked dup2 and close.
    unsafe {
        assert_eq!(libc::dup2(a, high), high);
        libc::close(a);
    }
    b
}

#[test]
fn a_reader_parked_on_a_number_closed_behind_the_hooks_back_fails_with_ebadf_at_its_timeout() {
    // Here nothing hands the number out again (numbers are handed out
    // lowest first, and the other tests never get near this one), so only
    // the reader's own timeout ends its wait. It must not report a plain
    // timeout (EAGAIN, retry) for a number that is no longer open.
    const HIGH: i32 = 900;
    let (n, errno, _) = in_fiber(|| {
        let b = pair_with_one_end_at(HIGH);
        set_rcvtimeo(HIGH, 0, 200_000);
        let rx = parked_reader(HIGH);
        close_behind_the_hooks_back(HIGH);
        let result = reader_result(&rx);
        // SAFETY: an fd this test made and no longer uses.
        unsafe { libc::close(b) };
        result
    });
    assert_eq!((n, errno), (-1, libc::EBADF));
}

#[test]
fn fclose_of_an_fdopened_socket_wakes_a_reader_parked_on_it_with_ebadf() {
    // glibc's `fclose` closes the fd with its internal close, which our
    // `close` never sees; our `fclose` must do what `close` does first.
    // The number is one nobody else gets (see the test above), so no reuse
    // wakes the reader; its timeout would, but only after 10 s.
    const HIGH: i32 = 901;
    let timeout = Duration::from_secs(10);
    let (n, errno, took) = in_fiber(move || {
        let b = pair_with_one_end_at(HIGH);
        set_rcvtimeo(HIGH, timeout.as_secs() as libc::time_t, 0);
        let rx = parked_reader(HIGH);
        // SAFETY: HIGH is ours; the FILE takes it over and fclose closes it.
        unsafe {
            let file = libc::fdopen(HIGH, c"r+".as_ptr());
            assert!(!file.is_null());
            assert_eq!(libc::fclose(file), 0);
        }
        let result = reader_result(&rx);
        // SAFETY: an fd this test made and no longer uses.
        unsafe { libc::close(b) };
        result
    });
    assert_eq!((n, errno), (-1, libc::EBADF));
    assert!(took < timeout, "woken only by its timeout, after {took:?}");
}

#[test]
fn fclose_forgets_only_its_own_number_and_keeps_errno() {
    // A stream on one of two numbers of the same socket: closing it must
    // leave the other number watched (a reader parked on it is woken by
    // data, not cancelled). A stream with no fd (fmemopen: `fileno` says
    // -1 and sets EBADF) and one on a regular file close as they always
    // did, and a successful `fclose` leaves errno as it found it.
    let (parked, errnos) = in_fiber(|| {
        let (a, b) = socket_pair();
        // SAFETY: `a` is open; the hooked dup.
        let c = unsafe { libc::dup(a) };
        assert!(c >= 0);
        let rx = parked_reader(c);
        let mut errnos = Vec::new();
        // SAFETY: `a` is ours and the FILE takes it over; the memory
        // stream's buffer outlives it; /dev/null is a plain file. Each
        // stream is closed once.
        unsafe {
            let on_socket = libc::fdopen(a, c"r+".as_ptr());
            let mut bytes = [0u8; 16];
            let in_memory = libc::fmemopen(bytes.as_mut_ptr().cast(), 16, c"r+".as_ptr());
            let on_file = libc::fopen(c"/dev/null".as_ptr(), c"w".as_ptr());
            for stream in [on_socket, in_memory, on_file] {
                assert!(!stream.is_null());
                *libc::__errno_location() = libc::EDOM;
                assert_eq!(libc::fclose(stream), 0);
                errnos.push(*libc::__errno_location());
            }
            assert_eq!(libc::send(b, c"x".as_ptr().cast(), 1, 0), 1);
        }
        let parked = reader_result(&rx);
        for fd in [b, c] {
            // SAFETY: fds this test made and no longer uses.
            unsafe { libc::close(fd) };
        }
        (parked, errnos)
    });
    assert_eq!(
        parked.0, 1,
        "the dup'd number's reader got errno {}",
        parked.1
    );
    assert_eq!(errnos, [libc::EDOM; 3]);
}

/// A stream made with `fdopen` on `fd` (a socket made in a fiber, whose
/// send buffer is then made small), fully buffered in the returned buffer
/// (which must outlive the stream), holding `len` bytes not yet written.
fn stream_holding(fd: i32, len: usize) -> (*mut libc::FILE, Vec<libc::c_char>) {
    common::set_option(fd, libc::SO_SNDBUF, &(16 << 10));
    let mut buffer = vec![0 as libc::c_char; 2 * len];
    // SAFETY: `fd` is the caller's and the FILE takes it over; the buffer
    // outlives the stream (glibc ignores the size unless given the
    // buffer); the data is valid for `len` bytes.
    unsafe {
        let file = libc::fdopen(fd, c"w".as_ptr());
        assert!(!file.is_null());
        let rc = libc::setvbuf(file, buffer.as_mut_ptr(), libc::_IOFBF, buffer.len());
        assert_eq!(rc, 0);
        let data = vec![b'x'; len];
        assert_eq!(libc::fwrite(data.as_ptr().cast(), 1, len, file), len);
        (file, buffer)
    }
}

/// `fclose(file)`, and the errno it left.
fn fclose_errno(file: *mut libc::FILE) -> (i32, i32) {
    // SAFETY: an open stream, closed once.
    let rc = unsafe { libc::fclose(file) };
    (
        rc,
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
    )
}

#[test]
fn fclose_of_an_fdopened_socket_flushes_everything_it_buffered() {
    // The user's socket blocks; the kernel's does not (we made it so in the
    // fiber). glibc's flush inside `fclose` writes with its internal
    // `write`, which no hook sees: on the non-blocking socket it meets
    // EAGAIN once the small send buffer is full, and glibc drops the rest
    // of its buffer. A blocking socket waits for the reader.
    const BUFFERED: usize = 256 << 10;
    let (closed, read) = in_fiber(|| {
        let (a, b) = socket_pair();
        let (file, buffer) = stream_holding(a, BUFFERED);
        // A plain thread reads the other end to its end (the fclose).
        let reader = std::thread::spawn(move || {
            // SAFETY: `b` is ours; the File owns and closes it.
            let mut other_end =
                std::fs::File::from(unsafe { std::os::fd::OwnedFd::from_raw_fd(b) });
            let mut got = Vec::new();
            other_end.read_to_end(&mut got).map(|_| got.len())
        });
        let closed = fclose_errno(file);
        drop(buffer);
        (closed, reader.join().unwrap().unwrap())
    });
    assert_eq!(
        (closed.0, read),
        (0, BUFFERED),
        "fclose's errno: {}",
        closed.1
    );
}

#[test]
fn fclose_whose_flush_times_out_fails_with_eagain() {
    // Nobody reads: the blocking flush waits out the socket's own send
    // timeout, as the kernel's does; `fclose` still closes the stream, and
    // reports the lost bytes with EOF and EAGAIN.
    let timeout = Duration::from_millis(100);
    let (closed, took) = in_fiber(move || {
        let (a, b) = socket_pair();
        let (file, buffer) = stream_holding(a, 256 << 10);
        let usec = timeout.as_micros() as libc::suseconds_t;
        common::set_timeout_option(a, libc::SO_SNDTIMEO, 0, usec);
        let start = std::time::Instant::now();
        let closed = fclose_errno(file);
        let took = start.elapsed();
        drop(buffer);
        // SAFETY: an fd this test made and no longer uses.
        unsafe { libc::close(b) };
        (closed, took)
    });
    assert_eq!(closed, (-1, libc::EAGAIN));
    assert!(took >= timeout - Duration::from_millis(5), "took {took:?}");
}

#[test]
fn a_reader_whose_number_an_unhooked_call_reuses_times_out_with_eagain() {
    // Closed past the hook and handed out again by a call we do not hook
    // (here the bare dup3 system call onto it; `open` and `pipe` alike):
    // nothing tells the reader, and at its timeout the number is open, so
    // `closed_while_waiting` cannot say EBADF. It must still end with the
    // timeout's EAGAIN, not a read from the new file (/dev/null, which
    // would say 0, end of file) and not a hang.
    const HIGH: i32 = 902;
    let (n, errno, _) = in_fiber(|| {
        let b = pair_with_one_end_at(HIGH);
        set_rcvtimeo(HIGH, 0, 200_000);
        let rx = parked_reader(HIGH);
        close_behind_the_hooks_back(HIGH);
        // SAFETY: /dev/null opened and moved onto the free number HIGH with
        // bare system calls; both fds are closed below.
        let null = unsafe {
            let null = libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                c"/dev/null".as_ptr(),
                libc::O_RDONLY,
            ) as i32;
            assert!(null >= 0);
            assert_eq!(libc::syscall(libc::SYS_dup3, null, HIGH, 0), HIGH as i64);
            null
        };
        let result = reader_result(&rx);
        for fd in [b, null, HIGH] {
            // SAFETY: fds this test made and no longer uses.
            unsafe { libc::close(fd) };
        }
        result
    });
    assert_eq!((n, errno), (-1, libc::EAGAIN));
}

/// Polls `fd` for input for 200 ms in a new fiber beside the caller (a
/// fiber on a one-thread I/O manager) or on a plain thread, and, once it
/// waits, closes `fd` past the hook; returns what `poll` returned and the
/// `revents` it reported.
fn poll_closed_meanwhile(fd: i32) -> (i32, i16) {
    let (tx, rx) = mpsc::channel();
    let (started_tx, started) = mpsc::channel();
    common::beside(move || {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        started_tx.send(()).unwrap();
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 200) };
        tx.send((n, pfd.revents)).unwrap();
    });
    match IoHandle::current() {
        Some(io) => {
            let before = io.pending_events();
            while io.pending_events() == before {
                std::thread::sleep(Duration::from_millis(1)); // parks
            }
        }
        None => started.recv().unwrap(),
    }
    close_behind_the_hooks_back(fd);
    reader_result(&rx)
}

#[test]
fn a_poll_on_a_number_closed_behind_the_hooks_back_reports_pollnval_at_its_timeout() {
    // The kernel's poll, on a plain thread, sleeps on: the close takes
    // nothing from the file it waits on. At its timeout it looks again and
    // finds the number closed: POLLNVAL. Our parked poll must say the same.
    const HIGH: i32 = 903;
    let b = pair_with_one_end_at(HIGH);
    let kernels = poll_closed_meanwhile(HIGH);
    let ours = in_fiber(|| {
        let d = pair_with_one_end_at(HIGH);
        let result = poll_closed_meanwhile(HIGH);
        // SAFETY: an fd this test made and no longer uses.
        unsafe { libc::close(d) };
        result
    });
    // SAFETY: an fd this test made and no longer uses.
    unsafe { libc::close(b) };
    assert_eq!(kernels, (1, libc::POLLNVAL));
    assert_eq!(ours, kernels);
}
