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
    /// A sleeping fiber, woken on its scheduler.
    Wake(Fiber, Handle),
}
// ANCHOR_END: action

// ANCHOR: slab
/// One live timer's data, in the manager's slab: 64 bytes, one cache line.
/// Times are nanoseconds since the wheel's origin ([`Nanos`]), 8 bytes where
/// an `Instant` or a `Duration` takes 16; a recurring timer is one whose
/// action is [`Action::Every`].
struct Slot {
    action: Option<Action>,
    interval: Nanos,
    /// When the current period started (for `reset(.., from_now = false)`).
    start: Nanos,
    deadline: Nanos,
    /// Where its entry sits in the wheel.
    pos: Pos,
    /// Which timer owns the slot (slots are reused): handles compare it.
    id: u64,
}

/// A time as nanoseconds since the wheel's origin, or a length of time in
/// nanoseconds; 64 bits hold 584 years, and delays are capped at a hundred.
type Nanos = u64;

/// An entry's place in the wheel: level (or [`DUE`]), slot, index in it.
#[derive(Clone, Copy)]
struct Pos {
    level: u8,
    slot: u8,
    index: u32,
}

/// The level number of the list of timers that are already due.
const DUE: u8 = LEVELS as u8;
const LEVELS: usize = 6;
const SLOTS: usize = 64;
/// The wheel's horizon in ticks (milliseconds): 64^6, about 2.2 years.
const HORIZON: u64 = 1 << (6 * LEVELS);

/// What a wheel slot holds: the deadline tick (to cascade without touching
/// the slab) and the slab index.
#[derive(Clone, Copy)]
struct Entry {
    when: u64,
    slab: u32,
}
// ANCHOR_END: slab

// ANCHOR: wheel
/// Six levels of 64 slots, and a list of timers already due.
struct Wheel {
    /// Tick 0; one tick is one millisecond.
    origin: Instant,
    /// Every timer due at or before this tick has been handed out.
    elapsed: u64,
    /// Per level: one bit per non-empty slot, and the slots.
    occupied: [u64; LEVELS],
    slots: Vec<Vec<Entry>>,
    due: Vec<Entry>,
}
// ANCHOR_END: wheel

// ANCHOR: timers
struct Timers {
    wheel: Wheel,
    slab: Vec<Option<Slot>>,
    free: Vec<u32>,
    next_id: u64,
    live: usize,
    /// Whether someone was told about a new earliest deadline and has not
    /// asked for the next deadline since (see `TimerManager::add`).
    front_announced: bool,
}
// ANCHOR_END: timers

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

/// How far "never" is: deadlines are capped this far ahead, so that adding
/// `Duration::MAX` cannot overflow `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `start + delay`, capped at [`FAR_FUTURE`] instead of overflowing.
fn after(start: Instant, delay: Duration) -> Instant {
    start.checked_add(delay.min(FAR_FUTURE)).unwrap_or(start)
}

/// A delay in nanoseconds, capped at [`FAR_FUTURE`] (which fits in 64 bits).
fn capped_nanos(delay: Duration) -> Nanos {
    delay.min(FAR_FUTURE).as_nanos() as Nanos
}
// ANCHOR_END: expired

impl TimerManager {
    /// A manager that calls `on_new_front` when a new timer becomes the first to expire.
    pub fn new(on_new_front: impl Fn() + Send + Sync + 'static) -> Arc<TimerManager> {
        Arc::new(TimerManager {
            timers: Mutex::new(Timers::new()),
            on_new_front: Box::new(on_new_front),
        })
    }

    // ANCHOR: add
    /// A one-shot timer running `f` once, `delay` from now.
    pub fn add(self: &Arc<Self>, delay: Duration, f: impl FnOnce() + Send + 'static) -> Timer {
        self.insert(delay, Action::Once(Box::new(f)))
    }

