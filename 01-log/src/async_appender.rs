//! The asynchronous appender: callers copy finished lines into a bounded buffer, and a
//! background thread writes them out.
//!
//! ```text
//!  caller threads                         writer thread
//!  ──────────────                         ─────────────
//!  format line (own buffer)               sleep until `front` has data
//!  lock ─ append to `front` ─ unlock  ┐   linger up to 1 ms so a batch can build up
//!   (full? wait for `space`,          ├─▶ lock ─ swap front/batch ─ unlock
//!    or count a drop)                 ┘   write batch to file, flush
//!                                         lock ─ written = batch end ─ notify `written`
//! ```
//!
//! Callers wake the writer only when it sleeps on an empty buffer, or when it lingers
//! and the buffer is half full: under load, one `futex` wake-up serves thousands of
//! lines instead of one.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use crate::appender::Appender;
use crate::async_writer::{Shared, Target};
use crate::error::{LogError, WriteErrors};
use crate::file_sink::FileSink;
use crate::formatter::PatternFormatter;
use crate::level::Level;

// ANCHOR: async_options
/// What an [`AsyncAppender`] does when its buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overflow {
    /// The caller waits until the writer has made room (back-pressure). Nothing is lost.
    #[default]
    Block,
    /// The line is dropped and counted; the writer reports drops on stderr (at most once
    /// a second) and [`AsyncAppender::dropped`] returns the total. For programs that
    /// must never wait on their log.
    Drop,
}

/// How an [`AsyncAppender`] buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsyncOptions {
    /// Bytes of lines the buffer holds before [`Overflow`] applies (the writer holds up
    /// to as much again while writing). A single line longer than this is still
    /// accepted when the buffer is empty.
    pub capacity: usize,
    /// What a full buffer does.
    pub overflow: Overflow,
}

impl Default for AsyncOptions {
    /// 1 MiB, blocking.
    fn default() -> Self {
        AsyncOptions {
            capacity: 1 << 20,
            overflow: Overflow::Block,
        }
    }
}
// ANCHOR_END: async_options

// ANCHOR: async_appender
/// An appender whose callers never touch the disk: they copy the formatted line into a
/// buffer and return; a writer thread writes whole batches.
///
/// Nothing accepted is ever lost: [`Appender::flush`] returns once every line accepted
/// before it is written, dropping the appender writes everything and joins the thread,
/// and at process exit every live async appender is flushed.
#[derive(Debug)]
pub struct AsyncAppender {
    level: Option<Level>,
    formatter: Option<PatternFormatter>,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

// ANCHOR_END: async_appender

impl AsyncAppender {
    /// An async appender writing to `path` (appending; created with its parent
    /// directories), reopened if rotated or deleted, as [`crate::FileAppender`] is.
    pub fn file(path: impl AsRef<Path>, options: AsyncOptions) -> Result<Self, LogError> {
        let sink = FileSink::open(path.as_ref())?;
        let name = path.as_ref().display().to_string();
        Self::start(Target::File(sink), name, options)
    }

    /// An async appender writing to any `Write` (a socket, a pipe, a test double).
    /// `name` identifies it in error messages.
    pub fn writer(
        writer: impl Write + Send + 'static,
        name: &str,
        options: AsyncOptions,
    ) -> Result<Self, LogError> {
        Self::start(
            Target::Writer(Box::new(writer), WriteErrors::default()),
            name.to_owned(),
            options,
        )
    }

    fn start(target: Target, target_name: String, options: AsyncOptions) -> Result<Self, LogError> {
        let (shared, writer) = Shared::spawn(target, target_name, options)?;
        Ok(AsyncAppender {
            level: None,
            formatter: None,
            shared,
            writer: Some(writer),
        })
    }

    /// Writes only events at `level` or more severe.
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = Some(level);
        self
    }

    /// Formats lines with `formatter` instead of the logger's.
    pub fn with_formatter(mut self, formatter: PatternFormatter) -> Self {
        self.formatter = Some(formatter);
        self
    }

    /// Lines dropped because the buffer was full (only with [`Overflow::Drop`]).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Times a caller had to wait for room (only with [`Overflow::Block`]).
    pub fn waits(&self) -> u64 {
        self.shared.waits.load(Ordering::Relaxed)
    }

    /// Lines accepted so far (written or still buffered).
    pub fn accepted(&self) -> u64 {
        self.shared.lock().accepted
    }

    /// Failed writes reported by the writer thread.
    pub fn write_errors(&self) -> u64 {
        self.shared.write_errors.load(Ordering::Relaxed)
    }
}

impl Appender for AsyncAppender {
    fn level(&self) -> Option<Level> {
        self.level
    }

    fn formatter(&self) -> Option<&PatternFormatter> {
        self.formatter.as_ref()
    }

    fn write_line(&self, line: &[u8]) {
        self.shared.push(line);
    }

    fn flush(&self) {
        self.shared.wait_written();
    }
}

// ANCHOR: async_drop
impl Drop for AsyncAppender {
    /// Lets the writer drain the buffer, then joins it: every accepted line is written
    /// before `drop` returns.
    fn drop(&mut self) {
        self.shared.close();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
// ANCHOR_END: async_drop
