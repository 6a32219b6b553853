//! Where lines go: the `Appender` trait and the simplest appender, standard output.

use std::fmt;
use std::io::{self, Write as _};

use crate::error::WriteErrors;
use crate::formatter::PatternFormatter;
use crate::level::Level;

// ANCHOR: appender_trait
/// A destination for formatted lines.
///
/// sylar's `LogAppender` is a base class whose `log()` formats and writes. Here the
/// logger does the formatting (once per run of appenders sharing a formatter, into a reused buffer) and an
/// appender only says which level and formatter it wants and stores finished lines. That
/// keeps every appender small and lets the logger share one rendering between appenders.
pub trait Appender: Send + Sync + fmt::Debug {
    /// The least severe level this appender writes; `None` writes whatever the logger
    /// lets through. Asked for every line, so it should be cheap; like every method
    /// here it must not panic (a panic costs this appender the line, as in
    /// [`Appender::write_line`]).
    fn level(&self) -> Option<Level> {
        None
    }

    /// This appender's own formatter; `None` uses the logger's. Asked for every line
    /// too, and contained the same way.
    fn formatter(&self) -> Option<&PatternFormatter> {
        None
    }

    /// Stores one complete line. Must not interleave it with other threads' lines, and
    /// must not panic: a failing destination is counted and reported, never raised. (A
    /// panic is caught by the logger, which reports it and drops the line for this
    /// appender only.)
    fn write_line(&self, line: &[u8]);

    /// Pushes buffered lines to their destination and returns once they are there.
    /// Must not panic either; a panic is caught by the logger's flush, reported, and
    /// the flush goes on to the other appenders.
    fn flush(&self) {}
}
// ANCHOR_END: appender_trait

/// Writes lines to the process's standard output.
///
/// Each line is written under std's stdout lock in one call, so lines never mix with
/// each other or with `println!` output. Std buffers stdout by line, so every line is a
/// `write(2)`: fine for a console, slow for bulk logging (use a file for that).
#[derive(Debug, Default)]
pub struct StdoutAppender {
    level: Option<Level>,
    formatter: Option<PatternFormatter>,
    errors: WriteErrors,
}

impl StdoutAppender {
    /// An appender with no level or formatter of its own.
    pub fn new() -> Self {
        Self::default()
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

    /// How many writes have failed (e.g. stdout is a closed pipe).
    pub fn write_errors(&self) -> u64 {
        self.errors.count()
    }
}

impl Appender for StdoutAppender {
    fn level(&self) -> Option<Level> {
        self.level
    }

    fn formatter(&self) -> Option<&PatternFormatter> {
        self.formatter.as_ref()
    }

    fn write_line(&self, line: &[u8]) {
        let result = io::stdout().lock().write_all(line);
        self.errors.record(&"stdout", result);
    }

    fn flush(&self) {
        let result = io::stdout().lock().flush();
        self.errors.record(&"stdout", result);
    }
}

/// The formatter an appender uses: its own, or else the logger's.
pub(crate) fn formatter_for<'a>(
    appender: &'a dyn Appender,
    logger_formatter: &'a PatternFormatter,
) -> &'a PatternFormatter {
    appender.formatter().unwrap_or(logger_formatter)
}

/// Whether an appender wants an event of `level`.
pub(crate) fn accepts(appender: &dyn Appender, level: Level) -> bool {
    appender.level().is_none_or(|min| level >= min)
}