    /// A recurring timer running `f` every `interval`, first `interval` from now.
    pub fn add_recurring(
        self: &Arc<Self>,
        interval: Duration,
        f: impl Fn() + Send + Sync + 'static,
    ) -> Timer {
        self.insert(interval, Action::Every(Arc::new(f)))
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
    pub fn add_at(self: &Arc<Self>, at: Instant, f: impl FnOnce() + Send + 'static) -> Timer {
        self.insert_at(at, Duration::ZERO, Action::Once(Box::new(f)))
    }

    /// A one-shot timer that schedules `fiber` on `handle` (a sleep).
    pub fn add_wake(self: &Arc<Self>, delay: Duration, fiber: Fiber, handle: Handle) -> Timer {
        self.insert(delay, Action::Wake(fiber, handle))
    }

    // ANCHOR: insert
    fn insert(self: &Arc<Self>, interval: Duration, action: Action) -> Timer {
        let now = Instant::now();
        self.insert_at(after(now, interval), interval, action)
    }

    /// Adds a timer due at `deadline` (its period, if any, is `interval`).
    fn insert_at(self: &Arc<Self>, deadline: Instant, interval: Duration, action: Action) -> Timer {
        let (slot, id, announce) = {
            let mut timers = self.lock();
            let deadline = timers.wheel.nanos_of(deadline);
            let interval = capped_nanos(interval);
            let start = deadline.saturating_sub(interval);
            timers.next_id += 1;
            let id = timers.next_id;
            let announce =
                !timers.front_announced && timers.front().is_none_or(|front| deadline < front);
            let index = timers.free.pop().unwrap_or_else(|| {
                timers.slab.push(None);
                (timers.slab.len() - 1) as u32
            });
            timers.slab[index as usize] = Some(Slot {
                action: Some(action),
                interval,
                start,
                deadline,
                pos: Pos {
                    level: DUE,
                    slot: 0,
                    index: 0,
                },
                id,
            });
            timers.schedule(index);
            timers.live += 1;
            timers.front_announced |= announce;
            (index, id, announce)
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
    // ANCHOR_END: insert
    // ANCHOR_END: add

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
        let mut timers = self.lock();
        let now_tick = timers.wheel.tick_at(now);
        loop {
            let wheel = &mut timers.wheel;
            // Due by the wheel's clock; fire those due by `now` too (a
            // caller may have passed a `now` ahead of the real clock before).
            if wheel.due.iter().any(|e| e.when <= now_tick) {
                let due = std::mem::take(&mut wheel.due);
                for entry in due {
                    if entry.when <= now_tick {
                        timers.fire(entry.slab, now, &mut expired);
                    } else {
                        timers.keep_due(entry);
                    }
                }
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
            let entries = std::mem::take(&mut wheel.slots[level * SLOTS + slot]);
            for entry in entries {
                let wheel = &mut timers.wheel;
                let pos = wheel.place(entry);
                if let Some(slot) = timers.slab[entry.slab as usize].as_mut() {
                    slot.pos = pos;
                }
            }
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
        dropped.len() // the callbacks are dropped here, outside the lock
    }
    // ANCHOR_END: cancel_callbacks

    fn lock(&self) -> MutexGuard<'_, Timers> {
        // Callbacks never run under this lock; a poisoned lock still holds
        // consistent data.
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ANCHOR: level_for
/// The level whose window, seen from `elapsed`, contains `when`: the highest
/// 6-bit digit in which the two ticks differ (tokio's rule).
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = ((elapsed ^ when) | (SLOTS as u64 - 1)).min(HORIZON - 1);
    let significant = 63 - masked.leading_zeros() as usize;
    significant / 6
}
// ANCHOR_END: level_for

/// A slot's width in ticks at `level`: 64^level.
fn slot_width(level: usize) -> u64 {
    1 << (6 * level)
}

impl Wheel {
    fn new() -> Wheel {
        Wheel {
            origin: Instant::now(),
            elapsed: 0,
            occupied: [0; LEVELS],
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            due: Vec::new(),
        }
    }

    // ANCHOR: ticks
    /// `at` in nanoseconds since the origin (an earlier `at` counts as the
    /// origin: it is due at once either way).
    fn nanos_of(&self, at: Instant) -> Nanos {
        let nanos = at.saturating_duration_since(self.origin).as_nanos();
        Nanos::try_from(nanos).unwrap_or(Nanos::MAX)
    }

    /// The tick at or after `at` (rounded up: a timer never fires early).
    fn tick_of(at: Nanos) -> u64 {
        at.div_ceil(1_000_000)
    }

    /// The last tick that has fully passed at `now`.
    fn tick_at(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.origin);
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_millis()))
    }
    // ANCHOR_END: ticks

    fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_millis(tick)
    }

