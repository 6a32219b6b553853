//! Listening sockets and accepted connections of either family, TCP or Unix.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use sylar_hook::TimeoutKind;

use crate::address::Address;
use crate::http::SessionStream;

// ANCHOR: stream
/// An accepted connection: what a [`ClientHandler`](crate::ClientHandler)
/// serves. It is a plain std stream underneath, so reading and writing it in
/// a fiber parks the fiber (chapter 6), and works on a thread too.
#[derive(Debug)]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-socket connection.
    Unix(UnixStream),
}
// ANCHOR_END: stream

impl Stream {
    /// The peer's address, as text (for logs).
    pub fn peer(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map_or_else(|_| "?".to_string(), |a| a.to_string()),
            Stream::Unix(_) => "unix".to_string(),
        }
    }

    /// Sets the receive timeout (SO_RCVTIMEO): a read waiting longer fails
    /// with `WouldBlock`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    /// Sets the send timeout (SO_SNDTIMEO).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(timeout),
            Stream::Unix(s) => s.set_write_timeout(timeout),
        }
    }

    /// Shuts down one or both directions (wakes a fiber reading it).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Unix(s) => s.shutdown(how),
        }
    }
}

// ANCHOR: stream_send_timeout
/// On a socket the hook made non-blocking, the hook enforces the send
/// timeout itself, from the value it keeps for the fd (chapter 6): setting
/// that value is a store to memory, not a `setsockopt` system call, which
/// matters because the response pace sets it before writes. Elsewhere (a
/// socket the kernel blocks on) the kernel's SO_SNDTIMEO is the one.
impl SessionStream for Stream {
    fn send_timeout(&self) -> io::Result<Option<Duration>> {
        match hooked(self.as_raw_fd()) {
            Some(ctx) => Ok(ctx.timeout(TimeoutKind::Send)),
            None => match self {
                Stream::Tcp(s) => s.write_timeout(),
                Stream::Unix(s) => s.write_timeout(),
            },
        }
    }

    fn set_send_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match hooked(self.as_raw_fd()) {
            Some(ctx) => {
                ctx.set_timeout(TimeoutKind::Send, timeout);
                Ok(())
            }
            None => self.set_write_timeout(timeout),
        }
    }

    fn abort(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => crate::http::abort_tcp(s),
            Stream::Unix(s) => s.shutdown(Shutdown::Read),
        }
    }

    /// A Unix socket's `SIOCOUTQ` counts the memory its queued buffers
    /// take, headers included, not bytes: it says nothing.
    fn unread_by_peer(&self) -> Option<usize> {
        match self {
            Stream::Tcp(s) => crate::http::unread_by_tcp_peer(s),
            Stream::Unix(_) => None,
        }
    }
}

/// The hook's record of `fd`, if the hook emulates blocking on it (a socket
/// of ours, non-blocking underneath, that the user wants blocking): then the
/// kernel's SO_SNDTIMEO is never consulted, the record's is.
fn hooked(fd: RawFd) -> Option<&'static sylar_hook::FdCtx> {
    sylar_hook::fd_context(fd).filter(|ctx| {
        ctx.is_socket() && ctx.is_ours() && ctx.sys_nonblock() && !ctx.user_nonblock()
    })
}
// ANCHOR_END: stream_send_timeout

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// A bound, listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, std::path::PathBuf),
}

impl Drop for Listener {
    /// A Unix socket leaves its file behind when closed: remove it.
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Listener {
    /// Binds and listens (std uses a backlog of 128).
    pub fn bind(address: &Address) -> io::Result<Listener> {
        match address {
            Address::Inet(addr) => TcpListener::bind(addr).map(Listener::Tcp),
            Address::Unix(path) => {
                // A socket file left by a previous run would make bind fail;
                // remove it, but only if it is a socket and nobody listens
                // on it: a live server's socket is refused, not stolen.
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    use std::os::unix::fs::FileTypeExt;
                    if meta.file_type().is_socket() {
                        if std::os::unix::net::UnixStream::connect(path).is_ok() {
                            return Err(io::Error::new(
                                io::ErrorKind::AddrInUse,
                                format!("a server is listening on {}", path.display()),
                            ));
                        }
                        let _ = std::fs::remove_file(path);
                    }
                }
                UnixListener::bind(path).map(|l| Listener::Unix(l, path.clone()))
            }
        }
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn local_address(&self) -> Address {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(Address::Inet)
                .unwrap_or_else(|_| Address::Unix("?".into())),
            Listener::Unix(_, path) => Address::Unix(path.clone()),
        }
    }

    /// Accepts one connection (parks the fiber until one arrives).
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }),
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }

    /// Whether a client waits in the backlog (a zero-timeout poll, which
    /// never parks).
    pub fn has_pending(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a zero timeout returns at once.
        unsafe { libc::poll(&mut pfd, 1, 0) > 0 && pfd.revents & libc::POLLIN != 0 }
    }

    pub fn raw_fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l, _) => l.as_raw_fd(),
        }
    }
}
