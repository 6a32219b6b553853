//! The synchronous file appender: one buffered file behind one mutex.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use crate::appender::Appender;
use crate::error::LogError;
use crate::file_sink::FileSink;
use crate::flusher::{self, Flush};
use crate::formatter::PatternFormatter;
use crate::level::Level;

// ANCHOR: file_appender
/// Appends lines to a file.
///
/// * Whole lines only: a line is copied into the buffer under the lock, so threads never
///   interleave partial lines, and the buffer goes to the file in one `write(2)` of
///   whole lines, at the end of the file (`O_APPEND`).
/// * Buffered (64 KiB) for speed, and flushed on [`Appender::flush`], on drop, every
///   second by a background thread, and at process exit.
/// * Rotation-proof: once a second the background thread compares the path's inode with
///   the open file's and reopens the path if the file was renamed or deleted.
/// * A failing disk is reported once on stderr and counted ([`FileAppender::write_errors`]);
///   it never panics.
#[derive(Debug)]
pub struct FileAppender {
    level: Option<Level>,
    formatter: Option<PatternFormatter>,
    /// Shared with the flusher thread, which holds only a weak reference.
    sink: Arc<LockedSink>,
}
// ANCHOR_END: file_appender

/// The file behind its lock; what the flusher thread sees.
#[derive(Debug)]
struct LockedSink(Mutex<FileSink>);

impl LockedSink {
    fn lock(&self) -> MutexGuard<'_, FileSink> {
        // A panic elsewhere while holding the lock leaves a consistent sink (every
        // method leaves it valid), so poisoning is ignored rather than spread.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Flush for LockedSink {
    fn flush_buffered(&self, everything: bool) {
        let mut sink = self.lock();
        if !everything {
            sink.reopen_if_moved();
        }
        sink.flush();
    }
}

impl FileAppender {
    /// Opens `path` for appending (creating it and missing parent directories).
    pub fn new(path: impl AsRef<Path>) -> Result<FileAppender, LogError> {
        let sink = Arc::new(LockedSink(Mutex::new(FileSink::open(path.as_ref())?)));
        let weak: Weak<LockedSink> = Arc::downgrade(&sink);
        flusher::register(weak);
        Ok(FileAppender {
            level: None,
            formatter: None,
            sink,
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

    /// The file's path.
    pub fn path(&self) -> std::path::PathBuf {
        self.sink.lock().path().to_owned()
    }

    /// How many writes or flushes have failed (a full disk, an I/O error).
    pub fn write_errors(&self) -> u64 {
        self.sink.lock().error_count()
    }

    /// Checks now, instead of at the next once-a-second check, whether the file was
    /// rotated or deleted, and reopens its path if so.
    pub fn reopen_if_moved(&self) {
        self.sink.lock().reopen_if_moved();
    }
}

// ANCHOR: file_write_line
impl Appender for FileAppender {
    fn level(&self) -> Option<Level> {
        self.level
    }

    fn formatter(&self) -> Option<&PatternFormatter> {
        self.formatter.as_ref()
    }

    fn write_line(&self, line: &[u8]) {
        self.sink.lock().write(line);
    }

    fn flush(&self) {
        self.sink.lock().flush();
    }
}
// ANCHOR_END: file_write_line
