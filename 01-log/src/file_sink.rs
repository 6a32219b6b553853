//! An append-only, buffered log file that notices when it was rotated or deleted.
//!
//! Shared by the synchronous file appender (behind a mutex) and by the asynchronous
//! appender's writer thread (owned outright).

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::os::unix::io::AsRawFd as _;
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

    /// Whether [`FileSink::open`] would succeed on `path`, and if not, the error it
    /// would return, found without creating or changing anything (see `check_append`).
    pub(crate) fn check(path: &Path) -> Result<(), LogError> {
        check_append(path).map_err(|source| LogError::Open {
            path: path.to_owned(),
            source,
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

// ANCHOR: open_append
/// Opens for appending (`O_APPEND`: every `write(2)` lands at the end, even with other
/// writers) and returns the file with its `(device, inode)`. An existing file is opened
/// as it is; only when there is none are the missing directories created, then the file.
/// (Opening an existing file with `O_CREAT` can be refused where opening it without is
/// not: `fs.protected_regular` in a sticky directory such as `/tmp`.) A named pipe
/// with no reader is refused rather than waited for (see [`append_options`]).
fn open_append(path: &Path) -> io::Result<(File, (u64, u64))> {
    let file = match append_options().open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = parent_dir(path) {
                fs::create_dir_all(dir)?;
            }
            append_options().create(true).open(path)?
        }
        Err(e) => return Err(e),
    };
    blocking(&file)?;
    let meta = file.metadata()?;
    Ok((file, (meta.dev(), meta.ino())))
}

/// Appending, and without waiting at the open: `O_NONBLOCK` changes nothing for a
/// regular file, but makes opening a named pipe that has no reader fail at once
/// (`ENXIO`, "No such device or address") where a plain open would wait, maybe
/// forever, for a reader to come.
fn append_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.append(true).custom_flags(libc::O_NONBLOCK);
    options
}

/// Clears the `O_NONBLOCK` that [`append_options`] set only for the open, so that
/// writes to a pipe wait for room instead of failing with `EAGAIN`.
fn blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is the open descriptor `file` owns, alive for both calls;
    // F_GETFL and F_SETFL read and set its status flags and touch no memory.
    let rc = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK)
        }
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Decides whether [`open_append`] would succeed on `path`, and with which error it would
/// fail, by looking only: it creates nothing and changes nothing on disk. It takes the
/// real open's steps:
///
/// 1. whatever exists at `path` is opened for appending *without* `create`, and closed,
///    exactly as `open_append` starts: the permission check, `EISDIR` for a directory,
///    `ENOTDIR` for a file on the way, and nothing written (content and times stay);
/// 2. if nothing is there, the directories as `create_dir_all` would make them (see
///    [`check_dirs`]);
/// 3. and the file must be creatable: if its directory exists already, that directory
///    must be writable and searchable ([`writable_dir`]); a directory the real open would
///    create itself always is.
///
/// Verdict and error text are those of `open_append`, except for what only trying can
/// tell: a full disk or quota (`ENOSPC`, `EDQUOT`) passes here; so does a umask that
/// takes write or search permission from the owner of new directories; a dangling
/// symbolic link at `path` is judged by the link's directory, where the real open creates
/// the link's target; and the disk may change between this check and the open. A path
/// that names a directory rather than a file (`""`, `logs/`, `logs/.`) is refused
/// before either runs, by the configuration's own check.
fn check_append(path: &Path) -> io::Result<()> {
    match append_options().open(path) {
        Ok(_file) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = parent_dir(path);
            let dir_exists = match dir {
                Some(dir) => check_dirs(dir)?,
                None => true, // the current directory
            };
            if dir_exists {
                writable_dir(dir.unwrap_or(Path::new(".")))
            } else {
                Ok(()) // created in a directory that the open creates first
            }
        }
        Err(e) => Err(e),
    }
}
// ANCHOR_END: open_append

/// The directory `open_append` creates before the file, if the path names one.
fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|dir| !dir.as_os_str().is_empty())
}

// ANCHOR: check_dirs
/// What `fs::create_dir_all(dir)` would do, found by looking only: `Ok(true)` if `dir`
/// is a directory already, `Ok(false)` if it would be created, or the error it would fail
/// with. `create_dir_all` calls `mkdir(dir)`; on `ENOENT` it makes the parent the same way
/// and calls `mkdir(dir)` again; any other error ends it, except `EEXIST` when `dir` turns
/// out to be a directory (or a link to one).
fn check_dirs(dir: &Path) -> io::Result<bool> {
    if dir.as_os_str().is_empty() {
        return Ok(true); // `create_dir_all("")` does nothing: the current directory
    }
    // `lstat`, because `mkdir` does not follow a link in the last component either.
    match fs::symlink_metadata(dir) {
        Ok(_) if dir.is_dir() => Ok(true),
        // `mkdir` fails with `EEXIST` on a file, or on a link that leads to no directory.
        Ok(_) => Err(io::Error::from_raw_os_error(libc::EEXIST)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let Some(parent) = dir.parent() else {
                return Err(e);
            };
            // The first directory to create goes into an existing one, which must take a
            // new entry; the deeper ones go into directories just made by us.
            if check_dirs(parent)? {
                writable_dir(parent)?;
            }
            Ok(false)
        }
        // `ENOTDIR` (a file where a directory should be), `EACCES` (a directory on the
        // way that cannot be searched), `ELOOP`, `ENAMETOOLONG`, a NUL byte: `mkdir`
        // walks the same leading components and fails the same way.
        Err(e) => Err(e),
    }
}

