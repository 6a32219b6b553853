//! What each thread knows about the fiber it is running, and the functions a
//! fiber calls to give up its thread: `yield_now`, `yield_to_hold`, `park`.
//!
//! sylar keeps three per-thread pointers: the thread's own ("main") fiber, the
//! fiber running now, and the scheduling fiber. corosensei keeps the context
//! of whoever called `resume` implicitly, so we only need to know the running
//! fiber: its id and the `Yielder` through which it suspends. The main fiber is
//! reduced to an id, handed out the first time a thread asks for one.
//!
//! # Reading thread-locals in code that can move between threads
//!
//! A fiber may be resumed by another thread than the one it suspended on. A
//! function that reads a thread-local, suspends, and reads it again may see the
//! compiler reuse the first address, which now belongs to the old thread. So
//! every accessor here is `#[inline(never)]`: each call computes the
//! thread-local's address afresh on the thread that makes it.

use std::cell::Cell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};

use corosensei::Yielder;

use crate::fiber::Fiber;
use crate::state::WakeReason;

/// Source of every fiber id, main fibers included. Ids start at 1; 0 means "none".
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The `Yielder` type of our coroutines: `suspend` sends a [`Suspend`] out and
/// gets a [`WakeReason`] back.
pub(crate) type FiberYielder = Yielder<WakeReason, Suspend>;

// ANCHOR: suspend_message
/// What a suspending fiber tells the code that resumed it.
pub(crate) enum Suspend {
    /// `yield_now`: run me again soon.
    Ready,
    /// `yield_to_hold`: I am waiting; you, the resumer, keep me.
    Hold,
    /// `park`: I am waiting; give me to this hand-off once I am off my stack.
    Park(Handoff),
}
// ANCHOR_END: suspend_message

// ANCHOR: running
/// The fiber running on this thread, if any. `Copy` so that saving and restoring
/// it around a nested `resume` is two moves.
#[derive(Clone, Copy)]
pub(crate) struct Running {
    /// The running fiber's id; 0 when the thread runs no fiber.
    pub id: u64,
    /// Lives on the running fiber's stack; null until the fiber first runs.
    pub yielder: *const FiberYielder,
    /// The guard page of the running fiber's stack, for the overflow handler.
    pub guard: (usize, usize),
}

impl Running {
    pub(crate) const NONE: Running = Running {
        id: 0,
        yielder: std::ptr::null(),
        guard: (0, 0),
    };
}

thread_local! {
    /// The fiber this thread runs now. `const`-initialised and without a
    /// destructor, so it is safe to read from a signal handler and from
    /// hooked libc functions during thread exit.
    pub(crate) static RUNNING: Cell<Running> = const { Cell::new(Running::NONE) };
    /// This thread's main-fiber id, 0 until first asked for.
    static MAIN_ID: Cell<u64> = const { Cell::new(0) };
}
// ANCHOR_END: running

// ANCHOR: running_fn
/// Reads the running fiber (see the module docs for why this is never inlined).
#[inline(never)]
pub(crate) fn running() -> Running {
    RUNNING.with(Cell::get)
}
// ANCHOR_END: running_fn

/// Replaces the running fiber, returning the previous one.
///
/// Only for the resumer's side of a switch (`Fiber::resume`), which always
/// returns on the thread it was called on, so it may be inlined. Fiber-side
/// code uses the `#[inline(never)]` accessors.
#[inline]
pub(crate) fn swap_running(new: Running) -> Running {
    RUNNING.with(|r| r.replace(new))
}

/// Records the yielder of the fiber that has just started on this thread.
#[inline(never)]
pub(crate) fn set_running_yielder(yielder: *const FiberYielder) {
    RUNNING.with(|r| {
        let mut running = r.get();
        running.yielder = yielder;
        r.set(running);
    })
}

// ANCHOR: current_id
/// The id of the fiber running on this thread, or the thread's main-fiber id
/// when no fiber runs.
#[inline(never)]
pub fn current_id() -> u64 {
    match running().id {
        0 => main_fiber_id(),
        id => id,
    }
}
// ANCHOR_END: current_id

// ANCHOR: main_fiber_id
/// The id of this thread's main fiber (the thread's own stack), created on first use.
#[inline(never)]
pub fn main_fiber_id() -> u64 {
    MAIN_ID.with(|m| match m.get() {
        0 => {
            let id = next_id();
            m.set(id);
            id
        }
        id => id,
    })
}
// ANCHOR_END: main_fiber_id

/// Whether the calling code runs inside a fiber (rather than on a thread's own stack).
///
/// Chapter 6 asks this on every hooked call, so it reads the one field it
/// needs straight from the thread-local instead of copying the whole
/// [`Running`] out through [`running`]. Still never inlined, like every
/// accessor here.
#[inline(never)]
pub fn in_fiber() -> bool {
    RUNNING.with(|r| r.get().id != 0)
}

