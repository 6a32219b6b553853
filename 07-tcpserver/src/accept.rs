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
//! the first successful accept resets the wait. Out of kernel memory
//! (ENOMEM, ENOBUFS), accept fails at once too; there is nothing to shed
//! (a freed fd frees no memory), but the loop backs off the same way.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::stream::Listener;
use crate::tcp_server::Inner;

/// The longest pause between two accepts while out of fds or memory.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

// ANCHOR: out_of_fds
/// What a failed accept says, and so what the loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcceptFailure {
    /// Out of fds (EMFILE, ENFILE): shed a waiting client, then back off.
    OutOfFds,
    /// Out of kernel memory (ENOMEM, ENOBUFS): back off. Retried at once,
    /// it fails at once, and a memory-starved server would spin a core.
    OutOfMemory,
    /// The listener is gone or being stopped: leave.
    ListenerGone,
    /// That one connection failed (ECONNABORTED: the client gave up while
    /// queued, and the like): accept the next at once.
    OneConnection,
}

/// Sorts an accept error.
fn classify(e: &io::Error) -> AcceptFailure {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE) => AcceptFailure::OutOfFds,
        Some(libc::ENOMEM | libc::ENOBUFS) => AcceptFailure::OutOfMemory,
        Some(libc::EBADF | libc::EINVAL | libc::ECANCELED | libc::ENOTSOCK) => {
            AcceptFailure::ListenerGone
        }
        _ => AcceptFailure::OneConnection,
    }
}
// ANCHOR_END: out_of_fds

// ANCHOR: backoff
/// The growing pause between accepts while resources are short: 1 ms,
/// doubled each time up to [`MAX_BACKOFF`], back to nothing after an accept
/// succeeds; and a warning at most once a second.
#[derive(Debug, Default)]
struct Backoff {
    wait: Duration,
    last_report: Option<Instant>,
}

impl Backoff {
    /// The next pause: twice the last, at least 1 ms and at most
    /// [`MAX_BACKOFF`].
    fn next(&mut self) -> Duration {
        self.wait = (self.wait * 2).clamp(Duration::from_millis(1), MAX_BACKOFF);
        self.wait
    }

    /// An accept succeeded: the next shortage starts again at 1 ms.
    fn reset(&mut self) {
        self.wait = Duration::ZERO;
    }

    /// Whether to log now: not within a second of the last warning.
    fn report_due(&mut self) -> bool {
        let due = self
            .last_report
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due {
            self.last_report = Some(Instant::now());
        }
        due
    }
}
// ANCHOR_END: backoff

// ANCHOR: accept_loop
/// Accepts until the server stops; runs in a fiber on the accept scheduler.
pub(crate) fn accept_loop(server: Arc<Inner>, listener: Arc<Listener>) {
    let mut reserve = File::open("/dev/null").ok();
    let mut backoff = Backoff::default();
    while !server.stopping.load(Ordering::Acquire) {
        let e = match listener.accept() {
            Ok(stream) => {
                backoff.reset();
                server.start_connection(stream);
                continue;
            }
            Err(_) if server.stopping.load(Ordering::Acquire) => break,
            Err(e) => e,
        };
        let what = match classify(&e) {
            AcceptFailure::OutOfFds => {
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
                "out of file descriptors; shedding connections"
            }
            AcceptFailure::OutOfMemory => "out of kernel memory",
            AcceptFailure::ListenerGone => break,
            AcceptFailure::OneConnection => {
                log::debug!(target: "system", "{}: accept: {e}", server.name);
                continue;
            }
        };
        let pause = backoff.next();
        if backoff.report_due() {
            log::warn!(
                target: "system",
                "{}: {what} ({e}); next accept in {pause:?}",
                server.name
            );
        }
        std::thread::sleep(pause); // hooked: parks this fiber only
    }
    server.accepting.fetch_sub(1, Ordering::AcqRel);
}
// ANCHOR_END: accept_loop

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(code: i32) -> AcceptFailure {
        classify(&io::Error::from_raw_os_error(code))
    }

    #[test]
    fn accept_errors_are_sorted_by_what_they_mean() {
        assert_eq!(errno(libc::EMFILE), AcceptFailure::OutOfFds);
        assert_eq!(errno(libc::ENFILE), AcceptFailure::OutOfFds);
        assert_eq!(errno(libc::ENOMEM), AcceptFailure::OutOfMemory);
        assert_eq!(errno(libc::ENOBUFS), AcceptFailure::OutOfMemory);
        for gone in [libc::EBADF, libc::EINVAL, libc::ECANCELED, libc::ENOTSOCK] {
            assert_eq!(errno(gone), AcceptFailure::ListenerGone);
        }
        for one in [libc::ECONNABORTED, libc::EPROTO, libc::EPERM] {
            assert_eq!(errno(one), AcceptFailure::OneConnection);
        }
        let no_errno = io::Error::other("not from the kernel");
        assert_eq!(classify(&no_errno), AcceptFailure::OneConnection);
    }

    #[test]
    fn the_backoff_doubles_from_1_ms_to_its_cap_and_resets() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u128> = (0..10).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 64, 128, 200, 200]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(1));
    }

    #[test]
    fn a_warning_is_due_at_most_once_a_second() {
        let mut backoff = Backoff::default();
        assert!(backoff.report_due());
        assert!(!backoff.report_due());
        backoff.last_report = Some(Instant::now() - Duration::from_secs(2));
        assert!(backoff.report_due());
    }
}
