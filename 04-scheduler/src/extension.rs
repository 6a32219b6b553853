//! The scheduler's extension points: what sylar's C++ makes virtual.

use crate::Handle;

// ANCHOR: extension
/// What a scheduler lets a subclass — in Rust, an extension — decide: how
/// to wake a sleeping worker (`tickle`), what a worker does when it has
/// nothing to run (`idle`), and whether it still has work of its own that
/// must finish before the scheduler may stop (`stopping`).
///
/// sylar's `IOManager` inherits from `Scheduler` and overrides these three
/// virtual methods; here chapter 5 implements this trait and passes itself to
/// [`Scheduler::with_extension`](crate::Scheduler::with_extension). Without an
/// extension, idle workers sleep on a condition variable.
pub trait Extension: Send + Sync + 'static {
    /// Wakes a worker that is blocked in [`Extension::idle`]. The scheduler
    /// calls it after queueing work while some worker is idle. A tickle that
    /// arrives before the worker actually blocks must not be lost.
    fn tickle(&self);

    /// Runs on a worker thread (not on a fiber) when it has nothing to do.
    /// Returns when there may be work: after a tickle, or after it scheduled
    /// tasks itself. Must not busy-wait.
    fn idle(&self, scheduler: &Handle);

    /// Whether, as far as the extension is concerned, the scheduler may stop
    /// now (sylar's `stopping()`): the I/O manager answers "no" while fibers
    /// wait for events or timers. Called only after `stop` was requested.
    fn stopping(&self, scheduler: &Handle) -> bool {
        let _ = scheduler;
        true
    }

    /// Runs on each worker thread before its scheduling loop starts.
    fn on_thread_start(&self, scheduler: &Handle, worker: usize) {
        let _ = (scheduler, worker);
    }

    /// Runs on each worker thread after its scheduling loop ends.
    fn on_thread_stop(&self, scheduler: &Handle, worker: usize) {
        let _ = (scheduler, worker);
    }
}
// ANCHOR_END: extension
