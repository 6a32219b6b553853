//! The two kernel objects the I/O manager is built on, with safe wrappers:
//! an epoll instance and an eventfd for waking it.
//!
//! These call libc directly. Once chapter 6 interposes `read`/`write`, our
//! own `read` of the eventfd goes through the hook too — which passes it
//! straight to the real `read`, because an eventfd is not a socket.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// An epoll instance, closed on drop.
#[derive(Debug)]
pub(crate) struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes only flags; we own the returned fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a freshly created descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    /// Registers `fd` for `events`, remembering `data` for its notifications.
    pub fn add(&self, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, data)
    }

    /// Removes `fd` from the interest list.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: data };
        // SAFETY: `event` is a valid epoll_event for the duration of the call;
        // epoll_ctl validates `fd` itself and reports EBADF/EPERM.
        let rc = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    // ANCHOR: epoll_wait
    /// Waits for events, up to `timeout` (`None`: forever). Returns the
    /// filled prefix of `events`, which is empty when the time ran out or a
    /// signal interrupted the wait (EINTR). An interrupted wait is not
    /// started again here with the same timeout: that timeout was computed
    /// from the next timer's deadline *before* the wait began, and a steady
    /// stream of signals (a profiler's SIGPROF) would keep the timer from
    /// ever firing. The caller loops anyway, and computes it afresh.
    pub fn wait<'a>(
        &self,
        events: &'a mut [libc::epoll_event],
        timeout: Option<Duration>,
    ) -> io::Result<&'a [libc::epoll_event]> {
        let ms = timeout.map_or(-1, timeout_ms);
        // SAFETY: `events` is a valid, writable buffer of `events.len()`
        // entries; the kernel writes at most that many.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr(),
                events.len().min(i32::MAX as usize) as i32,
                ms,
            )
        };
        if n >= 0 {
            return Ok(&events[..n as usize]);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => Ok(&events[..0]),
            _ => Err(err),
        }
    }
    // ANCHOR_END: epoll_wait
}

// ANCHOR: timeout_ms
/// A timeout in whole milliseconds for epoll_wait, rounded *up* so that we
/// never wake before a deadline and spin until it arrives.
pub(crate) fn timeout_ms(timeout: Duration) -> i32 {
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    ms.min(i32::MAX as u128) as i32
}
// ANCHOR_END: timeout_ms

// ANCHOR: eventfd
/// An eventfd: a counter the kernel reports readable while it is non-zero.
/// Writing to it wakes a thread blocked in epoll_wait (sylar uses a pipe).
#[derive(Debug)]
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes an initial value and flags; we own the result.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a freshly created descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventFd { fd })
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Adds one to the counter. It cannot fail short of the counter reaching
    /// 2^64 - 2, which the reader prevents by draining it.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our own eventfd.
        unsafe { libc::write(self.fd.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Resets the counter to zero (non-blocking; nothing to read is fine).
    pub fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64 from our own eventfd.
        unsafe { libc::read(self.fd.as_raw_fd(), (&raw mut value).cast(), 8) };
    }
}
// ANCHOR_END: eventfd

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(Duration::ZERO), 0);
        assert_eq!(timeout_ms(Duration::from_micros(1)), 1);
        assert_eq!(timeout_ms(Duration::from_millis(5)), 5);
        assert_eq!(timeout_ms(Duration::from_micros(5001)), 6);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), i32::MAX);
    }

    #[test]
    fn eventfd_wakes_epoll_until_drained() {
        let epoll = Epoll::new().unwrap();
        let wake = EventFd::new().unwrap();
        epoll.add(wake.raw(), libc::EPOLLIN as u32, 42).unwrap();
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        assert!(
            epoll
                .wait(&mut events, Some(Duration::ZERO))
                .unwrap()
                .is_empty()
        );
        wake.notify();
        let ready = epoll
            .wait(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(ready.len(), 1);
        assert_eq!({ ready[0].u64 }, 42);
        wake.drain();
        assert!(
            epoll
                .wait(&mut events, Some(Duration::ZERO))
                .unwrap()
                .is_empty()
        );
    }
}
