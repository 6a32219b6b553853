//! Buffered appenders register here so that their lines reach the disk even when nobody
//! calls `flush`: a background thread flushes them every second, and an `atexit` handler
//! flushes them when the process exits (global loggers are never dropped, so `Drop`
//! alone would lose the last lines of every program).

use std::sync::{Arc, Mutex, Once, PoisonError, Weak};
use std::time::Duration;

/// Something holding buffered lines.
pub(crate) trait Flush: Send + Sync {
    /// Writes out what is buffered; with `everything == false` it may skip work that
    /// nothing is waiting for (the periodic flush), with `true` it must finish it.
    fn flush_buffered(&self, everything: bool);
}

/// Every live buffered sink. Dead entries are pruned on each periodic pass.
static REGISTRY: Mutex<Vec<Weak<dyn Flush>>> = Mutex::new(Vec::new());

/// How often the background thread flushes.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

// ANCHOR: register
/// Adds `sink` to the flushed set; on first use, starts the flusher thread and installs
/// the exit handler.
pub(crate) fn register(sink: Weak<dyn Flush>) {
    static START: Once = Once::new();
    START.call_once(|| {
        // SAFETY: `flush_at_exit` is an `extern "C" fn()` that never unwinds (it catches
        // panics) and stays valid for the life of the process, as `atexit` requires.
        let rc = unsafe { libc::atexit(flush_at_exit) };
        if rc != 0 {
            report("cannot register the exit handler; call sylar_log::flush() before exit");
        }
        let spawned = std::thread::Builder::new()
            .name("sylar-log-flush".into())
            .spawn(|| {
                loop {
                    // A period, not a synchronisation: nothing waits on this thread.
                    std::thread::sleep(FLUSH_INTERVAL);
                    flush_registered(false);
                }
            });
        if spawned.is_err() {
            report("cannot start the flusher thread; lines are flushed when buffers fill");
        }
    });
    lock().push(sink);
}
// ANCHOR_END: register

/// Flushes every registered sink. `everything` as in [`Flush::flush_buffered`].
pub(crate) fn flush_registered(everything: bool) {
    // Collect strong references first, so no sink is flushed under the registry lock
    // (a slow disk must not block appenders being created).
    let sinks: Vec<Arc<dyn Flush>> = {
        let mut registry = lock();
        registry.retain(|weak| weak.strong_count() > 0);
        registry.iter().filter_map(Weak::upgrade).collect()
    };
    for sink in sinks {
        sink.flush_buffered(everything);
    }
}

// ANCHOR: flush_at_exit
/// Runs inside `exit()`, after `main` returned or `std::process::exit` was called.
extern "C" fn flush_at_exit() {
    // A panic must not unwind into libc.
    let _ = std::panic::catch_unwind(|| flush_registered(true));
}
// ANCHOR_END: flush_at_exit

fn lock() -> std::sync::MutexGuard<'static, Vec<Weak<dyn Flush>>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn report(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "sylar-log: {message}");
}
