//! Loggers, the manager and levels: creation on first use, root, writing through root,
//! logger and appender levels and formatters, the per-logger macros.
//!
//! Tests in this binary run in parallel and share the global manager: each uses its own
//! logger names.

mod common;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::MemoryAppender;
use sylar_log::{
    Level, PatternFormatter, manager, sylar_debug, sylar_error, sylar_fatal, sylar_info, sylar_log,
    sylar_trace, sylar_warn,
};

#[test]
fn a_logger_is_created_on_first_use_and_then_shared() {
    assert!(!manager().names().contains(&"first-use".to_owned()));
    let a = sylar_log::logger("first-use");
    let b = sylar_log::logger("first-use");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.name(), "first-use");
    assert_eq!(a.level(), Level::Info);
    assert!(a.appenders().is_empty());
    assert!(manager().names().contains(&"first-use".to_owned()));
}

#[test]
fn root_always_exists_with_a_stdout_appender() {
    let root = sylar_log::root();
    assert_eq!(root.name(), "root");
    assert!(Arc::ptr_eq(&root, &sylar_log::logger("root")));
    assert!(manager().names().contains(&"root".to_owned()));
    assert!(format!("{:?}", root.appenders()).contains("StdoutAppender"));
}

#[test]
fn concurrent_first_uses_create_one_logger() {
    let loggers: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| sylar_log::logger("raced")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(loggers.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
}

#[test]
fn a_logger_without_appenders_writes_through_root_with_roots_formatter() {
    let capture = Arc::new(MemoryAppender::default());
    sylar_log::root().add_appender(capture.clone());
    let orphan = sylar_log::logger("orphan");
    orphan.set_level(Level::Debug);
    sylar_debug!(orphan, "through root {}", 1);
    // Root's own level (info) does not filter it: the emitting logger's level decides.
    let lines = capture.lines_with("through root 1");
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("[DEBUG]\t[orphan]\t"), "{lines:?}");
}

#[test]
fn events_below_the_logger_level_are_dropped() {
    let capture = MemoryAppender::with_pattern("%p %m");
    let logger = sylar_log::logger("levels");
    logger.add_appender(capture.clone());
    logger.set_level(Level::Warn);
    assert!(!logger.enabled(Level::Info));
    assert!(logger.enabled(Level::Warn));
    sylar_info!(logger, "dropped");
    sylar_warn!(logger, "kept");
    sylar_error!(logger, "kept too");
    assert_eq!(capture.lines(), ["WARN kept", "ERROR kept too"]);
}

#[test]
fn every_macro_logs_at_its_level() {
    let capture = MemoryAppender::with_pattern("%p");
    let logger = sylar_log::logger("macros");
    logger.add_appender(capture.clone());
    logger.set_level(Level::Trace);
    sylar_trace!(logger, "t");
    sylar_debug!(logger, "d");
    sylar_info!(logger, "i");
    sylar_warn!(logger, "w");
    sylar_error!(logger, "e");
    sylar_fatal!(logger, "f");
    sylar_log!(logger, Level::Info, "explicit");
    assert_eq!(
        capture.lines(),
        ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "INFO"]
    );
}

