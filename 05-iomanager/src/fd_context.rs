//! What the I/O manager knows about one fd: whether epoll watches it, and
//! for each direction who waits, with which timeout, or whether readiness
//! arrived while nobody waited.

use std::sync::{Mutex, MutexGuard};

use sylar_scheduler::Handle;

use crate::event::{Event, Waiter};
use std::time::Instant;

use crate::timer::TimerId;

// ANCHOR: wait
/// A registered waiter and what goes with it.
pub(crate) struct Wait {
    pub waiter: Waiter,
    /// The scheduler to wake it on (sylar's `EventContext::scheduler`);
    /// `None` for the reactor's own, the usual case, which needs no
    /// reference count per wait.
    pub handle: Option<Handle>,
    /// Identifies this wait (for keyed removal).
    pub token: u64,
    /// When this wait times out, if it does.
    pub deadline: Option<Instant>,
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
    /// The timeout timer of this direction and when it is armed for. It is
    /// kept from one wait to the next instead of being cancelled and added
    /// again for each: when it fires it ends the current wait if that wait's
    /// deadline has passed, and otherwise re-arms for that deadline. A
    /// connection that answers a request every few milliseconds under a
    /// 120 s read timeout touches the timer wheel once in 120 s, not twice
    /// per request.
    pub timer: Option<(TimerId, Instant)>,
    /// A wait that is not tracked was made on this direction since the last
    /// tracked one ([`IoHandle::wait_current_tracked`](crate::IoHandle::wait_current_tracked)):
    /// it may have taken an edge that a tracked caller, which may trust an
    /// old "the fd is empty" and wait without trying its I/O, never saw.
    /// The next tracked wait returns at once instead, and clears it.
    pub untracked_since: bool,
}

/// Everything about one fd, behind one lock.
#[derive(Default)]
pub(crate) struct FdState {
    /// Registered with epoll (once, edge-triggered, for both directions).
    pub registered: bool,
    pub read: Slot,
    pub write: Slot,
    /// The latest notification for this fd reported that the peer will send
    /// nothing more (`EPOLLRDHUP` or `EPOLLHUP`): a read can no longer
    /// block, and no further edge will say so, so a read wait returns at
    /// once. Without it, a fiber woken by the one notification that carried
    /// both its last bytes and the hang-up, which read the bytes (a short
    /// read, so chapter 6 waits before reading again) and waited, slept
    /// until its timeout. Every notification sets it afresh from its bits
    /// (they are the fd's state at that moment), and forgetting the fd
    /// clears it.
    pub read_hung_up: bool,
    /// The last token handed out for a wait on this fd. A count per fd, kept
    /// under the fd's lock, rather than one for the whole reactor: no atomic
    /// operation on a counter every worker shares, once per wait. A token
    /// names a wait on its fd only, which is all `install` and `remove` ask.
    pub last_token: u64,
}
// ANCHOR_END: wait

impl FdState {
    // ANCHOR: take_readiness
    /// Whether a wait for `event` must return at once: readiness arrived
    /// while nobody waited (consumed here), or reading hung up.
    pub fn take_readiness(&mut self, event: Event) -> bool {
        let hung_up = event == Event::Read && self.read_hung_up;
        std::mem::take(&mut self.slot(event).ready) || hung_up
    }
    // ANCHOR_END: take_readiness

    /// A token no earlier wait on this fd had (it is never reset, not even
    /// when the fd is forgotten: a key kept from before the number was reused
    /// still names nothing).
    pub fn new_token(&mut self) -> u64 {
        self.last_token += 1;
        self.last_token
    }

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
