//! Timers: one-shot, recurring and conditional, on a monotonic clock.
//!
//! sylar keeps timers in a `std::set` ordered by their deadline, computed from
//! `gettimeofday`, and guesses that the clock went backwards when "now" is an
//! hour before the last time it looked. We use [`Instant`], which never goes
//! backwards, so that guess is gone. The set becomes a binary heap of
//! `(deadline, sequence)` entries: adding is a push, expiring is a pop, and
//! cancelling marks the timer dead instead of searching the heap — its entry
//! is skipped when it surfaces (and the heap is compacted when dead entries
//! outnumber live ones).

use std::any::Any;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use sylar_fiber::{Fiber, WakeReason};
use sylar_scheduler::{Handle, Task};

// ANCHOR: action
/// What a timer does when it fires.
enum Action {
    /// A one-shot callback.
    Once(Box<dyn FnOnce() + Send>),
    /// A recurring callback, shared so that each firing can take a copy.
    Every(Arc<dyn Fn() + Send + Sync>),
    /// A callback that only runs while `owner` is still alive.
    Condition(Weak<dyn Any + Send + Sync>, Box<dyn FnOnce() + Send>),
    /// A sleeping fiber, woken on its scheduler.
    Wake(Fiber, Handle),
}
// ANCHOR_END: action

/// One live timer's data, in the manager's slab.
struct Slot {
    action: Option<Action>,
    interval: Duration,
    recurring: bool,
    /// When the current period started (for `reset(.., from_now = false)`).
    start: Instant,
    deadline: Instant,
    /// Bumped on every (re)scheduling: heap entries with an older value are dead.
    generation: u32,
    /// Which timer owns the slot (slots are reused): handles compare it.
    id: u64,
}

/// A heap entry: min-ordered by deadline, then by insertion order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    deadline: Instant,
    seq: u64,
    slot: u32,
    generation: u32,
}

#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    seq: u64,
    next_id: u64,
    live: usize,
    /// Whether someone was told about a new earliest deadline and has not
    /// asked for the next deadline since (see `TimerManager::add`).
    front_announced: bool,
}

// ANCHOR: manager
/// The timers of one I/O manager (or of anyone: it is usable on its own).
///
/// Every operation takes one lock, so a `cancel` that races with a `refresh`
/// or `reset` of the same timer is ordered before or after it, never lost.
pub struct TimerManager {
    timers: Mutex<Timers>,
    /// Called (outside the lock) when a timer becomes the earliest one, so a
    /// thread sleeping until the old earliest deadline can wake up earlier.
    on_new_front: Box<dyn Fn() + Send + Sync>,
}
// ANCHOR_END: manager

// ANCHOR: timer_handle
/// A handle to one timer: cancel it, refresh it, reset it. Cloning the handle
/// does not clone the timer. A handle whose timer has fired (one-shot), or
/// been cancelled, is inert: its methods return `false`.
#[derive(Clone)]
pub struct Timer {
    manager: Weak<TimerManager>,
    slot: u32,
    id: u64,
}
// ANCHOR_END: timer_handle

/// A fired timer's work, taken out of the manager so it runs without the lock.
pub struct Expired(Action);

impl Expired {
    /// Runs the work here and now (a sleeping fiber is scheduled, not run).
    pub fn run(self) {
        match self.0 {
            Action::Once(f) => f(),
            Action::Every(f) => f(),
            Action::Condition(owner, f) => {
                if owner.upgrade().is_some() {
                    f()
                }
            }
            Action::Wake(fiber, handle) => {
                if let Err(e) = handle.schedule_fiber(fiber) {
                    log::error!(target: "system", "timer could not wake its fiber: {e}");
                    leak_refused(e.task);
                }
            }
        }
    }

    /// The work as a scheduler task, or `None` when there is nothing to do
    /// (a conditional timer whose owner is gone).
    pub fn into_task(self) -> Option<(Task, Option<Handle>)> {
        match self.0 {
            Action::Once(f) => Some((Task::Call(f), None)),
            Action::Every(f) => Some((Task::call(move || f()), None)),
            Action::Condition(owner, f) => owner.upgrade().map(|_| (Task::Call(f), None)),
            Action::Wake(fiber, handle) => Some((Task::Fiber(fiber), Some(handle))),
        }
    }
}

/// A task a stopped scheduler gave back; a fiber in it is parked and must not
/// be dropped mid-stack by accident, so it is kept forever (and reported).
pub(crate) fn leak_refused(task: Task) {
    std::mem::forget(task);
}

impl TimerManager {
    /// A manager that calls `on_new_front` when a new timer becomes the first to expire.
    pub fn new(on_new_front: impl Fn() + Send + Sync + 'static) -> Arc<TimerManager> {
        Arc::new(TimerManager {
            timers: Mutex::new(Timers::default()),
            on_new_front: Box::new(on_new_front),
        })
    }