#[test]
fn macro_arguments_are_not_evaluated_when_the_level_is_disabled() {
    let logger = sylar_log::logger("lazy");
    logger.add_appender(MemoryAppender::with_pattern("%m"));
    logger.set_level(Level::Error);
    let calls = AtomicUsize::new(0);
    let expensive = || calls.fetch_add(1, Ordering::Relaxed);
    sylar_debug!(logger, "{}", expensive());
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    sylar_error!(logger, "{}", expensive());
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[test]
fn macros_accept_a_reference_as_well_as_an_arc() {
    let capture = MemoryAppender::with_pattern("%m");
    let logger = sylar_log::logger("by-ref");
    logger.add_appender(capture.clone());
    let by_ref: &sylar_log::Logger = &logger;
    sylar_info!(by_ref, "ref");
    sylar_info!(sylar_log::logger("by-ref"), "temporary");
    assert_eq!(capture.lines(), ["ref", "temporary"]);
}

#[test]
fn each_appender_applies_its_own_level() {
    let all = MemoryAppender::with_pattern("%m");
    let errors_only = Arc::new(MemoryAppender {
        level: Some(Level::Error),
        formatter: Some(PatternFormatter::new("%m").unwrap()),
        ..MemoryAppender::default()
    });
    let logger = sylar_log::logger("appender-levels");
    logger.set_appenders(vec![all.clone(), errors_only.clone()]);
    sylar_info!(logger, "info");
    sylar_error!(logger, "error");
    assert_eq!(all.lines(), ["info", "error"]);
    assert_eq!(errors_only.lines(), ["error"]);
}

#[test]
fn an_appender_formatter_overrides_the_logger_formatter() {
    let own = MemoryAppender::with_pattern("own:%m");
    let inherits = Arc::new(MemoryAppender::default());
    let inherits_too = Arc::new(MemoryAppender::default());
    let logger = sylar_log::logger("formatters");
    logger.set_formatter(PatternFormatter::new("logger:%m").unwrap());
    logger.set_appenders(vec![inherits.clone(), own.clone(), inherits_too.clone()]);
    sylar_info!(logger, "x");
    assert_eq!(own.lines(), ["own:x"]);
    assert_eq!(inherits.lines(), ["logger:x"]);
    assert_eq!(inherits_too.lines(), ["logger:x"]);
    assert_eq!(logger.formatter().pattern(), "logger:%m");
}

#[test]
fn clearing_appenders_sends_events_back_through_root() {
    let own = MemoryAppender::with_pattern("%c %m");
    let at_root = MemoryAppender::with_pattern("%c %m");
    sylar_log::root().add_appender(at_root.clone());
    let logger = sylar_log::logger("cleared");
    logger.add_appender(own.clone());
    sylar_info!(logger, "before");
    logger.clear_appenders();
    sylar_info!(logger, "after");
    assert_eq!(own.lines(), ["cleared before"]);
    assert_eq!(at_root.lines_with("cleared "), ["cleared after"]);
}

#[test]
fn the_event_carries_the_call_site_thread_and_logger() {
    let capture = MemoryAppender::with_pattern("%c|%F|%l|%N|%t");
    let logger = sylar_log::logger("context");
    logger.add_appender(capture.clone());
    let line = line!() + 1;
    sylar_info!(logger, "here");
    std::thread::Builder::new()
        .name("named-worker".into())
        .spawn({
            let logger = logger.clone();
            move || sylar_info!(logger, "there")
        })
        .unwrap()
        .join()
        .unwrap();
    let lines = capture.lines();
    let here: Vec<&str> = lines[0].split('|').collect();
    let there: Vec<&str> = lines[1].split('|').collect();
    assert_eq!(here[..3], ["context", file!(), &line.to_string()]);
    assert_eq!(there[3], "named-worker");
    assert_ne!(here[4], there[4], "threads have distinct ids");
    assert!(here[4].parse::<u64>().unwrap() > 0);
}

#[test]
fn elapsed_time_grows_and_is_consistent_with_the_clock() {
    let capture = MemoryAppender::with_pattern("%r");
    let logger = sylar_log::logger("elapsed");
    logger.add_appender(capture.clone());
    let before = sylar_log::elapsed_ms();
    sylar_info!(logger, "a");
    sylar_info!(logger, "b");
    let after = sylar_log::elapsed_ms();
    let values: Vec<u64> = capture.lines().iter().map(|l| l.parse().unwrap()).collect();
    assert!(before <= values[0] && values[0] <= values[1] && values[1] <= after);
}

#[test]
fn a_message_that_logs_while_being_formatted_does_not_deadlock() {
    struct Chatty;
    impl fmt::Display for Chatty {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            sylar_info!(sylar_log::logger("reentrant"), "inner");
            f.write_str("outer")
        }
    }
    let capture = MemoryAppender::with_pattern("%m");
    let logger = sylar_log::logger("reentrant");
    logger.add_appender(capture.clone());
    sylar_info!(logger, "{}", Chatty);
    assert_eq!(capture.lines(), ["inner", "outer"]);
}

#[test]
fn the_manager_lists_loggers_and_their_most_verbose_level() {
    let logger = sylar_log::logger("verbose-one");
    logger.set_level(Level::Trace);
    assert_eq!(manager().most_verbose_level(), Level::Trace);
    assert!(
        manager()
            .loggers()
            .iter()
            .any(|l| l.name() == "verbose-one")
    );
    let names = manager().names();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted");
}

#[test]
fn levels_parse_in_any_case_print_in_upper_case_and_are_ordered() {
    for (text, level) in [
        ("trace", Level::Trace),
        ("DEBUG", Level::Debug),
        ("Info", Level::Info),
        ("warn", Level::Warn),
        ("warning", Level::Warn),
        ("error", Level::Error),
        (" FATAL ", Level::Fatal),
    ] {
        assert_eq!(text.parse::<Level>().unwrap(), level);
    }
    assert_eq!(Level::Warn.to_string(), "WARN");
    assert_eq!(format!("{:<6}|", Level::Info), "INFO  |");
    assert!(Level::Trace < Level::Debug && Level::Error < Level::Fatal);
    let error = "loud".parse::<Level>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown log level `loud` (expected trace, debug, info, warn, error or fatal)"
    );
}

#[test]
fn levels_map_to_and_from_the_log_facade() {
    assert_eq!(Level::from(log::Level::Warn), Level::Warn);
    assert_eq!(Level::from(log::Level::Trace), Level::Trace);
    assert_eq!(Level::Fatal.to_level_filter(), log::LevelFilter::Error);
    assert_eq!(Level::Debug.to_level_filter(), log::LevelFilter::Debug);
}
