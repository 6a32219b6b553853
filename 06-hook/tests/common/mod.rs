//! Helpers shared by the hook's tests.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use sylar_iomanager::IoManager;

// Link the hooks into every test binary that uses these helpers.
use sylar_hook as _;

/// Generous: machines are shared and slow; a hang still fails, just later.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `f` on a thread and fails if it has not returned within `limit`.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(limit)
        .expect("did not finish in time (hang?)")
}

// ANCHOR: in_fiber
/// Runs `f` in a fiber on a fresh one-thread I/O manager and returns its
/// result. With one thread, any call that blocked the thread instead of
/// parking the fiber would stall everything else scheduled there.
pub fn in_fiber<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    within(PATIENCE, move || {
        let iom = IoManager::new(1, false, "test").unwrap();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || tx.send(f()).unwrap()).unwrap();
        let result = rx.recv().expect("the fiber panicked");
        iom.stop();
        result
    })
}
// ANCHOR_END: in_fiber

/// Starts `f` beside the caller: a fiber on the caller's I/O manager when
/// the caller is one, else a plain thread.
pub fn beside(f: impl FnOnce() + Send + 'static) {
    match sylar_iomanager::IoHandle::current() {
        Some(io) => io.schedule(f).unwrap(),
        None => {
            std::thread::spawn(f);
        }
    }
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

/// Sets `fd`'s receive timeout (SO_RCVTIMEO, through the hooked
/// `setsockopt`) to `sec` seconds and `usec` microseconds, as given.
pub fn set_rcvtimeo(fd: i32, sec: libc::time_t, usec: libc::suseconds_t) {
    set_timeout_option(fd, libc::SO_RCVTIMEO, sec, usec);
}

/// Sets `fd`'s timeout option `which` (SO_RCVTIMEO or SO_SNDTIMEO, through
/// the hooked `setsockopt`) to `sec` seconds and `usec` microseconds.
pub fn set_timeout_option(fd: i32, which: libc::c_int, sec: libc::time_t, usec: libc::suseconds_t) {
    let tv = libc::timeval {
        tv_sec: sec,
        tv_usec: usec,
    };
    set_option(fd, which, &tv);
}

/// Sets `fd`'s socket-level option `which` (an int option such as
/// SO_SNDBUF, or a timeval one) to `value`, through the hooked `setsockopt`.
pub fn set_option<T>(fd: i32, which: libc::c_int, value: &T) {
    // SAFETY: `value` is valid for the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            which,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}