    // ANCHOR: add
    /// A one-shot timer running `f` once, `delay` from now.
    pub fn add(self: &Arc<Self>, delay: Duration, f: impl FnOnce() + Send + 'static) -> Timer {
        self.insert(delay, false, Action::Once(Box::new(f)))
    }

    /// A recurring timer running `f` every `interval`, first `interval` from now.
    pub fn add_recurring(
        self: &Arc<Self>,
        interval: Duration,
        f: impl Fn() + Send + Sync + 'static,
    ) -> Timer {
        self.insert(interval, true, Action::Every(Arc::new(f)))
    }

    /// A one-shot timer whose `f` only runs if `owner` is still alive when it
    /// fires (sylar's condition timer, which holds a `weak_ptr`).
    pub fn add_conditional<T: Any + Send + Sync>(
        self: &Arc<Self>,
        delay: Duration,
        owner: &Arc<T>,
        f: impl FnOnce() + Send + 'static,
    ) -> Timer {
        let owner: Arc<dyn Any + Send + Sync> = owner.clone();
        let weak = Arc::downgrade(&owner);
        self.insert(delay, false, Action::Condition(weak, Box::new(f)))
    }

    /// A one-shot timer that schedules `fiber` on `handle` (a sleep).
    pub fn add_wake(self: &Arc<Self>, delay: Duration, fiber: Fiber, handle: Handle) -> Timer {
        self.insert(delay, false, Action::Wake(fiber, handle))
    }

    fn insert(self: &Arc<Self>, interval: Duration, recurring: bool, action: Action) -> Timer {
        let now = Instant::now();
        let deadline = now + interval;
        let (slot, id, announce) = {
            let mut timers = self.lock();
            timers.next_id += 1;
            let id = timers.next_id;
            let slot = timers.free.pop().unwrap_or_else(|| {
                timers.slots.push(None);
                (timers.slots.len() - 1) as u32
            });
            timers.slots[slot as usize] = Some(Slot {
                action: Some(action),
                interval,
                recurring,
                start: now,
                deadline,
                generation: 0,
                id,
            });
            timers.live += 1;
            let is_front = timers.heap.peek().is_none_or(|Reverse(e)| deadline < e.deadline);
            timers.push(deadline, slot, 0);
            let announce = is_front && !std::mem::replace(&mut timers.front_announced, true);
            (slot, id, announce)
        };
        if announce {
            (self.on_new_front)();
        }
        Timer {
            manager: Arc::downgrade(self),
            slot,
            id,
        }
    }
    // ANCHOR_END: add

