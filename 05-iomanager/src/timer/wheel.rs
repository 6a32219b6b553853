//! The hierarchical timing wheel: six levels of 64 slots, one tick per
//! millisecond, tokio's design. It orders timers by deadline tick; the slab
//! (`slab.rs`) holds what they do.

use std::time::{Duration, Instant};

// ANCHOR: wheel
/// A time as nanoseconds since the wheel's origin, or a length of time in
/// nanoseconds; 64 bits hold 584 years, and delays are capped at a hundred.
pub(super) type Nanos = u64;

/// An entry's place in the wheel: level (or [`DUE`]), slot, index in it.
#[derive(Clone, Copy)]
pub(super) struct Pos {
    pub(super) level: u8,
    pub(super) slot: u8,
    pub(super) index: u32,
}

/// The level number of the list of timers that are already due.
pub(super) const DUE: u8 = LEVELS as u8;
const LEVELS: usize = 6;
pub(super) const SLOTS: usize = 64;
/// The wheel's horizon in ticks (milliseconds): 64^6, about 2.2 years.
const HORIZON: u64 = 1 << (6 * LEVELS);

/// What a wheel slot holds: the deadline tick (to cascade without touching
/// the slab) and the slab index.
#[derive(Clone, Copy)]
pub(super) struct Entry {
    pub(super) when: u64,
    pub(super) slab: u32,
}

/// Six levels of 64 slots, and a list of timers already due.
pub(super) struct Wheel {
    /// Tick 0; one tick is one millisecond.
    pub(super) origin: Instant,
    /// Every timer due at or before this tick has been handed out.
    pub(super) elapsed: u64,
    /// Per level: one bit per non-empty slot, and the slots.
    pub(super) occupied: [u64; LEVELS],
    pub(super) slots: Vec<Vec<Entry>>,
    pub(super) due: Vec<Entry>,
    /// An empty list with capacity, swapped in for a list being emptied, so
    /// that lists keep their buffers instead of being freed and grown again
    /// each time the wheel passes them.
    spare: Vec<Entry>,
}
// ANCHOR_END: wheel

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
    pub(super) fn new(origin: Instant) -> Wheel {
        Wheel {
            origin,
            elapsed: 0,
            occupied: [0; LEVELS],
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            due: Vec::new(),
            spare: Vec::new(),
        }
    }

    // ANCHOR: ticks
    /// The tick at or after `at` (rounded up: a timer never fires early).
    pub(super) fn tick_of(at: Nanos) -> u64 {
        at.div_ceil(1_000_000)
    }

    /// The last tick that has fully passed at `now`.
    pub(super) fn tick_at(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.origin);
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_millis()))
    }
    // ANCHOR_END: ticks

    pub(super) fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_millis(tick)
    }

    pub(super) fn list(&mut self, level: u8, slot: u8) -> &mut Vec<Entry> {
        match level {
            DUE => &mut self.due,
            _ => &mut self.slots[level as usize * SLOTS + slot as usize],
        }
    }

    /// Takes every entry of a list out (the list keeps a spare buffer); give
    /// the drained buffer back with [`Wheel::recycle`].
    pub(super) fn take_list(&mut self, level: u8, slot: u8) -> Vec<Entry> {
        let spare = std::mem::take(&mut self.spare);
        std::mem::replace(self.list(level, slot), spare)
    }

    /// Keeps a buffer that `take_list` handed out, once it is drained.
    pub(super) fn recycle(&mut self, mut buffer: Vec<Entry>) {
        buffer.clear();
        self.spare = buffer;
    }

    // ANCHOR: place
    /// Places an entry; returns where.
    pub(super) fn place(&mut self, entry: Entry) -> Pos {
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
    pub(super) fn unplace(&mut self, pos: Pos) -> Option<u32> {
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
    pub(super) fn next_expiration(&self) -> Option<(usize, usize, u64)> {
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
