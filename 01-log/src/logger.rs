//! A named logger: a level, a formatter and a list of appenders.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::appender::{self, Appender};
use crate::event::LogEvent;
use crate::formatter::PatternFormatter;
use crate::level::Level;

// ANCHOR: logger
/// A named source of log lines with its own level, formatter and appenders.
///
/// Obtained from [`crate::logger()`] (created on first use) or [`crate::root`], never built
/// directly: the manager must know every logger to keep the `log` facade's level filter
/// in sync. A logger with no appenders of its own writes through root's.
pub struct Logger {
    name: String,
    /// The least severe level let through, as [`Level::as_u8`]. An atomic so the check
    /// that rejects a disabled event is one load, with no lock.
    level: AtomicU8,
    /// Formatter and appenders, replaced as a whole (copy on write). An event holds the
    /// lock only to clone the `Arc`, never while formatting or writing: a slow disk does
    /// not block reconfiguration, and a message that logs while being formatted does
    /// not take the lock twice.
    outputs: RwLock<Arc<Outputs>>,
    /// Where events go when this logger has no appenders; `None` for root itself.
    root: Option<Arc<Logger>>,
}

/// What a logger writes with.
#[derive(Clone)]
struct Outputs {
    /// Used by every appender that has no formatter of its own.
    formatter: Arc<PatternFormatter>,
    appenders: Vec<Arc<dyn Appender>>,
}
// ANCHOR_END: logger

// ANCHOR: release
/// The last handle on a set of outputs may be let go of anywhere: by the logger
/// replacing them, or, if a reconfiguration replaced them while an event was being
/// written, by the thread that logged (or flushed) at the end of its call. Dropping
/// them may drop the last handle on an appender, and an appender's `Drop` is user
/// code like its `write_line`: each runs inside a guard, a panic reported as in
/// [`deliver`]. Only the last handle gets here, so the per-line path pays nothing.
impl Drop for Outputs {
    fn drop(&mut self) {
        for appender in self.appenders.drain(..) {
            release(appender);
        }
    }
}

/// Drops a handle on `appender`, containing a panic of its `Drop` if it was the last.
#[cold]
#[inline(never)]
fn release(appender: Arc<dyn Appender>) {
    // Once dropped it cannot be named, so the name is taken before, and only when
    // this handle is (as far as can be known) the last.
    let name = (Arc::strong_count(&appender) == 1).then(|| appender_name(appender.as_ref()));
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(appender))) {
        let name = name.unwrap_or_else(|| "(dropped by another thread's last handle)".to_owned());
        report_panic_as(|| name, payload, "its Drop was abandoned");
    }
}
// ANCHOR_END: release

impl Logger {
    /// A logger with the default level and formatter and no appenders.
    pub(crate) fn new(name: &str, root: Option<Arc<Logger>>) -> Logger {
        Logger {
            name: name.to_owned(),
            level: AtomicU8::new(Level::default().as_u8()),
            outputs: RwLock::new(Arc::new(Outputs {
                formatter: Arc::new(PatternFormatter::default()),
                appenders: Vec::new(),
            })),
            root,
        }
    }

    /// The logger's name (`%c`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The least severe level this logger lets through.
    pub fn level(&self) -> Level {
        Level::from_u8(self.level.load(Ordering::Relaxed)).unwrap_or_default()
    }

    /// Changes the level, and the `log` facade's global filter with it.
    pub fn set_level(&self, level: Level) {
        self.level.store(level.as_u8(), Ordering::Relaxed);
        crate::manager::refresh_max_level();
    }

    // ANCHOR: enabled
    /// Whether an event at `level` would be written. The macros call this first, so a
    /// disabled event costs one atomic load and its arguments are never formatted.
    #[inline]
    pub fn enabled(&self, level: Level) -> bool {
        level.as_u8() >= self.level.load(Ordering::Relaxed)
    }
    // ANCHOR_END: enabled

    /// The formatter used by appenders that have none of their own.
    pub fn formatter(&self) -> Arc<PatternFormatter> {
        Arc::clone(&self.outputs().formatter)
    }

    /// Replaces the formatter used by appenders that have none of their own.
    pub fn set_formatter(&self, formatter: PatternFormatter) {
        let formatter = Arc::new(formatter);
        self.update(|outputs| outputs.formatter = formatter);
    }

