//! Helpers shared by the test files: unique temporary directories, a watchdog, and
//! a value type whose own `Clone` and `PartialEq` panic on chosen values.
//!
//! Each test binary uses only some of these, hence the `allow(dead_code)`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<tmp>/sylar-config-<tag>-<pid>-<n>`, unique across processes and calls.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("sylar-config-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` inside the directory (creating subdirectories) and
    /// returns the file's path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create subdirectory");
        }
        std::fs::write(&path, text).expect("write config file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long a step may take before the watchdog calls it a deadlock. Generous: the
/// machines are shared and slow, and a passing step takes microseconds.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `f` on its own thread and returns its result; fails the test if `f` has
/// not finished within [`DEADLINE`] (a deadlock fails instead of hanging the run).
pub fn within_deadline<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        let result = f();
        let _ = done.send(result);
    });
    match finished.recv_timeout(DEADLINE) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: no result within {DEADLINE:?}, deadlock"),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker ends by sending or panicking"),
        },
    }
}

/// A value whose `PartialEq` panics on 13 and whose `Clone` panics on 66.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Touchy(pub i32);

impl Clone for Touchy {
    fn clone(&self) -> Self {
        assert!(self.0 != 66, "cloning 66");
        Touchy(self.0)
    }
}

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        assert!(self.0 != 13 && other.0 != 13, "comparing 13");
        self.0 == other.0
    }
}
