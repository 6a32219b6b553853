//! The machinery behind [`AsyncAppender`](crate::AsyncAppender): a bounded buffer
//! shared by the callers and a writer thread that drains it.
//!
//! The appender's module page draws the two sides; the invariant on [`State`] is what
//! `flush` relies on.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::async_appender::{AsyncOptions, Overflow};
use crate::error::{LogError, WriteErrors};
use crate::file_sink::FileSink;
use crate::flusher::{self, FLUSH_INTERVAL, Flush};

// ANCHOR: shared
/// State shared between callers and the writer thread.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled when `front` becomes non-empty, or on close: wakes the writer.
    data: Condvar,
    /// Signalled when the writer takes `front`: wakes blocked callers.
    space: Condvar,
    /// Signalled when a batch is written: wakes `flush`.
    written: Condvar,
    pub(crate) options: AsyncOptions,
    /// What the writer writes to (for messages).
    target_name: String,
    pub(crate) dropped: AtomicU64,
    /// Times a caller had to wait for room.
    pub(crate) waits: AtomicU64,
    /// Write failures, copied from the sink by the writer after each batch.
    pub(crate) write_errors: AtomicU64,
}

/// # Invariant
/// `written <= accepted`; lines numbered `written+1 ..= accepted` are in `front` or in
/// the batch the writer is writing.
#[derive(Debug)]
pub(crate) struct State {
    /// Lines accepted and not yet taken by the writer.
    front: Vec<u8>,
    /// Number of lines accepted since creation.
    pub(crate) accepted: u64,
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
// ANCHOR_END: shared

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
pub(crate) enum Target {
    /// A rotation-proof file.
    File(FileSink),
    /// Any writer, with its failures.
    Writer(Box<dyn Write + Send>, WriteErrors),
}

impl Shared {
    /// Creates the buffer and starts the writer thread on `target`; `target_name` names
    /// it in messages. Registers the buffer for the periodic and exit-time flushes.
    pub(crate) fn spawn(
        target: Target,
        target_name: String,
        options: AsyncOptions,
    ) -> Result<(Arc<Shared>, JoinHandle<()>), LogError> {
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
        Ok((shared, writer))
    }

    /// Asks the writer to drain the buffer and exit.
    pub(crate) fn close(&self) {
        self.lock().closing = true;
        self.data.notify_one();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // All updates keep the invariant before any call that could panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ANCHOR: push
    /// Accepts one line, or waits for room, or drops it, as the options say.
    pub(crate) fn push(&self, line: &[u8]) {
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
    pub(crate) fn wait_written(&self) {
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
            let mut state = self.0.lock();
            state.writer_alive = false;
            let lost = state.accepted - state.written;
            drop(state);
            self.0.space.notify_all();
            self.0.written.notify_all();
            if lost > 0 {
                // Only a panicking writer (user code in `AsyncAppender::writer`) gets here.
                let _ = writeln!(
                    io::stderr(),
                    "sylar-log: the writer thread for {} died; {lost} accepted line(s) were not written",
                    self.0.target_name
                );
            }
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
