//! One accepted connection, registered with its server while it lives.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::stream::Stream;

// ANCHOR: registry_type
/// The server's list of live connections, so that `stop` can wake them.
///
/// # Invariant
/// An fd is in the map only while its [`Connection`] is alive: the entry is
/// removed in `Connection::drop` *before* the stream (and so the fd) is
/// closed. Holding the lock, the fds in the map are therefore open and ours,
/// never a number already reused by someone else.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    live: Mutex<Live>,
    /// Set by `stop`: a connection that comes to wait for its next request
    /// should end instead.
    stopping: AtomicBool,
}

/// The last id handed out, and each live connection's fd and state by id.
type Live = (u64, HashMap<u64, (RawFd, Arc<AtomicU8>)>);
// ANCHOR_END: registry_type

// ANCHOR: between_requests
/// A connection waiting for its next request (or for its first): `stop`
/// may close it. The state a connection starts in, and keeps unless its
/// handler says otherwise, as the HTTP session does.
const IDLE: u8 = 0;
/// A connection in the middle of a request: `stop` leaves it its grace
/// period to finish.
const BUSY: u8 = 1;
/// An idle connection whose reading side `stop` has shut (so that it is
/// shut once, not on every pass).
const SHUT: u8 = 2;
// ANCHOR_END: between_requests

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, fd: RawFd, state: Arc<AtomicU8>) -> u64 {
        let mut live = self.lock();
        live.0 += 1;
        let id = live.0;
        live.1.insert(id, (fd, state));
        id
    }

    // ANCHOR: shut_idle
    /// From now on connections that wait for a request are to end: shuts the
    /// reading side of every one that waits now, which wakes its fiber with
    /// end-of-file. `stop` calls this until none is left, since a connection
    /// can finish its request, or mark itself idle, just after a pass.
    pub fn shut_idle(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.shut_where(libc::SHUT_RD, |state| {
            state
                .compare_exchange(IDLE, SHUT, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        });
    }
    // ANCHOR_END: shut_idle

    fn remove(&self, id: u64) {
        self.lock().1.remove(&id);
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.lock().1.len()
    }

    // ANCHOR: shutdown_all
    /// Shuts down one or both directions of every live connection, which
    /// wakes whatever fiber reads or writes it.
    pub fn shutdown_all(&self, how: Shutdown) {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        self.shut_where(how, |_| true);
    }

    /// Shuts `how` (a `SHUT_*`) on every live connection whose state `pick`
    /// accepts.
    fn shut_where(&self, how: libc::c_int, mut pick: impl FnMut(&AtomicU8) -> bool) {
        let live = self.lock();
        for (fd, state) in live.1.values() {
            if pick(state) {
                // SAFETY: by the type's invariant, `fd` is an open socket
                // owned by a live Connection while we hold the lock.
                unsafe { libc::shutdown(*fd, how) };
            }
        }
    }
    // ANCHOR_END: shutdown_all
}

// ANCHOR: connection
/// An accepted connection handed to a [`ClientHandler`](crate::ClientHandler).
/// It reads and writes like the [`Stream`] it wraps (and derefs to it); when
/// dropped it leaves the server's list of live connections, then closes.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    id: u64,
    registry: Arc<Registry>,
    /// Idle, busy or shut (see [`Connection::awaiting_request`]); shared
    /// with the registry, where `stop` reads it.
    state: Arc<AtomicU8>,
}
// ANCHOR_END: connection

impl Connection {
    pub(crate) fn new(stream: Stream, registry: Arc<Registry>) -> Connection {
        let state = Arc::new(AtomicU8::new(IDLE));
        let id = registry.add(stream.as_raw_fd(), state.clone());
        Connection {
            stream,
            id,
            registry,
            state,
        }
    }

    // ANCHOR: awaiting_request
    /// The handler is about to wait for the next request: `stop` may close
    /// the connection from now on. Returns `false` if the server is already
    /// stopping, and the handler should end instead of waiting. A handler
    /// that never calls this (or [`Connection::request_started`]) is idle
    /// throughout: `stop` shuts its reading side at once.
    #[inline]
    pub fn awaiting_request(&self) -> bool {
        // Plain stores and loads, no locked instruction: this and
        // `request_started` run once a request each. Should this miss a
        // `stopping` just set, and wait, `stop` finds the connection idle on
        // one of its next passes and shuts it then. (Idle again after `stop`
        // shut it, it is shut again: harmless.)
        self.state.store(IDLE, Ordering::Relaxed);
        !self.registry.stopping.load(Ordering::Relaxed)
    }

    /// The first bytes of a request are in: `stop` leaves the connection
    /// its grace period to finish the request and answer it.
    #[inline]
    pub fn request_started(&self) {
        // Even after `stop` shut the reading side: on Linux, bytes that
        // arrive after `shutdown(SHUT_RD)` can still be read, and a request
        // that got in is one to finish.
        self.state.store(BUSY, Ordering::Relaxed);
    }
    // ANCHOR_END: awaiting_request
}

// ANCHOR: connection_drop
impl Drop for Connection {
    fn drop(&mut self) {
        // Before the stream field is dropped (closed): see Registry's invariant.
        self.registry.remove(self.id);
    }
}
// ANCHOR_END: connection_drop

impl Deref for Connection {
    type Target = Stream;
    fn deref(&self) -> &Stream {
        &self.stream
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl crate::http::SessionStream for Connection {
    fn send_timeout(&self) -> io::Result<Option<std::time::Duration>> {
        self.stream.send_timeout()
    }
    fn set_send_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.stream.set_send_timeout(timeout)
    }
    fn abort(&self) -> io::Result<()> {
        self.stream.abort()
    }
    fn unread_by_peer(&self) -> Option<usize> {
        self.stream.unread_by_peer()
    }
    fn awaiting_request(&self) -> bool {
        Connection::awaiting_request(self)
    }
    fn request_started(&self) {
        Connection::request_started(self)
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