/// Whether a new entry can be made in the existing directory `dir`: `access(dir, W_OK |
/// X_OK)`, the permission `mkdir` and `open(O_CREAT)` need on the directory, failing
/// with the error they would give (`EACCES`, or `EROFS` on a read-only file system).
/// Root passes, as it passes those calls.
fn writable_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(c_dir) = CString::new(dir.as_os_str().as_bytes()) else {
        // The text std gives for such a path (not reached: `lstat` refused it first).
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file name contained an unexpected NUL byte",
        ));
    };
    // `access` checks for the real user and group ids, `mkdir` and `open` for the
    // effective ones; the server never changes its ids, so they are the same.
    // SAFETY: `c_dir` is a NUL-terminated string that lives until `access` returns,
    // and `access` only reads it.
    let rc = unsafe { libc::access(c_dir.as_ptr(), libc::W_OK | libc::X_OK) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
// ANCHOR_END: check_dirs

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

    /// Every entry under `root` (itself included, links not followed) with its kind,
    /// permissions, modification time and, for a file, content: what "the check changed
    /// nothing" compares.
    fn snapshot(root: &Path) -> Vec<(PathBuf, String, u32, i64, i64, Vec<u8>)> {
        let mut entries = Vec::new();
        let mut todo = vec![root.to_owned()];
        while let Some(path) = todo.pop() {
            let meta = fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_file() {
                fs::read(&path).unwrap_or_default()
            } else {
                Vec::new()
            };
            if meta.is_dir() {
                // A directory the test made unwritable is still readable by its owner.
                if let Ok(dir) = fs::read_dir(&path) {
                    todo.extend(dir.map(|entry| entry.unwrap().path()));
                }
            }
            let kind = format!("{:?}", meta.file_type());
            entries.push((
                path,
                kind,
                meta.mode(),
                meta.mtime(),
                meta.mtime_nsec(),
                content,
            ));
        }
        entries.sort();
        entries
    }

    /// What `check_append` should say of a case.
    enum Expect {
        Opens,
        Fails(&'static str),
        /// Depends on who runs the test: root may write anywhere.
        EitherWay,
    }

    /// For each situation, `check_append` leaves the case directory exactly as it was
    /// (entries, modes, times, contents), and then the real `open_append` gives the same
    /// verdict and the same error text. The read-only cases fail with "Permission denied"
    /// for an ordinary user and open for root, and must agree either way. Not covered,
    /// because only writing tells (see `check_append`): a full disk or quota, a umask
    /// without the owner's write or search bit, a dangling link at the file's path.
    #[test]
    fn the_check_predicts_the_open_and_changes_nothing() {
        use Expect::*;
        use std::os::unix::fs::{PermissionsExt as _, symlink};
        let read_only = |path: &Path| {
            fs::set_permissions(path, fs::Permissions::from_mode(0o555)).unwrap();
        };
        // (name, how to set up the case directory, the log file in it, expected)
        type Setup = fn(&Path);
        let cases: Vec<(&str, Setup, &str, Expect)> = vec![
            ("fresh", |_| {}, "new/sub/app.log", Opens),
            ("file-here", |_| {}, "app.log", Opens),
            (
                "existing",
                |d| fs::write(d.join("app.log"), "kept\n").unwrap(),
                "app.log",
                Opens,
            ),
            (
                "is-a-dir",
                |d| fs::create_dir(d.join("app.log")).unwrap(),
                "app.log",
                Fails("Is a directory"),
            ),
            (
                "dir-is-a-file",
                |d| fs::write(d.join("blocker"), "").unwrap(),
                "blocker/app.log",
                Fails("Not a directory"),
            ),
            (
                "under-a-file",
                |d| fs::write(d.join("blocker"), "").unwrap(),
                "blocker/sub/deeper/app.log",
                Fails("Not a directory"),
            ),
            (
                "link-to-dir",
                |d| {
                    fs::create_dir(d.join("real")).unwrap();
                    symlink(d.join("real"), d.join("link")).unwrap();
                },
                "link/app.log",
                Opens,
            ),
            (
                "dangling-dir-link",
                |d| symlink(d.join("nowhere"), d.join("link")).unwrap(),
                "link/app.log",
                Fails("File exists"),
            ),
            (
                "nul-byte",
                |_| {},
                "a\0b/app.log",
                Fails("unexpected NUL byte"),
            ),
            ("read-only-new", |_| {}, "app.log", EitherWay),
            ("read-only-deep", |_| {}, "sub/app.log", EitherWay),
            (
                "read-only-file",
                |d| {
                    fs::write(d.join("app.log"), "kept\n").unwrap();
                    fs::set_permissions(d.join("app.log"), fs::Permissions::from_mode(0o444))
                        .unwrap();
                },
                "app.log",
                EitherWay,
            ),
        ];
        for (name, setup, file, expect) in cases {
            let dir = temp_path(&format!("check-{name}"));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir(&dir).unwrap();
            setup(&dir);
            if name.starts_with("read-only") {
                read_only(&dir);
            }
            let path = dir.join(file);

            let before = snapshot(&dir);
            let checked = check_append(&path).map_err(|e| e.to_string());
            assert_eq!(snapshot(&dir), before, "{name}: the check changed the disk");
            let opened = open_append(&path).map(drop).map_err(|e| e.to_string());
            assert_eq!(checked, opened, "{name}: the check and the open disagree");
            match (expect, &checked) {
                (Opens, Ok(())) | (EitherWay, _) => {}
                (Fails(text), Err(e)) if e.contains(text) => {}
                (_, outcome) => panic!("{name}: unexpected {outcome:?}"),
            }

            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}
