//! The bridge from the `log` crate: routing by target, and the facade's level filter
//! kept in sync with the loggers' levels.
//!
//! The facade's logger and max level are global to the process, so the tests that
//! change levels take `SERIAL`.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::MemoryAppender;
use sylar_log::Level;

static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn target_system_reaches_the_system_logger_and_others_reach_root() {
    let _serial = SERIAL.lock().unwrap();
    sylar_log::init();
    let system = MemoryAppender::with_pattern("%c|%p|%m|%F");
    let root = MemoryAppender::with_pattern("%c|%p|%m");
    sylar_log::logger("system").add_appender(system.clone());
    sylar_log::root().add_appender(root.clone());

    log::warn!(target: "system", "to system {}", 1);
    log::info!("to root from the module path");
    log::error!(target: "anything-else", "to root too");

    assert_eq!(
        system.lines(),
        [format!("system|WARN|to system 1|{}", file!())]
    );
    assert_eq!(
        root.lines_with("to root"),
        [
            "root|INFO|to root from the module path",
            "root|ERROR|to root too"
        ]
    );
    sylar_log::logger("system").clear_appenders();
}

#[test]
fn the_facade_filter_follows_the_most_verbose_logger() {
    let _serial = SERIAL.lock().unwrap();
    sylar_log::init();
    let loggers = sylar_log::manager().loggers();
    let saved: Vec<Level> = loggers.iter().map(|l| l.level()).collect();
    for logger in &loggers {
        logger.set_level(Level::Warn);
    }
    assert_eq!(log::max_level(), log::LevelFilter::Warn);

    let calls = AtomicUsize::new(0);
    let counted = || calls.fetch_add(1, Ordering::Relaxed);
    log::info!("{}", counted());
    assert_eq!(
        calls.load(Ordering::Relaxed),
        0,
        "disabled: arguments never evaluated"
    );

    sylar_log::logger("facade-verbose").set_level(Level::Debug);
    assert_eq!(log::max_level(), log::LevelFilter::Debug);
    sylar_log::logger("facade-verbose").set_level(Level::Error);
    assert_eq!(log::max_level(), log::LevelFilter::Warn);

    // A logger created later at the default level (info) widens the filter again.
    sylar_log::logger("facade-late");
    assert_eq!(log::max_level(), log::LevelFilter::Info);

    for (logger, level) in loggers.iter().zip(saved) {
        logger.set_level(level);
    }
}

#[test]
fn init_is_idempotent() {
    let _serial = SERIAL.lock().unwrap();
    sylar_log::init();
    sylar_log::init();
    let capture = MemoryAppender::with_pattern("%m");
    sylar_log::logger("system").add_appender(capture.clone());
    log::info!(target: "system", "once");
    assert_eq!(capture.lines(), ["once"]);
    sylar_log::logger("system").clear_appenders();
}

#[test]
fn another_logger_installed_first_is_left_in_place() {
    if common::is_child() {
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        struct Counting;
        impl log::Log for Counting {
            fn enabled(&self, _: &log::Metadata<'_>) -> bool {
                true
            }
            fn log(&self, _: &log::Record<'_>) {
                SEEN.fetch_add(1, Ordering::Relaxed);
            }
            fn flush(&self) {}
        }
        log::set_logger(&Counting).unwrap();
        log::set_max_level(log::LevelFilter::Info);
        sylar_log::init();
        sylar_log::init();
        sylar_log::logger("child-level").set_level(Level::Error);
        log::info!("still reaches the first logger");
        assert_eq!(SEEN.load(Ordering::Relaxed), 1);
        assert_eq!(
            log::max_level(),
            log::LevelFilter::Info,
            "their filter untouched"
        );
        return;
    }
    let out = common::run_child("another_logger_installed_first_is_left_in_place", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert_eq!(
        stderr
            .matches("another logger is already installed")
            .count(),
        1,
        "{stderr}"
    );
}
