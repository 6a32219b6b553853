//! The fiber: a function with its own stack that can stop half-way and go on later.

use std::any::Any;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use corosensei::{Coroutine, CoroutineResult};

use crate::current::{self, FiberYielder, Running, Suspend};
use crate::stack::{FiberStack, STACK_POOL};
use crate::state::{State, WakeReason};
use crate::{config, overflow};

// ANCHOR: finish
/// How a fiber's function ended.
enum Finish {
    Done,
    Panicked(Box<dyn Any + Send>),
}
// ANCHOR_END: finish

// ANCHOR: co_type
type Co = Coroutine<WakeReason, Suspend, Finish, FiberStack>;
// ANCHOR_END: co_type

/// Fibers alive right now (created and not yet dropped), main fibers excluded.
static LIVE: AtomicUsize = AtomicUsize::new(0);

// ANCHOR: fiber_struct
/// A stackful coroutine: a function running on its own stack, which can
/// suspend itself at any call depth and be resumed later, possibly on another
/// thread.
///
/// A `Fiber` is owned by exactly one place at a time — the code that is about
/// to resume it, a scheduler's queue, an event it waits for. [`Fiber::resume`]
/// takes it by value, so no two threads can ever resume the same fiber: the
/// double resume that the C++ original allows cannot be written here.
///
/// # Moving fibers between threads
///
/// `Fiber` is `Send`, so schedulers may resume it on another thread than the
/// one it suspended on. corosensei leaves its `Coroutine` `!Send` on purpose,
/// because the compiler cannot see what a fiber keeps on its stack while it is
/// suspended. We take that responsibility with one rule for fiber code:
/// **across a yield or a park, hold no `!Send` value** — no `Rc`, no
/// `RefCell` borrow, no std `MutexGuard` (unlocking on another thread is
/// undefined), no reference obtained from a thread-local. The function given
/// to [`Fiber::new`] must be `Send`, which covers everything it starts with.
pub struct Fiber {
    inner: Box<Inner>,
}

/// The fiber's data, boxed so that handing a `Fiber` around moves one pointer.
struct Inner {
    id: u64,
    state: State,
    /// `None` only while a `reset` swaps functions, or after a fiber was leaked.
    co: Option<Co>,
    /// The yielder on this fiber's stack; null until the fiber first runs.
    yielder: *const FiberYielder,
    /// The guard page of this fiber's stack, copied for the overflow handler.
    guard: (usize, usize),
    stack_size: usize,
    wake: WakeReason,
    panic: Option<Box<dyn Any + Send>>,
}

// SAFETY: see "Moving fibers between threads" above. The closure a fiber starts
// with is `Send` (enforced by the constructors); what its stack holds while
// suspended is the caller's responsibility under the documented rule. The raw
// `yielder` pointer targets the fiber's own stack, which moves with it.
unsafe impl Send for Fiber {}
// ANCHOR_END: fiber_struct

// ANCHOR: outcome
/// What happened when a fiber was resumed. The fiber comes back unless it
/// parked, in which case its hand-off already took it.
#[derive(Debug)]
pub enum Outcome {
    /// It called [`yield_now`](crate::yield_now): state [`State::Ready`].
    Yielded(Fiber),
    /// It called [`yield_to_hold`](crate::yield_to_hold): state [`State::Hold`].
    Held(Fiber),
    /// It called [`park`](crate::park) and was given to the hand-off.
    Parked,
    /// Its function returned: state [`State::Term`].
    Finished(Fiber),
    /// Its function panicked: state [`State::Except`], payload in
    /// [`Fiber::take_panic`]. The panic was logged on the `system` target.
    Panicked(Fiber),
}
// ANCHOR_END: outcome

