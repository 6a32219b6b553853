//! The pattern formatter: renders an event into bytes following a parsed pattern.

use std::fmt;

use crate::event::LogEvent;
use crate::itoa::push_u64;
use crate::pattern::{self, Item, PatternError};

/// The pattern of a new logger: time with milliseconds, thread id and name, fiber id,
/// level, logger name, source location and message, separated by tabs (sylar's default
/// layout, with milliseconds added).
pub const DEFAULT_PATTERN: &str = "%d{%Y-%m-%d %H:%M:%S.%L}%T%t%T%N%T%f%T[%p]%T[%c]%T%F:%l%T%m%n";

// ANCHOR: pattern_formatter
/// Turns an event into one line of bytes, as described by a pattern such as
/// `"%d{%H:%M:%S}%T[%p]%T%m%n"` (see the `pattern` module for the items).
///
/// Parsed once; rendering walks the item list and appends to a caller's buffer, so it
/// allocates nothing once the buffer has grown to the size of a line.
pub struct PatternFormatter {
    /// The text the formatter was built from, for display and config round trips.
    pattern: String,
    items: Vec<Item>,
}
// ANCHOR_END: pattern_formatter

impl PatternFormatter {
    // ANCHOR: constructors
    /// Parses `pattern`, refusing it if any item is malformed; the error names the first
    /// bad item and its byte offset.
    ///
    /// ```
    /// use sylar_log::PatternFormatter;
    /// let err = PatternFormatter::new("[%p] %q %m").unwrap_err();
    /// assert_eq!(err.position(), 5);
    /// assert_eq!(err.to_string(), "unknown item `%q` at byte 5");
    /// ```
    pub fn new(pattern: &str) -> Result<PatternFormatter, PatternError> {
        let (items, errors) = pattern::parse(pattern);
        match errors.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(PatternFormatter {
                pattern: pattern.to_owned(),
                items,
            }),
        }
    }

    /// Parses `pattern`, keeping every malformed item as visible text such as
    /// `<<%q: unknown item `%q` at byte 5>>` in each rendered line. For patterns that come
    /// from configuration: a typo shows up in the log instead of being silently dropped
    /// or stopping the program.
    pub fn lenient(pattern: &str) -> PatternFormatter {
        PatternFormatter {
            pattern: pattern.to_owned(),
            items: pattern::parse(pattern).0,
        }
    }
    // ANCHOR_END: constructors

    /// The pattern this formatter was built from.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    // ANCHOR: format
    /// Appends `event`, rendered, to `out`.
    pub fn format(&self, event: &LogEvent<'_>, out: &mut Vec<u8>) {
        for item in &self.items {
            match item {
                Item::Literal(text) | Item::Bad(text) => out.extend_from_slice(text.as_bytes()),
                Item::Message => write_message(event.message, out),
                Item::Level => out.extend_from_slice(event.level.as_str().as_bytes()),
                Item::Elapsed => push_u64(out, event.elapsed_ms),
                Item::Logger => out.extend_from_slice(event.logger.as_bytes()),
                Item::ThreadId => push_u64(out, event.thread_id),
                Item::ThreadName => out.extend_from_slice(event.thread_name.as_bytes()),
                Item::FiberId => push_u64(out, event.fiber_id),
                Item::Date(date) => date.render(event.time, out),
                Item::File => out.extend_from_slice(event.file.as_bytes()),
                Item::Line => push_u64(out, u64::from(event.line)),
            }
        }
    }
    // ANCHOR_END: format

    /// Renders `event` into a new string (convenient in tests; the loggers use
    /// [`PatternFormatter::format`] with a reused buffer).
    pub fn format_to_string(&self, event: &LogEvent<'_>) -> String {
        let mut out = Vec::new();
        self.format(event, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Writes the message without an intermediate `String`. A literal message is copied as
/// is; otherwise `fmt` writes into the buffer. A `Display` impl that returns an error
/// leaves what it wrote so far: never a panic (`format!` and `io::Write::write_fmt` both
/// panic on it, which is why this goes through `fmt::write` and a tiny adapter).
fn write_message(message: fmt::Arguments<'_>, out: &mut Vec<u8>) {
    match message.as_str() {
        Some(text) => out.extend_from_slice(text.as_bytes()),
        None => {
            let _ = fmt::write(&mut ByteSink(out), message);
        }
    }
}

/// `fmt::Write` for a byte buffer: `fmt` hands over `str` pieces, we copy their bytes.
struct ByteSink<'a>(&'a mut Vec<u8>);

impl fmt::Write for ByteSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Default for PatternFormatter {
    /// A formatter for [`DEFAULT_PATTERN`].
    fn default() -> Self {
        PatternFormatter::lenient(DEFAULT_PATTERN)
    }
}

impl fmt::Debug for PatternFormatter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatternFormatter")
            .field("pattern", &self.pattern)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    #[test]
    fn default_pattern_is_valid() {
        assert!(PatternFormatter::new(DEFAULT_PATTERN).is_ok());
    }

    #[test]
    fn failing_display_impl_keeps_partial_output_and_does_not_panic() {
        struct Broken;
        impl fmt::Display for Broken {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("half")?;
                Err(fmt::Error)
            }
        }
        let formatter = PatternFormatter::new("<%m>").unwrap();
        let event = LogEvent {
            time: std::time::UNIX_EPOCH,
            elapsed_ms: 0,
            file: "f.rs",
            line: 1,
            thread_id: 1,
            thread_name: "t",
            fiber_id: 0,
            level: Level::Info,
            logger: "l",
            message: format_args!("{} {}", Broken, 1),
        };
        assert_eq!(formatter.format_to_string(&event), "<half>");
    }
}
