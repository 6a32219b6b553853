//! `Scheduler`: the owner of the worker threads — start, stop, and the
//! caller thread that can work too (`use_caller`).

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::extension::Extension;
use crate::handle::{Handle, Shared};
use crate::queue::Queue;
use crate::worker::Worker;

// ANCHOR: scheduler
/// An N:M scheduler: a pool of threads, each running a scheduling loop that
/// takes tasks — fibers and closures — from one shared queue.
///
/// The `Scheduler` owns the threads: it starts them, and stopping it (or
/// dropping it) waits for the queued work to finish. Schedule work through it
/// directly (it dereferences to a [`Handle`]) or through a handle, which
/// can be cloned and sent anywhere.
pub struct Scheduler {
    handle: Handle,
    threads: Mutex<Vec<JoinHandle<()>>>,
    started: AtomicBool,
    /// The thread count asked of `new`, kept to refuse `start` when it was
    /// more than [`MAX_WORKERS`].
    requested: usize,
}
// ANCHOR_END: scheduler

// ANCHOR: max_workers
/// The most workers a scheduler takes: far more threads than any machine
/// runs usefully, and small enough that the per-worker bookkeeping (a queue
/// and a flag each) stays a few megabytes. A larger count is refused by
/// [`Scheduler::start`] rather than allocated: `usize::MAX` overflowed the
/// allocation (a panic) and counts near 2^40 failed it (an abort).
pub const MAX_WORKERS: usize = 1 << 16;
// ANCHOR_END: max_workers

impl Scheduler {
    // ANCHOR: new
    /// A scheduler with `threads` workers named `<name>_<index>`.
    ///
    /// With `use_caller`, the calling thread is worker 0: only `threads - 1`
    /// new threads are started, and the caller runs the scheduling loop
    /// when it calls [`Scheduler::stop`] — tasks pinned to worker 0 run then.
    /// (Any thread that calls `stop` takes that role; normally the creator.)
    ///
    /// `threads` is at least 1 (0 means 1) and at most [`MAX_WORKERS`]: a
    /// scheduler asked for more never runs anything. Its `start` fails with
    /// `InvalidInput` naming the count, and it refuses every task
    /// ([`Rejection::Stopped`](crate::Rejection::Stopped)), handing it back.
    pub fn new(threads: usize, use_caller: bool, name: &str) -> Scheduler {
        Scheduler::build(threads, use_caller, name, None)
    }

    /// Like [`Scheduler::new`], with an [`Extension`] deciding how idle
    /// workers wait and are woken (chapter 5's I/O manager is one).
    pub fn with_extension(
        threads: usize,
        use_caller: bool,
        name: &str,
        extension: Arc<dyn Extension>,
    ) -> Scheduler {
        Scheduler::build(threads, use_caller, name, Some(extension))
    }
    // ANCHOR_END: new

    fn build(
        threads: usize,
        use_caller: bool,
        name: &str,
        extension: Option<Arc<dyn Extension>>,
    ) -> Scheduler {
        sylar_fiber::init();
        let workers = threads.clamp(1, MAX_WORKERS);
        let shared = Arc::new(Shared {
            name: name.to_string(),
            workers,
            use_caller,
            queue: Mutex::new(Queue::new(workers)),
            wakeup: Condvar::new(),
            extension,
            stop_requested: AtomicBool::new(false),
            // Too many workers: born stopped, so that nothing is queued
            // for threads that will never exist, and `stop` waits for none.
            stopped: AtomicBool::new(threads > MAX_WORKERS),
        });
        Scheduler {
            handle: Handle { shared },
            threads: Mutex::new(Vec::new()),
            started: AtomicBool::new(false),
            requested: threads,
        }
    }

    // ANCHOR: start
    /// Starts the worker threads. Calling it again does nothing.
    ///
    /// Fails if the operating system refuses to create a thread (the
    /// threads that did start keep running and `stop` still ends them), or
    /// if `new` was asked for more than [`MAX_WORKERS`] (then every time).
    pub fn start(&self) -> std::io::Result<()> {
        if self.requested > MAX_WORKERS {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "scheduler {}: {} worker threads asked for, at most {MAX_WORKERS} allowed",
                    self.handle.shared.name, self.requested
                ),
            ));
        }
        if self.started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let shared = &self.handle.shared;
        let first = usize::from(shared.use_caller);
        let mut threads = self.lock_threads();
        for index in first..shared.workers {
            let worker = Worker::new(shared.clone(), index);
            let thread = std::thread::Builder::new()
                .name(format!("{}_{}", shared.name, index))
                .spawn(move || worker.run())?;
            threads.push(thread);
        }
        Ok(())
    }
    // ANCHOR_END: start

    // ANCHOR: stop
    /// Stops the scheduler: returns once every task queued before (and any
    /// they queue in turn) has run to its end or parked, and the worker
    /// threads have exited. With `use_caller`, the calling thread works as
    /// worker 0 until then. A scheduler that was never started is started
    /// first, so that what was queued still runs.
    ///
    /// Called from inside one of this scheduler's tasks it cannot wait for
    /// itself: it only requests the stop and returns. Called by several
    /// threads at once, each returns only when the work is done.
    pub fn stop(&self) {
        let shared = &self.handle.shared;
        if !shared.stopped.load(Ordering::Acquire)
            && let Err(e) = self.start()
        {
            log::error!(target: "system", "scheduler {}: cannot start its workers to stop them: {e}", shared.name);
        }
        shared.stop_requested.store(true, Ordering::Release);
        shared.tickle_all();
        if Handle::current().is_some_and(|h| h.same_as(&self.handle)) {
            return;
        }
        // Held to the end: a second thread stopping at the same time waits
        // here until the first has seen the work done, instead of finding no
        // threads to join and marking the scheduler stopped under the feet
        // of tasks still running (which would then be refused what they
        // queue), or running a second worker 0.
        let mut threads = self.lock_threads();
        if shared.use_caller && !shared.stopped.load(Ordering::Acquire) {
            // The thread that stops the scheduler works as worker 0 until the
            // end (normally the thread that created it, as in sylar).
            Worker::new(shared.clone(), 0).run();
        }
        for thread in threads.drain(..) {
            if thread.join().is_err() {
                log::error!(target: "system", "scheduler {}: a worker thread panicked", shared.name);
            }
        }
        shared.stopped.store(true, Ordering::Release);
    }
    // ANCHOR_END: stop

    /// A handle for scheduling from elsewhere.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// The scheduler running the calling task, if any (same as
    /// [`Handle::current`]).
    pub fn current() -> Option<Handle> {
        Handle::current()
    }

    fn lock_threads(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Deref for Scheduler {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.handle
    }
}

// ANCHOR: drop
impl Drop for Scheduler {
    /// Stops the scheduler if its owner did not.
    fn drop(&mut self) {
        if !self.handle.shared.stopped.load(Ordering::Acquire) {
            self.stop();
        }
    }
}
// ANCHOR_END: drop

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("handle", &self.handle)
            .field("started", &self.started.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
