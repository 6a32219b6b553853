//! Timers: one-shot, recurring and conditional, on a monotonic clock.
//!
//! sylar keeps timers in a `std::set` ordered by deadline, computed from
//! `gettimeofday`, and guesses that the clock went backwards when "now" is an
//! hour before the last time it looked. We use [`Instant`], which never goes
//! backwards, so that guess is gone.
//!
//! The set becomes a *hierarchical timing wheel*, the structure tokio uses:
//! six levels of 64 slots. A level-0 slot is one millisecond wide, a level-1
//! slot 64 ms, a level-2 slot 4.1 s, and so on up to about two years. A timer
//! goes into the lowest level whose window still contains its deadline;
//! when the wheel reaches a higher-level slot, its timers *cascade* down to
//! finer slots, until they reach level 0 and fire. Adding and cancelling are
//! O(1) (a push, a swap-remove), and expiring walks memory in order — which
//! matters when a server holds a read timeout for each of 10,000 connections.
//!
//! ```text
//!  level 3  |  262 s slots  | . . . . . . . . . . . . . . . . . . . . |  ~4.7 h
//!  level 2  |  4.1 s slots  | . . . . . # . . . . . . . . . . . . . . |  262 s
//!  level 1  |   64 ms slots | . . # . . . . . # . . . . . . . . . . . |  4.1 s
//!  level 0  |    1 ms slots | # . . # # . . . . . . . . . . . . . . . |  64 ms
//!             ^ now                   (# = occupied slot, one bit in a u64)
//! ```

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sylar_fiber::{Fiber, WakeReason};
use sylar_scheduler::{Handle, Task};

mod handle;
mod slab;
mod wheel;

pub use handle::{Timer, TimerId};
use slab::{Slot, Timers};
use wheel::{DUE, Entry, Nanos, Wheel};

// ANCHOR: action
/// What a timer does when it fires.
enum Action {
    /// A one-shot callback.
    Once(Box<dyn FnOnce() + Send>),
    /// A recurring callback, shared so that each firing can take a copy.
    Every(Arc<dyn Fn() + Send + Sync>),
    /// A sleeping fiber, woken on its scheduler.
    Wake(Fiber, Handle),
}
// ANCHOR_END: action

// ANCHOR: manager
/// The timers of one I/O manager (or of anyone: it is usable on its own).
///
/// Every operation takes one lock, so a `cancel` that races with a `refresh`
/// or `reset` of the same timer is ordered before or after it, never lost.
pub struct TimerManager {
    /// Time zero of the wheel: every time is kept as nanoseconds since.
    origin: Instant,
    timers: Mutex<Timers>,
    /// Called (outside the lock) when a timer becomes the earliest one, so a
    /// thread sleeping until the old earliest deadline can wake up earlier.
    on_new_front: Box<dyn Fn() + Send + Sync>,
}
// ANCHOR_END: manager

// ANCHOR: expired
/// A fired timer's work, taken out of the manager so it runs without the lock.
pub struct Expired(Action);

impl Expired {
    /// Runs the work here and now (a sleeping fiber is scheduled, not run).
    pub fn run(self) {
        match self.0 {
            Action::Once(f) => f(),
            Action::Every(f) => f(),
            Action::Wake(fiber, handle) => {
                if let Err(e) = handle.schedule_fiber(fiber) {
                    log::error!(target: "system", "timer could not wake its fiber: {e}");
                    leak_refused(e.task);
                }
            }
        }
    }

    /// The work as a scheduler task (with the scheduler a sleeping fiber must
    /// go back to). `None` is reserved for work that vanished; today every
    /// timer yields a task.
    pub fn into_task(self) -> Option<(Task, Option<Handle>)> {
        match self.0 {
            Action::Once(f) => Some((Task::Call(f), None)),
            Action::Every(f) => Some((Task::call(move || f()), None)),
            Action::Wake(fiber, handle) => Some((Task::Fiber(fiber), Some(handle))),
        }
    }
}

/// A task a stopped scheduler gave back; a fiber in it is parked and must not
/// be dropped mid-stack by accident, so it is kept forever, and reported.
pub(crate) fn leak_refused(task: Task) {
    log::error!(target: "system", "a stopped scheduler refused {task:?}; it is leaked, not dropped");
    std::mem::forget(task);
}

