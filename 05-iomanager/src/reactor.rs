//! The reactor: epoll, the fd table, the timers, and the idle loop that
//! turns kernel notifications into fibers ready to run.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use sylar_fiber::{Fiber, WakeReason};
use sylar_scheduler::{Extension, Handle, Task, WeakHandle};

use crate::busy_poll::{BusyPoll, IdleWait};
use crate::event::{Event, EventError, Waiter};
use crate::fd_context::{FdContext, FdState, SlotState, Wait};
use crate::fd_table::FdTable;
use crate::sys::{Epoll, EventFd};
use crate::timer::{TimerId, TimerManager, leak_refused};

// ANCHOR: constants
/// The epoll `data` of the wake-up eventfd; real fds are never this large.
const WAKE_TOKEN: u64 = u64::MAX;

/// How many notifications one `epoll_wait` may return.
const EVENTS_PER_WAIT: usize = 256;

/// What we ask epoll for, once per fd: both directions, peer hang-up, edge-triggered.
const INTEREST: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
// ANCHOR_END: constants

// ANCHOR: reactor
/// The I/O half of an I/O manager; the scheduler is the other half.
pub(crate) struct Reactor {
    pub name: String,
    epoll: Epoll,
    wake: Arc<EventFd>,
    fds: FdTable<FdContext>,
    pub timers: Arc<TimerManager>,
    /// Waiters registered and not yet woken (sylar's `m_pendingEventCount`).
    pending: AtomicUsize,
    /// Blocking calls sent off this reactor's fibers so far (never lowered):
    /// what [`IoHandle::blocking_calls_sent`](crate::IoHandle::blocking_calls_sent)
    /// reports, so that a test can tell a call that parked from one that ran
    /// in place, whose results are the same.
    sent_outside: AtomicU64,
    /// Ourselves, for the timeout timers' callbacks.
    weak_self: Weak<Reactor>,
    /// The scheduler this reactor belongs to (it owns us, so only a weak
    /// reference): where a waiter without a handle of its own is woken.
    home: OnceLock<WeakHandle>,
    /// Whether idle workers poll for a while before they sleep.
    pub busy_poll: BusyPoll,
}
// ANCHOR_END: reactor

thread_local! {
    /// The reactor whose worker loop runs on this thread. Raw, `const` and
    /// without destructor: chapter 6 reads it from inside hooked libc calls.
    static CURRENT: Cell<*const Reactor> = const { Cell::new(std::ptr::null()) };
    /// What `CURRENT` was before each worker loop still running on this
    /// thread began, innermost last: `on_thread_stop` puts it back.
    static OUTER: RefCell<Vec<*const Reactor>> = const { RefCell::new(Vec::new()) };
    /// This thread's buffer for epoll notifications.
    static EVENTS: RefCell<Vec<libc::epoll_event>> = const { RefCell::new(Vec::new()) };
}

// ANCHOR: woken
/// Fibers and callbacks woken during one round of the idle loop, scheduled
/// together at its end.
#[derive(Default)]
struct Woken {
    /// For the reactor's own scheduler.
    home: Vec<Task>,
    /// For other schedulers, each with its handle.
    elsewhere: Vec<(Handle, Task)>,
    /// How many of them were registered waiters (each counted in `pending`).
    waiters: usize,
}

impl Woken {
    /// Room for `n` wake-ups, so that a round of the idle loop fills its
    /// list without growing it step by step.
    fn with_capacity(n: usize) -> Woken {
        Woken {
            home: Vec::with_capacity(n),
            ..Woken::default()
        }
    }

    fn add(&mut self, wait: Wait, reason: WakeReason) {
        let task = match wait.waiter {
            Waiter::Fiber(mut fiber) => {
                fiber.set_wake_reason(reason);
                Task::Fiber(fiber)
            }
            Waiter::Call(f) => Task::call(move || f(reason)),
        };
        self.push(wait.handle, task);
        self.waiters += 1;
    }

    /// Queues `task` for the scheduler `on`, or the reactor's own (`None`).
    #[inline]
    fn push(&mut self, on: Option<Handle>, task: Task) {
        match on {
            None => self.home.push(task),
            Some(handle) => self.elsewhere.push((handle, task)),
        }
    }

