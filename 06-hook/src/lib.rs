//! # sylar-hook — chapter 6: blocking code, asynchronous performance
//!
//! This crate defines libc's socket and sleep functions — `read`, `recv`,
//! `send`, `accept4`, `connect`, `poll`, `clock_nanosleep`... — under their C
//! names. Linked into a program, they replace the real ones for every caller,
//! std included. On an [I/O manager](sylar_iomanager) worker thread, a call
//! that would block instead parks the calling fiber until its fd is ready,
//! and the thread runs other fibers meanwhile; everywhere else they behave
//! exactly like the originals, which they reach with `dlsym(RTLD_NEXT, ..)`.
//!
//! So plain `std::net` code — `listener.accept()`, `stream.read(..)`,
//! `thread::sleep(..)` — serves thousands of connections on one thread.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::sync::mpsc;
//! use sylar_iomanager::IoManager;
//! use sylar_hook as _; // link the hooks (see `is_live`)
//!
//! let iom = IoManager::new(1, false, "doc").unwrap();
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! let (tx, rx) = mpsc::channel();
//! // One thread, two fibers, blocking-style code: the accept parks.
//! iom.schedule(move || {
//!     let (mut conn, _) = listener.accept().unwrap();
//!     let mut buf = [0u8; 5];
//!     conn.read_exact(&mut buf).unwrap();
//!     tx.send(buf).unwrap();
//! }).unwrap();
//! iom.schedule(move || {
//!     TcpStream::connect(addr).unwrap().write_all(b"hello").unwrap();
//! }).unwrap();
//! assert_eq!(&rx.recv().unwrap(), b"hello");
//! iom.stop();
//! ```
//!
//! ## Layout
//! - `original`: the real functions, from `dlsym(RTLD_NEXT, ..)`, and the
//!   reads and writes as bare system calls, for the fiber path.
//! - `enable`: the per-thread switch ([`is_hook_enabled`]) and errno.
//! - `fd_manager`: [`FdCtx`], what we know about each fd.
//! - `do_io`: the one loop every read and write goes through.
//! - `io`: read, readv, recv, recvfrom, recvmsg, write, writev, send, sendto, sendmsg.
//! - `socket`: socket, socketpair, accept, accept4, connect ([`connect_with_timeout`]),
//!   close, dup, dup2, dup3, close_range.
//! - `stdio`: fclose, which closes its stream's fd where no `close` hook sees it.
//! - `sockopt`: setsockopt and getsockopt: the timeouts we must enforce.
//! - `fcntl`: fcntl, fcntl64, ioctl — the user's O_NONBLOCK kept apart from ours.
//! - `sleep`: sleep, usleep, nanosleep, clock_nanosleep.
//! - `poll`: poll.
//! - `resolve`: getaddrinfo and getnameinfo, on a helper thread while the
//!   fiber parks.
//! - `hostent`: gethostbyname_r, gethostbyname2_r and gethostbyaddr_r, the
//!   same way (and why not gethostbyname).
//! - `live`: [`is_live`], proof that the hooks are linked in.

mod do_io;
mod enable;
mod fcntl;
mod fd_manager;
mod hostent;
mod io;
mod live;
mod original;
mod poll;
mod resolve;
mod sleep;
mod socket;
mod sockopt;
mod stdio;

pub use enable::{is_hook_enabled, set_hook_enabled};
pub use fd_manager::{FdCtx, TimeoutKind, lookup as fd_context};
pub use live::is_live;
pub use socket::{connect_with_timeout, init_config};

// ANCHOR: init
/// Resolves every original function and registers this chapter's config
/// variables now rather than on first use. Optional: everything also
/// happens lazily.
pub fn init() {
    original::resolve_all();
    socket::init_config();
}
// ANCHOR_END: init
