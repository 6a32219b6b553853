//! One accepted connection, registered with its server while it lives.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, RawFd};
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
    live: Mutex<(u64, HashMap<u64, RawFd>)>,
}
// ANCHOR_END: registry_type

impl Registry {
    fn lock(&self) -> MutexGuard<'_, (u64, HashMap<u64, RawFd>)> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, fd: RawFd) -> u64 {
        let mut live = self.lock();
        live.0 += 1;
        let id = live.0;
        live.1.insert(id, fd);
        id
    }

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
        let live = self.lock();
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        for &fd in live.1.values() {
            // SAFETY: by the type's invariant, `fd` is an open socket owned
            // by a live Connection while we hold the lock.
            unsafe { libc::shutdown(fd, how) };
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
}
// ANCHOR_END: connection

impl Connection {
    pub(crate) fn new(stream: Stream, registry: Arc<Registry>) -> Connection {
        let id = registry.add(stream.as_raw_fd());
        Connection {
            stream,
            id,
            registry,
        }
    }
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

impl crate::http::SendTimeout for Connection {
    fn send_timeout(&self) -> io::Result<Option<std::time::Duration>> {
        self.stream.send_timeout()
    }
    fn set_send_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.stream.set_send_timeout(timeout)
    }
    fn abort(&self) -> io::Result<()> {
        self.stream.abort()
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
