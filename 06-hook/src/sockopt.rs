//! Socket options: the hook records the receive and send timeouts it must
//! enforce itself (our sockets never block in the kernel, so the kernel's
//! own timeouts never fire), in both layouts Linux accepts them in.

use std::time::Duration;

use libc::{c_int, c_void, socklen_t};

use crate::fd_manager::{self, TimeoutKind};
use crate::original::real;

// ANCHOR: setsockopt
/// Hooked `setsockopt(2)`: remembers the receive and send timeouts, which
/// the hook must enforce itself since the kernel never sees us block;
/// passes every option to the kernel too, so unhooked code keeps working.
///
/// # Safety
/// The same contract as libc's `setsockopt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: socklen_t,
) -> c_int {
    // SAFETY: forwarded unchanged to the real function.
    let rc = unsafe { (real::setsockopt())(fd, level, name, value, len) };
    if rc == 0
        && level == libc::SOL_SOCKET
        && let Some(kind) = timeout_option(name)
        && let Some(ctx) = fd_manager::lookup(fd)
    {
        // SAFETY: the kernel accepted the option, so `value` points at
        // `len` readable bytes, as many as the option's layout needs.
        let timeval = unsafe { read_timeval(name, value, len) };
        if let Some((sec, usec)) = timeval {
            ctx.set_timeout(kind, timeout_of(sec, usec));
        }
    }
    rc
}
// ANCHOR_END: setsockopt

// ANCHOR: timeout_layouts
/// `SO_RCVTIMEO_NEW`: the receive timeout given as a
/// `struct __kernel_sock_timeval`, whose two fields are 64-bit on every
/// architecture (Linux 5.1 and later, `<asm-generic/socket.h>`). glibc
/// passes it for `SO_RCVTIMEO` in 32-bit programs built with a 64-bit
/// `time_t`; any program may pass it by number. (The libc crate has it
/// too, as `libc::SO_RCVTIMEO_NEW`; the kernel's number is spelt out here.)
const SO_RCVTIMEO_NEW: c_int = 66;
/// `SO_SNDTIMEO_NEW`: the send timeout, in the same layout.
const SO_SNDTIMEO_NEW: c_int = 67;

/// The value of the `_NEW` options (`struct __kernel_sock_timeval`).
#[repr(C)]
#[derive(Clone, Copy)]
struct KernelSockTimeval {
    tv_sec: i64,
    tv_usec: i64,
}

/// Which timeout a `SOL_SOCKET` option sets, if it sets one.
fn timeout_option(name: c_int) -> Option<TimeoutKind> {
    if name == libc::SO_RCVTIMEO || name == SO_RCVTIMEO_NEW {
        Some(TimeoutKind::Recv)
    } else if name == libc::SO_SNDTIMEO || name == SO_SNDTIMEO_NEW {
        Some(TimeoutKind::Send)
    } else {
        None
    }
}

/// The seconds and microseconds of a timeout option's value, read in the
/// option's layout: `struct timeval` for `SO_RCVTIMEO`/`SO_SNDTIMEO`,
/// `struct __kernel_sock_timeval` for the `_NEW` ones. `None` if `len` is
/// too short for it (the kernel refuses that with EINVAL anyway).
///
/// # Safety
/// `value` points at `len` readable bytes.
unsafe fn read_timeval(name: c_int, value: *const c_void, len: socklen_t) -> Option<(i64, i64)> {
    let new = name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW;
    if new && len as usize >= std::mem::size_of::<KernelSockTimeval>() {
        // SAFETY: the caller promises `len` readable bytes, enough for one;
        // the caller's buffer need not be aligned.
        let tv = unsafe { value.cast::<KernelSockTimeval>().read_unaligned() };
        Some((tv.tv_sec, tv.tv_usec))
    } else if !new && len as usize >= std::mem::size_of::<libc::timeval>() {
        // SAFETY: as above, for a `timeval`.
        let tv = unsafe { value.cast::<libc::timeval>().read_unaligned() };
        // `time_t` and `suseconds_t` are i64 on 64-bit Linux, not on
        // every 32-bit target.
        #[allow(clippy::useless_conversion)]
        let (sec, usec) = (i64::from(tv.tv_sec), i64::from(tv.tv_usec));
        Some((sec, usec))
    } else {
        None
    }
}

/// A timeout as the kernel's `sock_set_timeout` reads it: zero is no
/// timeout, and a negative time is one that has already run out (fail at
/// once). A `tv_usec` outside 0..1,000,000 never gets here: the kernel
/// refuses it with EDOM, and we record only what it accepted.
fn timeout_of(sec: i64, usec: i64) -> Option<Duration> {
    if sec < 0 {
        return Some(Duration::ZERO);
    }
    let t = Duration::new(sec as u64, (usec.clamp(0, 999_999) * 1000) as u32);
    (!t.is_zero()).then_some(t)
}
// ANCHOR_END: timeout_layouts

/// Hooked `getsockopt(2)`: the kernel knows every option (we passed them
/// all on), so this is the real function; hooked to complete sylar's list.
///
/// # Safety
/// The same contract as libc's `getsockopt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    // SAFETY: forwarded unchanged to the real function.
    unsafe { (real::getsockopt())(fd, level, name, value, len) }
}