impl Fiber {
    // ANCHOR: new
    /// A fiber that will run `f` on a stack of the configured default size
    /// (`fiber.stack_size`, 128 KiB unless configured), taken from the pool.
    ///
    /// # Panics
    /// If no stack can be mapped (the process is out of memory or address
    /// space). Use [`Fiber::try_new`] to handle that case.
    pub fn new<F: FnOnce() + Send + 'static>(f: F) -> Fiber {
        Fiber::try_new(f).expect("failed to map a fiber stack")
    }

    /// Like [`Fiber::new`], returning an error when no stack can be mapped.
    pub fn try_new<F: FnOnce() + Send + 'static>(f: F) -> io::Result<Fiber> {
        Fiber::with_stack_size(config::stack_size(), f)
    }

    /// A fiber on a stack of `stack_size` usable bytes (16 KiB ..= 256 MiB).
    pub fn with_stack_size<F>(stack_size: usize, f: F) -> io::Result<Fiber>
    where
        F: FnOnce() + Send + 'static,
    {
        config::ensure_initialised();
        overflow::ensure_handler();
        let stack = STACK_POOL.take(stack_size)?;
        let guard = stack.guard_range();
        LIVE.fetch_add(1, Ordering::Relaxed);
        Ok(Fiber {
            inner: Box::new(Inner {
                id: current::next_id(),
                state: State::Init,
                co: Some(Self::coroutine(stack, f)),
                yielder: std::ptr::null(),
                guard: (guard.start, guard.end),
                stack_size,
                wake: WakeReason::Woken,
                panic: None,
            }),
        })
    }

    /// Builds the coroutine: the entry function records where the yielder is,
    /// then runs `f`, catching a panic so that it ends the fiber, not the thread.
    fn coroutine<F: FnOnce() + Send + 'static>(stack: FiberStack, f: F) -> Co {
        Coroutine::with_stack(stack, move |yielder: &FiberYielder, _first: WakeReason| {
            current::set_running_yielder(yielder);
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(()) => Finish::Done,
                Err(payload) => Finish::Panicked(payload),
            }
        })
    }
    // ANCHOR_END: new

    // ANCHOR: resume
    /// Switches to the fiber until it yields, parks or finishes (sylar's `swapIn`).
    ///
    /// Resuming a fiber that has finished is not an error: it stays finished
    /// and comes straight back as [`Outcome::Finished`] or
    /// [`Outcome::Panicked`].
    #[inline]
    pub fn resume(mut self) -> Outcome {
        if self.inner.state.is_finished() {
            return self.finished_outcome();
        }
        let Some(co) = self.inner.co.as_mut() else {
            return Outcome::Finished(self);
        };
        let wake = std::mem::take(&mut self.inner.wake);
        self.inner.state = State::Exec;
        overflow::ensure_thread_ready();
        let outer = current::swap_running(Running {
            id: self.inner.id,
            yielder: self.inner.yielder,
            guard: self.inner.guard,
        });
        let result = co.resume(wake);
        // The entry function stored the yielder's address on first run.
        self.inner.yielder = current::swap_running(outer).yielder;
        match result {
            CoroutineResult::Yield(Suspend::Ready) => {
                self.inner.state = State::Ready;
                Outcome::Yielded(self)
            }
            CoroutineResult::Yield(Suspend::Hold) => {
                self.inner.state = State::Hold;
                Outcome::Held(self)
            }
            CoroutineResult::Yield(Suspend::Park(handoff)) => {
                self.inner.state = State::Hold;
                // A hand-off that panics must not take the resuming thread
                // (a scheduler's worker) down with it: the fiber it held is
                // dropped with it (and reported by `Drop`), the panic logged.
                let handed = panic::catch_unwind(AssertUnwindSafe(|| {
                    // SAFETY: the handoff comes from `park` on this very
                    // fiber, which is suspended now; it is run exactly once.
                    unsafe { handoff.run(self) }
                }));
                if let Err(payload) = handed {
                    log::error!(
                        target: "system",
                        "a park hand-off panicked: {}",
                        panic_message(&*payload)
                    );
                }
                Outcome::Parked
            }
            CoroutineResult::Return(Finish::Done) => {
                self.inner.state = State::Term;
                Outcome::Finished(self)
            }
            CoroutineResult::Return(Finish::Panicked(payload)) => self.panicked(payload),
        }
    }
    // ANCHOR_END: resume

    // ANCHOR: panicked
    /// The cold end of `resume`: record and report a panic.
    #[cold]
    #[inline(never)]
    fn panicked(mut self, payload: Box<dyn Any + Send>) -> Outcome {
        self.inner.state = State::Except;
        log::error!(
            target: "system",
            "fiber {} panicked: {}",
            self.inner.id,
            panic_message(&*payload)
        );
        self.inner.panic = Some(payload);
        Outcome::Panicked(self)
    }
    // ANCHOR_END: panicked

    fn finished_outcome(self) -> Outcome {
        match self.inner.state {
            State::Except => Outcome::Panicked(self),
            _ => Outcome::Finished(self),
        }
    }

    // ANCHOR: reset
    /// Gives a fiber that has finished (or never started) a new function,
    /// reusing its stack and id, as sylar's `reset` does.
    ///
    /// Refuses with a [`ResetError`], leaving the fiber as it was, when it is
    /// suspended half-way: its stack still holds live frames.
    pub fn reset<F: FnOnce() + Send + 'static>(&mut self, f: F) -> Result<(), ResetError> {
        if matches!(self.inner.state, State::Exec | State::Hold | State::Ready) {
            return Err(ResetError(self.inner.state));
        }
        let stack = match self.inner.co.take() {
            Some(co) => finished_stack(co),
            None => STACK_POOL
                .take(self.inner.stack_size)
                .map_err(|_| ResetError(self.inner.state))?,
        };
        self.inner.co = Some(Self::coroutine(stack, f));
        self.inner.state = State::Init;
        self.inner.yielder = std::ptr::null();
        self.inner.wake = WakeReason::Woken;
        if let Some(payload) = self.inner.panic.take() {
            drop_payload(payload);
        }
        Ok(())
    }
    // ANCHOR_END: reset

    /// This fiber's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// Where the fiber is in its life.
    pub fn state(&self) -> State {
        self.inner.state
    }

    /// The usable size of this fiber's stack.
    pub fn stack_size(&self) -> usize {
        self.inner.stack_size
    }

    /// Sets the value the fiber's pending `park` (or `yield_to_hold`) will return when
    /// it is next resumed. Wakers use it to say why they woke the fiber.
    pub fn set_wake_reason(&mut self, reason: WakeReason) {
        self.inner.wake = reason;
    }

    /// The reason the next resume will report.
    pub fn wake_reason(&self) -> WakeReason {
        self.inner.wake
    }

    /// The panic payload of a fiber in [`State::Except`], taken out.
    pub fn take_panic(&mut self) -> Option<Box<dyn Any + Send>> {
        self.inner.panic.take()
    }

    /// How many fibers exist right now (created and not yet dropped).
    pub fn live_count() -> usize {
        LIVE.load(Ordering::Relaxed)
    }
}

