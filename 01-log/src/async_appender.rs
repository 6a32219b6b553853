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

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::appender::Appender;
use crate::error::{LogError, WriteErrors};
use crate::file_sink::FileSink;
use crate::flusher::{self, FLUSH_INTERVAL, Flush};
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

/// State shared between callers and the writer thread.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when `front` becomes non-empty, or on close: wakes the writer.
    data: Condvar,
    /// Signalled when the writer takes `front`: wakes blocked callers.
    space: Condvar,
    /// Signalled when a batch is written: wakes `flush`.
    written: Condvar,
    options: AsyncOptions,
    /// What the writer writes to (for messages).
    target_name: String,
    dropped: AtomicU64,
    /// Times a caller had to wait for room.
    waits: AtomicU64,
    /// Write failures, copied from the sink by the writer after each batch.
    write_errors: AtomicU64,
}

/// # Invariant
/// `written <= accepted`; lines numbered `written+1 ..= accepted` are in `front` or in
/// the batch the writer is writing.
#[derive(Debug)]
struct State {
    /// Lines accepted and not yet taken by the writer.
    front: Vec<u8>,
    /// Number of lines accepted since creation.
    accepted: u64,
    /// Number of those lines the writer has written (and flushed).
    written: u64,
    /// Set by drop: the writer drains `front` and exits.
    closing: bool,
    /// Highest line number some `flush` waits for: the writer does not linger then.
    flush_wanted: u64,
    /// What the writer is doing, so callers know whether to wake it.
    writer: WriterState,
    /// Cleared if the writer thread ends: callers then stop waiting for it.
    writer_alive: bool,
}
// ANCHOR_END: async_appender

/// What the writer thread is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriterState {
    /// Sleeping on an empty buffer: the next line must wake it.
    Idle,
    /// Waiting briefly for a batch to build up: wake it only if the buffer fills up.
    Lingering,
    /// Writing: it will look at the buffer again by itself.
    Busy,
}

/// How long the writer waits for a batch to build up once it has data.
const LINGER: Duration = Duration::from_millis(1);

