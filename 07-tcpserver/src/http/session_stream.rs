//! [`SessionStream`]: what [`serve_connection`](super::serve_connection)
//! needs from a connection beyond `Read + Write`: its send timeout, to keep
//! a slow reader to [`HttpLimits::min_send_rate`](super::HttpLimits::min_send_rate)
//! (see `send_pace`), a way to abort it, and the two signals a stopping
//! server listens to. Implemented here for std's TCP and Unix streams; the
//! crate's [`Stream`](crate::Stream) and [`Connection`](crate::Connection)
//! implement it beside their definitions.

use std::io;
use std::time::Duration;

// ANCHOR: session_stream
/// A connection whose send timeout the session can read and shorten, and
/// which it can ask what the peer has not taken yet, to keep a response to
/// [`HttpLimits::min_send_rate`](super::HttpLimits::min_send_rate), and
/// which the session tells when it waits between requests (for
/// [`TcpServer::stop`](crate::TcpServer::stop)).
///
/// The defaults do nothing, which is right for a stream that never makes a
/// write wait (bytes in memory, a fuzzer's input): `impl SessionStream for
/// MyStream {}`. A socket must implement the two timeout methods, or a slow
/// reader is bounded by its write timeout alone, and `unread_by_peer`, or
/// the bytes its kernel buffers count as taken.
pub trait SessionStream {
    /// The send timeout in force (`None`: writes may wait for ever).
    fn send_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(None)
    }

    /// Sets the send timeout: a write that waits longer fails with
    /// `WouldBlock` or `TimedOut`, or returns what it wrote so far. Never
    /// called with a zero duration.
    fn set_send_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Called once a client is cut off for reading too slowly, before the
    /// session returns: what is still queued for it must go too, or the
    /// kernel goes on feeding it the send buffer (megabytes, on a fast
    /// link) at its own pace. A TCP socket is set to reset when closed
    /// (`SO_LINGER` of zero), and its reading side shut, so that a lingering
    /// close that follows ends at once.
    fn abort(&self) -> io::Result<()> {
        Ok(())
    }

    /// How many of the bytes written so far the peer has not taken yet,
    /// if the stream can tell (`None`: it cannot, and every byte a write
    /// accepted counts as taken, which is exact for bytes in memory). The
    /// response pace subtracts it before each check, so that a send
    /// buffer the kernel filled does not pass for a client that read. A
    /// TCP socket answers with `ioctl(SIOCOUTQ)`: the bytes its peer has
    /// not acknowledged.
    fn unread_by_peer(&self) -> Option<usize> {
        None
    }

    /// Called before the session waits for the next request (or the
    /// first): the connection may be closed by a stopping server from now
    /// on. `false` means the server is stopping: the session ends instead.
    /// (A [`Connection`](crate::Connection) keeps this state for
    /// [`TcpServer::stop`](crate::TcpServer::stop).)
    fn awaiting_request(&self) -> bool {
        true
    }

    /// Called once the first bytes of a request are in: a stopping server
    /// gives the connection its grace period to finish it.
    fn request_started(&self) {}
}
// ANCHOR_END: session_stream

impl SessionStream for std::net::TcpStream {
    fn send_timeout(&self) -> io::Result<Option<Duration>> {
        self.write_timeout()
    }
    fn set_send_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_write_timeout(timeout)
    }
    fn abort(&self) -> io::Result<()> {
        abort_tcp(self)
    }
    fn unread_by_peer(&self) -> Option<usize> {
        unread_by_tcp_peer(self)
    }
}

// ANCHOR: unread_by_tcp_peer
/// [`SessionStream::unread_by_peer`] for a TCP socket: `ioctl(SIOCOUTQ)`
/// (Linux spells it `TIOCOUTQ`, the same number), the bytes in the send
/// queue that the peer has not acknowledged. `None` if the call fails.
///
/// Why this count and not `tcpi_notsent_bytes` from `TCP_INFO`, the bytes
/// not yet *sent*: a byte on the wire is still in our buffer, and counts
/// against us until the peer's TCP acknowledges it (it may be lost and
/// sent again); what the limit protects is what the server holds for the
/// client, and that is exactly the unacknowledged queue. `TCP_INFO` also
/// copies a struct of some 240 bytes where this copies one `int`. Neither
/// sees what the client's kernel acknowledged but its program has not
/// read: that is bounded by the window the client announced, and it is
/// the client's memory, not ours.
pub(crate) fn unread_by_tcp_peer(stream: &std::net::TcpStream) -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut queued: libc::c_int = 0;
    // SAFETY: `stream` owns an open socket for the call; TIOCOUTQ writes
    // one `int`, through a pointer to ours, which lives across the call.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    match rc {
        0 => usize::try_from(queued).ok(),
        _ => None,
    }
}
// ANCHOR_END: unread_by_tcp_peer

// ANCHOR: abort_tcp
/// [`SessionStream::abort`] for a TCP socket: a reset on close, which drops
/// whatever is queued, and no more reading.
pub(crate) fn abort_tcp(stream: &std::net::TcpStream) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `stream` owns an open socket for the call; the option value
    // is a `linger` on our stack, and its true size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    stream.shutdown(std::net::Shutdown::Read)
}
// ANCHOR_END: abort_tcp

impl SessionStream for std::os::unix::net::UnixStream {
    fn send_timeout(&self) -> io::Result<Option<Duration>> {
        self.write_timeout()
    }
    fn set_send_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_write_timeout(timeout)
    }
}