    /// Adds an appender; events this logger lets through go to it from now on.
    pub fn add_appender(&self, appender: Arc<dyn Appender>) {
        self.update(|outputs| outputs.appenders.push(appender));
    }

    /// Replaces all appenders at once (no event sees a half-updated list).
    pub fn set_appenders(&self, appenders: Vec<Arc<dyn Appender>>) {
        self.update(|outputs| outputs.appenders = appenders);
    }

    /// Removes every appender: the logger then writes through root again. The removed
    /// appenders are flushed when their last handle is dropped.
    pub fn clear_appenders(&self) {
        self.set_appenders(Vec::new());
    }

    /// The current appenders. The handles are the caller's: if a reconfiguration
    /// leaves one of them the last, its `Drop` runs where the caller drops it.
    pub fn appenders(&self) -> Vec<Arc<dyn Appender>> {
        self.outputs().appenders.clone()
    }

    /// Flushes every appender of this logger. An appender whose `flush` panics is
    /// reported and skipped, as one whose `write_line` panics is (see `deliver`): the
    /// caller and the appenders after it are not affected.
    pub fn flush(&self) {
        // By reference: the outputs, if replaced meanwhile, drop their appenders
        // contained (see `release`), where a list of clones would not.
        for appender in &self.outputs().appenders {
            flush_contained(appender.as_ref());
        }
    }

    // ANCHOR: emit
    /// Logs a message at `level` from `file:line`, if the level is enabled. This is what
    /// the macros and the `log` bridge call.
    pub fn emit(&self, level: Level, file: &str, line: u32, message: fmt::Arguments<'_>) {
        if self.enabled(level) {
            LogEvent::capture(&self.name, level, file, line, message, |event| {
                self.dispatch(event)
            });
        }
    }

    /// Logs a ready-made event (its `level` is checked against this logger's).
    pub fn log(&self, event: &LogEvent<'_>) {
        if self.enabled(event.level) {
            self.dispatch(event);
        }
    }

    /// Sends an enabled event to this logger's appenders, or to root's if it has none.
    fn dispatch(&self, event: &LogEvent<'_>) {
        let outputs = self.outputs();
        if outputs.appenders.is_empty() {
            if let Some(root) = &self.root {
                root.dispatch(event);
            }
            return;
        }
        with_line_buffer(|buffer| write_to_appenders(event, &outputs, buffer));
    }
    // ANCHOR_END: emit

    /// The current outputs. (Updates replace the whole `Arc`, so a lock poisoned by a
    /// panic elsewhere still guards a valid value: poisoning is ignored.)
    fn outputs(&self) -> Arc<Outputs> {
        Arc::clone(&self.outputs.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `change` to a copy of the outputs and publishes the copy. The old
    /// outputs are let go of after the lock is released: dropping them may run
    /// appenders' `Drop` (a last flush, say), which must not hold up events.
    fn update(&self, change: impl FnOnce(&mut Outputs)) {
        let mut guard = self.outputs.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = Outputs::clone(&guard);
        change(&mut next);
        let old = std::mem::replace(&mut *guard, Arc::new(next));
        drop(guard);
        drop(old);
    }
}

// ANCHOR: write_to_appenders
/// Formats `event` once per run of neighbouring appenders that share a formatter, and
/// hands the line to each appender that wants it.
fn write_to_appenders(event: &LogEvent<'_>, outputs: &Outputs, buffer: &mut Vec<u8>) {
    let mut rendered_with: Option<*const PatternFormatter> = None;
    for appender in &outputs.appenders {
        let appender = appender.as_ref();
        let Some(formatter) = wants(appender, event.level, &outputs.formatter) else {
            continue;
        };
        let this = std::ptr::from_ref(formatter);
        if rendered_with != Some(this) {
            buffer.clear();
            formatter.format(event, buffer);
            rendered_with = Some(this);
        }
        deliver(appender, buffer);
    }
}
// ANCHOR_END: write_to_appenders

// ANCHOR: deliver
/// Appender panics caught so far, in the whole process.
static APPENDER_PANICS: AtomicU64 = AtomicU64::new(0);

/// The formatter `appender` wants an event of `level` rendered with, or `None` if it
/// does not want it. Its `level` and `formatter` are asked inside a guard, as
/// `write_line` is in [`deliver`]: a panic there costs the appender the line.
#[inline]
fn wants<'a>(
    appender: &'a dyn Appender,
    level: Level,
    logger_formatter: &'a PatternFormatter,
) -> Option<&'a PatternFormatter> {
    let asked = catch_unwind(AssertUnwindSafe(|| {
        appender::accepts(appender, level)
            .then(|| appender::formatter_for(appender, logger_formatter))
    }));
    asked.unwrap_or_else(|payload| {
        report_panic(appender, payload, "its line was dropped");
        None
    })
}