// ANCHOR: drop_contained
/// Drops the work of a timer cancelled by `stop`, containing a panic from
/// the `Drop` of something its callback captured. This runs on a worker, in
/// the idle loop's sweep: a panic unwinding from here would end that worker
/// thread and drop the rest of the sweep, the fibers it was about to wake
/// among them, and `stop` would return with them, and every sleeping fiber,
/// lost. The panic is reported; its payload is forgotten, since dropping it
/// could panic in turn.
#[cold]
fn drop_contained(action: Action) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(action))) {
        log::error!(target: "system", "dropping a cancelled timer's callback panicked; the panic is contained");
        std::mem::forget(payload);
    }
}
// ANCHOR_END: drop_contained

/// How far "never" is: delays are capped this far ahead, so that adding
/// `Duration::MAX` cannot overflow a deadline.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A delay in nanoseconds, capped at [`FAR_FUTURE`] (which fits in 64 bits).
fn capped_nanos(delay: Duration) -> Nanos {
    duration_nanos(delay.min(FAR_FUTURE))
}

/// A length of time in nanoseconds, saturating at 584 years.
fn duration_nanos(d: Duration) -> Nanos {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}
// ANCHOR_END: expired

impl TimerManager {
    /// A manager that calls `on_new_front` when a new timer becomes the first to expire.
    pub fn new(on_new_front: impl Fn() + Send + Sync + 'static) -> Arc<TimerManager> {
        let origin = Instant::now();
        Arc::new(TimerManager {
            origin,
            timers: Mutex::new(Timers::new(origin)),
            on_new_front: Box::new(on_new_front),
        })
    }

    // ANCHOR: add
    /// A one-shot timer running `f` once, `delay` from now.
    pub fn add(&self, delay: Duration, f: impl FnOnce() + Send + 'static) -> TimerId {
        self.insert(delay, Action::Once(Box::new(f)))
    }

    /// A recurring timer running `f` every `interval`, first `interval` from now.
    pub fn add_recurring(
        &self,
        interval: Duration,
        f: impl Fn() + Send + Sync + 'static,
    ) -> TimerId {
        self.insert(interval, Action::Every(Arc::new(f)))
    }

    /// A one-shot timer whose `f` only runs if `owner` is still alive when it
    /// fires (sylar's condition timer, which holds a `weak_ptr`).
    pub fn add_conditional<T: Any + Send + Sync>(
        &self,
        delay: Duration,
        owner: &Arc<T>,
        f: impl FnOnce() + Send + 'static,
    ) -> TimerId {
        let owner: Arc<dyn Any + Send + Sync> = owner.clone();
        let owner = Arc::downgrade(&owner);
        // The owner is checked when the callback runs, as sylar does, not
        // when the timer is collected: an owner that dies while the task
        // waits in a queue still stops it.
        let f = move || {
            if owner.upgrade().is_some() {
                f()
            }
        };
        self.insert(delay, Action::Once(Box::new(f)))
    }

    /// A one-shot timer running `f` once at `at` (or at once, if `at` has
    /// passed). It has no interval: `refresh` fires it now, `reset` uses the
    /// interval it is given.
    pub fn add_at(&self, at: Instant, f: impl FnOnce() + Send + 'static) -> TimerId {
        let now = self.nanos_of(Instant::now());
        self.insert_at(now, self.nanos_of(at), 0, Action::Once(Box::new(f)))
    }

    /// A one-shot timer that schedules `fiber` on `handle` (a sleep).
    pub fn add_wake(&self, delay: Duration, fiber: Fiber, handle: Handle) -> TimerId {
        self.insert(delay, Action::Wake(fiber, handle))
    }

    /// A handle for `id` that can be kept apart from the manager (see [`Timer`]).
    pub fn handle(self: &Arc<Self>, id: TimerId) -> Timer {
        Timer {
            manager: Arc::downgrade(self),
            id,
        }
    }

    // ANCHOR: insert
    fn insert(&self, interval: Duration, action: Action) -> TimerId {
        let now = self.nanos_of(Instant::now());
        let interval = capped_nanos(interval);
        self.insert_at(now, now.saturating_add(interval), interval, action)
    }

