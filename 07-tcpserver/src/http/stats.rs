//! [`SessionStats`]: counters every session adds to, for status pages.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared by every session of a server (relaxed atomics: each is a
/// tally, not a synchronisation point).
#[derive(Debug, Default)]
pub struct SessionStats {
    /// Connections `serve_connection` has served (started).
    pub connections: AtomicU64,
    /// Requests handed to a servlet.
    pub requests: AtomicU64,
    /// Requests refused before any servlet saw them (400, 413, 417, 431, 501, 505).
    pub bad_requests: AtomicU64,
    /// Panics of servlet code: a servlet's (answered with 500), or a
    /// streamed body's reader's (the body cut short, the connection closed).
    pub panics: AtomicU64,
    /// Responses cut off because the client took them more slowly than
    /// [`HttpLimits::min_send_rate`](super::HttpLimits::min_send_rate).
    pub slow_readers: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// See [`SessionStats::connections`].
    pub connections: u64,
    /// See [`SessionStats::requests`].
    pub requests: u64,
    /// See [`SessionStats::bad_requests`].
    pub bad_requests: u64,
    /// See [`SessionStats::panics`].
    pub panics: u64,
    /// See [`SessionStats::slow_readers`].
    pub slow_readers: u64,
}

impl SessionStats {
    /// All zero; `const`, so it can be a `static`.
    pub const fn new() -> SessionStats {
        SessionStats {
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            bad_requests: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            slow_readers: AtomicU64::new(0),
        }
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            bad_requests: self.bad_requests.load(Ordering::Relaxed),
            panics: self.panics.load(Ordering::Relaxed),
            slow_readers: self.slow_readers.load(Ordering::Relaxed),
        }
    }

    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
