//! One log record and everything a pattern can print about it.

use std::fmt;
use std::time::SystemTime;

use crate::context;
use crate::level::Level;

// ANCHOR: log_event
/// One log record: the message plus the context it was produced in.
///
/// Borrowed, not owned: an event lives on the caller's stack for the duration of one log
/// call, so building it allocates nothing. The message stays a [`fmt::Arguments`] until a
/// formatter writes it straight into the output buffer.
#[derive(Clone, Copy, Debug)]
pub struct LogEvent<'a> {
    /// Wall-clock time of the call (`%d`), with sub-second precision.
    pub time: SystemTime,
    /// Milliseconds since the program started (`%r`).
    pub elapsed_ms: u64,
    /// Source file of the call (`%F`), e.g. from `file!()`.
    pub file: &'a str,
    /// Source line of the call (`%l`).
    pub line: u32,
    /// The kernel's id of the calling thread (`%t`).
    pub thread_id: u64,
    /// The calling thread's name (`%N`); `<unnamed>` for a thread without one.
    pub thread_name: &'a str,
    /// The running fiber's id (`%f`); 0 outside fibers or before a provider is registered.
    pub fiber_id: u64,
    /// Severity (`%p`).
    pub level: Level,
    /// Name of the logger the event was sent to (`%c`).
    pub logger: &'a str,
    /// The message (`%m`), not yet formatted.
    pub message: fmt::Arguments<'a>,
}
// ANCHOR_END: log_event

impl<'a> LogEvent<'a> {
    /// Builds an event for the calling thread at this instant and hands it to `f`.
    ///
    /// The thread's name is borrowed from a thread-local cache, which is why the event
    /// is passed to a closure instead of returned.
    pub fn capture<R>(
        logger: &str,
        level: Level,
        file: &str,
        line: u32,
        message: fmt::Arguments<'_>,
        f: impl FnOnce(&LogEvent<'_>) -> R,
    ) -> R {
        let time = SystemTime::now();
        let elapsed_ms = context::elapsed_ms_at(time);
        let fiber_id = context::current_fiber_id();
        context::with_thread(|thread_id, thread_name| {
            f(&LogEvent {
                time,
                elapsed_ms,
                file,
                line,
                thread_id,
                thread_name,
                fiber_id,
                level,
                logger,
                message,
            })
        })
    }
}
