//! `fclose`: a close that glibc makes inside itself, seen from outside.
//!
//! A program can wrap a socket in a `FILE` with `fdopen`, and end both with
//! `fclose`. glibc's `fclose` flushes the stream and closes its fd with
//! glibc's internal close, which is no symbol anyone can interpose: our
//! `close` never runs. A fiber parked on the fd would sleep on, and every
//! I/O manager would still count the number as registered with epoll,
//! which dropped it with the file. So we hook `fclose` itself, and do what
//! our `close` does before the number can be reused.
//!
//! The other closes inside glibc (`freopen`, `fcloseall`, a `FILE` closed by
//! glibc's own code) and a bare `close` system call remain unseen; see
//! `closed_unseen` in `fd_manager` and `closed_while_waiting` in `do_io`
//! for what still catches them.

use libc::{FILE, c_int};

use crate::enable::{errno, set_errno};
use crate::original::real;
use crate::socket::forget;

// ANCHOR: fclose
/// Hooked `fclose(3)`: if the stream has an fd (a memory or cookie stream
/// has none: `fileno` says -1), wakes the fibers waiting on it with EBADF
/// and makes every I/O manager forget it, as our `close` does; then the
/// real `fclose` flushes the stream and closes it. Its return value and
/// errno are the real function's.
///
/// # Safety
/// The same contract as libc's `fclose`: `stream` is an open stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fclose(stream: *mut FILE) -> c_int {
    if !stream.is_null() {
        let saved = errno(); // `fileno` sets EBADF for a stream without fd
        // SAFETY: an open stream, by the contract; `fileno` only reads it.
        forget(unsafe { libc::fileno(stream) }); // nothing for -1
        set_errno(saved);
    }
    // SAFETY: forwarded unchanged to the real function.
    unsafe { (real::fclose())(stream) }
}
// ANCHOR_END: fclose
