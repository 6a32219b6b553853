//! The sleeps: park the fiber on a timer instead of blocking the thread.
//!
//! std's `thread::sleep` calls `clock_nanosleep(CLOCK_MONOTONIC, 0, ..)`,
//! never `nanosleep`; C code calls `sleep`, `usleep`, `nanosleep`. Each keeps
//! its contract: a sub-millisecond sleep still sleeps (the timer wheel counts
//! whole milliseconds and rounds up, so it is never zero), a zero sleep
//! parks on a timer due at the next collection instead of waiting for the
//! wheel's next tick, and the calls with a "remaining time" out-parameter
//! fill it in when the sleep is cut short.

use std::time::{Duration, Instant};

use libc::{c_int, c_uint, clockid_t, timespec, useconds_t};
use sylar_fiber::in_fiber;
use sylar_iomanager::{IoHandle, WakeReason};

use crate::enable::{fail, is_hook_enabled};
use crate::original::real;

// ANCHOR: park_for
/// Parks the calling fiber for `duration`, if it can be parked; returns
/// `None` when the caller must use the real function instead.
///
/// A zero `duration` parks too, on a timer that is due at once: the worker
/// runs the fibers already queued, polls epoll and collects timers, and
/// then this one runs again, microseconds later. Returning at once, or
/// yielding to the back of the run queue, would let a fiber that waits with
/// a loop of zero sleeps keep its worker from ever polling: a fiber it
/// waits for, parked on a socket, would never be woken.
fn park_for(duration: Duration) -> Option<WakeReason> {
    if !is_hook_enabled() || !in_fiber() {
        return None;
    }
    IoHandle::current()?.sleep(duration).ok()
}
// ANCHOR_END: park_for

pub(crate) fn to_timespec(d: Duration) -> timespec {
    timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// A valid relative timespec as a Duration; `None` for a negative or
/// out-of-range one (EINVAL).
fn from_timespec(ts: &timespec) -> Option<Duration> {
    (ts.tv_sec >= 0 && (0..1_000_000_000).contains(&ts.tv_nsec))
        .then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

// ANCHOR: sleep
/// Hooked `sleep(3)`. Returns the whole seconds left if cut short.
///
/// # Safety
/// None beyond libc's `sleep`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sleep(seconds: c_uint) -> c_uint {
    let start = Instant::now();
    let wanted = Duration::from_secs(seconds.into());
    match park_for(wanted) {
        // SAFETY: the real function, with the caller's argument.
        None => unsafe { (real::sleep())(seconds) },
        Some(WakeReason::Woken) => 0,
        Some(_) => wanted.saturating_sub(start.elapsed()).as_secs_f64().ceil() as c_uint,
    }
}
// ANCHOR_END: sleep

/// Hooked `usleep(3)`.
///
/// # Safety
/// None beyond libc's `usleep`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn usleep(micros: useconds_t) -> c_int {
    match park_for(Duration::from_micros(micros.into())) {
        // SAFETY: forwarded unchanged.
        None => unsafe { (real::usleep())(micros) },
        Some(WakeReason::Woken) => 0,
        Some(_) => fail(libc::EINTR),
    }
}

// ANCHOR: nanosleep
/// Hooked `nanosleep(2)`: EINVAL for a bad request; when cut short, EINTR
/// and the time left in `remaining`.
///
/// # Safety
/// The same contract as libc's `nanosleep`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanosleep(request: *const timespec, remaining: *mut timespec) -> c_int {
    if request.is_null() {
        return fail(libc::EFAULT);
    }
    // SAFETY: non-null, and the caller promises it points at a timespec.
    let Some(wanted) = from_timespec(unsafe { &*request }) else {
        return fail(libc::EINVAL);
    };
    let start = Instant::now();
    match park_for(wanted) {
        // SAFETY: forwarded unchanged.
        None => unsafe { (real::nanosleep())(request, remaining) },
        Some(WakeReason::Woken) => 0,
        Some(_) => {
            if !remaining.is_null() {
                // SAFETY: the caller promises `remaining` is writable.
                unsafe { *remaining = to_timespec(wanted.saturating_sub(start.elapsed())) };
            }
            fail(libc::EINTR)
        }
    }
}
// ANCHOR_END: nanosleep

// ANCHOR: clock_nanosleep
/// Hooked `clock_nanosleep(2)`, what std's `thread::sleep` calls. Unlike the
/// others it returns the error number instead of setting errno. Relative
/// and absolute (TIMER_ABSTIME) sleeps on the usual clocks park the fiber;
/// other clocks go to the real function.
///
/// # Safety
/// The same contract as libc's `clock_nanosleep`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_nanosleep(
    clock: clockid_t,
    flags: c_int,
    request: *const timespec,
    remaining: *mut timespec,
) -> c_int {
    // SAFETY: the real function, with the caller's arguments and contract.
    let real = || unsafe { (real::clock_nanosleep())(clock, flags, request, remaining) };
    let known_clock = matches!(
        clock,
        libc::CLOCK_MONOTONIC | libc::CLOCK_REALTIME | libc::CLOCK_BOOTTIME
    );
    if request.is_null() || !known_clock || !is_hook_enabled() || !in_fiber() {
        return real();
    }
    // SAFETY: non-null, and the caller promises it points at a timespec.
    let request = unsafe { &*request };
    let absolute = flags & libc::TIMER_ABSTIME != 0;
    let wanted = if absolute {
        let Some(target) = from_timespec(request) else {
            return libc::EINVAL;
        };
        let mut now = timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec.
        if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
            return real();
        }
        let Some(now) = from_timespec(&now) else {
            return real();
        };
        target.saturating_sub(now)
    } else {
        match from_timespec(request) {
            Some(d) => d,
            None => return libc::EINVAL,
        }
    };
    let start = Instant::now();
    match park_for(wanted) {
        None => real(),
        Some(WakeReason::Woken) => 0,
        Some(_) => {
            if !absolute && !remaining.is_null() {
                // SAFETY: the caller promises `remaining` is writable.
                unsafe { *remaining = to_timespec(wanted.saturating_sub(start.elapsed())) };
            }
            libc::EINTR
        }
    }
}
// ANCHOR_END: clock_nanosleep
