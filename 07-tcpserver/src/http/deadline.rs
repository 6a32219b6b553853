//! [`DeadlineStream`]: the client's socket, with a deadline over a whole
//! exchange on top of the socket's per-read and per-write timeouts.
//!
//! A socket timeout (`SO_RCVTIMEO`) bounds one read. A server that sends a
//! byte just before each read would time out passes every one of them, and
//! holds the client for as many timeouts as the response has bytes. A
//! deadline bounds the sum: before each read or write, the time left until
//! it becomes the socket's timeout, when it is the shorter of the two.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The error message of an exchange that ran past its response timeout.
pub(crate) const PAST_DEADLINE: &str = "the response took longer than the response timeout";

// ANCHOR: deadline_stream
/// A `TcpStream` whose reads and writes each wait at most `timeout`, and
/// none past the deadline, when one is set.
#[derive(Debug)]
pub(crate) struct DeadlineStream {
    stream: TcpStream,
    /// The per-read and per-write timeout, set on the socket by
    /// [`new`](Self::new) and put back by [`clear_deadline`](Self::clear_deadline).
    timeout: Duration,
    /// When the current exchange must be over; `None`: no deadline.
    deadline: Option<Instant>,
    /// The socket's timeouts were shortened for the deadline.
    shortened: bool,
}

impl DeadlineStream {
    /// Wraps `stream`, setting `timeout` (not zero) for its reads and writes.
    pub(crate) fn new(stream: TcpStream, timeout: Duration) -> io::Result<DeadlineStream> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(DeadlineStream {
            stream,
            timeout,
            deadline: None,
            shortened: false,
        })
    }

    /// The socket.
    pub(crate) fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// From now on, no read or write waits past `within` from now (`None`:
    /// no deadline; one too far away for the clock is none either).
    pub(crate) fn set_deadline(&mut self, within: Option<Duration>) {
        self.deadline = within.and_then(|within| Instant::now().checked_add(within));
    }

    /// Whether a deadline is set and has passed.
    pub(crate) fn deadline_passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Drops the deadline and gives the socket its own timeouts back.
    pub(crate) fn clear_deadline(&mut self) -> io::Result<()> {
        self.deadline = None;
        if std::mem::take(&mut self.shortened) {
            self.stream.set_read_timeout(Some(self.timeout))?;
            self.stream.set_write_timeout(Some(self.timeout))?;
        }
        Ok(())
    }

    /// Before a read (`read` true) or a write: fails with `TimedOut` if the
    /// deadline has passed, and shortens that direction's socket timeout to
    /// the time left when that is less than the usual timeout. No system
    /// call until the deadline comes within one timeout.
    fn arm(&mut self, read: bool) -> io::Result<()> {
        let Some(deadline) = self.deadline else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, PAST_DEADLINE));
        }
        if left < self.timeout {
            self.shortened = true;
            match read {
                true => self.stream.set_read_timeout(Some(left))?,
                false => self.stream.set_write_timeout(Some(left))?,
            }
        }
        Ok(())
    }
}
// ANCHOR_END: deadline_stream

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm(true)?;
        self.stream.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm(false)?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (DeadlineStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let timeout = Duration::from_secs(30);
        (DeadlineStream::new(client, timeout).unwrap(), server)
    }

    #[test]
    fn a_passed_deadline_fails_reads_and_writes_without_waiting() {
        let (mut stream, _server) = pair();
        stream.set_deadline(Some(Duration::ZERO));
        assert!(stream.deadline_passed());
        let mut buf = [0u8; 1];
        assert_eq!(
            stream.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        assert_eq!(
            stream.write(b"x").unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
    }

    #[test]
    fn a_near_deadline_shortens_the_socket_timeout_until_cleared() {
        let (mut stream, mut server) = pair();
        stream.set_deadline(Some(Duration::from_secs(5)));
        server.write_all(b"x").unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(stream.read(&mut buf).unwrap(), 1);
        let shortened = stream.get_ref().read_timeout().unwrap().unwrap();
        assert!(shortened <= Duration::from_secs(5), "{shortened:?}");
        stream.clear_deadline().unwrap();
        assert!(!stream.deadline_passed());
        let timeouts = (
            stream.get_ref().read_timeout().unwrap(),
            stream.get_ref().write_timeout().unwrap(),
        );
        let usual = Some(Duration::from_secs(30));
        assert_eq!(timeouts, (usual, usual));
    }

    #[test]
    fn a_deadline_beyond_the_clock_is_none() {
        let (mut stream, _server) = pair();
        stream.set_deadline(Some(Duration::MAX));
        assert!(!stream.deadline_passed());
        assert!(stream.arm(true).is_ok());
    }
}
