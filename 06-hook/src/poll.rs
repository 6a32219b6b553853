//! `poll`: park until any of the given fds is ready, or the timeout.
//!
//! std's `TcpStream::connect_timeout` makes the socket non-blocking, starts
//! the connect, then `poll`s the one fd for POLLOUT. We park the fiber on
//! every fd it names (reads and writes), plus a timer, and let whichever
//! fires first wake it; then the real `poll`, with a zero timeout, fills in
//! what is ready.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libc::{c_int, nfds_t, pollfd};
use sylar_fiber::{Fiber, WakeReason, in_fiber, park};
use sylar_iomanager::{Event, EventKey, IoHandle, Timer};
use sylar_scheduler::Handle;

use crate::enable::{fail, is_hook_enabled};
use crate::fd_manager;
use crate::original::real;

// ANCHOR: wake
/// What the wake-ups of one parked `poll` share: the fiber (taken by the
/// first to fire), the scheduler to wake it on, and the timeout timer to
/// cancel afterwards.
struct Shared {
    fiber: Option<Fiber>,
    handle: Option<Handle>,
    timer: Option<Timer>,
    /// The waits we registered, to withdraw exactly those afterwards.
    registered: Vec<(c_int, Event, EventKey)>,
}

// ANCHOR: shared_drop
impl Drop for Shared {
    /// The last waker is gone and none fired — the I/O manager stopped and
    /// dropped the timer callback, say: wake the fiber with `Cancelled`
    /// rather than lose it.
    fn drop(&mut self) {
        if let (Some(mut fiber), Some(handle)) = (self.fiber.take(), self.handle.take()) {
            fiber.set_wake_reason(WakeReason::Cancelled);
            if let Err(e) = handle.schedule_fiber(fiber) {
                std::mem::forget(e.task);
            }
        }
    }
}
// ANCHOR_END: shared_drop

type SharedState = Arc<Mutex<Shared>>;

fn lock(state: &SharedState) -> std::sync::MutexGuard<'_, Shared> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes the parked fiber, if no one has yet.
fn wake(state: &SharedState, handle: &Handle, reason: WakeReason) {
    let fiber = lock(state).fiber.take();
    if let Some(mut fiber) = fiber {
        fiber.set_wake_reason(reason);
        if let Err(e) = handle.schedule_fiber(fiber) {
            // A stopped scheduler: keep the parked fiber rather than drop it.
            std::mem::forget(e.task);
        }
    }
}
// ANCHOR_END: wake

// ANCHOR: wait_any
/// Parks until one of `interests` is ready or `deadline` passes.
fn wait_any(io: &IoHandle, interests: &[(c_int, Event)], deadline: Option<Instant>) -> WakeReason {
    // The wakers hold the only strong references, so that when the last of
    // them is dropped unfired, `Shared::drop` wakes the fiber. We keep a weak one.
    let shared = Arc::new(Mutex::new(Shared {
        fiber: None,
        handle: None,
        timer: None,
        registered: Vec::new(),
    }));
    let state = Arc::downgrade(&shared);
    let (io2, list) = (io.clone(), interests.to_vec());
    let reason = park(move |fiber| {
        let handle = Handle::current().unwrap_or_else(|| io2.scheduler().clone());
        {
            let mut s = lock(&shared);
            s.fiber = Some(fiber);
            s.handle = Some(handle.clone());
        }
        let mut retry = None;
        for (fd, event) in list {
            let (s, h) = (shared.clone(), handle.clone());
            match io2.add_event(fd, event, move |reason| wake(&s, &h, reason)) {
                Ok(key) => lock(&shared).registered.push((fd, event, key)),
                // Someone else waits on it (or it is bad): look again soon.
                Err(_) => retry = Some(Duration::from_millis(1)),
            }
        }
        let delay = match (deadline, retry) {
            (Some(d), Some(r)) => Some(d.saturating_duration_since(Instant::now()).min(r)),
            (Some(d), None) => Some(d.saturating_duration_since(Instant::now())),
            (None, r) => r,
        };
        if let Some(delay) = delay {
            let (s, h) = (shared.clone(), handle.clone());
            let timer = io2.add_timer(delay, move || wake(&s, &h, WakeReason::TimedOut));
            lock(&shared).timer = Some(timer);
        }
    })
    .unwrap_or(WakeReason::Cancelled);
    // Whatever did not fire is withdrawn (if the wakers are all gone, so is
    // everything they registered).
    if let Some(shared) = state.upgrade() {
        let (registered, timer) = {
            let mut s = lock(&shared);
            (std::mem::take(&mut s.registered), s.timer.take())
        };
        for (fd, event, key) in registered {
            drop(io.del_event_if(fd, event, key));
        }
        if let Some(timer) = timer {
            timer.cancel();
        }
    }
    reason
}
// ANCHOR_END: wait_any

// ANCHOR: poll
/// Hooked `poll(2)`.
///
/// # Safety
/// The same contract as libc's `poll`: `fds` points at `nfds` pollfds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int {
    // SAFETY: the real poll, with the caller's pointers and contract.
    let real = |ms| unsafe { (real::poll())(fds, nfds, ms) };
    if timeout == 0 || !is_hook_enabled() || !in_fiber() || (nfds == 0 && timeout < 0) {
        return real(timeout);
    }
    let Some(io) = IoHandle::current() else {
        return real(timeout);
    };
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    let interests: Vec<(c_int, Event)> = (0..nfds as usize)
        .flat_map(|i| {
            // SAFETY: `i < nfds`, within the caller's array.
            let p = unsafe { &*fds.add(i) };
            let write = p.events & libc::POLLOUT != 0;
            // Hang-ups and errors are reported whatever was asked, and they
            // wake read waiters: an fd asked for nothing else still needs one.
            let read = p.events & (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) != 0 || !write;
            [(read, Event::Read), (write, Event::Write)]
                .into_iter()
                .filter(move |&(wanted, _)| wanted && p.fd >= 0)
                .map(move |(_, event)| (p.fd, event))
        })
        .collect();
    if interests.is_empty() && deadline.is_none() {
        // Nothing to wait for and no end: the real poll blocks for ever, and
        // so do we (a fiber with no waker could never be resumed).
        return real(timeout);
    }
    loop {
        let ready = real(0);
        if ready != 0 {
            return ready;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return 0;
        }
        let reason = wait_any(&io, &interests, deadline);
        // The read edges that woke us are spent: a later read must try the
        // socket instead of trusting an earlier short read (chapter 6's
        // drained skip) and waiting for an edge that already came.
        for &(fd, event) in &interests {
            if event == Event::Read
                && let Some(ctx) = fd_manager::lookup(fd)
            {
                ctx.set_drained(false);
            }
        }
        if reason == WakeReason::Cancelled {
            return fail(libc::EINTR);
        }
    }
}
// ANCHOR_END: poll
