//! A user's appender that panics in any method the logger calls on the logging path
//! (`level`, `formatter`, `write_line`, and the `Debug` that names it in the report, and
//! the panic payload's own `Drop`) costs that appender its line and nothing more: the
//! logging call returns normally and the appenders after it get the line. A panic in
//! the caller's own message still reaches the caller, as in `format!`.
//!
//! Tests in this binary run in parallel and share the global manager: each uses its own
//! logger names.

mod common;

use std::fmt;
use std::sync::Arc;

use common::MemoryAppender;
use sylar_log::{Level, PatternFormatter, sylar_info};

/// An appender whose `level` panics.
#[derive(Debug)]
struct PanickingLevel;

impl sylar_log::Appender for PanickingLevel {
    fn level(&self) -> Option<Level> {
        panic!("this appender cannot say its level");
    }

    fn write_line(&self, _line: &[u8]) {}
}

/// An appender whose `formatter` panics.
#[derive(Debug)]
struct PanickingFormatter;

impl sylar_log::Appender for PanickingFormatter {
    fn formatter(&self) -> Option<&PatternFormatter> {
        panic!("this appender cannot say its formatter");
    }

    fn write_line(&self, _line: &[u8]) {}
}

#[test]
fn an_appender_whose_level_or_formatter_panics_is_contained() {
    let logger = sylar_log::logger("panicking-level-and-formatter");
    let capture = MemoryAppender::with_pattern("%m");
    logger.add_appender(Arc::new(PanickingLevel));
    logger.add_appender(Arc::new(PanickingFormatter));
    logger.add_appender(capture.clone());
    let calls = std::panic::catch_unwind(|| {
        sylar_info!(logger, "first");
        sylar_info!(logger, "second");
    });
    assert!(
        calls.is_ok(),
        "the appender's panic reached the logging call"
    );
    assert_eq!(capture.lines(), ["first", "second"]);
}

/// A panic payload whose own `Drop` panics (`panic_any` takes any value).
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("this payload cannot be dropped");
    }
}

/// An appender that panics on every line with a payload that panics when dropped, and
/// whose `Debug`, which the logger's report uses to name it, panics too.
struct BrokenThroughAndThrough;

impl fmt::Debug for BrokenThroughAndThrough {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("this appender cannot be named");
    }
}

impl sylar_log::Appender for BrokenThroughAndThrough {
    fn write_line(&self, _line: &[u8]) {
        std::panic::panic_any(PanicsWhenDropped);
    }
}

#[test]
fn an_appender_whose_debug_and_panic_payload_panic_too_is_contained() {
    let logger = sylar_log::logger("panicking-debug-and-payload");
    let capture = MemoryAppender::with_pattern("%m");
    logger.add_appender(Arc::new(BrokenThroughAndThrough));
    logger.add_appender(capture.clone());
    // The report (and so the `Debug`) comes at the 1st, 2nd, 4th... panic in the
    // process; 64 lines reach at least one of those whatever the other tests do.
    let calls = std::panic::catch_unwind(|| {
        for i in 0..64 {
            sylar_info!(logger, "line {i}");
        }
    });
    assert!(
        calls.is_ok(),
        "a panic of the broken appender reached the logging call"
    );
    let expected: Vec<String> = (0..64).map(|i| format!("line {i}")).collect();
    assert_eq!(capture.lines(), expected);
}

/// A message argument whose `Display` panics: the caller's own bug.
struct PanickingDisplay;

impl fmt::Display for PanickingDisplay {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("this message cannot be shown");
    }
}

#[test]
fn a_panic_in_the_callers_message_still_reaches_the_caller() {
    let logger = sylar_log::logger("panicking-message");
    let capture = MemoryAppender::with_pattern("%m");
    logger.add_appender(capture.clone());
    let call = std::panic::catch_unwind(|| sylar_info!(logger, "{}", PanickingDisplay));
    let payload = call.expect_err("the message's panic was swallowed");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"this message cannot be shown")
    );
    // The logger still works afterwards.
    sylar_info!(logger, "after");
    assert_eq!(capture.lines(), ["after"]);
}