// ANCHOR: drop_payload
/// Drops a panic payload that nobody took, containing a panic from its own
/// `Drop`: `panic_any` accepts any value, and one whose destructor panics
/// would otherwise unwind out of `Fiber::drop` or `reset` into the owner (a
/// scheduler's worker loop, which would die with its tasks). The second
/// payload is reported and forgotten, since dropping it could panic in turn.
#[cold]
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        log::error!(
            target: "system",
            "dropping a fiber's panic payload panicked: {}",
            panic_message(&*second)
        );
        std::mem::forget(second);
    }
}
// ANCHOR_END: drop_payload

// ANCHOR: finished_stack
/// Takes the stack back from a coroutine that is done or never started.
fn finished_stack(mut co: Co) -> FiberStack {
    // For a coroutine that never ran this just drops its closure; for a
    // finished one it does nothing.
    co.force_unwind();
    co.into_stack()
}
// ANCHOR_END: finished_stack

// ANCHOR: drop
impl Drop for Fiber {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        if let Some(payload) = self.inner.panic.take() {
            drop_payload(payload);
        }
        let Some(co) = self.inner.co.take() else {
            return;
        };
        if co.started() && !co.done() {
            // Unwinding a suspended fiber would run its destructors, but if it
            // is suspended inside an `extern "C"` function (a hooked libc call
            // in chapter 6) the unwind would abort the process. Leaking its
            // stack is the only safe choice; the owner should have woken it.
            log::error!(
                target: "system",
                "fiber {} dropped while suspended ({:?}); leaking its {} byte stack",
                self.inner.id,
                self.inner.state,
                self.inner.stack_size
            );
            std::mem::forget(co);
            return;
        }
        STACK_POOL.give(finished_stack(co));
    }
}
// ANCHOR_END: drop

impl fmt::Debug for Fiber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fiber")
            .field("id", &self.inner.id)
            .field("state", &self.inner.state)
            .field("stack_size", &self.inner.stack_size)
            .finish_non_exhaustive()
    }
}

/// Returned by [`Fiber::reset`] for a fiber that has not finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetError(pub State);

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot reset a fiber in state {:?}", self.0)
    }
}

impl std::error::Error for ResetError {}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}
