//! `IoManager` (the owner) and `IoHandle` (for use anywhere): a scheduler
//! whose idle workers wait in epoll, plus the calls fibers use to wait for
//! file descriptors and time.

use std::any::Any;
use std::fmt;
use std::io;
use std::ops::Deref;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sylar_fiber::{NotInFiber, WakeReason, in_fiber, park};
use sylar_scheduler::{Handle, ScheduleError, Scheduler};

use crate::blocking;
use crate::event::{Event, EventError, Waiter};
use crate::reactor::Reactor;
use crate::timer::{Timer, TimerManager};

/// Names one wait registered with [`IoHandle::add_event`], among the waits
/// on its fd (a key is only meaningful with the fd it was registered on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventKey(u64);

// ANCHOR: iomanager
/// An I/O manager (sylar's `IOManager`): a [`Scheduler`] whose workers, when
/// they have nothing to run, sleep in `epoll_wait` and wake the fibers whose
/// fds became ready or whose timers expired.
///
/// It owns the worker threads; [`IoManager::stop`] (or dropping it) ends
/// them. Everything else is on [`IoHandle`], which it dereferences to.
pub struct IoManager {
    scheduler: Scheduler,
    io: IoHandle,
}

/// A clonable reference to an I/O manager, for registering events, waiting,
/// sleeping and scheduling from anywhere.
#[derive(Clone)]
pub struct IoHandle {
    scheduler: Handle,
    reactor: Arc<Reactor>,
}
// ANCHOR_END: iomanager

impl IoManager {
    // ANCHOR: new
    /// Creates the epoll instance, the wake-up eventfd and the timers, and
    /// starts `threads` workers named `<name>_<i>` (see [`Scheduler::new`]
    /// for `use_caller`).
    pub fn new(threads: usize, use_caller: bool, name: &str) -> io::Result<IoManager> {
        let reactor = Reactor::new(name)?;
        let scheduler = Scheduler::with_extension(threads, use_caller, name, reactor.clone());
        reactor.set_home(scheduler.downgrade());
        scheduler.start()?;
        let io = IoHandle {
            scheduler: scheduler.handle(),
            reactor,
        };
        Ok(IoManager { scheduler, io })
    }
    // ANCHOR_END: new

    // ANCHOR: stop
    /// Stops the I/O manager and returns once its threads have exited.
    ///
    /// Queued tasks run first. Then nothing that waits forever may hold the
    /// stop up: fibers waiting on an fd are woken with
    /// [`WakeReason::Cancelled`] — never dropped, since dropping a fiber
    /// parked inside a hooked libc call would abort the process — and
    /// callback timers, recurring ones included, are cancelled. Fibers
    /// sleeping on a timer are woken when it expires.
    pub fn stop(&self) {
        self.scheduler.stop();
    }
    // ANCHOR_END: stop

    /// A handle for use elsewhere.
    pub fn handle(&self) -> IoHandle {
        self.io.clone()
    }
}

impl Deref for IoManager {
    type Target = IoHandle;
    fn deref(&self) -> &IoHandle {
        &self.io
    }
}

impl IoHandle {
    // ANCHOR: current
    /// The I/O manager running the calling task, if any (sylar's `IOManager::GetThis()`).
    ///
    /// `None` for a task of a plain scheduler even on an I/O manager's
    /// thread (one whose loop runs inside another's, as a `use_caller`
    /// scheduler's does in `stop`): the thread's reactor is only for its
    /// own scheduler's fibers, which are the only ones its `stop` waits for.
    #[inline(never)]
    pub fn current() -> Option<IoHandle> {
        let scheduler = Handle::current()?;
        let reactor = Reactor::for_current_task();
        if reactor.is_null() {
            return None;
        }
        // SAFETY: the pointer is set by `Reactor::on_thread_start` on this
        // worker thread and put back to the outer loop's value (or null) by
        // `on_thread_stop`, so it names the reactor of a worker loop still
        // running on this thread; that loop's scheduler state holds an
        // `Arc<Reactor>` as its extension, so the count is at least one.
        let reactor = unsafe {
            Arc::increment_strong_count(reactor);
            Arc::from_raw(reactor)
        };
        Some(IoHandle { scheduler, reactor })
    }

    /// Whether the calling thread is a worker of some I/O manager. Costs one
    /// thread-local read; chapter 6 asks it on every hooked call. The task
    /// asking may still belong to another scheduler, one whose loop runs
    /// inside the worker's (see [`IoHandle::current`]): only
    /// [`IoHandle::current`] and [`IoHandle::wait_current`] tell.
    #[inline(never)]
    pub fn on_worker_thread() -> bool {
        !Reactor::current_ptr().is_null()
    }
    // ANCHOR_END: current