    // ANCHOR: expire
    /// When the earliest live timer expires, if there is one. Also re-arms
    /// the "new front" announcement: the caller is about to sleep until then.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut timers = self.lock();
        timers.front_announced = false;
        timers.drop_dead_front();
        timers.heap.peek().map(|Reverse(e)| e.deadline)
    }

    /// Takes the work of every timer whose deadline is at or before `now`,
    /// earliest first. Recurring timers are re-armed one interval from `now`.
    pub fn collect_expired(&self, now: Instant) -> Vec<Expired> {
        let mut expired = Vec::new();
        let mut timers = self.lock();
        while let Some(Reverse(entry)) = timers.heap.peek() {
            if entry.deadline > now {
                break;
            }
            let Reverse(entry) = timers.heap.pop().expect("peeked");
            let Some(slot) = timers.live_slot(entry.slot, entry.generation) else {
                continue;
            };
            if slot.recurring {
                let action = match &slot.action {
                    Some(Action::Every(f)) => Action::Every(f.clone()),
                    _ => continue,
                };
                slot.start = now;
                slot.deadline = now + slot.interval;
                slot.generation = slot.generation.wrapping_add(1);
                let (deadline, generation) = (slot.deadline, slot.generation);
                timers.push(deadline, entry.slot, generation);
                expired.push(Expired(action));
            } else if let Some(action) = timers.remove(entry.slot) {
                expired.push(Expired(action));
            }
        }
        timers.compact_if_mostly_dead();
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
            .slots
            .iter()
            .flatten()
            .filter(|s| matches!(s.action, Some(Action::Wake(..))))
            .count()
    }

    /// Cancels every timer except sleeping fibers (which must be woken, never
    /// dropped), returning their callbacks so the caller can drop them
    /// outside the lock. Used when the I/O manager stops.
    pub(crate) fn cancel_callbacks(&self) -> usize {
        let dropped: Vec<Action> = {
            let mut timers = self.lock();
            let doomed: Vec<u32> = timers
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.as_ref().is_some_and(|s| !matches!(s.action, Some(Action::Wake(..)))))
                .map(|(i, _)| i as u32)
                .collect();
            doomed.into_iter().filter_map(|i| timers.remove(i)).collect()
        };
        dropped.len()
    }

    fn lock(&self) -> MutexGuard<'_, Timers> {
        // Callbacks never run under this lock; a poisoned lock still holds
        // consistent data.
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Timers {
    fn push(&mut self, deadline: Instant, slot: u32, generation: u32) {
        self.seq += 1;
        let seq = self.seq;
        self.heap.push(Reverse(Entry {
            deadline,
            seq,
            slot,
            generation,
        }));
    }

    fn live_slot(&mut self, slot: u32, generation: u32) -> Option<&mut Slot> {
        self.slots
            .get_mut(slot as usize)?
            .as_mut()
            .filter(|s| s.generation == generation)
    }

    /// The slot of the timer with this id, if it is still live.
    fn owned_slot(&mut self, slot: u32, id: u64) -> Option<&mut Slot> {
        self.slots
            .get_mut(slot as usize)?
            .as_mut()
            .filter(|s| s.id == id)
    }

    fn remove(&mut self, slot: u32) -> Option<Action> {
        let taken = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        self.live -= 1;
        taken.action
    }

    fn drop_dead_front(&mut self) {
        while let Some(Reverse(e)) = self.heap.peek() {
            let (slot, generation) = (e.slot, e.generation);
            if self.live_slot(slot, generation).is_some() {
                break;
            }
            self.heap.pop();
        }
    }

    fn compact_if_mostly_dead(&mut self) {
        if self.heap.len() > 1024 && self.heap.len() > 2 * self.live {
            let entries = std::mem::take(&mut self.heap).into_vec();
            let live: Vec<_> = entries
                .into_iter()
                .filter(|Reverse(e)| {
                    self.slots
                        .get(e.slot as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|s| s.generation == e.generation)
                })
                .collect();
            self.heap = BinaryHeap::from(live);
        }
    }
}

impl Timer {
    // ANCHOR: timer_ops
    /// Cancels the timer; its callback is dropped without running. Returns
    /// whether it was still live. A sleeping fiber's timer is woken instead
    /// (with [`WakeReason::Cancelled`]): a parked fiber is never dropped.
    pub fn cancel(&self) -> bool {
        let Some(manager) = self.manager.upgrade() else {
            return false;
        };
        let action = {
            let mut timers = manager.lock();
            if timers.owned_slot(self.slot, self.id).is_none() {
                return false;
            }
            timers.remove(self.slot)
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
    pub fn refresh(&self) -> bool {
        self.reschedule(|slot, now| (now, slot.interval))
    }

    /// Gives the timer a new interval, counted from now or from the start of
    /// its current period (sylar's `reset(ms, from_now)`).
    pub fn reset(&self, interval: Duration, from_now: bool) -> bool {
        self.reschedule(|slot, now| (if from_now { now } else { slot.start }, interval))
    }
    // ANCHOR_END: timer_ops

    /// When the timer will fire next, if it is live.
    pub fn deadline(&self) -> Option<Instant> {
        let manager = self.manager.upgrade()?;
        let mut timers = manager.lock();
        timers.owned_slot(self.slot, self.id).map(|s| s.deadline)
    }

    fn reschedule(&self, new: impl FnOnce(&Slot, Instant) -> (Instant, Duration)) -> bool {
        let Some(manager) = self.manager.upgrade() else {
            return false;
        };
        let now = Instant::now();
        let announce = {
            let mut timers = manager.lock();
            let Some(slot) = timers.owned_slot(self.slot, self.id) else {
                return false;
            };
            let (start, interval) = new(slot, now);
            slot.start = start;
            slot.interval = interval;
            slot.deadline = start + interval;
            slot.generation = slot.generation.wrapping_add(1);
            let (deadline, generation) = (slot.deadline, slot.generation);
            timers.drop_dead_front();
            let is_front = timers.heap.peek().is_none_or(|Reverse(e)| deadline < e.deadline);
            timers.push(deadline, self.slot, generation);
            is_front && !std::mem::replace(&mut timers.front_announced, true)
        };
        if announce {
            (manager.on_new_front)();
        }
        true
    }
}

impl fmt::Debug for TimerManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerManager").field("live", &self.len()).finish()
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").field("slot", &self.slot).finish_non_exhaustive()
    }
}

impl fmt::Debug for Expired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Action::Once(_) => "once",
            Action::Every(_) => "every",
            Action::Condition(..) => "condition",
            Action::Wake(..) => "wake",
        };
        f.debug_tuple("Expired").field(&kind).finish()
    }
}