    /// Schedules everything, one lock per scheduler (`home` is the reactor's
    /// own, `None` if it is gone), *then* lowers the pending count: a
    /// stopping worker that sees the count at zero must also see the tasks
    /// in the queue. Returns whether this flush brought the count to zero.
    fn flush(mut self, home: Option<&Handle>, pending: &AtomicUsize) -> bool {
        if !self.home.is_empty() {
            schedule_or_leak(home, &mut self.home.drain(..));
        }
        while let Some((first, _)) = self.elsewhere.first() {
            let handle = first.clone();
            // Take that scheduler's tasks out in place (usually all of
            // them), in order, without building new vectors.
            let mut tasks = self
                .elsewhere
                .extract_if(.., |(h, _)| h.same_as(&handle))
                .map(|(_, task)| task);
            schedule_or_leak(Some(&handle), &mut tasks);
        }
        let before = pending.fetch_sub(self.waiters, Ordering::AcqRel);
        self.waiters > 0 && before == self.waiters
    }
}

/// Schedules `tasks` on `on`; if it has stopped (or is gone), leaks them:
/// a parked fiber must not be dropped.
fn schedule_or_leak(on: Option<&Handle>, tasks: &mut impl Iterator<Item = Task>) {
    let refused = match on {
        Some(handle) => match handle.schedule_batch(tasks) {
            Ok(()) => return,
            Err(e) => {
                log::error!(target: "system", "cannot wake waiters on {}: {e}", handle.name());
                e.task
            }
        },
        None => match tasks.next() {
            Some(task) => {
                log::error!(target: "system", "cannot wake waiters: their scheduler is gone");
                task
            }
            None => return,
        },
    };
    leak_refused(refused);
    tasks.for_each(leak_refused);
}
// ANCHOR_END: woken

// ANCHOR: reactors
/// Every live reactor, so that closing an fd anywhere can make each of them
/// forget it (an fd may be watched by any I/O manager, and closed on any thread).
static REACTORS: Mutex<Vec<Weak<Reactor>>> = Mutex::new(Vec::new());

/// Set in the child of a `fork`: its copy of `REACTORS` may be locked by a
/// thread that does not exist there, and it has no running reactor anyway.
static IN_FORKED_CHILD: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    IN_FORKED_CHILD.store(true, Ordering::Relaxed);
}

/// Registers the fork handler, once per process, before `REACTORS` is first
/// locked (a fork before any I/O manager exists still needs it).
fn watch_for_fork() {
    static ATFORK: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a child handler that only stores to an atomic.
    ATFORK.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    });
}
// ANCHOR_END: reactors

// ANCHOR: forget_everywhere
/// Makes every I/O manager in the process forget `fd`: its waiters are woken
/// with `Cancelled` and it leaves their epoll sets. Chapter 6's `close` hook
/// calls this before the real `close`, so that a new fd reusing the number
/// starts clean wherever the old one was watched.
pub fn forget_fd_everywhere(fd: RawFd) {
    watch_for_fork();
    if IN_FORKED_CHILD.load(Ordering::Relaxed) {
        return;
    }
    let live: Vec<Arc<Reactor>> = {
        let mut reactors = REACTORS.lock().unwrap_or_else(|e| e.into_inner());
        let mut live = Vec::with_capacity(reactors.len());
        reactors.retain(|weak| match weak.upgrade() {
            Some(reactor) => {
                live.push(reactor);
                true
            }
            None => false,
        });
        live
    };
    // Outside the lock: if another thread drops its I/O manager meanwhile,
    // the last reference to that reactor is ours, and dropping it closes its
    // epoll and eventfd through the hooked `close`, which comes back here for
    // the lock. Under the lock, that was a thread deadlocked on itself.
    for reactor in &live {
        reactor.forget(fd, WakeReason::Cancelled);
    }
}
// ANCHOR_END: forget_everywhere