    /// Adds a timer due at `deadline` (its period, if any, is `interval`);
    /// `now` is when it is added.
    fn insert_at(&self, now: Nanos, deadline: Nanos, interval: Nanos, action: Action) -> TimerId {
        // A deadline still to come is rounded up to its tick, so that the
        // timer never fires early. One that has come already (a zero delay,
        // an `add_at` in the past) is due at the next collection: rounded
        // up, it would wait for the next tick, up to a millisecond, for
        // nothing.
        let when = match deadline <= now {
            true => deadline / 1_000_000,
            false => Wheel::tick_of(deadline),
        };
        let (key, announce) = {
            let mut timers = self.lock();
            timers.next_id += 1;
            let id = timers.next_id;
            let announce = timers.claim_front(deadline);
            let slot = timers
                .free
                .pop()
                .unwrap_or_else(|| timers.slab.push_empty());
            let pos = timers.wheel.place(Entry { when, slab: slot });
            timers.slab[slot] = Some(Slot {
                action: Some(action),
                interval,
                start: deadline.saturating_sub(interval),
                deadline,
                pos,
                id,
            });
            timers.live += 1;
            (TimerId { slot, id }, announce)
        };
        if announce {
            (self.on_new_front)();
        }
        key
    }
    // ANCHOR_END: insert
    // ANCHOR_END: add

    /// `at` in nanoseconds since the wheel's origin (an earlier `at` counts
    /// as the origin: it is due at once either way).
    fn nanos_of(&self, at: Instant) -> Nanos {
        duration_nanos(at.saturating_duration_since(self.origin))
    }

    // ANCHOR: expire
    /// When the earliest live timer expires, if there is one. Also re-arms
    /// the "new front" announcement: the caller is about to sleep until then.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut timers = self.lock();
        timers.front_announced = false;
        timers.front_instant()
    }

    /// Takes the work of every timer whose deadline is at or before `now`,
    /// in deadline order (to the millisecond). Recurring timers are re-armed
    /// one interval from `now`.
    pub fn collect_expired(&self, now: Instant) -> Vec<Expired> {
        let mut expired = Vec::new();
        let now_nanos = self.nanos_of(now);
        let mut timers = self.lock();
        let now_tick = timers.wheel.tick_at(now);
        loop {
            let wheel = &mut timers.wheel;
            // Due by the wheel's clock; fire those due by `now` too (a
            // caller may have passed a `now` ahead of the real clock before).
            if wheel.due.iter().any(|e| e.when <= now_tick) {
                let mut due = wheel.take_list(DUE, 0);
                for entry in due.drain(..) {
                    if entry.when <= now_tick {
                        timers.fire(entry.slab, now_nanos, &mut expired);
                    } else {
                        timers.keep_due(entry);
                    }
                }
                timers.wheel.recycle(due);
                continue;
            }
            let Some((level, slot, tick)) = wheel.next_expiration() else {
                break;
            };
            if tick > now_tick {
                break;
            }
            // Advance to that slot and empty it: level-0 entries fire, the
            // others cascade to finer levels (or fire, if due already).
            wheel.elapsed = tick;
            wheel.occupied[level] &= !(1 << slot);
            let mut entries = wheel.take_list(level as u8, slot as u8);
            for entry in entries.drain(..) {
                let pos = timers.wheel.place(entry);
                if let Some(slot) = timers.slab[entry.slab].as_mut() {
                    slot.pos = pos;
                }
            }
            timers.wheel.recycle(entries);
        }
        let wheel = &mut timers.wheel;
        wheel.elapsed = wheel.elapsed.max(now_tick);
        expired
    }
    // ANCHOR_END: expire

    /// How many timers are live (added, not yet fired or cancelled).
    pub fn len(&self) -> usize {
        self.lock().live
    }

    /// Whether no timer is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many live timers are sleeping fibers.
    pub fn sleeping_fibers(&self) -> usize {
        let timers = self.lock();
        timers
            .slab
            .iter()
            .flatten()
            .filter(|s| matches!(s.action, Some(Action::Wake(..))))
            .count()
    }

    // ANCHOR: cancel_callbacks
    /// Cancels every timer except sleeping fibers (which must be woken, never
    /// dropped). Used when the I/O manager stops. Returns how many.
    pub(crate) fn cancel_callbacks(&self) -> usize {
        let dropped: Vec<Action> = {
            let mut timers = self.lock();
            let doomed: Vec<u32> = timers
                .slab
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.as_ref()
                        .is_some_and(|s| !matches!(s.action, Some(Action::Wake(..))))
                })
                .map(|(i, _)| i as u32)
                .collect();
            doomed
                .into_iter()
                .filter_map(|i| timers.remove(i))
                .collect()
        };
        let count = dropped.len();
        // Outside the lock, one at a time, each contained.
        dropped.into_iter().for_each(drop_contained);
        count
    }
    // ANCHOR_END: cancel_callbacks

    fn lock(&self) -> MutexGuard<'_, Timers> {
        // Callbacks never run under this lock; a poisoned lock still holds
        // consistent data.
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TimerManager {
    // ANCHOR: timer_ops
    /// Cancels the timer; its callback is dropped without running. Returns
    /// whether it was still live. A sleeping fiber's timer is woken instead
    /// (with [`WakeReason::Cancelled`]): a parked fiber is never dropped.
    pub fn cancel(&self, timer: TimerId) -> bool {
        let action = {
            let mut timers = self.lock();
            if timers.owned_slot(timer).is_none() {
                return false;
            }
            timers.remove(timer.slot)
        };
        if let Some(Action::Wake(mut fiber, handle)) = action {
            fiber.set_wake_reason(WakeReason::Cancelled);
            if let Err(e) = handle.schedule_fiber(fiber) {
                leak_refused(e.task);
            }
        }
        true
    }

    /// Restarts the timer's current interval from now (sylar's `refresh`).
    pub fn refresh(&self, timer: TimerId) -> bool {
        self.reschedule(timer, |slot, now| (now, slot.interval))
    }

    /// Gives the timer a new interval, counted from now or from the start of
    /// its current period (sylar's `reset(ms, from_now)`).
    pub fn reset(&self, timer: TimerId, interval: Duration, from_now: bool) -> bool {
        let interval = capped_nanos(interval);
        self.reschedule(timer, |slot, now| {
            (if from_now { now } else { slot.start }, interval)
        })
    }
    // ANCHOR_END: timer_ops

    /// When the timer will fire next, if it is live.
    pub fn deadline(&self, timer: TimerId) -> Option<Instant> {
        let deadline = self.lock().owned_slot(timer)?.deadline;
        Some(self.origin + Duration::from_nanos(deadline))
    }

    // ANCHOR: reschedule
    fn reschedule(&self, timer: TimerId, new: impl FnOnce(&Slot, Nanos) -> (Nanos, Nanos)) -> bool {
        let now = self.nanos_of(Instant::now());
        let announce = {
            let mut timers = self.lock();
            let Some(slot) = timers.owned_slot(timer) else {
                return false;
            };
            let (start, interval) = new(slot, now);
            slot.start = start;
            slot.interval = interval;
            slot.deadline = start.saturating_add(interval);
            let deadline = slot.deadline;
            timers.unschedule(timer.slot);
            let announce = timers.claim_front(deadline);
            timers.schedule(timer.slot);
            announce
        };
        if announce {
            (self.on_new_front)();
        }
        true
    }
    // ANCHOR_END: reschedule
}