/// Hands `line` to `appender`, containing a panic. Every [`Appender`] method the
/// logger calls must not panic, but one written by a user may: its panic must not
/// unwind into whoever logged, which may be a request in the middle of its work, nor
/// keep the appenders after it from getting the line. The line is lost for that
/// appender; the panic is reported on stderr, at the 1st, 2nd, 4th, 8th... so that an
/// appender that panics on every line cannot flood it. (The rendering in between is
/// not guarded: a panic there comes from the caller's own message, a `Display` impl
/// of theirs, and goes back to the caller, as it would from `format!`.)
#[inline]
fn deliver(appender: &dyn Appender, line: &[u8]) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| appender.write_line(line))) {
        report_panic(appender, payload, "its line was dropped");
    }
}

/// Flushes `appender`, containing a panic as [`deliver`] does:
/// [`Logger::flush`] and [`crate::flush`] go on to the other appenders (which may hold
/// buffered lines of their own) and return normally.
fn flush_contained(appender: &dyn Appender) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| appender.flush())) {
        report_panic(appender, payload, "its flush was abandoned");
    }
}

/// Counts an appender's panic, drops its payload and reports it at the 1st, 2nd, 4th,
/// 8th... Two more of the user's methods run here, and are contained too: the
/// payload's `Drop` (`panic_any` takes any value; a second payload is forgotten, since
/// dropping it could panic in turn), and the appender's `Debug`, which names it in
/// the report (without it, the report goes without the name).
#[cold]
#[inline(never)]
fn report_panic(appender: &dyn Appender, payload: Box<dyn Any + Send>, consequence: &str) {
    report_panic_as(|| appender_name(appender), payload, consequence);
}

/// [`report_panic`] for an appender named by `name`, asked only if it is reported.
fn report_panic_as(name: impl FnOnce() -> String, payload: Box<dyn Any + Send>, consequence: &str) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
    let n = APPENDER_PANICS.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_power_of_two() {
        let name = name();
        // Not `eprintln!`, which panics if stderr itself is broken.
        let _ = writeln!(
            io::stderr(),
            "sylar-log: appender {name} panicked ({n} so far); {consequence}"
        );
    }
}

/// The appender's `Debug`, contained (without it, a placeholder).
fn appender_name(appender: &dyn Appender) -> String {
    catch_unwind(AssertUnwindSafe(|| format!("{appender:?}"))).unwrap_or_else(|second| {
        std::mem::forget(second);
        "(whose Debug panicked too)".to_owned()
    })
}
// ANCHOR_END: deliver

/// A line buffer bigger than this is released after use, so one huge message does not
/// pin its memory in the thread forever.
const KEEP_BUFFER: usize = 64 * 1024;

thread_local! {
    /// Each thread's reusable line buffer: after the first few events, formatting a line
    /// allocates nothing.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

// ANCHOR: with_line_buffer
/// Runs `f` with this thread's line buffer, or with a fresh one if the buffer is in use
/// (a message's `Display` impl that itself logs) or gone (thread teardown): re-entrant
/// logging works instead of panicking on a double borrow.
fn with_line_buffer(f: impl FnOnce(&mut Vec<u8>)) {
    let mut f = Some(f);
    let _ = LINE.try_with(|cell| {
        if let Ok(mut buffer) = cell.try_borrow_mut() {
            (f.take().expect("called once"))(&mut buffer);
            if buffer.capacity() > KEEP_BUFFER {
                *buffer = Vec::new();
            }
        }
    });
    if let Some(f) = f {
        f(&mut Vec::new());
    }
}
// ANCHOR_END: with_line_buffer

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outputs = self.outputs();
        f.debug_struct("Logger")
            .field("name", &self.name)
            .field("level", &self.level())
            .field("formatter", &outputs.formatter.pattern())
            .field("appenders", &outputs.appenders.len())
            .finish()
    }
}
