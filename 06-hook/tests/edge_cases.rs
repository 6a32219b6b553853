//! Corners a review found where the hook differed from the kernel: a read
//! after `poll` reported data, a read after a `readv` that waited, a read
//! after a wait made with chapter 5's own API, `MSG_WAITALL`, a `dup2` that
//! fails, a negative receive timeout, the 64-bit `SO_RCVTIMEO_NEW`, and a
//! signal during a blocking read with a timeout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{beside, in_fiber, set_rcvtimeo, within};
use sylar_iomanager::{Event, IoHandle, WakeReason};

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A connected Unix stream pair, made by the hooked `socketpair`.
fn pair() -> (i32, i32) {
    let mut sv = [0; 2];
    // SAFETY: `sv` has room for the two fds.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) };
    assert_eq!(rc, 0);
    (sv[0], sv[1])
}

fn write_all(fd: i32, data: &[u8]) {
    // SAFETY: `data` is valid for its length.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    assert_eq!(n, data.len() as isize);
}

fn write_later(fd: i32, delay: Duration, data: &'static [u8]) {
    beside(move || {
        std::thread::sleep(delay);
        write_all(fd, data);
    });
}

fn recv(fd: i32, buf: &mut [u8], flags: i32) -> isize {
    // SAFETY: `buf` is valid for its length.
    unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) }
}

/// A connected pair whose end `a` (first) has a 2 s receive timeout and has
/// just read all there was, "hello": a short read, so the hook marks it
/// drained and its next read waits for an edge.
fn drained_pair() -> (i32, i32) {
    let (a, b) = pair();
    set_rcvtimeo(a, 2, 0);
    write_all(b, b"hello");
    assert_eq!(recv(a, &mut [0u8; 100], 0), 5);
    (a, b)
}

/// A `recv` on `fd` into a 100-byte buffer: what it returned, its errno, and
/// how long it took.
fn timed_recv(fd: i32) -> (isize, i32, Duration) {
    let start = Instant::now();
    let n = recv(fd, &mut [0u8; 100], 0);
    (n, errno(), start.elapsed())
}

#[test]
fn a_read_after_poll_said_readable_returns_the_data() {
    // A short read marks the socket drained; `poll` then spends the edge of
    // the next bytes. The read after it must not wait for another edge.
    let (n, err, took) = in_fiber(|| {
        let (a, b) = drained_pair();
        write_later(b, Duration::from_millis(100), b"world");
        let mut pfd = libc::pollfd {
            fd: a,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 5000) }, 1);
        assert_ne!(pfd.revents & libc::POLLIN, 0);
        timed_recv(a)
    });
    assert_eq!(
        n, 5,
        "the read after POLLIN failed: errno {err} after {took:?}"
    );
}

#[test]
fn recv_with_waitall_returns_the_whole_length() {
    let (n, buf) = in_fiber(|| {
        let (a, b) = pair();
        write_all(b, b"hello");
        write_later(b, Duration::from_millis(100), b"world");
        let mut buf = [0u8; 10];
        (recv(a, &mut buf, libc::MSG_WAITALL), buf)
    });
    assert_eq!(n, 10, "a blocking recv(MSG_WAITALL) returned short");
    assert_eq!(&buf, b"helloworld");
}

#[test]
fn a_failed_dup2_leaves_its_target_alone() {
    let (rc, dup_errno, nonblock, n) = in_fiber(|| {
        let (a, b) = pair();
        // SAFETY: dup2 from an fd that is not open: it fails with EBADF.
        let rc = unsafe { libc::dup2(-1, a) };
        let dup_errno = errno();
        // SAFETY: F_GETFL only reads the flags (the user's view of them).
        let nonblock = unsafe { libc::fcntl(a, libc::F_GETFL) } & libc::O_NONBLOCK;
        write_later(b, Duration::from_millis(100), b"hello");
        let mut buf = [0u8; 5];
        (rc, dup_errno, nonblock, recv(a, &mut buf, 0))
    });
    assert_eq!((rc, dup_errno), (-1, libc::EBADF));
    assert_eq!(
        nonblock, 0,
        "F_GETFL shows an O_NONBLOCK the user never set"
    );
    assert_eq!(
        n, 5,
        "the blocking recv still blocks (parks) and gets the data"
    );
}