/// Returned by [`yield_to_hold`] and [`park`] when called outside a fiber:
/// there is nothing to suspend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotInFiber;

impl fmt::Display for NotInFiber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not running inside a fiber")
    }
}

impl std::error::Error for NotInFiber {}

// ANCHOR: suspend_fn
/// Switches from the running fiber back to whoever resumed it.
#[inline(never)]
fn suspend(message: Suspend) -> Result<WakeReason, NotInFiber> {
    // Read before the switch only: after it we may be on another thread.
    let yielder = RUNNING.with(|r| r.get().yielder);
    if yielder.is_null() {
        return Err(NotInFiber);
    }
    // SAFETY: a non-null `yielder` in RUNNING was stored by this fiber's entry
    // function (see `Fiber::coroutine`) and points at the `Yielder` on
    // this fiber's own stack, which lives as long as the fiber. We are running
    // on that stack now, so the fiber is alive and the pointer is valid.
    Ok(unsafe { (*yielder).suspend(message) })
}
// ANCHOR_END: suspend_fn

// ANCHOR: yields
/// Gives up the thread and asks to be run again soon (sylar's `YieldToReady`).
///
/// The resumer gets the fiber back as [`Outcome::Yielded`](crate::Outcome);
/// a scheduler puts it at the back of its queue. Outside a fiber this does
/// nothing.
#[inline(always)]
pub fn yield_now() {
    let _ = suspend(Suspend::Ready);
}

/// Gives up the thread and waits (sylar's `YieldToHold`). The resumer gets the
/// fiber back as [`Outcome::Held`](crate::Outcome) and decides when to resume it.
///
/// Inside a scheduler, prefer [`park`]: it says who will wake the fiber.
pub fn yield_to_hold() -> Result<WakeReason, NotInFiber> {
    suspend(Suspend::Hold)
}
// ANCHOR_END: yields

// ANCHOR: park
/// Suspends the running fiber, then — once it is completely off its stack —
/// passes it by value to `handoff`, on the thread that resumed it.
///
/// This is the hand-off that makes waking safe. In sylar a fiber registers
/// itself with an event and *then* switches out; if the event fires on another
/// thread in between, that thread resumes a fiber that is still running, on two
/// stacks at once. Here the fiber cannot be registered before it has switched
/// out, because `handoff` only receives it afterwards, and whoever holds the
/// [`Fiber`] value is the only one who can resume it.
///
/// `handoff` runs on the resumer's stack while this fiber is suspended. It must
/// be `'static`: it may not borrow from the fiber's stack, which may be running
/// again on another thread as soon as the fiber has been handed on.
///
/// Returns the reason the fiber was woken, set by its waker with
/// [`Fiber::set_wake_reason`].
pub fn park<F>(handoff: F) -> Result<WakeReason, NotInFiber>
where
    F: FnOnce(Fiber) + 'static,
{
    let mut handoff = ManuallyDrop::new(handoff);
    let message = Suspend::Park(Handoff {
        closure: (&mut *handoff as *mut F).cast(),
        call: call_handoff::<F>,
    });
    let reason = suspend(message);
    if reason.is_err() {
        // Not in a fiber: the closure was never read out; drop it here.
        // SAFETY: `handoff` is initialised and nobody else has read it.
        unsafe { ManuallyDrop::drop(&mut handoff) };
    }
    reason
}
// ANCHOR_END: park

// ANCHOR: handoff
/// A type-erased `FnOnce(Fiber)` that lives on a suspended fiber's stack.
pub(crate) struct Handoff {
    closure: *mut (),
    call: unsafe fn(*mut (), Fiber),
}

impl Handoff {
    /// Moves the closure off the suspended fiber's stack and calls it.
    ///
    /// # Safety
    /// `self` must come from [`park`] of the suspended fiber `fiber`, called
    /// exactly once, while that fiber is still suspended.
    pub(crate) unsafe fn run(self, fiber: Fiber) {
        // SAFETY: forwarded from this function's contract.
        unsafe { (self.call)(self.closure, fiber) }
    }
}

/// # Safety
/// `closure` points at an initialised `ManuallyDrop<F>` that is never read or
/// dropped by anyone else (see [`Handoff::run`]).
unsafe fn call_handoff<F: FnOnce(Fiber)>(closure: *mut (), fiber: Fiber) {
    // SAFETY: the contract above; `park` never touches the closure again once
    // it has been suspended with it, so this read moves it out exactly once.
    let handoff = unsafe { closure.cast::<F>().read() };
    handoff(fiber)
}
// ANCHOR_END: handoff
