//! The article's per-logger macros: `sylar_info!(logger, "x = {}", x)`.

// ANCHOR: sylar_log_macro
/// Logs to a given logger at a given level, if that level is enabled:
/// `sylar_log!(logger, Level::Info, "accepted {}", peer)`.
///
/// `logger` is anything that dereferences to a [`Logger`](crate::Logger) (an
/// `Arc<Logger>`, a `&Logger`). The arguments are those of `format_args!`; they are not
/// evaluated at all when the level is disabled.
#[macro_export]
macro_rules! sylar_log {
    ($logger:expr, $level:expr, $($arg:tt)+) => {{
        let logger: &$crate::Logger = &$logger;
        let level: $crate::Level = $level;
        if logger.enabled(level) {
            logger.emit(level, ::core::file!(), ::core::line!(), ::core::format_args!($($arg)+));
        }
    }};
}
// ANCHOR_END: sylar_log_macro

/// [`sylar_log!`] at [`Level::Trace`](crate::Level::Trace).
#[macro_export]
macro_rules! sylar_trace {
    ($logger:expr, $($arg:tt)+) => { $crate::sylar_log!($logger, $crate::Level::Trace, $($arg)+) };
}

/// [`sylar_log!`] at [`Level::Debug`](crate::Level::Debug).
#[macro_export]
macro_rules! sylar_debug {
    ($logger:expr, $($arg:tt)+) => { $crate::sylar_log!($logger, $crate::Level::Debug, $($arg)+) };
}

/// [`sylar_log!`] at [`Level::Info`](crate::Level::Info).
#[macro_export]
macro_rules! sylar_info {
    ($logger:expr, $($arg:tt)+) => { $crate::sylar_log!($logger, $crate::Level::Info, $($arg)+) };
}

/// [`sylar_log!`] at [`Level::Warn`](crate::Level::Warn).
#[macro_export]
macro_rules! sylar_warn {
    ($logger:expr, $($arg:tt)+) => { $crate::sylar_log!($logger, $crate::Level::Warn, $($arg)+) };
}

/// [`sylar_log!`] at [`Level::Error`](crate::Level::Error).
#[macro_export]
macro_rules! sylar_error {
    ($logger:expr, $($arg:tt)+) => { $crate::sylar_log!($logger, $crate::Level::Error, $($arg)+) };
}

/// [`sylar_log!`] at [`Level::Fatal`](crate::Level::Fatal) (a level the `log` facade lacks).
#[macro_export]
macro_rules! sylar_fatal {
    ($logger:expr, $($arg:tt)+) => { $crate::sylar_log!($logger, $crate::Level::Fatal, $($arg)+) };
}