    /// The `Instant` of a time in nanoseconds since the origin.
    fn instant_of_nanos(&self, at: Nanos) -> Instant {
        self.origin + Duration::from_nanos(at)
    }

    fn list(&mut self, level: u8, slot: u8) -> &mut Vec<Entry> {
        match level {
            DUE => &mut self.due,
            _ => &mut self.slots[level as usize * SLOTS + slot as usize],
        }
    }

    // ANCHOR: place
    /// Places an entry; returns where.
    fn place(&mut self, entry: Entry) -> Pos {
        let (level, slot) = if entry.when <= self.elapsed {
            (DUE, 0)
        } else {
            let level = level_for(self.elapsed, entry.when);
            let slot = ((entry.when >> (6 * level)) % SLOTS as u64) as u8;
            self.occupied[level] |= 1 << slot;
            (level as u8, slot)
        };
        let list = self.list(level, slot);
        list.push(entry);
        Pos {
            level,
            slot,
            index: (list.len() - 1) as u32,
        }
    }

    /// Removes the entry at `pos`; returns the slab index of the entry that
    /// moved into its place, if one did (its position changed).
    fn unplace(&mut self, pos: Pos) -> Option<u32> {
        let list = self.list(pos.level, pos.slot);
        list.swap_remove(pos.index as usize);
        let moved = list.get(pos.index as usize).map(|e| e.slab);
        if list.is_empty() && pos.level != DUE {
            self.occupied[pos.level as usize] &= !(1 << pos.slot);
        }
        moved
    }
    // ANCHOR_END: place

    // ANCHOR: next_expiration
    /// The next (level, slot, tick) to process: the first occupied slot of
    /// the lowest level that has one. Lower levels always hold earlier ticks.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        (0..LEVELS).find_map(|level| {
            let occupied = self.occupied[level];
            if occupied == 0 {
                return None;
            }
            let width = slot_width(level);
            let now_slot = (self.elapsed / width) % SLOTS as u64;
            let slot = (occupied.rotate_right(now_slot as u32).trailing_zeros() as u64 + now_slot)
                % SLOTS as u64;
            let level_range = width * SLOTS as u64;
            let level_start = self.elapsed & !(level_range - 1);
            let mut tick = level_start + slot * width;
            if tick <= self.elapsed && level > 0 {
                tick += level_range;
            }
            Some((level, slot as usize, tick.max(self.elapsed)))
        })
    }
    // ANCHOR_END: next_expiration
}

impl Timers {
    fn new() -> Timers {
        Timers {
            wheel: Wheel::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            live: 0,
            front_announced: false,
        }
    }

    /// Puts slab entry `index` into the wheel at its slot's deadline.
    fn schedule(&mut self, index: u32) {
        let deadline = self.slab[index as usize]
            .as_ref()
            .expect("live slot")
            .deadline;
        let when = Wheel::tick_of(deadline);
        let pos = self.wheel.place(Entry { when, slab: index });
        self.slab[index as usize].as_mut().expect("live slot").pos = pos;
    }

    /// Takes slab entry `index` out of the wheel.
    fn unschedule(&mut self, index: u32) {
        let pos = self.slab[index as usize].as_ref().expect("live slot").pos;
        if let Some(moved) = self.wheel.unplace(pos)
            && let Some(slot) = self.slab[moved as usize].as_mut()
        {
            slot.pos.index = pos.index;
        }
    }

    /// Puts a due entry back in the due list (it is not due by `now` yet).
    fn keep_due(&mut self, entry: Entry) {
        let wheel = &mut self.wheel;
        wheel.due.push(entry);
        let index = (wheel.due.len() - 1) as u32;
        if let Some(slot) = self.slab[entry.slab as usize].as_mut() {
            slot.pos = Pos {
                level: DUE,
                slot: 0,
                index,
            };
        }
    }

    /// The earliest tick something is due, as an `Instant`.
    fn front_instant(&self) -> Option<Instant> {
        self.front_tick().map(|tick| self.wheel.instant_of(tick))
    }

