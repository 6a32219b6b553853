//! An append-only, buffered log file that notices when it was rotated or deleted.
//!
//! Shared by the synchronous file appender (behind a mutex) and by the asynchronous
//! appender's writer thread (owned outright).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::error::{LogError, WriteErrors};

/// Size of the write buffer: big enough that a `write(2)` carries hundreds of lines.
pub(crate) const BUFFER_SIZE: usize = 64 * 1024;

// ANCHOR: file_sink
/// An open log file.
#[derive(Debug)]
pub(crate) struct FileSink {
    path: PathBuf,
    writer: BufWriter<File>,
    /// `(device, inode)` of the open file. When the path stops naming this pair, the file
    /// was renamed (rotated) or deleted, and the next check reopens the path.
    identity: (u64, u64),
    /// Write and flush failures.
    errors: WriteErrors,
    /// Set after a failed reopen was reported; cleared by a successful one.
    reopen_reported: bool,
}
// ANCHOR_END: file_sink

impl FileSink {
    /// Opens `path` for appending, creating it and its parent directories if needed.
    pub(crate) fn open(path: &Path) -> Result<FileSink, LogError> {
        let (file, identity) = open_append(path).map_err(|source| LogError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(FileSink {
            path: path.to_owned(),
            writer: BufWriter::with_capacity(BUFFER_SIZE, file),
            identity,
            errors: WriteErrors::default(),
            reopen_reported: false,
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends bytes (whole lines) to the buffer; a full buffer goes to the file first.
    /// Only failures are recorded here: success of a buffered write proves nothing, so
    /// a run of failures ends only when a flush succeeds.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        if let Err(e) = self.writer.write_all(bytes) {
            self.errors.failed(&self.path.display(), &e);
        }
    }

    /// Writes the buffer to the file.
    pub(crate) fn flush(&mut self) {
        let result = self.writer.flush();
        self.errors.record(&self.path.display(), result);
    }

    /// How many writes or flushes have failed.
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.count()
    }

    // ANCHOR: reopen_if_moved
    /// If the path no longer names the open file (rotated by `logrotate`, or deleted),
    /// flushes what is buffered into the old file and opens the path afresh. One `stat`
    /// call when nothing changed; callers do this at most once a second.
    pub(crate) fn reopen_if_moved(&mut self) {
        let current = fs::metadata(&self.path).map(|m| (m.dev(), m.ino()));
        if current.as_ref().is_ok_and(|id| *id == self.identity) {
            return;
        }
        self.flush();
        match open_append(&self.path) {
            Ok((file, identity)) => {
                self.writer = BufWriter::with_capacity(BUFFER_SIZE, file);
                self.identity = identity;
                self.reopen_reported = false;
            }
            Err(e) if !self.reopen_reported => {
                self.reopen_reported = true;
                let _ = writeln!(
                    io::stderr(),
                    "sylar-log: cannot reopen {}: {e}; still writing to the old file",
                    self.path.display()
                );
            }
            Err(_) => {}
        }
    }
    // ANCHOR_END: reopen_if_moved
}

impl Drop for FileSink {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Opens for appending (`O_APPEND`: every `write(2)` lands at the end, even with other
/// writers) and returns the file with its `(device, inode)`.
fn open_append(path: &Path) -> io::Result<(File, (u64, u64))> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let meta = file.metadata()?;
    Ok((file, (meta.dev(), meta.ino())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("sylar-log-unit-{}-{name}", std::process::id()))
    }

    #[test]
    fn buffered_bytes_reach_the_file_only_on_flush() {
        let path = temp_path("flush.log");
        let _ = fs::remove_file(&path);
        let mut sink = FileSink::open(&path).unwrap();
        sink.write(b"one\n");
        assert_eq!(fs::read(&path).unwrap(), b"");
        sink.flush();
        assert_eq!(fs::read(&path).unwrap(), b"one\n");
        drop(sink);
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn unchanged_file_is_not_reopened() {
        let path = temp_path("same.log");
        let _ = fs::remove_file(&path);
        let mut sink = FileSink::open(&path).unwrap();
        let before = sink.identity;
        sink.write(b"kept in buffer\n");
        sink.reopen_if_moved();
        assert_eq!(sink.identity, before);
        // Not flushed by the check: the buffer still holds the line.
        assert_eq!(fs::read(&path).unwrap(), b"");
        drop(sink);
        fs::remove_file(&path).unwrap();
    }
}