impl fmt::Debug for TimerManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerManager")
            .field("live", &self.len())
            .finish()
    }
}

impl fmt::Debug for Expired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Action::Once(_) => "once",
            Action::Every(_) => "every",
            Action::Wake(..) => "wake",
        };
        f.debug_tuple("Expired").field(&kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding a million timers writes a million slab entries: at one cache
    /// line each, that memory traffic is most of the cost of `add`.
    #[test]
    fn a_slab_entry_fits_in_one_cache_line() {
        assert!(
            size_of::<Option<Slot>>() <= 64,
            "{}",
            size_of::<Option<Slot>>()
        );
    }

    #[test]
    fn times_round_trip_through_nanoseconds() {
        let manager = TimerManager::new(|| {});
        let at = manager.origin + Duration::from_micros(1_500);
        assert_eq!(manager.nanos_of(at), 1_500_000);
        // Rounded up to whole milliseconds: never early.
        assert_eq!(Wheel::tick_of(1_500_000), 2);
        assert_eq!(Wheel::tick_of(2_000_000), 2);
        // Before the origin counts as the origin; the cap fits in 64 bits.
        assert_eq!(manager.nanos_of(manager.origin - Duration::from_secs(1)), 0);
        assert_eq!(capped_nanos(Duration::MAX), FAR_FUTURE.as_nanos() as u64);
        assert_eq!(duration_nanos(Duration::MAX), u64::MAX);
        let timer = manager.add_at(at, || {});
        assert_eq!(manager.deadline(timer), Some(at));
    }
}
