//! # sylar-iomanager — chapter 5: the epoll I/O manager and its timers
//!
//! An [`IoManager`] is a [scheduler](sylar_scheduler) whose idle workers do
//! something useful: they sleep in `epoll_wait` until a file descriptor is
//! ready or a timer is due, and then schedule whoever waited for it. A fiber
//! that would block on a socket instead *parks* with [`IoHandle::wait`]; its
//! thread runs other fibers meanwhile.
//!
//! ```
//! use std::os::fd::AsRawFd;
//! use std::os::unix::net::UnixStream;
//! use std::io::{Read, Write};
//! use std::sync::mpsc;
//! use sylar_iomanager::{Event, IoHandle, IoManager};
//!
//! let iom = IoManager::new(1, false, "doc").unwrap();
//! let (mut reader, mut writer) = UnixStream::pair().unwrap();
//! reader.set_nonblocking(true).unwrap();
//! let (tx, rx) = mpsc::channel();
//! iom.schedule(move || {
//!     let io = IoHandle::current().unwrap();
//!     let mut buf = [0u8; 5];
//!     loop {
//!         match reader.read(&mut buf) {
//!             Ok(n) => break tx.send(buf[..n].to_vec()).unwrap(),
//!             // Nothing yet: park this fiber until epoll says readable.
//!             Err(_) => { io.wait(reader.as_raw_fd(), Event::Read, None).unwrap(); }
//!         }
//!     }
//! }).unwrap();
//! writer.write_all(b"hello").unwrap();
//! assert_eq!(rx.recv().unwrap(), b"hello");
//! iom.stop();
//! ```
//!
//! ## Layout
//! - `timer`: [`TimerManager`] and [`Timer`] — one-shot, recurring, conditional.
//! - `fd_table`: [`FdTable`], per-fd entries that never move.
//! - `event`: [`Event`], [`Waiter`], [`EventError`].
//! - `fd_context`: one fd's state — registration, waiters, remembered readiness.
//! - `sys`: the epoll instance and the eventfd that wakes it.
//! - `reactor`: events in and out, and the idle loop (sylar's `idle`).
//! - `busy_poll`: how long an idle worker polls before it sleeps, while events come fast.
//! - `iomanager`: [`IoManager`] (owner) and [`IoHandle`] (the API).
//! - `blocking`: the helper threads behind [`IoHandle::run_blocking`].

mod blocking;
mod busy_poll;
mod event;
mod fd_context;
mod fd_table;
mod iomanager;
mod reactor;
mod sys;
mod timer;

pub use event::{Event, EventError, Waiter};
pub use fd_table::FdTable;
pub use iomanager::{EventKey, IoHandle, IoManager};
pub use reactor::forget_fd_everywhere;
pub use sylar_fiber::WakeReason;
pub use timer::{Expired, Timer, TimerId, TimerManager};
