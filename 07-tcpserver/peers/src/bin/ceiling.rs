//! The ceiling: the least any server can do for wrk's keep-alive hello, so
//! the comparison can tell how close a server is to what the client can
//! drive at all.
//!
//! One thread, one edge-triggered epoll instance polled with a zero timeout
//! (it never sleeps, so wrk never has to wake it), and no HTTP: every `\r\n\r\n` read
//! on a connection is answered with the same canned bytes, as long as ours
//! and with a `Date` that never changes. It is not a server to run; it is
//! the upper bound of the raw table on this machine.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

use sylar_peers::bind_addr;

/// Our answer to `GET /hello`, byte for byte but for the frozen date.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
Server: sylar-rs/0.1.0\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
Content-Length: 11\r\n\r\nHello World";

/// The end of a request head.
const END: &[u8] = b"\r\n\r\n";

/// A connection and how much of `END` its last bytes matched.
struct Conn {
    stream: TcpStream,
    matched: usize,
}

impl Conn {
    /// Counts the request heads that end in `bytes`.
    fn heads_ending_in(&mut self, bytes: &[u8]) -> usize {
        let mut heads = 0;
        for &b in bytes {
            self.matched = match b == END[self.matched] {
                true => self.matched + 1,
                // Only `\r` can start `END` again.
                false => usize::from(b == b'\r'),
            };
            if self.matched == END.len() {
                heads += 1;
                self.matched = 0;
            }
        }
        heads
    }

    /// Reads until the socket is empty (edge-triggered: epoll will not say
    /// so again) and answers each request; false when the connection is over.
    fn serve(&mut self, buf: &mut [u8]) -> bool {
        loop {
            let n = match self.stream.read(buf) {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            };
            for _ in 0..self.heads_ending_in(&buf[..n]) {
                // A full send buffer is not worth handling in a ceiling:
                // wrk reads every answer before it asks again.
                if self.stream.write_all(RESPONSE).is_err() {
                    return false;
                }
            }
            if n < buf.len() {
                // A short read emptied the socket.
                return true;
            }
        }
    }
}

fn main() -> io::Result<()> {
    let addr = bind_addr("ceiling", "127.0.0.1:8084");
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    // SAFETY: epoll_create1 has no pointer arguments.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        return Err(io::Error::last_os_error());
    }
    watch(epoll, listener.as_raw_fd())?;
    eprintln!("ceiling: listening on {addr} (canned answers, never sleeps)");
    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: `events` is a writable buffer of `events.len()` entries.
        let n = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, 0) };
        for event in &events[..n.max(0) as usize] {
            let fd = event.u64 as RawFd;
            if fd == listener.as_raw_fd() {
                while let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true)?;
                    stream.set_nodelay(true)?;
                    watch(epoll, stream.as_raw_fd())?;
                    let conn = Conn { stream, matched: 0 };
                    conns.insert(conn.stream.as_raw_fd(), conn);
                }
            } else if let Some(conn) = conns.get_mut(&fd)
                && !conn.serve(&mut buf)
            {
                // Dropping the stream closes it, which also leaves epoll.
                conns.remove(&fd);
            }
        }
    }
}

/// Adds `fd` to `epoll` for reading, edge-triggered: a level-triggered fd
/// stays on epoll's ready list, and every later `epoll_wait` would poll it
/// again, which is work the kernel does for no request.
fn watch(epoll: RawFd, fd: RawFd) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLET) as u32,
        u64: fd as u64,
    };
    // SAFETY: both fds are open; `event` is a valid epoll_event.
    match unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}
