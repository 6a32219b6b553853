//! Events, waiters, and the errors of registering them.

use std::fmt;
use std::io;

use sylar_fiber::{Fiber, WakeReason};

// ANCHOR: event
/// The two things one can wait for on a file descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// Data to read, a connection to accept, or the peer closed (EPOLLIN).
    Read,
    /// Room to write, or a connect finished (EPOLLOUT).
    Write,
}
// ANCHOR_END: event

// ANCHOR: waiter
/// Who waits for an event: a parked fiber, resumed where it stopped, or a
/// closure, called with the reason it was woken.
pub enum Waiter {
    /// A fiber parked by [`IoHandle::wait`](crate::IoHandle::wait).
    Fiber(Fiber),
    /// A callback registered with [`IoHandle::add_event`](crate::IoHandle::add_event).
    Call(Box<dyn FnOnce(WakeReason) + Send>),
}
// ANCHOR_END: waiter

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Waiter::Fiber(fiber) => f.debug_tuple("Waiter::Fiber").field(fiber).finish(),
            Waiter::Call(_) => f.write_str("Waiter::Call(..)"),
        }
    }
}

/// Why an event could not be registered.
#[derive(Debug)]
pub enum EventError {
    /// The fd is negative or beyond what the fd table holds.
    InvalidFd(i32),
    /// Someone already waits for this event on this fd. sylar aborts the
    /// process here; we refuse the second waiter.
    AlreadyWaiting(i32, Event),
    /// epoll refused the fd (closed: EBADF; a regular file: EPERM; ...).
    Register(i32, io::Error),
    /// `wait` or `sleep` was called outside a fiber: there is nothing to park.
    NotInFiber,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::InvalidFd(fd) => write!(f, "invalid file descriptor {fd}"),
            EventError::AlreadyWaiting(fd, ev) => {
                write!(f, "fd {fd} already has a waiter for {ev:?}")
            }
            EventError::Register(fd, e) => write!(f, "epoll cannot watch fd {fd}: {e}"),
            EventError::NotInFiber => f.write_str("not running inside a fiber"),
        }
    }
}

impl std::error::Error for EventError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EventError::Register(_, e) => Some(e),
            _ => None,
        }
    }
}

impl From<EventError> for io::Error {
    /// For code that speaks `io::Result`: EBADF, EEXIST, the epoll error, EPERM.
    fn from(e: EventError) -> io::Error {
        match e {
            EventError::InvalidFd(_) => io::Error::from_raw_os_error(libc::EBADF),
            EventError::AlreadyWaiting(..) => io::Error::from_raw_os_error(libc::EEXIST),
            EventError::Register(_, e) => e,
            EventError::NotInFiber => io::Error::from_raw_os_error(libc::EPERM),
        }
    }
}
