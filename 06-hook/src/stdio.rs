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
//! The flush inside `fclose` is glibc's too, with its internal `write`: on
//! a socket we made non-blocking it would meet EAGAIN where the user's
//! blocking socket waits, and glibc drops what it could not write. So
//! `fclose` flushes such a stream first, with the socket blocking for that
//! time. The flushes inside `fwrite`, `fprintf` and `fflush` are not
//! ours: they still see the non-blocking socket (a short count, an error).
//!
//! The other closes inside glibc (`freopen`, `fcloseall`, a `FILE` closed by
//! glibc's own code) and a bare `close` system call remain unseen; see
//! `closed_unseen` in `fd_manager` and `closed_while_waiting` in `do_io`
//! for what still catches them.

use libc::{FILE, c_int, size_t};

use crate::enable::{errno, fail, set_errno};
use crate::fd_manager;
use crate::original::real;
use crate::socket::forget;

unsafe extern "C" {
    /// glibc's count of the bytes waiting in a stream's output buffer
    /// (`<stdio_ext.h>`).
    fn __fpending(stream: *mut FILE) -> size_t;
}

// ANCHOR: fclose
/// Hooked `fclose(3)`: if the stream has an fd (a memory or cookie stream
/// has none: `fileno` says -1), flushes what it holds for a socket we made
/// non-blocking as a blocking socket would take it ([`flush_blocking`]),
/// wakes the fibers waiting on the fd with EBADF and makes every I/O
/// manager forget it, as our `close` does; then the real `fclose` closes
/// the stream. Its return value and errno are the real function's, or EOF
/// and the flush's errno if that flush failed.
///
/// # Safety
/// The same contract as libc's `fclose`: `stream` is an open stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fclose(stream: *mut FILE) -> c_int {
    let mut flush_error = None;
    if !stream.is_null() {
        let saved = errno(); // `fileno` sets EBADF for a stream without fd
        // SAFETY: an open stream, by the contract; `fileno` only reads it.
        let fd = unsafe { libc::fileno(stream) };
        // SAFETY: the same stream, and its fd.
        flush_error = unsafe { flush_blocking(stream, fd) };
        forget(fd); // nothing for -1
        set_errno(saved);
    }
    // SAFETY: forwarded unchanged to the real function.
    let rc = unsafe { (real::fclose())(stream) };
    match flush_error {
        Some(error) if rc == 0 => fail(error),
        _ => rc,
    }
}
// ANCHOR_END: fclose

// ANCHOR: flush_blocking
/// Before the real `fclose` flushes `stream` (on `fd`): if it holds output
/// for a socket that the user wants blocking and that we made non-blocking
/// underneath, flushes it here with the socket blocking for the time of
/// the flush. glibc writes with its internal `write`, which no hook sees:
/// on the non-blocking socket it would meet EAGAIN once the send buffer is
/// full, and drop what it could not write. Blocking, it waits for the
/// peer, bounded by the socket's own SO_SNDTIMEO (our `setsockopt` gives
/// it to the kernel too), as without the hook; in a fiber the worker
/// thread waits with it. `Some(errno)` if that flush failed.
///
/// # Safety
/// `stream` is an open stream and `fd` its `fileno`.
unsafe fn flush_blocking(stream: *mut FILE, fd: c_int) -> Option<c_int> {
    let ours_nonblocking = fd_manager::existing(fd)
        .is_some_and(|ctx| ctx.is_socket() && ctx.sys_nonblock() && !ctx.user_nonblock());
    // SAFETY: an open stream, by the contract; `__fpending` only reads it.
    if !ours_nonblocking || unsafe { __fpending(stream) } == 0 {
        return None;
    }
    // SAFETY: F_GETFL/F_SETFL on the stream's fd, the real fcntl; `fflush`
    // on an open stream.
    unsafe {
        let flags = (real::fcntl())(fd, libc::F_GETFL);
        if flags < 0 || (real::fcntl())(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) != 0 {
            return None; // glibc's flush in fclose, as before
        }
        let flushed = libc::fflush(stream);
        let error = errno();
        (real::fcntl())(fd, libc::F_SETFL, flags);
        (flushed != 0).then_some(error)
    }
}
// ANCHOR_END: flush_blocking
