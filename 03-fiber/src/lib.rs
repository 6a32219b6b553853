//! # sylar-fiber — chapter 3: stackful fibers
//!
//! A fiber is a function with a stack of its own. It can stop in the middle —
//! at any call depth — and continue later, exactly where it was, perhaps on
//! another thread. sylar builds everything on them: a fiber per connection,
//! parked while its socket has no data, resumed when epoll says it has.
//!
//! sylar switches stacks with glibc's `ucontext`; we use
//! [corosensei](https://docs.rs/corosensei), whose round trip (switch in,
//! switch out) takes tens of nanoseconds instead of half a microsecond: no
//! signal-mask syscalls.
//!
//! ```
//! use sylar_fiber::{Fiber, Outcome, State, yield_now};
//!
//! let fiber = Fiber::new(|| {
//!     println!("step 1");
//!     yield_now(); // back to whoever resumed us
//!     println!("step 2");
//! });
//! let Outcome::Yielded(fiber) = fiber.resume() else { panic!("expected a yield") };
//! assert_eq!(fiber.state(), State::Ready);
//! let Outcome::Finished(fiber) = fiber.resume() else { panic!("expected the end") };
//! assert_eq!(fiber.state(), State::Term);
//! ```
//!
//! ## Layout
//! - [`state`](State): the six states and the [`WakeReason`].
//! - `stack`: [`FiberStack`] with its guard page, and the bounded [`StackPool`].
//! - `fiber`: [`Fiber`] itself — create, [`resume`](Fiber::resume), [`reset`](Fiber::reset).
//! - `current`: what a thread knows about its running fiber, and the calls a
//!   fiber makes to stop: [`yield_now`], [`yield_to_hold`], [`park`].
//! - `overflow`: the SIGSEGV handler that reports a fiber stack overflow.
//! - `config`: the `fiber.stack_size` and `fiber.stack_pool_size` variables.

mod config;
mod current;
mod fiber;
mod overflow;
mod stack;
mod state;

pub use config::ensure_initialised as init;
pub use config::stack_size as default_stack_size;
pub use current::{
    NotInFiber, current_id, in_fiber, main_fiber_id, park, yield_now, yield_to_hold,
};
pub use fiber::{Fiber, Outcome, ResetError, panic_message};
pub use stack::{
    DEFAULT_POOL_CAPACITY, DEFAULT_STACK_SIZE, FiberStack, MAX_STACK_SIZE, MIN_STACK_SIZE,
    STACK_POOL, StackPool,
};
pub use state::{State, WakeReason};
