//! The six states of a fiber and the reason a parked fiber was woken.

// ANCHOR: state
/// Where a fiber is in its life, as in the article's state machine.
///
/// ```text
///            resume                 return
///   Init ───────────▶ Exec ───────────────────▶ Term
///                    │  ▲  ╲ panic
///        yield_now   │  │   ╲───────────────────▶ Except
///   (re-queued)      ▼  │ resume
///                  Ready/Hold
///              park / yield_to_hold
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Created (or reset) and never resumed.
    Init,
    /// Running on some thread right now.
    Exec,
    /// Suspended, waiting for someone to wake it (I/O, a timer, a hand-off).
    Hold,
    /// Suspended voluntarily and ready to run again.
    Ready,
    /// Its function returned.
    Term,
    /// Its function panicked; the payload is kept in the fiber.
    Except,
}
// ANCHOR_END: state

impl State {
    /// Whether [`Fiber::resume`](crate::Fiber::resume) may be called in this state.
    pub fn is_resumable(self) -> bool {
        matches!(self, State::Init | State::Hold | State::Ready)
    }

    /// Whether the fiber's function has ended, normally or by panicking.
    pub fn is_finished(self) -> bool {
        matches!(self, State::Term | State::Except)
    }
}

// ANCHOR: wake_reason
/// Why a suspended fiber runs again: the value its `park` (or `yield_to_hold`) returns.
///
/// Whoever owns a parked fiber sets the reason with
/// [`Fiber::set_wake_reason`](crate::Fiber::set_wake_reason) before handing it
/// back to a scheduler. Later chapters use it so that a fiber parked on a
/// socket can tell "the socket is ready" from "your wait was cancelled" (the fd
/// was closed, the I/O manager is stopping) and "your timeout expired".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum WakeReason {
    /// Woken normally: the event it waited for happened, or it simply yielded.
    #[default]
    Woken,
    /// Its wait was cancelled; the thing it waited for will not happen.
    Cancelled,
    /// Its wait ran out of time.
    TimedOut,
}
// ANCHOR_END: wake_reason
