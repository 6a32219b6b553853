//! # sylar-log: chapter 1 of sylar-rs
//!
//! The logger of the C++ server framework *sylar*, rebuilt in Rust: an event carrying its
//! context (time, source location, thread, fiber, level, logger) goes to a named
//! [`Logger`], which passes it, if its level allows, to each of its [`Appender`]s
//! (standard output, a file, a background-thread file); each appender renders it with a
//! [`PatternFormatter`] (`"%d%T[%p]%T%m%n"`). A manager owns every logger by name,
//! creates them on first use and always has `root`; a logger without appenders writes
//! through root's.
//!
//! Two ways in:
//! * the `log` facade, which every Rust library speaks: after [`init`],
//!   `log::info!(target: "system", ...)` reaches the logger named `system` and every
//!   other target reaches root;
//! * the article's per-logger macros, [`sylar_info!`] and friends, which take a logger
//!   handle and can use sylar's extra level, `Fatal`.
//!
//! ## Layout
//! * [`level`] — [`Level`], sylar's five levels plus `Trace`.
//! * [`event`] — [`LogEvent`], one record and its context.
//! * `context` — where the context comes from: clock, thread, fiber-id provider.
//! * [`pattern`] — the pattern language and its parser, [`PatternError`].
//! * [`formatter`] — [`PatternFormatter`], rendering an event to bytes.
//! * `time_format` — `%d{...}` with milliseconds and a once-a-second cache.
//! * [`appender`] — the [`Appender`] trait and [`StdoutAppender`].
//! * [`file_appender`] — [`FileAppender`]; `file_sink`: the rotation-proof buffered file.
//! * [`async_appender`] — [`AsyncAppender`] and its options; `async_writer`: the bounded
//!   buffer and the writer thread behind it.
//! * `flusher` — flushes buffered appenders every second and at exit.
//! * `itoa` — integers to decimal digits without going through `fmt`.
//! * [`logger`](mod@logger) — [`Logger`]; [`manager`](mod@manager) — [`LoggerManager`],
//!   loggers by name.
//! * [`facade`] — the bridge from the `log` crate ([`init`]).
//! * [`macros`] — [`sylar_log!`], [`sylar_info!`], ...
//! * [`config`] — [`LogDefine`], [`check_config`] and [`apply_config`], loggers
//!   described as data.
//! * [`error`] — [`LogError`].
//!
//! ## Example
//! ```
//! use std::sync::Arc;
//! use sylar_log::{FileAppender, Level, PatternFormatter, sylar_info};
//!
//! let path = std::env::temp_dir().join(format!("sylar-log-doc-{}.log", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let app = sylar_log::logger("app");
//! app.set_level(Level::Debug);
//! app.add_appender(Arc::new(
//!     FileAppender::new(&path)?.with_formatter(PatternFormatter::new("[%p] %c: %m%n")?),
//! ));
//!
//! sylar_info!(app, "listening on port {}", 8080);
//! sylar_log::init();
//! log::warn!(target: "system", "this goes to the `system` logger, through root");
//!
//! sylar_log::flush();
//! assert_eq!(std::fs::read_to_string(&path)?, "[INFO] app: listening on port 8080\n");
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod appender;
pub mod async_appender;
mod async_writer;
pub mod config;
mod context;
pub mod error;
pub mod event;
pub mod facade;
pub mod file_appender;
mod file_sink;
mod flusher;
pub mod formatter;
mod itoa;
pub mod level;
pub mod logger;
pub mod macros;
pub mod manager;
pub mod pattern;
mod time_format;

use std::sync::Arc;

pub use appender::{Appender, StdoutAppender};
pub use async_appender::{AsyncAppender, AsyncOptions, Overflow};
pub use config::{AppenderDefine, AppenderKind, LogDefine, apply_config, check_config};
pub use context::{current_fiber_id, elapsed_ms, set_fiber_id_provider};
pub use error::LogError;
pub use event::LogEvent;
pub use facade::init;
pub use file_appender::FileAppender;
pub use formatter::{DEFAULT_PATTERN, PatternFormatter};
pub use level::{Level, ParseLevelError};
pub use logger::Logger;
pub use manager::{LoggerManager, manager};
pub use pattern::{PatternError, PatternErrorKind};

// ANCHOR: free_functions
/// The logger with this name, created on first use.
pub fn logger(name: &str) -> Arc<Logger> {
    manager().get(name)
}

/// The root logger.
pub fn root() -> Arc<Logger> {
    manager().root()
}

/// Flushes every appender of every logger, and every buffered appender not attached to
/// any logger. (Also done at process exit.)
pub fn flush() {
    for logger in manager().loggers() {
        logger.flush();
    }
    flusher::flush_registered(true);
}
// ANCHOR_END: free_functions
