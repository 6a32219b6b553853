//! Helpers shared by the black-box tests (each test binary uses a subset).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sylar_log::{Appender, Level, PatternFormatter};

/// A path in the temp directory no other test (or test run) uses. The file is removed
/// if it exists.
pub fn temp_path(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("sylar-log-test-{}-{n}-{tag}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// An appender that keeps its lines in memory, for asserting on them.
#[derive(Debug, Default)]
pub struct MemoryAppender {
    pub level: Option<Level>,
    pub formatter: Option<PatternFormatter>,
    pub lines: Mutex<Vec<String>>,
}

impl MemoryAppender {
    /// A memory appender with its own formatter.
    pub fn with_pattern(pattern: &str) -> Arc<MemoryAppender> {
        Arc::new(MemoryAppender {
            formatter: Some(PatternFormatter::new(pattern).unwrap()),
            ..MemoryAppender::default()
        })
    }

    /// A copy of the lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The lines containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(needle))
            .collect()
    }
}

impl Appender for MemoryAppender {
    fn level(&self) -> Option<Level> {
        self.level
    }

    fn formatter(&self) -> Option<&PatternFormatter> {
        self.formatter.as_ref()
    }

    fn write_line(&self, line: &[u8]) {
        let line = String::from_utf8(line.to_vec()).unwrap();
        self.lines.lock().unwrap().push(line);
    }
}

/// Polls `condition` until it holds or 20 s pass. Only for effects that have no signal
/// to wait on (a background thread's periodic work); returns whether it held.
pub fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

/// Re-runs this test binary, running only the test `name`, with `CHILD_ENV` set so the
/// test takes its child branch. For behaviour that needs its own process: exit
/// handlers, stderr, the process-wide `log` logger.
pub fn run_child(name: &str, vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1");
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// Set in a child started by [`run_child`].
pub const CHILD_ENV: &str = "SYLAR_LOG_TEST_CHILD";

/// Whether this process is such a child.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}
