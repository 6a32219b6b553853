//! A user's appender that panics in any method the logger calls (`level`, `formatter`,
//! `write_line`, `flush`, and the `Debug` that names it in the report, and the panic
//! payload's own `Drop`) costs that appender its line or its flush and nothing more: the
//! call returns normally and the appenders after it get the line or the flush. A panic
//! in the caller's own message still reaches the caller, as in `format!`.
//!
//! Tests in this binary run in parallel and share the global manager: each uses its own
//! logger names.

mod common;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::MemoryAppender;
use sylar_log::{Appender, Level, PatternFormatter, sylar_info};

/// An appender that panics on every line (a user's broken appender).
#[derive(Debug)]
struct PanickingAppender;

impl sylar_log::Appender for PanickingAppender {
    fn write_line(&self, _line: &[u8]) {
        panic!("this appender is broken");
    }
}

/// An appender whose `flush` panics (a user's appender with a broken destination).
#[derive(Debug)]
struct PanickingFlush;

impl sylar_log::Appender for PanickingFlush {
    fn write_line(&self, _line: &[u8]) {}

    fn flush(&self) {
        panic!("this appender cannot flush");
    }
}

/// An appender that counts the flushes it is asked for.
#[derive(Debug, Default)]
struct FlushCounter(AtomicUsize);

impl sylar_log::Appender for FlushCounter {
    fn write_line(&self, _line: &[u8]) {}

    fn flush(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_panicking_flush_is_contained_and_the_next_appender_is_still_flushed() {
    let logger = sylar_log::logger("panicking-flush");
    let counter = Arc::new(FlushCounter::default());
    logger.add_appender(Arc::new(PanickingFlush));
    logger.add_appender(counter.clone());
    // Neither the logger's flush nor the global one unwinds into its caller, and
    // both reach the appender after the broken one.
    let calls = std::panic::catch_unwind(|| {
        logger.flush();
        sylar_log::flush();
    });
    assert!(calls.is_ok(), "the appender's panic reached the flush call");
    assert_eq!(counter.0.load(Ordering::SeqCst), 2);
}

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

/// Logs `lines` through a logger whose appenders are `broken` and then a capture, and
/// checks that no call saw a panic and the capture got every line.
fn assert_contained(logger: &str, broken: Vec<Arc<dyn Appender>>, lines: usize) {
    let logger = sylar_log::logger(logger);
    let capture = MemoryAppender::with_pattern("%m");
    broken.into_iter().for_each(|a| logger.add_appender(a));
    logger.add_appender(capture.clone());
    // Each call returns to its caller: the panic does not unwind into it.
    let calls = std::panic::catch_unwind(|| {
        for i in 0..lines {
            sylar_info!(logger, "line {i}");
        }
    });
    assert!(
        calls.is_ok(),
        "an appender's panic reached the logging call"
    );
    let expected: Vec<String> = (0..lines).map(|i| format!("line {i}")).collect();
    assert_eq!(capture.lines(), expected);
}

#[test]
fn a_panicking_appender_is_contained_and_the_next_one_still_gets_the_line() {
    assert_contained("panicking-appender", vec![Arc::new(PanickingAppender)], 2);
}

#[test]
fn an_appender_whose_level_or_formatter_panics_is_contained() {
    let broken: Vec<Arc<dyn Appender>> =
        vec![Arc::new(PanickingLevel), Arc::new(PanickingFormatter)];
    assert_contained("panicking-level-and-formatter", broken, 2);
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
    // The report (and so the `Debug`) comes at the 1st, 2nd, 4th... panic in the
    // process; 64 lines reach at least one of those whatever the other tests do.
    let broken: Vec<Arc<dyn Appender>> = vec![Arc::new(BrokenThroughAndThrough)];
    assert_contained("panicking-debug-and-payload", broken, 64);
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

/// An appender whose `Drop` panics (a user's appender that fails to close its
/// destination); it counts the drops that ran.
#[derive(Debug)]
struct PanickingDrop(Arc<AtomicUsize>);

impl sylar_log::Appender for PanickingDrop {
    fn write_line(&self, _line: &[u8]) {}
}

impl Drop for PanickingDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("this appender cannot close");
    }
}

/// An appender that, on its first line or flush, replaces its logger's appenders
/// with `next`: it stands in for another thread reconfiguring the logger at
/// exactly that moment, so the call in progress holds the last handle on the old
/// appenders.
#[derive(Debug)]
struct Reconfigurer {
    logger: &'static str,
    next: std::sync::Mutex<Option<Vec<Arc<dyn Appender>>>>,
}

impl Reconfigurer {
    fn new(logger: &'static str, next: Vec<Arc<dyn Appender>>) -> Arc<Reconfigurer> {
        Arc::new(Reconfigurer {
            logger,
            next: std::sync::Mutex::new(Some(next)),
        })
    }

    fn reconfigure(&self) {
        if let Some(next) = self.next.lock().unwrap().take() {
            sylar_log::logger(self.logger).set_appenders(next);
        }
    }
}

impl sylar_log::Appender for Reconfigurer {
    fn write_line(&self, _line: &[u8]) {
        self.reconfigure();
    }

    fn flush(&self) {
        self.reconfigure();
    }
}

#[test]
fn a_panicking_drop_left_to_the_logging_call_is_contained() {
    let name = "panicking-drop-on-log";
    let logger = sylar_log::logger(name);
    let drops = Arc::new(AtomicUsize::new(0));
    let memory = MemoryAppender::with_pattern("%m");
    logger.set_appenders(vec![
        Reconfigurer::new(name, vec![memory.clone()]),
        Arc::new(PanickingDrop(Arc::clone(&drops))),
    ]);
    // The line replaces the appenders: the call holds the last handle on the
    // broken one, and drops it on its way out.
    let call = std::panic::catch_unwind(|| sylar_info!(logger, "reconfigures"));
    assert!(call.is_ok(), "the appender's Drop panic reached the caller");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "dropped on the logging call"
    );
    sylar_info!(logger, "after");
    assert_eq!(memory.lines(), ["after"]);
}

#[test]
fn a_panicking_drop_left_to_a_flush_is_contained() {
    let name = "panicking-drop-on-flush";
    let logger = sylar_log::logger(name);
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = Arc::new(FlushCounter::default());
    logger.set_appenders(vec![
        Reconfigurer::new(name, Vec::new()),
        Arc::new(PanickingDrop(Arc::clone(&drops))),
        counter.clone(),
    ]);
    let call = std::panic::catch_unwind(|| logger.flush());
    assert!(call.is_ok(), "the appender's Drop panic reached the flush");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped on the flush");
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the flush went on");
}

#[test]
fn a_panicking_drop_on_reconfiguration_is_contained() {
    let logger = sylar_log::logger("panicking-drop-on-reconfiguration");
    let drops = Arc::new(AtomicUsize::new(0));
    logger.add_appender(Arc::new(PanickingDrop(Arc::clone(&drops))));
    let call = std::panic::catch_unwind(|| logger.clear_appenders());
    assert!(
        call.is_ok(),
        "the appender's Drop panic reached the reconfiguration"
    );
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let memory = MemoryAppender::with_pattern("%m");
    logger.add_appender(memory.clone());
    sylar_info!(logger, "after");
    assert_eq!(memory.lines(), ["after"]);
}