#[test]
fn a_failed_dup2_does_not_cancel_a_reader() {
    let (n, err) = in_fiber(|| {
        let (a, b) = pair();
        beside(move || {
            std::thread::sleep(Duration::from_millis(50));
            // SAFETY: dup2 from an fd that is not open: it fails.
            unsafe { libc::dup2(-1, a) };
            std::thread::sleep(Duration::from_millis(50));
            write_all(b, b"hello");
        });
        let mut buf = [0u8; 5];
        let n = recv(a, &mut buf, 0);
        (n, errno())
    });
    assert_eq!(n, 5, "the parked reader failed with errno {err}");
}

#[test]
fn a_negative_receive_timeout_fails_at_once_as_in_the_kernel() {
    let read_with_negative_timeout = || {
        let (a, b) = pair();
        set_rcvtimeo(a, -1, 0);
        write_later(b, Duration::from_millis(500), b"hello");
        let mut buf = [0u8; 5];
        let start = Instant::now();
        let n = recv(a, &mut buf, 0);
        (n, errno(), start.elapsed() < Duration::from_millis(400))
    };
    let plain = std::thread::spawn(read_with_negative_timeout)
        .join()
        .unwrap();
    assert_eq!(plain, (-1, libc::EAGAIN, true), "the kernel's behaviour");
    assert_eq!(in_fiber(read_with_negative_timeout), plain);
}

fn readv(fd: i32, buf: &mut [u8]) -> isize {
    let iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: one iovec over `buf`, valid for its length.
    unsafe { libc::readv(fd, &iov, 1) }
}

#[test]
fn a_recv_after_a_readv_that_waited_returns_what_the_readv_left() {
    // A short recv marks the socket drained. A readv then parks, is woken by
    // the edge of new bytes and takes only part of them: the recv after it
    // must return the rest, not wait for an edge that was already spent.
    let (n, err, took) = in_fiber(|| {
        let (a, b) = drained_pair();
        write_later(b, Duration::from_millis(100), b"world");
        assert_eq!(readv(a, &mut [0u8; 2]), 2);
        timed_recv(a)
    });
    assert_eq!(
        n, 3,
        "the recv after the readv failed: errno {err} after {took:?}"
    );
}

#[test]
fn a_recv_after_a_chapter_5_wait_returns_the_data() {
    // A short recv marks the socket drained. The program then waits for the
    // next bytes with chapter 5's `IoHandle::wait`, which spends their edge:
    // the recv after it must read them, not wait for an edge that came.
    let (woken, n, err, took) = in_fiber(|| {
        let (a, b) = drained_pair();
        write_later(b, Duration::from_millis(100), b"world");
        let io = IoHandle::current().unwrap();
        let woken = matches!(io.wait(a, Event::Read, None), Ok(WakeReason::Woken));
        let (n, err, took) = timed_recv(a);
        (woken, n, err, took)
    });
    assert!(woken, "IoHandle::wait did not end Woken");
    assert_eq!(
        n, 5,
        "the recv after IoHandle::wait failed: errno {err} after {took:?}"
    );
}

#[test]
fn a_recv_after_a_chapter_5_callback_returns_the_data() {
    // The same with `add_event`: its callback is the one woken by the edge.
    let (n, err, took) = in_fiber(|| {
        let (a, b) = drained_pair();
        let called = Arc::new(AtomicBool::new(false));
        let flag = called.clone();
        IoHandle::current()
            .unwrap()
            .add_event(a, Event::Read, move |reason| {
                flag.store(reason == WakeReason::Woken, Ordering::SeqCst);
            })
            .unwrap();
        write_later(b, Duration::from_millis(50), b"world");
        while !called.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5)); // parks this fiber
        }
        timed_recv(a)
    });
    assert_eq!(
        n, 5,
        "the recv after the add_event callback failed: errno {err} after {took:?}"
    );
}

/// Sets a 100 ms timeout on `fd` with `option`, one of the `_NEW` timeout
/// options, whose value is a `struct __kernel_sock_timeval { __s64 tv_sec;
/// __s64 tv_usec; }`.
fn set_100ms_in_the_new_layout(fd: libc::c_int, option: libc::c_int) {
    let tv: [i64; 2] = [0, 100_000];
    // SAFETY: 16 valid bytes, the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            tv.as_ptr().cast(),
            size_of_val(&tv) as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(option {option}): errno {}", errno());
}

/// `SO_RCVTIMEO_NEW` (Linux 5.1 and later; <asm-generic/socket.h>): the
/// receive timeout as a `struct __kernel_sock_timeval`, two 64-bit fields
/// on every architecture (`libc::SO_RCVTIMEO_NEW` too, spelt out here).
const SO_RCVTIMEO_NEW: i32 = 66;

