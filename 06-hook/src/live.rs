//! Are the hooks really in this program?
//!
//! A crate that depends on `sylar-hook` but never names it in code does not
//! link it, and then the hooks silently vanish: every `recv` blocks the
//! whole thread. `use sylar_hook as _;` is the cure; [`is_live`] the test.

use std::cell::Cell;

thread_local! {
    /// Counts calls through our `fcntl` on this thread.
    static PROBES: Cell<u64> = const { Cell::new(0) };
}

/// Called by the `fcntl` hook for the probe command.
pub(crate) fn note_probe() {
    PROBES.with(|p| p.set(p.get() + 1));
}

// ANCHOR: is_live
/// Whether calls to libc's `fcntl` from Rust code — std's, the libc crate's
/// — land in our hook. Asks `fcntl(-1, F_GETFD)` (harmless: EBADF) and
/// checks that our hook saw it.
pub fn is_live() -> bool {
    let before = PROBES.with(Cell::get);
    // SAFETY: F_GETFD on fd -1 only fails with EBADF.
    unsafe { libc::fcntl(-1, libc::F_GETFD) };
    PROBES.with(Cell::get) > before
}
// ANCHOR_END: is_live