impl Reactor {
    pub fn new(name: &str) -> std::io::Result<Arc<Reactor>> {
        let epoll = Epoll::new()?;
        let wake = Arc::new(EventFd::new()?);
        epoll.add(
            wake.raw(),
            (libc::EPOLLIN | libc::EPOLLET) as u32,
            WAKE_TOKEN,
        )?;
        let tickle = wake.clone();
        let reactor = Arc::new_cyclic(|weak_self| Reactor {
            name: name.to_string(),
            epoll,
            wake,
            fds: FdTable::new(),
            timers: TimerManager::new(move || tickle.notify()),
            pending: AtomicUsize::new(0),
            sent_outside: AtomicU64::new(0),
            weak_self: weak_self.clone(),
            home: OnceLock::new(),
            busy_poll: BusyPoll::default(),
        });
        watch_for_fork();
        REACTORS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&reactor));
        Ok(reactor)
    }

    /// Records the scheduler this reactor serves (once, before it starts).
    pub fn set_home(&self, scheduler: WeakHandle) {
        let _ = self.home.set(scheduler);
    }

    /// The scheduler this reactor serves, unless it is gone.
    fn home(&self) -> Option<Handle> {
        self.home.get()?.upgrade()
    }

    // ANCHOR: elsewhere
    /// The scheduler a waiter registered now from the calling thread must be
    /// woken on, if it is not this reactor's own: `None` (the usual case, no
    /// reference count taken, one thread-local read) when the caller runs on
    /// a worker of the home scheduler or on no scheduler; otherwise the
    /// caller's own, so that a fiber of another scheduler goes back there.
    pub fn elsewhere(&self) -> Option<Handle> {
        match self.serves_current_task() {
            true => None,
            false => Handle::current(),
        }
    }
    // ANCHOR_END: elsewhere

    /// Flushes what was woken outside the idle loop (a cancel, a timeout, a
    /// forgotten fd): the home scheduler is looked up, an atomic upgrade of
    /// a weak handle, only if something is to be scheduled there. Closing a
    /// connection, which forgets its fd, usually wakes nobody.
    fn flush_off_loop(&self, woken: Woken) -> bool {
        let home = match woken.home.is_empty() {
            true => None,
            false => self.home(),
        };
        woken.flush(home.as_ref(), &self.pending)
    }

    // ANCHOR: current_ptr
    /// The reactor of this worker thread, if it is one (no reference count).
    pub fn current_ptr() -> *const Reactor {
        CURRENT.with(Cell::get)
    }

    /// The reactor of the scheduler running the calling task, if that
    /// scheduler is an I/O manager; null otherwise. On a worker of an I/O
    /// manager that is the thread's reactor. But a thread can run a loop of
    /// another scheduler inside its own: a fiber of I/O manager A that stops
    /// a `use_caller` plain scheduler S runs S's worker 0 loop right there,
    /// and S's tasks find `CURRENT` still naming A's reactor. They must not
    /// park on it: woken, they would go back to S, whose `stop` knew nothing
    /// of the wait and may have returned, and be leaked. So the thread's
    /// reactor counts only for its own scheduler's tasks: S's get null, as
    /// on a thread without a reactor, and block their thread instead.
    pub fn for_current_task() -> *const Reactor {
        let reactor = Reactor::current_ptr();
        // SAFETY: a non-null CURRENT names the reactor of a worker loop
        // still running on this thread (see `on_thread_stop`), alive.
        match !reactor.is_null() && unsafe { &*reactor }.serves_current_task() {
            true => reactor,
            false => std::ptr::null(),
        }
    }

    /// Whether the scheduler running on this thread is this reactor's own:
    /// one thread-local read and a comparison, no reference count.
    #[inline]
    fn serves_current_task(&self) -> bool {
        self.home.get().is_some_and(WeakHandle::is_current)
    }
    // ANCHOR_END: current_ptr

    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    // ANCHOR: blocking_count
    /// Counts a fiber that parked outside the reactor (a blocking call on
    /// the pool) as a pending waiter, so that `stop` waits for it. Called in
    /// the park hand-off, before the call is submitted: the worker still
    /// counts the fiber's task as running until the hand-off returns.
    pub fn begin_outside(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.sent_outside.fetch_add(1, Ordering::Relaxed);
    }

    /// How many calls [`Reactor::begin_outside`] has counted, ever.
    pub fn sent_outside(&self) -> u64 {
        self.sent_outside.load(Ordering::Relaxed)
    }

    /// Wakes a fiber counted by [`Reactor::begin_outside`], from the thread
    /// that ran its call: like any wake-up outside the idle loop, it is
    /// scheduled on the reactor's own scheduler (or leaked if that has
    /// stopped: a parked fiber must not be dropped), *then* the count is
    /// lowered. If that brings the count to zero, the workers are woken too:
    /// a worker that ran the fiber before the count dropped may have gone to
    /// sleep in `epoll_wait` still seeing one waiter, and unlike the fd and
    /// timer waiters, which the stop sweep ends, this one nothing else would
    /// end for it.
    pub fn end_outside(&self, fiber: Fiber) {
        let mut woken = Woken::default();
        woken.push(None, Task::Fiber(fiber));
        woken.waiters += 1;
        if self.flush_off_loop(woken) {
            self.wake.notify();
        }
    }
    // ANCHOR_END: blocking_count

    fn context(&self, fd: RawFd) -> Result<&FdContext, EventError> {
        self.fds.get(fd).ok_or(EventError::InvalidFd(fd))
    }

    // ANCHOR: register_once
    /// Registers `fd` with epoll if it is not yet (once per fd: we never
    /// re-arm, edge-triggered notifications keep coming).
    fn ensure_registered(&self, fd: RawFd, state: &mut FdState) -> Result<(), EventError> {
        if !state.registered {
            match self.epoll.add(fd, INTEREST, fd as u64) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(EventError::Register(fd, e)),
            }
            state.registered = true;
        }
        Ok(())
    }
    // ANCHOR_END: register_once

    // ANCHOR: add_event
    /// Registers a callback for `event` on `fd` (sylar's `addEvent` with a callback).
    pub fn add_callback(
        &self,
        fd: RawFd,
        event: Event,
        f: Box<dyn FnOnce(WakeReason) + Send>,
        handle: Option<Handle>,
    ) -> Result<u64, EventError> {
        let ctx = self.context(fd)?;
        let mut state = ctx.lock();
        self.ensure_registered(fd, &mut state)?;
        if !matches!(state.slot(event).state, SlotState::Empty) {
            return Err(EventError::AlreadyWaiting(fd, event));
        }
        state.slot(event).untracked_since = true;
        let token = state.new_token();
        let wait = Wait {
            waiter: Waiter::Call(f),
            handle,
            token,
            deadline: None,
        };
        if state.take_readiness(event) {
            // Already ready: run it now rather than wait for an edge that
            // has come and gone.
            drop(state);
            self.pending.fetch_add(1, Ordering::AcqRel);
            let mut woken = Woken::default();
            woken.add(wait, WakeReason::Woken);
            self.flush_off_loop(woken);
            return Ok(token);
        }
        state.slot(event).state = SlotState::Waiting(wait);
        self.pending.fetch_add(1, Ordering::AcqRel);
        Ok(token)
    }
    // ANCHOR_END: add_event

    // ANCHOR: reserve
    // ANCHOR: reserve_slot
    /// First half of parking a fiber on `event`: claims the slot, or reports
    /// that the fd became ready since the caller's last attempt (`None`:
    /// retry instead of parking). A `TRACKED` wait is also sent back to
    /// retry if a wait that is not tracked was made since the last tracked
    /// one (see [`Slot::untracked_since`](crate::fd_context::Slot)).
    pub fn reserve<const TRACKED: bool>(
        &self,
        fd: RawFd,
        event: Event,
    ) -> Result<Option<u64>, EventError> {
        let ctx = self.context(fd)?;
        let mut state = ctx.lock();
        self.ensure_registered(fd, &mut state)?;
        let slot = state.slot(event);
        if !matches!(slot.state, SlotState::Empty) {
            return Err(EventError::AlreadyWaiting(fd, event));
        }
        if !TRACKED {
            slot.untracked_since = true;
        } else if std::mem::take(&mut slot.untracked_since) {
            return Ok(None); // someone else may have had the edge
        }
        if state.take_readiness(event) {
            return Ok(None);
        }
        let token = state.new_token();
        state.slot(event).state = SlotState::Reserved(token);
        Ok(Some(token))
    }
    // ANCHOR_END: reserve_slot

    // ANCHOR: install
    /// Second half, run by the hand-off once the fiber is off its stack:
    /// installs it (with its timeout), or wakes it at once if readiness, or a
    /// cancellation, arrived in between.
    pub fn install(
        &self,
        fd: RawFd,
        event: Event,
        token: u64,
        fiber: Fiber,
        handle: Option<Handle>,
        deadline: Option<Instant>,
    ) {
        let Ok(ctx) = self.context(fd) else { return };
        let mut state = ctx.lock();
        let reason = match state.slot(event).state {
            SlotState::Reserved(t) if t == token => {
                if state.take_readiness(event) {
                    state.slot(event).state = SlotState::Empty;
                    Some(WakeReason::Woken)
                } else {
                    None
                }
            }
            // Cancelled while it was switching out.
            _ => Some(WakeReason::Cancelled),
        };
        let wait = Wait {
            waiter: Waiter::Fiber(fiber),
            handle,
            token,
            deadline,
        };
        self.pending.fetch_add(1, Ordering::AcqRel);
        if let Some(reason) = reason {
            drop(state);
            let mut woken = Woken::default();
            woken.add(wait, reason);
            self.flush_off_loop(woken);
            return;
        }
        // ANCHOR: slot_timer
        // Arm the direction's timer only if none is armed at or before
        // this deadline (see `Slot::timer`): usually one already is.
        let slot = state.slot(event);
        if let Some(at) = deadline
            && slot.timer.as_ref().is_none_or(|&(_, armed)| armed > at)
        {
            if let Some((old, _)) = slot.timer.take() {
                self.timers.cancel(old);
            }
            slot.timer = Some((self.arm_timeout(fd, event, at), at));
        }
        slot.state = SlotState::Waiting(wait);
        // ANCHOR_END: slot_timer
    }

    /// A timer that calls `on_timeout(fd, event)` at `at`.
    fn arm_timeout(&self, fd: RawFd, event: Event, at: Instant) -> TimerId {
        let reactor = self.weak_self.clone();
        self.timers.add_at(at, move || {
            if let Some(reactor) = reactor.upgrade() {
                reactor.on_timeout(fd, event);
            }
        })
    }
    // ANCHOR_END: install
    // ANCHOR_END: reserve

    // ANCHOR: expire_wait
    /// A direction's timer fired: end the current wait if its own deadline
    /// has passed (never a wait that came after the one the timer was armed
    /// for), or re-arm for the current wait's deadline.
    fn on_timeout(&self, fd: RawFd, event: Event) {
        let Some(ctx) = self.fds.get_existing(fd) else {
            return;
        };
        let mut state = ctx.lock();
        let slot = state.slot(event);
        slot.timer = None; // this very timer, firing
        let deadline = match &slot.state {
            SlotState::Waiting(wait) => wait.deadline,
            _ => None,
        };
        let Some(deadline) = deadline else {
            return; // nobody waits with a timeout now
        };
        if deadline > Instant::now() {
            slot.timer = Some((self.arm_timeout(fd, event, deadline), deadline));
            return;
        }
        let wait = slot.take_wait().expect("matched Waiting");
        drop(state);
        let mut woken = Woken::default();
        woken.add(wait, WakeReason::TimedOut);
        self.flush_off_loop(woken);
    }
    // ANCHOR_END: expire_wait

    // ANCHOR: cancel
    // ANCHOR: cancel_one
    /// Removes the waiter for `event` on `fd` and wakes it with `reason`
    /// (sylar's `cancelEvent`). Returns whether there was one.
    pub fn cancel(&self, fd: RawFd, event: Event, reason: WakeReason) -> bool {
        let Some(ctx) = self.fds.get_existing(fd) else {
            return false;
        };
        let mut state = ctx.lock();
        let slot = state.slot(event);
        match std::mem::take(&mut slot.state) {
            SlotState::Empty => false,
            // The hand-off will find its reservation gone and wake the fiber.
            SlotState::Reserved(_) => true,
            SlotState::Waiting(wait) => {
                drop(state);
                let mut woken = Woken::default();
                woken.add(wait, reason);
                self.flush_off_loop(woken);
                true
            }
        }
    }
    // ANCHOR_END: cancel_one

    // ANCHOR: remove
    /// Removes the waiter for `event` on `fd` without waking it (sylar's
    /// `delEvent`) and returns it. With a `token`, only the wait it names.
    pub fn remove(&self, fd: RawFd, event: Event, token: Option<u64>) -> Option<Waiter> {
        let ctx = self.fds.get_existing(fd)?;
        let mut state = ctx.lock();
        let slot = state.slot(event);
        if token.is_some_and(|t| !matches!(&slot.state, SlotState::Waiting(w) if w.token == t)) {
            return None;
        }
        let wait = slot.take_wait()?;
        drop(state);
        self.pending.fetch_sub(1, Ordering::AcqRel);
        Some(wait.waiter)
    }
    // ANCHOR_END: remove

    // ANCHOR: forget
    /// Wakes both waiters with `reason`, takes the fd out of epoll and forgets
    /// everything about it: call before closing it, so that a new fd with the
    /// same number starts clean.
    pub fn forget(&self, fd: RawFd, reason: WakeReason) -> bool {
        let Some(ctx) = self.fds.get_existing(fd) else {
            return false;
        };
        let mut woken = Woken::default();
        let had_waiters = {
            let mut state = ctx.lock();
            state.read_hung_up = false;
            let mut any = false;
            for event in [Event::Read, Event::Write] {
                let slot = state.slot(event);
                slot.ready = false;
                slot.untracked_since = false;
                if let Some((timer, _)) = slot.timer.take() {
                    self.timers.cancel(timer);
                }
                match std::mem::take(&mut slot.state) {
                    SlotState::Empty => {}
                    SlotState::Reserved(_) => any = true,
                    SlotState::Waiting(wait) => {
                        woken.add(wait, reason);
                        any = true;
                    }
                }
            }
            if std::mem::take(&mut state.registered) {
                // EBADF/ENOENT: already closed or never ours; nothing to undo.
                let _ = self.epoll.delete(fd);
            }
            any
        };
        self.flush_off_loop(woken);
        had_waiters
    }
    // ANCHOR_END: forget
    // ANCHOR_END: cancel

    // ANCHOR: trigger
    /// Epoll says the `events` happened on `fd`, and whether reading has
    /// hung up: wake their waiters, or remember them.
    fn trigger(&self, fd: RawFd, events: &[Event], read_hung_up: bool, woken: &mut Woken) {
        let Some(ctx) = self.fds.get_existing(fd) else {
            return;
        };
        let mut state = ctx.lock();
        state.read_hung_up = read_hung_up;
        for &event in events {
            let slot = state.slot(event);
            match slot.take_wait() {
                Some(wait) => woken.add(wait, WakeReason::Woken),
                None => slot.ready = true,
            }
        }
    }
    // ANCHOR_END: trigger

    // ANCHOR: cancel_everything
    /// Wakes every waiter of every fd with `Cancelled` and drops every
    /// callback timer: what `stop` does once nothing else can run.
    /// Returns whether anything was woken or dropped (then the caller must
    /// not sleep: `stopping` may have become true).
    fn cancel_everything(&self, scheduler: &Handle) -> bool {
        let mut woken = Woken::default();
        self.fds.for_each(|_, ctx| {
            let mut state = ctx.lock();
            for event in [Event::Read, Event::Write] {
                let slot = state.slot(event);
                if let Some(wait) = slot.take_wait() {
                    woken.add(wait, WakeReason::Cancelled);
                }
                // Its timer is among the callbacks dropped below.
                slot.timer = None;
            }
        });
        let dropped = self.timers.cancel_callbacks();
        if woken.waiters > 0 || dropped > 0 {
            log::info!(
                target: "system",
                "{}: stopping; woke {} waiting fiber(s)/callback(s) with Cancelled, dropped {} timer(s)",
                self.name,
                woken.waiters,
                dropped
            );
        }
        let any = woken.waiters > 0 || dropped > 0;
        woken.flush(Some(scheduler), &self.pending);
        any
    }
    // ANCHOR_END: cancel_everything

    // ANCHOR: idle
    /// One round of the idle loop (sylar's `IOManager::idle`): sleep in
    /// epoll_wait until an fd is ready, a timer is due, or a tickle; then
    /// schedule everything that woke, and return so the worker runs it.
    fn poll_once(&self, scheduler: &Handle) {
        // After `stop`, whatever still waits is woken; then this worker must
        // not sleep but go back and run what it just scheduled.
        let swept = scheduler.is_stopping() && self.cancel_everything(scheduler);
        let wait = match swept {
            true => IdleWait::Poll,
            false => self.busy_poll.plan(),
        };
        let timeout = match wait {
            IdleWait::Poll => Some(std::time::Duration::ZERO),
            IdleWait::Sleep(_) => self
                .timers
                .next_deadline()
                .map(|at| at.saturating_duration_since(Instant::now())),
        };
        EVENTS.with(|events| {
            let mut events = events.borrow_mut();
            if events.is_empty() {
                events.resize(EVENTS_PER_WAIT, libc::epoll_event { events: 0, u64: 0 });
            }
            let ready = match self.epoll.wait(&mut events, timeout) {
                Ok(ready) => ready,
                Err(e) => {
                    log::error!(target: "system", "{}: epoll_wait failed: {e}", self.name);
                    return;
                }
            };
            self.busy_poll.learn(wait, !ready.is_empty());
            let mut woken = Woken::with_capacity(ready.len());
            for event in ready {
                let (bits, data) = (event.events, event.u64);
                if data == WAKE_TOKEN {
                    self.wake.drain();
                    continue;
                }
                let fd = data as RawFd;
                // An error or hang-up wakes whoever waits, in both
                // directions: their next read or write reports it.
                let broken = bits & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0;
                let read = broken
                    || bits & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLPRI) as u32 != 0;
                let write = broken || bits & libc::EPOLLOUT as u32 != 0;
                let events = match (read, write) {
                    (true, true) => &[Event::Read, Event::Write][..],
                    (true, false) => &[Event::Read][..],
                    (false, true) => &[Event::Write][..],
                    (false, false) => &[][..],
                };
                let read_hung_up = bits & (libc::EPOLLRDHUP | libc::EPOLLHUP) as u32 != 0;
                self.trigger(fd, events, read_hung_up, &mut woken);
            }
            for expired in self.timers.collect_expired(Instant::now()) {
                if let Some((task, on)) = expired.into_task() {
                    woken.push(on, task);
                }
            }
            woken.flush(Some(scheduler), &self.pending);
        });
    }
    // ANCHOR_END: idle
}

