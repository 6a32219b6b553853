//! [`lingering_close`]: closing a connection without destroying the last
//! response.

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// At most this much is read and dropped by [`lingering_close`].
const LINGER_MAX_BYTES: usize = 1 << 20;

// ANCHOR: lingering_close
/// Closes our side of `stream` gently, as nginx's "lingering close" does:
/// shut down writing (the peer reads our last response, then end of file),
/// then read and drop what the peer still sends, until it closes, for at
/// most `max_wait` and 1 MiB. Without it, closing a socket with unread input
/// (the rest of a refused upload) sends a reset, and the peer may lose the
/// response before reading it.
pub fn lingering_close(stream: &mut TcpStream, max_wait: Duration) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    let deadline = Instant::now() + max_wait;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_MAX_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => drained += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok(())
}
// ANCHOR_END: lingering_close