/// Where the writer thread writes.
enum Target {
    File(FileSink),
    Writer(Box<dyn Write + Send>, WriteErrors),
}

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
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                front: Vec::with_capacity(options.capacity.min(1 << 24)),
                accepted: 0,
                written: 0,
                closing: false,
                flush_wanted: 0,
                writer: WriterState::Busy,
                writer_alive: true,
            }),
            data: Condvar::new(),
            space: Condvar::new(),
            written: Condvar::new(),
            options,
            target_name,
            dropped: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
        });
        let for_thread = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("sylar-log-async".into())
            .spawn(move || writer_thread(&for_thread, target))
            .map_err(LogError::Thread)?;
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        flusher::register(weak);
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

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // All updates keep the invariant before any call that could panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ANCHOR: push
    /// Accepts one line, or waits for room, or drops it, as the options say.
    fn push(&self, line: &[u8]) {
        let mut state = self.lock();
        while !state.front.is_empty()
            && state.front.len() + line.len() > self.options.capacity
            && state.writer_alive
        {
            match self.options.overflow {
                Overflow::Drop => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Overflow::Block => {
                    self.waits.fetch_add(1, Ordering::Relaxed);
                    state = self
                        .space
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        if !state.writer_alive {
            // Only after a bug killed the writer: nobody would ever write this line.
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.front.extend_from_slice(line);
        state.accepted += 1;
        let wake = match state.writer {
            WriterState::Idle => true,
            WriterState::Lingering => state.front.len() >= self.options.capacity / 2,
            WriterState::Busy => false,
        };
        drop(state);
        if wake {
            self.data.notify_one();
        }
    }
    // ANCHOR_END: push

    // ANCHOR: wait_written
    /// Returns once every line accepted before the call is written (or the writer died).
    fn wait_written(&self) {
        let mut state = self.lock();
        let target = state.accepted;
        if state.written < target {
            state.flush_wanted = state.flush_wanted.max(target);
            self.data.notify_one();
        }
        while state.written < target && state.writer_alive {
            state = self
                .written
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
    // ANCHOR_END: wait_written
}

impl Flush for Shared {
    fn flush_buffered(&self, everything: bool) {
        // The writer never sits on a batch, so only exit and explicit flushes need to wait.
        if everything {
            self.wait_written();
        }
    }
}

// ANCHOR: writer_thread
/// The writer: takes the whole front buffer at once, writes it outside the lock, then
/// publishes how far it got. Exits when closing and drained.
fn writer_thread(shared: &Shared, mut target: Target) {
    /// Marks the writer dead however the thread ends, so no caller waits forever.
    struct Alive<'a>(&'a Shared);
    impl Drop for Alive<'_> {
        fn drop(&mut self) {
            self.0.lock().writer_alive = false;
            self.0.space.notify_all();
            self.0.written.notify_all();
        }
    }
    let _alive = Alive(shared);

    let mut batch = Vec::with_capacity(shared.options.capacity.min(1 << 24));
    let mut last_check = Instant::now();
    let mut drop_reports = DropReports::default();
    loop {
        let batch_end = {
            let mut state = shared.lock();
            while state.front.is_empty() && !state.closing {
                state.writer = WriterState::Idle;
                state = shared
                    .data
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.front.is_empty() {
                break; // closing, and everything is written
            }
            let hurry = state.closing || state.flush_wanted > state.written;
            if !hurry && state.front.len() < shared.options.capacity / 2 {
                state.writer = WriterState::Lingering;
                state = shared
                    .data
                    .wait_timeout(state, LINGER)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            state.writer = WriterState::Busy;
            std::mem::swap(&mut state.front, &mut batch);
            state.accepted
        };
        shared.space.notify_all();

        if last_check.elapsed() >= FLUSH_INTERVAL {
            last_check = Instant::now();
            target.reopen_if_moved();
        }
        target.write_and_flush(&batch, &shared.target_name);
        batch.clear();
        shared
            .write_errors
            .store(target.error_count(), Ordering::Relaxed);
        report_drops(shared, &mut drop_reports, false);

        shared.lock().written = batch_end;
        shared.written.notify_all();
    }
    report_drops(shared, &mut drop_reports, true);
}
// ANCHOR_END: writer_thread

/// What the writer has reported about drops.
#[derive(Default)]
struct DropReports {
    /// The drop count at the last report.
    reported: u64,
    /// When that was.
    at: Option<Instant>,
}

/// Reports lines dropped since the last report: at most once a second, unless `last`.
fn report_drops(shared: &Shared, reports: &mut DropReports, last: bool) {
    let dropped = shared.dropped.load(Ordering::Relaxed);
    if dropped == reports.reported {
        return;
    }
    if !last
        && reports
            .at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
    {
        return;
    }
    let _ = writeln!(
        io::stderr(),
        "sylar-log: async appender for {} dropped {} line(s) because its buffer was full ({} in total)",
        shared.target_name,
        dropped - reports.reported,
        dropped
    );
    *reports = DropReports {
        reported: dropped,
        at: Some(Instant::now()),
    };
}

impl Target {
    fn write_and_flush(&mut self, bytes: &[u8], name: &str) {
        match self {
            Target::File(sink) => {
                sink.write(bytes);
                sink.flush();
            }
            Target::Writer(writer, errors) => {
                let result = writer.write_all(bytes).and_then(|()| writer.flush());
                errors.record(&name, result);
            }
        }
    }

    fn reopen_if_moved(&mut self) {
        if let Target::File(sink) = self {
            sink.reopen_if_moved();
        }
    }

    fn error_count(&self) -> u64 {
        match self {
            Target::File(sink) => sink.error_count(),
            Target::Writer(_, errors) => errors.count(),
        }
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
        self.shared.lock().closing = true;
        self.shared.data.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
// ANCHOR_END: async_drop
