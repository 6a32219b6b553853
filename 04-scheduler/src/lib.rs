//! # sylar-scheduler — chapter 4: the N:M scheduler
//!
//! N fibers on M threads. A [`Scheduler`] owns a pool of worker threads; each
//! runs a scheduling loop that takes tasks — [fibers](sylar_fiber::Fiber) or
//! closures — from one shared queue and runs them until they finish, yield
//! (they go back in the queue) or park (whoever they handed themselves to
//! schedules them again). A worker with nothing to do sleeps in `idle` until
//! it is tickled.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use sylar_scheduler::Scheduler;
//!
//! let scheduler = Scheduler::new(2, false, "demo");
//! scheduler.start().unwrap();
//! let count = Arc::new(AtomicUsize::new(0));
//! for _ in 0..100 {
//!     let count = count.clone();
//!     scheduler.schedule(move || { count.fetch_add(1, Ordering::Relaxed); }).unwrap();
//! }
//! scheduler.stop(); // returns once all 100 have run
//! assert_eq!(count.load(Ordering::Relaxed), 100);
//! ```
//!
//! ## Layout
//! - `task`: [`Task`] (a fiber or a closure) and [`ScheduleError`].
//! - `queue`: the shared run queue and the counts kept under its lock.
//! - `handle`: [`Handle`], for scheduling from anywhere; `Handle::current()`;
//!   [`WeakHandle`], one that does not keep the scheduler alive.
//! - `scheduler`: [`Scheduler`], the owner: `new`, `start`, `stop`, `use_caller`.
//! - `worker`: the scheduling loop, the runner fibers that call closures, idle.
//! - `extension`: [`Extension`] — sylar's virtual `tickle`, `idle`, `stopping`.

mod extension;
mod handle;
mod queue;
mod scheduler;
mod task;
mod worker;

pub use extension::Extension;
pub use handle::{Handle, WeakHandle};
pub use scheduler::{MAX_WORKERS, Scheduler};
pub use task::{Rejection, ScheduleError, Task};
