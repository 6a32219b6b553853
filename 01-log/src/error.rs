//! Errors the crate returns, and how appenders report failures they cannot return.

use std::fmt;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::pattern::PatternError;

// ANCHOR: log_error
/// Everything that can go wrong when building loggers and appenders.
#[derive(Debug)]
#[non_exhaustive]
pub enum LogError {
    /// A pattern given to a strict constructor is malformed.
    Pattern(PatternError),
    /// A log file could not be opened (or created) for appending.
    Open {
        /// The file.
        path: PathBuf,
        /// Why the system refused.
        source: io::Error,
    },
    /// The writer thread of an asynchronous appender could not be started.
    Thread(io::Error),
    /// A logging definition is inconsistent (a duplicate logger name, a file appender
    /// without a file, ...). The message says which definition and what is wrong.
    Config(String),
}
// ANCHOR_END: log_error

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Pattern(e) => write!(f, "bad log pattern: {e}"),
            LogError::Open { path, source } => {
                write!(f, "cannot open log file {}: {source}", path.display())
            }
            LogError::Thread(e) => write!(f, "cannot start the log writer thread: {e}"),
            LogError::Config(message) => write!(f, "bad log configuration: {message}"),
        }
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogError::Pattern(e) => Some(e),
            LogError::Open { source, .. } | LogError::Thread(source) => Some(source),
            LogError::Config(_) => None,
        }
    }
}

impl From<PatternError> for LogError {
    fn from(e: PatternError) -> Self {
        LogError::Pattern(e)
    }
}

// ANCHOR: write_errors
/// Failures of an appender's writes. A log call cannot return an error (the caller is
/// busy with something else), so an appender counts failures, reports the first of a run
/// on stderr, and stays quiet until a write succeeds again: a full disk produces one
/// message, not one per log line.
#[derive(Debug, Default)]
pub(crate) struct WriteErrors {
    /// Failed writes (and flushes) so far.
    count: AtomicU64,
    /// Set after a failure was reported; cleared by the next success.
    reported: AtomicBool,
}

impl WriteErrors {
    /// Records the outcome of an operation that reached `what` (a path or "stdout"):
    /// an unbuffered write, or a flush.
    pub(crate) fn record(&self, what: &dyn fmt::Display, result: io::Result<()>) {
        match result {
            Ok(()) => self.succeeded(),
            Err(e) => self.failed(what, &e),
        }
    }

    /// Data reached its destination: the next failure is news again.
    pub(crate) fn succeeded(&self) {
        if self.reported.load(Ordering::Relaxed) {
            self.reported.store(false, Ordering::Relaxed);
        }
    }

    /// A write or flush failed: count it, and report it if it starts a run of failures.
    pub(crate) fn failed(&self, what: &dyn fmt::Display, error: &io::Error) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if !self.reported.swap(true, Ordering::Relaxed) {
            // Not `eprintln!`: it panics when stderr itself is broken.
            let _ = writeln!(
                io::stderr(),
                "sylar-log: writing to {what} failed: {error} (further failures are counted, not reported)"
            );
        }
    }

    /// How many writes have failed.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}
// ANCHOR_END: write_errors