    // ANCHOR: set_busy_poll
    /// Lets idle workers poll epoll without sleeping for up to `window`
    /// while events keep arriving within it; zero (the default) turns it
    /// off. Polling trades CPU for the cost of being woken: worth it on a
    /// loaded server with a core to itself, not on a shared machine. A
    /// worker sleeps again after a whole window of polls finds nothing.
    pub fn set_busy_poll(&self, window: Duration) {
        self.reactor.busy_poll.set_window(window);
    }

    /// The busy-poll window (zero: off).
    pub fn busy_poll(&self) -> Duration {
        self.reactor.busy_poll.window()
    }
    // ANCHOR_END: set_busy_poll

    /// The scheduler half, for scheduling tasks.
    pub fn scheduler(&self) -> &Handle {
        &self.scheduler
    }

    /// Queues a closure on this I/O manager's workers.
    pub fn schedule(&self, f: impl FnOnce() + Send + 'static) -> Result<(), ScheduleError> {
        self.scheduler.schedule(f)
    }

    // ANCHOR: events
    // ANCHOR: add_event
    /// Calls `f` (as a task on the current scheduler, or this one) when
    /// `event` happens on `fd`, or when the wait is cancelled — `f` gets the
    /// reason. One waiter per fd and direction: a second is an error.
    /// Returns a key naming this wait, for [`IoHandle::del_event_if`].
    pub fn add_event(
        &self,
        fd: RawFd,
        event: Event,
        f: impl FnOnce(WakeReason) + Send + 'static,
    ) -> Result<EventKey, EventError> {
        let handle = self.reactor.elsewhere();
        self.reactor
            .add_callback(fd, event, Box::new(f), handle)
            .map(EventKey)
    }
    // ANCHOR_END: add_event

    // ANCHOR: wait
    /// Parks the calling fiber until `event` happens on `fd`, the deadline
    /// passes ([`WakeReason::TimedOut`]) or the wait is cancelled
    /// ([`WakeReason::Cancelled`]). The fiber resumes on the scheduler it
    /// was running on.
    ///
    /// The fd is registered with epoll once, on its first wait, and stays
    /// registered: call [`IoHandle::forget_fd`] before closing it, or a new
    /// fd that reuses the number would be taken for registered and never
    /// report an event. (sylar re-registers on every wait instead, at the
    /// cost of two `epoll_ctl` calls per wait; chapter 6's `close` hook
    /// calls `forget_fd` for us.)
    ///
    /// A `Woken` return means "try your I/O again", not a promise that it
    /// will not block: the fd may have become ready before the call (we
    /// remember readiness that arrived while nobody waited, and return at
    /// once), or another reader may have taken the data.
    pub fn wait(
        &self,
        fd: RawFd,
        event: Event,
        deadline: Option<Instant>,
    ) -> Result<WakeReason, EventError> {
        if !in_fiber() {
            return Err(EventError::NotInFiber);
        }
        let Some(token) = self.reactor.reserve::<false>(fd, event)? else {
            return Ok(WakeReason::Woken);
        };
        let reactor = self.reactor.clone();
        let handle = self.reactor.elsewhere();
        park(move |fiber| reactor.install(fd, event, token, fiber, handle, deadline))
            .map_err(|NotInFiber| EventError::NotInFiber)
    }

    // ANCHOR: wait_current
    /// [`IoHandle::wait`] on the I/O manager running the calling fiber,
    /// without building an `IoHandle` (no reference counts to touch).
    /// `NotInFiber` when the caller is not a fiber of an I/O manager (one
    /// of another scheduler running on its thread included).
    /// Every hooked call that would block takes this path, in the form
    /// below.
    pub fn wait_current(
        fd: RawFd,
        event: Event,
        deadline: Option<Instant>,
    ) -> Result<WakeReason, EventError> {
        Self::wait_current_as::<false>(fd, event, deadline)
    }

