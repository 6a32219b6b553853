//! The accept loop: one fiber per listening socket.
//!
//! The C++ loop logs and retries every failed accept. When the process runs
//! out of file descriptors (EMFILE, ENFILE), `accept` fails at once — Linux
//! needs a free fd before it even looks at the backlog — and the loop spins
//! at 100 % CPU writing a log line per turn, while the clients in the backlog
//! wait for nothing. Ours keeps one spare fd in reserve: on EMFILE, if a
//! client is waiting, it frees the spare, accepts that client and closes it
//! straight away (the client sees a clean close rather than a hang), takes
//! the spare back, and waits a little longer each time before the next try;
//! the first successful accept resets the wait.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::stream::Listener;
use crate::tcp_server::Inner;

/// The longest pause between two accepts while out of fds.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

// ANCHOR: out_of_fds
fn out_of_fds(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Whether an accept error means the listener is gone or being stopped.
fn listener_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADF | libc::EINVAL | libc::ECANCELED | libc::ENOTSOCK)
    )
}
// ANCHOR_END: out_of_fds

// ANCHOR: accept_loop
/// Accepts until the server stops; runs in a fiber on the accept scheduler.
pub(crate) fn accept_loop(server: Arc<Inner>, listener: Arc<Listener>) {
    let mut reserve = File::open("/dev/null").ok();
    let mut backoff = Duration::ZERO;
    let mut last_report = None::<Instant>;
    while !server.stopping.load(Ordering::Acquire) {
        match listener.accept() {
            Ok(stream) => {
                backoff = Duration::ZERO;
                server.start_connection(stream);
            }
            Err(_) if server.stopping.load(Ordering::Acquire) => break,
            Err(e) if out_of_fds(&e) => {
                // Shed a client that is waiting and cannot be served, with
                // the spare fd; none waiting, nothing to shed (an accept now
                // would park with the spare given away).
                if listener.has_pending() {
                    drop(reserve.take());
                    if let Ok(doomed) = listener.accept() {
                        drop(doomed);
                        server.shed.fetch_add(1, Ordering::Relaxed);
                    }
                    reserve = File::open("/dev/null").ok();
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(1), MAX_BACKOFF);
                if last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    last_report = Some(Instant::now());
                    log::warn!(
                        target: "system",
                        "{}: out of file descriptors ({e}); shedding connections, next accept in {backoff:?}",
                        server.name
                    );
                }
                std::thread::sleep(backoff); // hooked: parks this fiber only
            }
            Err(e) if listener_gone(&e) => break,
            Err(e) => {
                // ECONNABORTED and friends: that one connection failed.
                log::debug!(target: "system", "{}: accept: {e}", server.name);
            }
        }
    }
    server.accepting.fetch_sub(1, Ordering::AcqRel);
}
// ANCHOR_END: accept_loop
