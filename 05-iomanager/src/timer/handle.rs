//! How callers name a timer: a plain key, or a handle that can outlive the
//! manager.

use std::fmt;
use std::sync::Weak;
use std::time::{Duration, Instant};

use super::TimerManager;

// ANCHOR: timer_handle
/// Names one timer of a [`TimerManager`]: the key its `cancel`, `refresh`,
/// `reset` and `deadline` take. It is plain data (no reference count), so
/// adding a timer costs no atomic operation for it, and it is `Copy`. The
/// `id` tells a timer that has fired from a new one that reuses its slot, so
/// a stale key can never touch someone else's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    pub(super) slot: u32,
    pub(super) id: u64,
}

/// A handle to one timer that can outlive its manager: a [`TimerId`] and a
/// `Weak` reference to the manager. Cloning the handle does not clone the
/// timer. A handle whose timer has fired (one-shot), been cancelled, or
/// whose manager is gone, is inert: its methods return `false`.
#[derive(Clone)]
pub struct Timer {
    pub(super) manager: Weak<TimerManager>,
    pub(super) id: TimerId,
}
// ANCHOR_END: timer_handle

// ANCHOR: handle_ops
impl Timer {
    /// The key this handle holds.
    pub fn id(&self) -> TimerId {
        self.id
    }

    /// [`TimerManager::cancel`], if the manager still exists.
    pub fn cancel(&self) -> bool {
        self.manager.upgrade().is_some_and(|m| m.cancel(self.id))
    }

    /// [`TimerManager::refresh`], if the manager still exists.
    pub fn refresh(&self) -> bool {
        self.manager.upgrade().is_some_and(|m| m.refresh(self.id))
    }

    /// [`TimerManager::reset`], if the manager still exists.
    pub fn reset(&self, interval: Duration, from_now: bool) -> bool {
        let manager = self.manager.upgrade();
        manager.is_some_and(|m| m.reset(self.id, interval, from_now))
    }

    /// [`TimerManager::deadline`], if the manager still exists.
    pub fn deadline(&self) -> Option<Instant> {
        self.manager.upgrade()?.deadline(self.id)
    }
}
// ANCHOR_END: handle_ops

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
