//! `Handle`: a cheap, clonable reference to a scheduler, for scheduling work
//! from anywhere — another thread, a task, an I/O event.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use sylar_fiber::Fiber;

use crate::extension::Extension;
use crate::queue::Queue;
use crate::task::{Rejection, ScheduleError, Task};

// ANCHOR: shared
/// Everything the owner, the handles and the worker threads share.
pub(crate) struct Shared {
    pub name: String,
    /// Worker count, the caller thread included when `use_caller`.
    pub workers: usize,
    pub use_caller: bool,
    pub queue: Mutex<Queue>,
    /// Where workers without an extension sleep.
    pub wakeup: Condvar,
    pub extension: Option<Arc<dyn Extension>>,
    pub stop_requested: AtomicBool,
    /// Set once every worker has left its loop: nothing will run any more.
    pub stopped: AtomicBool,
}
// ANCHOR_END: shared

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Queue> {
        // Tasks never run under this lock, so a panic cannot poison it
        // half-way; recover the guard if it ever happens.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ANCHOR: tickle
    /// Wakes one idle worker (all of them for pinned work without an
    /// extension, since a condition variable cannot pick one).
    pub fn tickle(&self, pinned: bool) {
        match &self.extension {
            Some(ext) => ext.tickle(),
            None if pinned => self.wakeup.notify_all(),
            None => self.wakeup.notify_one(),
        }
    }
    // ANCHOR_END: tickle

    // ANCHOR: tickle_all
    /// Wakes every idle worker (stop was requested, or the last task ended).
    pub fn tickle_all(&self) {
        match &self.extension {
            Some(ext) => {
                let idle = self.lock().idle;
                for _ in 0..idle.max(1) {
                    ext.tickle();
                }
            }
            None => self.wakeup.notify_all(),
        }
    }
    // ANCHOR_END: tickle_all
}

// ANCHOR: current_static
thread_local! {
    /// The scheduler whose worker loop runs on this thread, and the worker's
    /// index. Raw and `const` so that reading it is free and it has no
    /// destructor; the worker loop holds an `Arc` while it is set.
    static CURRENT: Cell<(*const Shared, usize)> = const { Cell::new((std::ptr::null(), 0)) };
}
// ANCHOR_END: current_static

// ANCHOR: current_guard
/// Sets [`CURRENT`] for the life of a worker loop, and puts back what was
/// there before.
///
/// Usually that is "none". But a loop can run inside another: a task of
/// scheduler A that stops a `use_caller` scheduler B runs B's worker 0 loop
/// right there, on A's worker thread, and then goes on as A's task. A's
/// value must come back then, or that task and every later one on the thread
/// would find no scheduler. The outer loop is still running further down the
/// thread's stack (a loop never suspends the fiber it runs on, so the inner
/// one ends on the thread it began on), holding its `Arc`: the restored
/// pointer keeps [`Handle::current`]'s promise.
pub(crate) struct CurrentGuard {
    previous: (*const Shared, usize),
}

impl CurrentGuard {
    pub fn set(shared: &Arc<Shared>, index: usize) -> CurrentGuard {
        let previous = CURRENT.with(|c| c.replace((Arc::as_ptr(shared), index)));
        CurrentGuard { previous }
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}
// ANCHOR_END: current_guard

// ANCHOR: tickle_after
/// Sends the tickle a batch's pushes asked for, once the queue's lock is
/// released, on the way out of `schedule_batch` however it leaves. A push
/// that asks for a tickle marks one as sent (`Queue::tickled`), and later
/// pushes send none while it is: if the batch's iterator panicked before
/// the tickle went out, no worker would wake for anything queued until
/// `stop`.
struct TickleAfter<'a> {
    shared: &'a Shared,
    wake: bool,
}

impl Drop for TickleAfter<'_> {
    fn drop(&mut self) {
        if self.wake {
            self.shared.tickle(false);
        }
    }
}
// ANCHOR_END: tickle_after

// ANCHOR: handle
/// A reference to a scheduler through which work is scheduled. Cheap to
/// clone, `Send` and `Sync`; it does not keep the worker threads alive — the
/// [`Scheduler`](crate::Scheduler) that owns them does.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}
// ANCHOR_END: handle

// ANCHOR: weak_handle
/// A [`Handle`] that does not keep the scheduler alive: for what the
/// scheduler itself owns, such as its [`Extension`], where a `Handle` would be
/// a reference cycle. [`WeakHandle::upgrade`] gives the `Handle` back while
/// the scheduler exists.
#[derive(Clone)]
pub struct WeakHandle {
    shared: Weak<Shared>,
}

impl WeakHandle {
    /// The scheduler, unless it is gone (its owner and every `Handle` dropped).
    pub fn upgrade(&self) -> Option<Handle> {
        self.shared.upgrade().map(|shared| Handle { shared })
    }

    /// Whether the calling thread is running a worker loop of this
    /// scheduler: one thread-local read and a comparison, no reference
    /// count taken. Out of line, like every thread-local accessor a fiber
    /// may call (chapter 3).
    #[inline(never)]
    pub fn is_current(&self) -> bool {
        let (shared, _) = CURRENT.with(Cell::get);
        std::ptr::eq(shared, self.shared.as_ptr())
    }
}
// ANCHOR_END: weak_handle

