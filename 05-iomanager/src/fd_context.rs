//! What the I/O manager knows about one fd: whether epoll watches it, and
//! for each direction who waits, with which timeout, or whether readiness
//! arrived while nobody waited.

use std::sync::{Mutex, MutexGuard};

use sylar_scheduler::Handle;

use crate::event::{Event, Waiter};
use crate::timer::Timer;

// ANCHOR: wait
/// A registered waiter and what goes with it.
pub(crate) struct Wait {
    pub waiter: Waiter,
    /// The scheduler to wake it on (sylar's `EventContext::scheduler`).
    pub handle: Handle,
    /// Identifies this wait, so that a timeout timer can only end the wait
    /// it was armed for, never a later one on the same fd.
    pub token: u64,
    /// The timeout of this wait, cancelled when the event comes first.
    pub timer: Option<Timer>,
}

/// One direction (read or write) of one fd.
#[derive(Default)]
pub(crate) enum SlotState {
    /// Nobody waits.
    #[default]
    Empty,
    /// A fiber has claimed the slot and is switching out; its hand-off will
    /// fill it. Readiness arriving now is remembered in `ready`.
    Reserved(u64),
    /// Somebody waits.
    Waiting(Wait),
}

#[derive(Default)]
pub(crate) struct Slot {
    pub state: SlotState,
    /// Epoll reported this direction ready while nobody waited: the next
    /// wait returns at once instead of parking (the edge would be lost).
    pub ready: bool,
}

/// Everything about one fd, behind one lock.
#[derive(Default)]
pub(crate) struct FdState {
    /// Registered with epoll (once, edge-triggered, for both directions).
    pub registered: bool,
    pub read: Slot,
    pub write: Slot,
}
// ANCHOR_END: wait

impl FdState {
    pub fn slot(&mut self, event: Event) -> &mut Slot {
        match event {
            Event::Read => &mut self.read,
            Event::Write => &mut self.write,
        }
    }
}

/// The table entry: a lock around the state.
#[derive(Default)]
pub(crate) struct FdContext {
    state: Mutex<FdState>,
}

impl FdContext {
    pub fn lock(&self) -> MutexGuard<'_, FdState> {
        // Nothing runs under this lock that could panic half-way through an
        // update; recover from poisoning rather than propagate it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Slot {
    /// Takes the waiter out if there is one, leaving the slot empty.
    pub fn take_wait(&mut self) -> Option<Wait> {
        match std::mem::take(&mut self.state) {
            SlotState::Waiting(wait) => Some(wait),
            other => {
                self.state = other;
                None
            }
        }
    }
}