/// Makes `call`, a socket call that must wait out a 100 ms timeout: what it
/// returned, its errno, and whether it took about that long.
fn timed_out(call: impl FnOnce() -> isize) -> (isize, i32, bool) {
    let start = Instant::now();
    let n = call();
    let took = start.elapsed();
    (
        n,
        errno(),
        took >= Duration::from_millis(90) && took < Duration::from_secs(5),
    )
}

/// Runs `timed_call` (set-up, then [`timed_out`]) on a plain thread, where
/// the kernel fails it with EAGAIN after its 100 ms, and in a fiber, where
/// the hook must give the same answer. Without the timeout the fiber's call
/// would wait for ever: a watchdog turns that hang into a failure.
fn times_out_in_a_fiber_as_in_the_kernel(timed_call: fn() -> (isize, i32, bool)) {
    let plain = std::thread::spawn(timed_call).join().unwrap();
    assert_eq!(plain, (-1, libc::EAGAIN, true), "the kernel's behaviour");
    let in_a_fiber = within(Duration::from_secs(20), move || in_fiber(timed_call));
    assert_eq!(in_a_fiber, plain);
}

#[test]
fn a_receive_timeout_set_with_so_rcvtimeo_new_times_out_as_in_the_kernel() {
    times_out_in_a_fiber_as_in_the_kernel(|| {
        let (a, _b) = pair();
        set_100ms_in_the_new_layout(a, SO_RCVTIMEO_NEW);
        let mut buf = [0u8; 5];
        timed_out(|| recv(a, &mut buf, 0))
    });
}

/// `SO_SNDTIMEO_NEW`: the send timeout in the same 64-bit layout.
const SO_SNDTIMEO_NEW: i32 = 67;

#[test]
fn a_send_timeout_set_with_so_sndtimeo_new_times_out_as_in_the_kernel() {
    times_out_in_a_fiber_as_in_the_kernel(|| {
        let (a, _b) = pair();
        set_100ms_in_the_new_layout(a, SO_SNDTIMEO_NEW);
        // Fill the send buffer without blocking; nobody reads the other end.
        let chunk = [0u8; 4096];
        // SAFETY: `chunk` is valid for its length.
        while unsafe { libc::send(a, chunk.as_ptr().cast(), chunk.len(), libc::MSG_DONTWAIT) } > 0 {
        }
        // SAFETY: as above; a blocking send of one byte.
        timed_out(|| unsafe { libc::send(a, chunk.as_ptr().cast(), 1, 0) })
    });
}

extern "C" fn ignore_the_signal(_: libc::c_int) {}

/// A blocking `recv` on `fd`, on a plain thread, with a receive timeout of
/// `timeout`, hit by SIGUSR1 (whose handler asks for SA_RESTART) every
/// 10 ms until it returns: what it returned, its errno, how long it took.
fn recv_hit_by_signals(fd: i32, timeout: Duration) -> (isize, i32, Duration) {
    let usec = timeout.subsec_micros() as libc::suseconds_t;
    set_rcvtimeo(fd, timeout.as_secs() as libc::time_t, usec);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        let start = Instant::now();
        let n = recv(fd, &mut [0; 8], 0);
        (n, errno(), start.elapsed())
    });
    let thread = rx.recv().unwrap();
    while !reader.is_finished() {
        // SAFETY: the reader thread is alive until joined below.
        unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_millis(10));
    }
    reader.join().unwrap()
}

#[test]
fn a_blocking_read_with_a_timeout_is_interrupted_by_a_signal_as_in_the_kernel() {
    // The kernel never restarts a socket call that has a timeout: a signal
    // handler, even one with SA_RESTART, makes it fail with EINTR. Our
    // emulation on a plain thread (a socket made in a fiber is ours,
    // non-blocking underneath) waits in the real `poll`, which a signal
    // interrupts the same way; it must say so, not wait on to its timeout.
    // SAFETY: a handler that does nothing, for a signal no other test uses.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_the_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    let timeout = Duration::from_secs(2);
    let (kernels, _) = pair();
    let (ours, _) = in_fiber(pair);
    for (who, fd) in [("kernel's", kernels), ("ours", ours)] {
        let (n, error, took) = recv_hit_by_signals(fd, timeout);
        assert_eq!((n, error), (-1, libc::EINTR), "{who}");
        assert!(took < timeout, "{who}: waited out its timeout ({took:?})");
    }
}
