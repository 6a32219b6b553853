//! `fcntl` and `ioctl`: keeping the user's O_NONBLOCK apart from ours.
//!
//! We make hooked sockets non-blocking at the system level, but the user must
//! not notice: `fcntl(F_GETFL)` hides our O_NONBLOCK, and clearing it with
//! `F_SETFL` or `ioctl(FIONBIO)` clears only the user's wish, never ours.
//! Setting it records the user's wish, after which hooked calls give them
//! EAGAIN like a plain non-blocking socket (std's `set_nonblocking` uses
//! `ioctl(FIONBIO)`; `connect_timeout` too).
//!
//! # Variadic functions
//!
//! `fcntl(int, int, ...)` and `ioctl(int, unsigned long, ...)` are variadic,
//! and stable Rust cannot *define* a variadic function. On x86-64 and
//! aarch64 Linux the variadic argument travels in the same register as a
//! third ordinary argument would, so we define them with a fixed third
//! argument of pointer size, and call the originals through a variadic
//! function-pointer type, passing it on. Every `fcntl`/`ioctl` command takes
//! at most one argument, an int or a pointer, which fits.

use libc::{c_int, c_ulong};

use crate::fd_manager;
use crate::original::real;

// ANCHOR: variadic_type
type VariadicFcntl = unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
// ANCHOR_END: variadic_type

// ANCHOR: fcntl
/// What `fcntl` and `fcntl64` do, around the real one.
unsafe fn fcntl_with(original: VariadicFcntl, fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    if fd == -1 && cmd == libc::F_GETFD {
        crate::live::note_probe();
    }
    match cmd {
        libc::F_SETFL => {
            let Some(ctx) = fd_manager::lookup(fd).filter(|c| c.is_socket()) else {
                // SAFETY: forwarded unchanged.
                return unsafe { original(fd, cmd, arg) };
            };
            let wanted = arg as c_int;
            ctx.set_user_nonblock(wanted & libc::O_NONBLOCK != 0);
            let actual = match ctx.sys_nonblock() {
                true => wanted | libc::O_NONBLOCK,
                false => wanted,
            };
            // SAFETY: F_SETFL with an int of flags.
            unsafe { original(fd, cmd, actual) }
        }
        libc::F_GETFL => {
            // SAFETY: F_GETFL takes no argument.
            let flags = unsafe { original(fd, cmd) };
            match fd_manager::lookup(fd) {
                Some(ctx) if flags >= 0 && ctx.sys_nonblock() && !ctx.user_nonblock() => {
                    flags & !libc::O_NONBLOCK
                }
                _ => flags,
            }
        }
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            // SAFETY: forwarded unchanged; the result is a new fd.
            let new = unsafe { original(fd, cmd, arg) };
            if new >= 0 {
                fd_manager::on_duplicated(fd, new);
            }
            new
        }
        // SAFETY: forwarded unchanged.
        _ => unsafe { original(fd, cmd, arg) },
    }
}
// ANCHOR_END: fcntl

// ANCHOR: fcntl_hooks
/// Hooked `fcntl(2)` (declared with a fixed third argument: see the module docs).
///
/// # Safety
/// The same contract as libc's `fcntl`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    // SAFETY: the caller's contract, forwarded.
    unsafe { fcntl_with(real::fcntl(), fd, cmd, arg) }
}

/// Hooked `fcntl64`, which C code built with `_FILE_OFFSET_BITS=64` calls.
///
/// # Safety
/// The same contract as libc's `fcntl64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    // SAFETY: the caller's contract, forwarded.
    unsafe { fcntl_with(real::fcntl64(), fd, cmd, arg) }
}
// ANCHOR_END: fcntl_hooks

// ANCHOR: ioctl
/// Hooked `ioctl(2)`: FIONBIO records the user's wish and keeps ours.
///
/// # Safety
/// The same contract as libc's `ioctl`; for FIONBIO `arg` points at an int.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: c_ulong) -> c_int {
    if request == libc::FIONBIO as c_ulong
        && arg != 0
        && let Some(ctx) = fd_manager::lookup(fd).filter(|c| c.is_socket())
    {
        // SAFETY: FIONBIO's argument is a pointer to an int.
        let on = unsafe { *(arg as *const c_int) } != 0;
        ctx.set_user_nonblock(on);
        if ctx.sys_nonblock() {
            let keep_on: c_int = 1;
            // SAFETY: FIONBIO with a pointer to a valid int.
            return unsafe { (real::ioctl())(fd, request, &keep_on as *const c_int) };
        }
    }
    // SAFETY: forwarded unchanged.
    unsafe { (real::ioctl())(fd, request, arg) }
}
// ANCHOR_END: ioctl