    /// The earliest tick something is due, in nanoseconds since the origin.
    fn front(&self) -> Option<Nanos> {
        self.front_tick().map(|tick| tick.saturating_mul(1_000_000))
    }

    fn front_tick(&self) -> Option<u64> {
        let wheel = &self.wheel;
        if let Some(when) = wheel.due.iter().map(|e| e.when).min() {
            return Some(when);
        }
        wheel.next_expiration().map(|(_, _, tick)| tick)
    }

    fn owned_slot(&mut self, slot: u32, id: u64) -> Option<&mut Slot> {
        self.slab
            .get_mut(slot as usize)?
            .as_mut()
            .filter(|s| s.id == id)
    }

    /// Removes a timer from the wheel and the slab; returns its action.
    fn remove(&mut self, index: u32) -> Option<Action> {
        self.slab.get(index as usize)?.as_ref()?;
        self.unschedule(index);
        let taken = self.slab[index as usize].take()?;
        self.free.push(index);
        self.live -= 1;
        taken.action
    }

    // ANCHOR: fire
    /// A due timer: a one-shot leaves, a recurring one is re-armed.
    fn fire(&mut self, index: u32, now: Instant, out: &mut Vec<Expired>) {
        let Some(slot) = self.slab[index as usize].as_mut() else {
            return;
        };
        if let Some(Action::Every(f)) = &slot.action {
            out.push(Expired(Action::Every(f.clone())));
            // At least one tick ahead, or a zero interval would fire again
            // within this very collection, forever.
            let now = self.wheel.nanos_of(now);
            let slot = self.slab[index as usize].as_mut().expect("checked");
            slot.start = now;
            slot.deadline = now.saturating_add(slot.interval.max(1_000_000));
            self.schedule(index);
        } else {
            let taken = self.slab[index as usize].take().expect("checked");
            self.free.push(index);
            self.live -= 1;
            if let Some(action) = taken.action {
                out.push(Expired(action));
            }
        }
    }
    // ANCHOR_END: fire
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
        let interval = capped_nanos(interval);
        self.reschedule(|slot, now| (if from_now { now } else { slot.start }, interval))
    }
    // ANCHOR_END: timer_ops

    /// When the timer will fire next, if it is live.
    pub fn deadline(&self) -> Option<Instant> {
        let manager = self.manager.upgrade()?;
        let mut timers = manager.lock();
        let deadline = timers.owned_slot(self.slot, self.id)?.deadline;
        Some(timers.wheel.instant_of_nanos(deadline))
    }

    // ANCHOR: reschedule
    fn reschedule(&self, new: impl FnOnce(&Slot, Nanos) -> (Nanos, Nanos)) -> bool {
        let Some(manager) = self.manager.upgrade() else {
            return false;
        };
        let now = Instant::now();
        let announce = {
            let mut timers = manager.lock();
            let now = timers.wheel.nanos_of(now);
            let Some(slot) = timers.owned_slot(self.slot, self.id) else {
                return false;
            };
            let (start, interval) = new(slot, now);
            slot.start = start;
            slot.interval = interval;
            slot.deadline = start.saturating_add(interval);
            let deadline = slot.deadline;
            timers.unschedule(self.slot);
            let announce =
                !timers.front_announced && timers.front().is_none_or(|front| deadline < front);
            timers.schedule(self.slot);
            timers.front_announced |= announce;
            announce
        };
        if announce {
            (manager.on_new_front)();
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

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
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
        let wheel = Wheel::new();
        let at = wheel.origin + Duration::from_micros(1_500);
        assert_eq!(wheel.nanos_of(at), 1_500_000);
        assert_eq!(wheel.instant_of_nanos(1_500_000), at);
        // Rounded up to whole milliseconds: never early.
        assert_eq!(Wheel::tick_of(1_500_000), 2);
        assert_eq!(Wheel::tick_of(2_000_000), 2);
        // Before the origin counts as the origin; beyond 584 years saturates.
        assert_eq!(wheel.nanos_of(wheel.origin - Duration::from_secs(1)), 0);
        assert_eq!(capped_nanos(Duration::MAX), FAR_FUTURE.as_nanos() as u64);
    }
}
