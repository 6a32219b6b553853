//! The slab: one record per live timer, reused through a free list, and the
//! operations that keep the records and their wheel entries in step.

use std::ops::{Index, IndexMut};
use std::time::Instant;

use super::wheel::{DUE, Entry, Nanos, Pos, Wheel};
use super::{Action, Expired, TimerId};

// ANCHOR: slab
/// One live timer's data, in the manager's slab: 64 bytes, one cache line.
/// Times are nanoseconds since the wheel's origin ([`Nanos`]), 8 bytes where
/// an `Instant` or a `Duration` takes 16; a recurring timer is one whose
/// action is [`Action::Every`].
pub(super) struct Slot {
    pub(super) action: Option<Action>,
    pub(super) interval: Nanos,
    /// When the current period started (for `reset(.., from_now = false)`).
    pub(super) start: Nanos,
    pub(super) deadline: Nanos,
    /// Where its entry sits in the wheel.
    pub(super) pos: Pos,
    /// Which timer owns the slot (slots are reused): keys compare it.
    pub(super) id: u64,
}
// ANCHOR_END: slab

// ANCHOR: timers
/// The slab of live timers, the wheel that orders them, and their counts.
pub(super) struct Timers {
    pub(super) wheel: Wheel,
    pub(super) slab: Records,
    pub(super) free: Vec<u32>,
    pub(super) next_id: u64,
    pub(super) live: usize,
    /// Whether someone was told about a new earliest deadline and has not
    /// asked for the next deadline since (see `TimerManager::add`).
    pub(super) front_announced: bool,
}
// ANCHOR_END: timers

impl Timers {
    pub(super) fn new(origin: Instant) -> Timers {
        Timers {
            wheel: Wheel::new(origin),
            slab: Records::default(),
            free: Vec::new(),
            next_id: 0,
            live: 0,
            front_announced: false,
        }
    }

    // ANCHOR: claim_front
    /// Whether a timer due at `deadline`, about to be placed, is news for a
    /// sleeper: earlier than every timer in the wheel, with no earlier news
    /// still unread. Marks the news as told; the caller announces it once
    /// the lock is released.
    pub(super) fn claim_front(&mut self, deadline: Nanos) -> bool {
        let news = !self.front_announced && self.front().is_none_or(|front| deadline < front);
        self.front_announced |= news;
        news
    }
    // ANCHOR_END: claim_front

    /// Puts slab entry `index` into the wheel at its slot's deadline.
    pub(super) fn schedule(&mut self, index: u32) {
        let deadline = self.slab[index].as_ref().expect("live slot").deadline;
        let when = Wheel::tick_of(deadline);
        let pos = self.wheel.place(Entry { when, slab: index });
        self.slab[index].as_mut().expect("live slot").pos = pos;
    }

    /// Takes slab entry `index` out of the wheel.
    pub(super) fn unschedule(&mut self, index: u32) {
        let pos = self.slab[index].as_ref().expect("live slot").pos;
        if let Some(moved) = self.wheel.unplace(pos)
            && let Some(slot) = self.slab[moved].as_mut()
        {
            slot.pos.index = pos.index;
        }
    }

    /// Puts a due entry back in the due list (it is not due by `now` yet).
    pub(super) fn keep_due(&mut self, entry: Entry) {
        let wheel = &mut self.wheel;
        wheel.due.push(entry);
        let index = (wheel.due.len() - 1) as u32;
        if let Some(slot) = self.slab[entry.slab].as_mut() {
            slot.pos = Pos {
                level: DUE,
                slot: 0,
                index,
            };
        }
    }

    /// The earliest tick something is due, as an `Instant`.
    pub(super) fn front_instant(&self) -> Option<Instant> {
        self.front_tick().map(|tick| self.wheel.instant_of(tick))
    }

    /// The earliest tick something is due, in nanoseconds since the origin.
    pub(super) fn front(&self) -> Option<Nanos> {
        self.front_tick().map(|tick| tick.saturating_mul(1_000_000))
    }

    pub(super) fn front_tick(&self) -> Option<u64> {
        let wheel = &self.wheel;
        if let Some(when) = wheel.due.iter().map(|e| e.when).min() {
            return Some(when);
        }
        wheel.next_expiration().map(|(_, _, tick)| tick)
    }

    pub(super) fn owned_slot(&mut self, timer: TimerId) -> Option<&mut Slot> {
        self.slab
            .get_mut(timer.slot)?
            .as_mut()
            .filter(|s| s.id == timer.id)
    }

    /// Removes a timer from the wheel and the slab; returns its action.
    pub(super) fn remove(&mut self, index: u32) -> Option<Action> {
        self.slab.get(index)?.as_ref()?;
        self.unschedule(index);
        let taken = self.slab[index].take()?;
        self.free.push(index);
        self.live -= 1;
        taken.action
    }

    // ANCHOR: fire
    /// A due timer: a one-shot leaves, a recurring one is re-armed.
    pub(super) fn fire(&mut self, index: u32, now: Nanos, out: &mut Vec<Expired>) {
        let Some(slot) = self.slab[index].as_mut() else {
            return;
        };
        if let Some(Action::Every(f)) = &slot.action {
            out.push(Expired(Action::Every(f.clone())));
            // At least one tick ahead, or a zero interval would fire again
            // within this very collection, forever.
            let slot = self.slab[index].as_mut().expect("checked");
            slot.start = now;
            slot.deadline = now.saturating_add(slot.interval.max(1_000_000));
            self.schedule(index);
        } else {
            let taken = self.slab[index].take().expect("checked");
            self.free.push(index);
            self.live -= 1;
            if let Some(action) = taken.action {
                out.push(Expired(action));
            }
        }
    }
    // ANCHOR_END: fire
}

// ANCHOR: records
/// How many records a chunk of the slab holds (64 KiB of them).
const CHUNK: usize = 1024;

/// The slab's records, in chunks that never move: growing adds a chunk, so
/// no record is copied and no memory is touched twice. (A `Vec` doubling to
/// a million records would copy 64 MB along the way, into fresh pages.)
#[derive(Default)]
pub(super) struct Records {
    chunks: Vec<Box<[Option<Slot>]>>,
    len: u32,
}

impl Records {
    /// Appends an empty record; returns its index.
    pub(super) fn push_empty(&mut self) -> u32 {
        let index = self.len;
        if index as usize == self.chunks.len() * CHUNK {
            self.chunks.push((0..CHUNK).map(|_| None).collect());
        }
        self.len += 1;
        index
    }

    /// The record at `index`, if there is one.
    pub(super) fn get(&self, index: u32) -> Option<&Option<Slot>> {
        (index < self.len).then(|| &self[index])
    }

    /// The record at `index`, if there is one, to change.
    pub(super) fn get_mut(&mut self, index: u32) -> Option<&mut Option<Slot>> {
        (index < self.len).then(|| &mut self[index])
    }

    /// Every record, in index order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Option<Slot>> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .take(self.len as usize)
    }
}

impl Index<u32> for Records {
    type Output = Option<Slot>;

    fn index(&self, index: u32) -> &Option<Slot> {
        &self.chunks[index as usize / CHUNK][index as usize % CHUNK]
    }
}

impl IndexMut<u32> for Records {
    fn index_mut(&mut self, index: u32) -> &mut Option<Slot> {
        &mut self.chunks[index as usize / CHUNK][index as usize % CHUNK]
    }
}
// ANCHOR_END: records
