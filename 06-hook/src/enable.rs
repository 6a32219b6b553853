//! The per-thread switch, and errno.
//!
//! Hooking is on in the worker threads of an I/O manager and off everywhere
//! else: on any other thread every hooked function calls the original at
//! once, so test harnesses, plain threads and programs that merely link this
//! crate behave exactly as without it. A worker can still turn it off for a
//! while with [`set_hook_enabled`].

use std::cell::Cell;

use sylar_fiber::in_fiber;
use sylar_iomanager::IoHandle;

thread_local! {
    /// Set by `set_hook_enabled(false)`. `const` and without destructor:
    /// hooked functions read it, even while the thread is exiting.
    static DISABLED: Cell<bool> = const { Cell::new(false) };
}

// ANCHOR: is_hook_enabled
/// Whether hooked functions called on this thread may park the calling
/// fiber: the thread is an I/O manager worker and hooking was not turned off.
/// (A fiber of another scheduler running on that thread still cannot: its
/// waits find no reactor of its own, and its calls block the thread.)
///
/// Out of line, like chapter 3's accessors: it reads a thread-local, and a
/// caller inlining it could keep that thread's address across a park after
/// which the fiber runs on another worker.
#[inline(never)]
pub fn is_hook_enabled() -> bool {
    IoHandle::on_worker_thread() && !DISABLED.with(Cell::get)
}

/// The I/O manager a hooked call made now may park on: hooking is on and
/// the caller is a fiber *of* an I/O manager, not merely a fiber on one's
/// thread. A fiber of a plain scheduler whose loop runs inside a worker's
/// (a `use_caller` scheduler stopped by one of its fibers) gets `None`:
/// woken, it would go back to a scheduler whose `stop` knew nothing of the
/// wait. `None` means "call the real function here", as every hook does off
/// the fiber path. (`do_io`, on every read and write, asks only
/// [`is_hook_enabled`] and learns the rest from `wait_current`.)
pub(crate) fn parking_io() -> Option<IoHandle> {
    (is_hook_enabled() && in_fiber())
        .then(IoHandle::current)
        .flatten()
}

/// Turns hooking off (or back on) for the calling thread. Off, hooked
/// functions behave like the originals even on an I/O manager worker.
pub fn set_hook_enabled(enabled: bool) {
    DISABLED.with(|d| d.set(!enabled));
}
// ANCHOR_END: is_hook_enabled

// ANCHOR: errno
/// The calling thread's errno.
#[inline]
pub(crate) fn errno() -> libc::c_int {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's errno.
#[inline]
pub(crate) fn set_errno(value: libc::c_int) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = value };
}

/// Sets errno and returns -1, the C way of failing.
#[inline]
pub(crate) fn fail<T: From<i8>>(value: libc::c_int) -> T {
    set_errno(value);
    T::from(-1)
}
// ANCHOR_END: errno