impl Handle {
    // ANCHOR: current
    /// The scheduler running the calling task, if it runs on one (sylar's
    /// `Scheduler::GetThis()`).
    ///
    /// Never inlined: a fiber may call this, park, and call it again on
    /// another thread; each call must read that thread's value.
    #[inline(never)]
    pub fn current() -> Option<Handle> {
        let (shared, _) = CURRENT.with(Cell::get);
        if shared.is_null() {
            return None;
        }
        // SAFETY: CURRENT is non-null only while a worker loop runs on this
        // thread, and that loop holds an `Arc<Shared>` for its whole life (see
        // `CurrentGuard`, which also restores an outer loop's value only while
        // that loop still runs), so the pointee is alive and the strong count
        // is at least one; we add one for the `Arc` we hand out.
        let shared = unsafe {
            Arc::increment_strong_count(shared);
            Arc::from_raw(shared)
        };
        Some(Handle { shared })
    }

    /// The index of the worker running the calling task, if any.
    #[inline(never)]
    pub fn current_worker() -> Option<usize> {
        let (shared, index) = CURRENT.with(Cell::get);
        (!shared.is_null()).then_some(index)
    }
    // ANCHOR_END: current

    // ANCHOR: schedule
    /// Queues a closure. It runs on a fiber, so it may yield and park.
    pub fn schedule(&self, f: impl FnOnce() + Send + 'static) -> Result<(), ScheduleError> {
        self.schedule_task(Task::Call(Box::new(f)), None)
    }

    /// Queues a fiber to be resumed.
    pub fn schedule_fiber(&self, fiber: Fiber) -> Result<(), ScheduleError> {
        self.schedule_task(Task::Fiber(fiber), None)
    }

    /// Queues a task, optionally pinned to one worker (index `0..threads`).
    pub fn schedule_task(&self, task: Task, pin: Option<usize>) -> Result<(), ScheduleError> {
        if let Some(index) = pin.filter(|&i| i >= self.shared.workers) {
            return Err(ScheduleError {
                task,
                reason: Rejection::NoSuchWorker(index),
            });
        }
        let wake = {
            let mut queue = self.shared.lock();
            if self.shared.stopped.load(Ordering::Acquire) {
                drop(queue);
                return Err(ScheduleError {
                    task,
                    reason: Rejection::Stopped,
                });
            }
            queue.push(task, pin, self.current_worker_here())
        };
        if wake {
            self.shared.tickle(pin.is_some());
        }
        Ok(())
    }

    /// Queues many tasks under one lock, with at most one wake-up.
    ///
    /// The tasks are borrowed as an iterator so that none is lost when the
    /// scheduler has stopped: the error carries the first, and the others
    /// are still in the iterator, for the caller to hand elsewhere.
    ///
    /// The iterator runs under the scheduler's lock, so it must not schedule
    /// on this scheduler itself (that would deadlock). If it panics, the
    /// tasks it gave before are queued, a worker is woken for them, and the
    /// panic goes on to the caller.
    pub fn schedule_batch(
        &self,
        tasks: &mut impl Iterator<Item = Task>,
    ) -> Result<(), ScheduleError> {
        // Declared before the lock, so dropped after it: also on a panic.
        let mut tickle = TickleAfter {
            shared: &self.shared,
            wake: false,
        };
        let mut queue = self.shared.lock();
        if self.shared.stopped.load(Ordering::Acquire) {
            if let Some(task) = tasks.next() {
                return Err(ScheduleError {
                    task,
                    reason: Rejection::Stopped,
                });
            }
            return Ok(());
        }
        let from = self.current_worker_here();
        for task in tasks {
            tickle.wake |= queue.push(task, None, from);
        }
        drop(queue);
        Ok(())
    }
    // ANCHOR_END: schedule

    /// The index of the calling thread if it is a worker of *this* scheduler.
    fn current_worker_here(&self) -> Option<usize> {
        let (shared, index) = CURRENT.with(Cell::get);
        std::ptr::eq(shared, Arc::as_ptr(&self.shared)).then_some(index)
    }

    /// The scheduler's name; worker threads are named `<name>_<index>`.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// How many workers run tasks (the caller thread included with `use_caller`).
    pub fn worker_count(&self) -> usize {
        self.shared.workers
    }

    /// Whether `stop` has been requested.
    pub fn is_stopping(&self) -> bool {
        self.shared.stop_requested.load(Ordering::Acquire)
    }

    /// How many tasks are queued right now.
    pub fn queued(&self) -> usize {
        let queue = self.shared.lock();
        queue.global.len() + queue.pinned.iter().map(|q| q.len()).sum::<usize>()
    }

    /// How many tasks have run (to their end or to a yield or park) so far.
    pub fn tasks_executed(&self) -> u64 {
        self.shared.lock().executed
    }

    /// Whether two handles refer to the same scheduler.
    pub fn same_as(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A [`WeakHandle`] to this scheduler.
    pub fn downgrade(&self) -> WeakHandle {
        WeakHandle {
            shared: Arc::downgrade(&self.shared),
        }
    }
}

impl fmt::Debug for WeakHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.upgrade() {
            Some(handle) => f.debug_tuple("WeakHandle").field(&handle).finish(),
            None => f.write_str("WeakHandle(gone)"),
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("name", &self.shared.name)
            .field("workers", &self.shared.workers)
            .finish_non_exhaustive()
    }
}
