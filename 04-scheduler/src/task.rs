//! What a scheduler runs: a fiber, or a closure.

use std::fmt;

use sylar_fiber::Fiber;

// ANCHOR: task
/// One unit of work in a scheduler's queue, as in sylar's `FiberAndThread`:
/// either a fiber to resume or a closure to call (on a fiber the scheduler
/// provides, so the closure may yield and park too).
pub enum Task {
    /// A fiber, resumed where it left off.
    Fiber(Fiber),
    /// A closure, called once.
    Call(Box<dyn FnOnce() + Send + 'static>),
}
// ANCHOR_END: task

impl Task {
    /// Wraps a closure.
    pub fn call(f: impl FnOnce() + Send + 'static) -> Task {
        Task::Call(Box::new(f))
    }
}

impl From<Fiber> for Task {
    fn from(fiber: Fiber) -> Task {
        Task::Fiber(fiber)
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Fiber(fiber) => f.debug_tuple("Task::Fiber").field(fiber).finish(),
            Task::Call(_) => f.write_str("Task::Call(..)"),
        }
    }
}

// ANCHOR: schedule_error
/// Why a task was not accepted; the task comes back so that nothing is lost
/// (dropping a parked fiber would leak its stack).
#[derive(Debug)]
pub struct ScheduleError {
    /// The task that was refused.
    pub task: Task,
    /// Why.
    pub reason: Rejection,
}
// ANCHOR_END: schedule_error

// ANCHOR: rejection
/// The reason in a [`ScheduleError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The scheduler has stopped: its threads are gone.
    Stopped,
    /// The task was pinned to a worker index the scheduler does not have.
    NoSuchWorker(usize),
}
// ANCHOR_END: rejection

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            Rejection::Stopped => f.write_str("the scheduler has stopped"),
            Rejection::NoSuchWorker(i) => write!(f, "the scheduler has no worker {i}"),
        }
    }
}

impl std::error::Error for ScheduleError {}