// ANCHOR: extension
impl Extension for Reactor {
    fn tickle(&self) {
        self.wake.notify();
    }

    fn idle(&self, scheduler: &Handle) {
        self.poll_once(scheduler);
    }

    /// Stopping is allowed once no waiter and no timer is left. `poll_once`
    /// makes that happen: after `stop`, it cancels waiters and callback
    /// timers; sleeping fibers are left to wake at their deadline.
    fn stopping(&self, _scheduler: &Handle) -> bool {
        self.pending() == 0 && self.timers.is_empty()
    }

    /// Makes this reactor the thread's, remembering the one before. That is
    /// usually none, but worker loops nest: a fiber of I/O manager A that
    /// stops a `use_caller` I/O manager B runs B's worker 0 loop right there,
    /// on A's worker thread, and then goes on as A's fiber.
    fn on_thread_start(&self, _scheduler: &Handle, _worker: usize) {
        let previous = CURRENT.with(|c| c.replace(self));
        OUTER.with_borrow_mut(|outer| outer.push(previous));
    }

    /// Puts back the reactor of the loop this one ran inside (if any), so
    /// that A's fiber, and every later one on the thread, still finds A's
    /// reactor: `IoHandle::current`, `wait_current` and chapter 6's hooks
    /// read it. That loop still runs further down the stack (a loop never
    /// suspends the fiber it runs on), and its scheduler keeps its reactor.
    fn on_thread_stop(&self, _scheduler: &Handle, _worker: usize) {
        let previous = OUTER.with_borrow_mut(Vec::pop).unwrap_or(std::ptr::null());
        CURRENT.with(|c| c.set(previous));
    }
}
// ANCHOR_END: extension

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("name", &self.name)
            .field("pending", &self.pending())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}