    // ANCHOR: wait_current_tracked
    /// [`IoHandle::wait_current`] for a caller that keeps its own record of
    /// whether `fd` has anything for it, and may wait without trying its
    /// I/O first (chapter 6 skips the read that follows a short read). That
    /// record holds only while the edges epoll reports come to this caller:
    /// a wait made any other way (`wait`, `wait_current`, `add_event`) may
    /// have been woken by an edge this caller never saw, and no other edge
    /// will come for the same bytes. So if such a wait was made on `fd` and
    /// `event` since this caller's last wait, this returns `Woken` at once,
    /// and the caller tries its I/O instead of waiting for an edge that may
    /// have come and gone. The reactor keeps one flag per fd and direction
    /// for it, under the lock `wait` takes anyway.
    pub fn wait_current_tracked(
        fd: RawFd,
        event: Event,
        deadline: Option<Instant>,
    ) -> Result<WakeReason, EventError> {
        Self::wait_current_as::<true>(fd, event, deadline)
    }
    // ANCHOR_END: wait_current_tracked

    #[inline(always)]
    fn wait_current_as<const TRACKED: bool>(
        fd: RawFd,
        event: Event,
        deadline: Option<Instant>,
    ) -> Result<WakeReason, EventError> {
        let reactor = Reactor::for_current_task();
        if reactor.is_null() || !in_fiber() {
            return Err(EventError::NotInFiber);
        }
        // SAFETY: a non-null `for_current_task` names the reactor of the worker
        // loop running the calling task (the innermost, or an outer one that
        // `on_thread_stop` put back), whose scheduler holds an
        // `Arc<Reactor>` for as long as the loop runs.
        let reactor: &Reactor = unsafe { &*reactor };
        let Some(token) = reactor.reserve::<TRACKED>(fd, event)? else {
            return Ok(WakeReason::Woken);
        };
        // `for_current_task` gave us the reactor only because this fiber belongs
        // to its scheduler: woken, it goes back there (`None`, no `Handle`).
        let reactor = reactor as *const Reactor as usize;
        park(move |fiber| {
            // SAFETY: the hand-off runs on this same worker thread, right
            // after the fiber switched out, while the worker loop (and so
            // the reactor, as above) is still alive.
            let reactor = unsafe { &*(reactor as *const Reactor) };
            reactor.install(fd, event, token, fiber, None, deadline)
        })
        .map_err(|NotInFiber| EventError::NotInFiber)
    }
    // ANCHOR_END: wait_current

    // ANCHOR_END: wait

    // ANCHOR: cancel_forget
    /// Removes the waiter for `event` on `fd` without waking it (sylar's
    /// `delEvent`) and hands it back. A fiber in it is still parked: the
    /// caller must resume or schedule it (dropping it leaks its stack).
    pub fn del_event(&self, fd: RawFd, event: Event) -> Option<Waiter> {
        self.reactor.remove(fd, event, None)
    }

    /// Like [`IoHandle::del_event`], but only if the waiter there is still
    /// the one `key` names: never someone else's that came after it.
    pub fn del_event_if(&self, fd: RawFd, event: Event, key: EventKey) -> Option<Waiter> {
        self.reactor.remove(fd, event, Some(key.0))
    }

    /// Wakes the waiter for `event` on `fd` with [`WakeReason::Cancelled`]
    /// (sylar's `cancelEvent`). Returns whether there was one.
    pub fn cancel_event(&self, fd: RawFd, event: Event) -> bool {
        self.reactor.cancel(fd, event, WakeReason::Cancelled)
    }

    /// Cancels both directions (sylar's `cancelAll`). Returns whether any waited.
    pub fn cancel_all(&self, fd: RawFd) -> bool {
        let read = self.cancel_event(fd, Event::Read);
        let write = self.cancel_event(fd, Event::Write);
        read || write
    }

    /// Cancels every waiter of `fd`, removes it from epoll and forgets it.
    /// Call it before closing an fd you waited on: epoll only forgets an fd
    /// when its last duplicate closes, and a new fd with the same number must
    /// not inherit anything. (Chapter 6's `close` hook does this for you.)
    pub fn forget_fd(&self, fd: RawFd) -> bool {
        self.reactor.forget(fd, WakeReason::Cancelled)
    }
    // ANCHOR_END: cancel_forget

    /// How many waiters are registered and not yet woken, blocking calls
    /// still out ([`IoHandle::run_blocking`]) included.
    pub fn pending_events(&self) -> usize {
        self.reactor.pending()
    }

    // ANCHOR: blocking_calls_sent
    /// How many calls [`IoHandle::run_blocking`] has sent off this I/O
    /// manager's fibers since it was created: each parked its fiber while the
    /// pool ran it (or, in the child of a `fork`, which has no pool threads,
    /// while the worker ran it in the park hand-off). Calls `run_blocking`
    /// made in place (outside a fiber, or in a fiber of another scheduler)
    /// are not counted.
    ///
    /// A parked call and one made in place return the same thing, so only
    /// this count tells them apart: chapter 6's tests use it to prove that a
    /// hooked lookup really left the worker. Each I/O manager keeps its own,
    /// so tests running side by side do not disturb each other's counts.
    pub fn blocking_calls_sent(&self) -> u64 {
        self.reactor.sent_outside()
    }
    // ANCHOR_END: blocking_calls_sent
    // ANCHOR_END: events

