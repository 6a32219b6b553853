//! Helpers shared by the I/O manager's tests.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sylar_iomanager::{Event, IoHandle, IoManager, WakeReason};

/// Generous: machines are shared and slow; a hang still fails, just later.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `f` on a thread and fails if it has not returned within `limit`.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(limit)
        .expect("did not finish in time (hang?)")
}

/// A connected pair of non-blocking Unix stream sockets.
pub fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Reads from a non-blocking stream inside a fiber, parking while it would
/// block. Returns the bytes, or the wake reason that ended the wait.
pub fn read_parked(
    io: &IoHandle,
    stream: &mut UnixStream,
    buf: &mut [u8],
) -> Result<usize, WakeReason> {
    loop {
        match stream.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match io.wait(stream.as_raw_fd(), Event::Read, None).unwrap() {
                    WakeReason::Woken => continue,
                    other => return Err(other),
                }
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

/// Writes all of `data` inside a fiber, parking while the buffer is full.
pub fn write_parked(io: &IoHandle, stream: &mut UnixStream, mut data: &[u8]) {
    while !data.is_empty() {
        match stream.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert_eq!(
                    io.wait(stream.as_raw_fd(), Event::Write, None).unwrap(),
                    WakeReason::Woken
                );
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
}

/// Closes a stream the I/O manager may have watched: `forget_fd` first, so
/// that a new fd that reuses the number does not inherit its registration
/// (chapter 6's `close` hook does this by itself).
pub fn close(io: &IoHandle, stream: UnixStream) {
    io.forget_fd(stream.as_raw_fd());
    drop(stream);
}

/// Raises this process's soft fd limit to at least `wanted` (up to the hard limit).
pub fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        limit.rlim_cur
    }
}

/// Schedules a fiber on `iom` that sleeps for `duration`; the receiver gets
/// how its sleep ended and how long it took.
pub fn timed_sleep(iom: &IoManager, duration: Duration) -> mpsc::Receiver<(WakeReason, Duration)> {
    let (tx, rx) = mpsc::channel();
    iom.schedule(move || {
        let io = IoHandle::current().unwrap();
        let start = Instant::now();
        let reason = io.sleep(duration).unwrap();
        tx.send((reason, start.elapsed())).unwrap();
    })
    .unwrap();
    rx
}