    // ANCHOR: timers
    /// Runs `f` as a task once, after `delay`.
    pub fn add_timer(&self, delay: Duration, f: impl FnOnce() + Send + 'static) -> Timer {
        let timers = &self.reactor.timers;
        timers.handle(timers.add(delay, f))
    }

    /// Runs `f` as a task every `interval`, until cancelled or stopped.
    pub fn add_recurring_timer(
        &self,
        interval: Duration,
        f: impl Fn() + Send + Sync + 'static,
    ) -> Timer {
        let timers = &self.reactor.timers;
        timers.handle(timers.add_recurring(interval, f))
    }

    /// Runs `f` after `delay` only if `owner` is still alive then.
    pub fn add_conditional_timer<T: Any + Send + Sync>(
        &self,
        delay: Duration,
        owner: &Arc<T>,
        f: impl FnOnce() + Send + 'static,
    ) -> Timer {
        let timers = &self.reactor.timers;
        timers.handle(timers.add_conditional(delay, owner, f))
    }

    // ANCHOR: sleep
    /// Parks the calling fiber for `duration` (its thread runs other fibers
    /// meanwhile). Returns `Cancelled` if the timer was cancelled early.
    pub fn sleep(&self, duration: Duration) -> Result<WakeReason, NotInFiber> {
        if !in_fiber() {
            return Err(NotInFiber);
        }
        let timers = self.reactor.timers.clone();
        let handle = Handle::current().unwrap_or_else(|| self.scheduler.clone());
        park(move |fiber| {
            timers.add_wake(duration, fiber, handle);
        })
    }
    // ANCHOR_END: sleep

    // ANCHOR: run_blocking
    /// Runs `f`, a call that would block its thread (the system resolver, a
    /// file read, a long computation), without blocking the worker: the
    /// calling fiber parks, a helper thread of a small shared pool runs `f`,
    /// and the fiber is scheduled back on this I/O manager, with the result.
    ///
    /// Only a fiber of this I/O manager's own scheduler is parked this way;
    /// anywhere else (outside a fiber, or in a fiber of another scheduler,
    /// whose `stop` would not know about the call) `f` simply runs here.
    ///
    /// Until `f` returns, [`IoManager::stop`] does not finish: the call is
    /// counted among the pending waiters. `stop` cannot interrupt `f`, so
    /// `f` should bound its own waits. The pool is shared by every I/O
    /// manager in the process and has at most four threads: a slow call
    /// delays the others behind it, and an `f` that waits for another
    /// blocking call's result can deadlock once four such calls are out.
    ///
    /// A panic in `f` is caught on the helper thread and resumed in the
    /// calling fiber, as if the fiber itself had panicked.
    pub fn run_blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        if !in_fiber() || !Handle::current().is_some_and(|h| h.same_as(&self.scheduler)) {
            return f();
        }
        let reactor = self.reactor.clone();
        let slot = Arc::new(Mutex::new(None));
        let filled = slot.clone();
        let parked = park(move |fiber| {
            // Off the fiber's stack now: count the call, hand the fiber and
            // the call over. (Until this hand-off returns, the worker still
            // counts the fiber's task as running: `stop` cannot slip in.)
            reactor.begin_outside();
            blocking::submit(Box::new(move || {
                let result = panic::catch_unwind(AssertUnwindSafe(f));
                *filled.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                reactor.end_outside(fiber);
            }));
        });
        debug_assert!(parked.is_ok(), "in_fiber() said we are in a fiber");
        let result = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        match result.expect("a blocking call wakes its fiber only after storing its result") {
            Ok(value) => value,
            Err(payload) => panic::resume_unwind(payload),
        }
    }
    // ANCHOR_END: run_blocking

    /// The timers themselves, for inspection.
    pub fn timers(&self) -> &Arc<TimerManager> {
        &self.reactor.timers
    }
    // ANCHOR_END: timers

    /// The I/O manager's name.
    pub fn name(&self) -> &str {
        &self.reactor.name
    }
}

impl fmt::Debug for IoManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoManager").field("io", &self.io).finish()
    }
}

impl fmt::Debug for IoHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoHandle")
            .field("reactor", &self.reactor)
            .finish_non_exhaustive()
    }
}
