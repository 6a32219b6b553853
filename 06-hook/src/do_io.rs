//! `do_io`: the one function every hooked read and write goes through.
//!
//! ```text
//!  hooked recv(fd, ...)
//!        │
//!        ▼
//!  a socket of ours, user wants blocking? ── no ──────────▶ real recv, as is
//!        │ yes
//!        ▼
//!  not in a fiber, or hooking off? ── yes ─▶ real recv, blocking emulated with real poll
//!        │ no
//!        ▼
//!  last read was short (drained)? ── yes ─▶ skip the call: treat it as EAGAIN ─┐
//!        │ no                                                                   │
//!        ▼                                                                      │
//!  ┌──▶ recvfrom system call ─▶ data / error ─▶ return it (short: drained)      │
//!  │        │ EINTR ─▶ again        │ EAGAIN ◀───────────────────────────────────┘
//!  │        │                       ▼
//!  │        │        deadline (SO_RCVTIMEO) passed? ── yes ─▶ EAGAIN, like the kernel
//!  │        │                       │ no
//!  │        │                       ▼
//!  │        │   park until readable or the deadline (IoHandle::wait_current_tracked)
//!  │        │                       │
//!  └── Woken ◀──────────────────────┤ TimedOut ─▶ EAGAIN (EBADF: fd closed meanwhile)
//!   (EBADF if the fd was closed and │ Cancelled ─▶ EBADF (fd closed) / ECANCELED
//!    reused while we slept)
//! ```

use std::time::Instant;

use sylar_fiber::in_fiber;
use sylar_iomanager::{Event, EventError, IoHandle, WakeReason};

use crate::enable::{errno, fail, is_hook_enabled};
use crate::fd_manager::{self, FdCtx, TimeoutKind};
use crate::original::{Via, real};

// ANCHOR: do_io
/// Runs `call` (a real libc function on `fd`) with blocking semantics that
/// park the fiber instead of the thread. Returns what the call returns; on
/// failure errno is set, exactly as the real function would set it.
///
/// `call(via)` makes the call through glibc or as the bare system call
/// ([`Via`]): the bare one only in a fiber, where the socket is ours and
/// non-blocking underneath; everywhere else the program gets glibc's.
///
/// `read_len` is the buffer size of a plain read (`read`, `recv`,
/// `recvfrom`), which lets a short read mark a stream socket as drained.
#[inline]
pub(crate) fn do_io(
    fd: libc::c_int,
    event: Event,
    kind: TimeoutKind,
    read_len: Option<usize>,
    call: impl FnMut(Via) -> libc::ssize_t,
) -> libc::ssize_t {
    do_io_on(fd, fd_manager::lookup(fd), event, kind, read_len, call)
}

/// [`do_io`] with `fd`'s context already looked up (`ctx` is
/// `fd_manager::lookup(fd)`): a write that looked it up to choose how to
/// write passes it on rather than looking it up again. An fd number keeps
/// its context for good (the table never moves an entry), so `ctx` stays
/// right across the several calls of one whole write; if the fd is closed
/// meanwhile, its flags are wiped and the call goes to libc, as a lookup
/// would send it.
pub(crate) fn do_io_on(
    fd: libc::c_int,
    ctx: Option<&FdCtx>,
    event: Event,
    kind: TimeoutKind,
    read_len: Option<usize>,
    call: impl FnMut(Via) -> libc::ssize_t,
) -> libc::ssize_t {
    do_io_until(fd, ctx, event, kind, read_len, &mut None, call)
}

/// [`do_io_on`] with the deadline kept by the caller: `None` until the
/// call first has to wait, then the instant the timeout runs out. One whole
/// write passes the same one to each of its calls, so that its timeout
/// bounds the whole write as the kernel's SO_SNDTIMEO does (the time a
/// blocking `send` may wait in all), instead of starting again each time a
/// few bytes went out. Always inlined: in `do_io_on` the deadline is then
/// a local, as it always was, and a single call pays nothing for this.
#[inline(always)]
pub(crate) fn do_io_until(
    fd: libc::c_int,
    ctx: Option<&FdCtx>,
    event: Event,
    kind: TimeoutKind,
    read_len: Option<usize>,
    deadline: &mut Option<Instant>,
    mut call: impl FnMut(Via) -> libc::ssize_t,
) -> libc::ssize_t {
    let Some(ctx) = ctx else {
        return call(Via::Libc);
    };
    if !ctx.is_socket() || !ctx.is_ours() || ctx.user_nonblock() {
        return call(Via::Libc);
    }
    if !is_hook_enabled() || !in_fiber() {
        return block_without_fiber(fd, ctx, event, kind, deadline, || call(Via::Libc));
    }
    if !ctx.sys_nonblock() {
        // A socket made before hooking was on (or on another thread):
        // make it non-blocking now, once.
        fd_manager::make_sys_nonblocking(fd, ctx);
    }
    let generation = ctx.generation();
    // ANCHOR: drained_skip
    // A read that follows a short read: the socket was empty then, so wait
    // for readiness first instead of paying for a read that says EAGAIN.
    // (An edge that arrived since is remembered, and one that a wait of
    // someone else's took is reported: the tracked wait returns at once.)
    let mut skip_call = read_len.is_some() && ctx.is_drained();
    loop {
        let n = if std::mem::take(&mut skip_call) {
            crate::enable::set_errno(libc::EAGAIN);
            -1
        } else {
            call(Via::Syscall)
        };
        if n >= 0 {
            if let Some(len) = read_len
                && ctx.is_stream()
            {
                ctx.set_drained(n > 0 && (n as usize) < len);
            }
            return n;
        }
        // ANCHOR_END: drained_skip
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => {}
            _ => return -1,
        }
        // It would block. The timeout bounds the whole call, from the
        // first time it would have blocked.
        match *deadline {
            None => {
                if let Some(timeout) = ctx.timeout(kind) {
                    *deadline = Instant::now().checked_add(timeout);
                }
            }
            Some(d) if Instant::now() >= d => return fail(libc::EAGAIN),
            Some(_) => {}
        }
        match IoHandle::wait_current_tracked(fd, event, *deadline) {
            // Closed and reused while we slept: not our fd any more.
            Ok(WakeReason::Woken) if ctx.generation() != generation => return fail(libc::EBADF),
            Ok(WakeReason::Woken) => {
                // The edge that woke us is spent: until a read says
                // otherwise, the socket is not known to be empty. (A
                // `readv` woken here that leaves bytes behind must not let
                // the next `recv` wait for an edge that already came.)
                if event == Event::Read {
                    ctx.set_drained(false);
                }
                continue;
            }
            // The kernel's own SO_RCVTIMEO/SO_SNDTIMEO timeout is EAGAIN,
            // so std reports WouldBlock with the hook on or off; unless the
            // fd was closed while we waited (see `closed_while_waiting`).
            Ok(WakeReason::TimedOut) => {
                let closed = closed_while_waiting(fd, ctx, generation);
                return fail(if closed { libc::EBADF } else { libc::EAGAIN });
            }
            Ok(WakeReason::Cancelled) => {
                // Closed (and maybe reused) under us: never retry on it.
                let closed = ctx.generation() != generation;
                return fail(if closed { libc::EBADF } else { libc::ECANCELED });
            }
            // Not a fiber of this thread's I/O manager (one of a plain
            // scheduler whose loop runs inside the worker's): it must not
            // park here. Block the thread, as on a thread without a reactor.
            Err(EventError::NotInFiber) => {
                return cannot_park(fd, ctx, event, kind, deadline, || call(Via::Libc));
            }
            Err(e) => return fail(std::io::Error::from(e).raw_os_error().unwrap_or(libc::EIO)),
        }
    }
}
// ANCHOR_END: do_io

// ANCHOR: cannot_park
/// `do_io` in a fiber that the thread's reactor does not serve: the rest of
/// the call blocks the thread. The socket is no longer known to be empty for
/// the fibers that come after: they try it before they wait.
#[cold]
#[inline(never)]
fn cannot_park(
    fd: libc::c_int,
    ctx: &FdCtx,
    event: Event,
    kind: TimeoutKind,
    deadline: &mut Option<Instant>,
    call: impl FnMut() -> libc::ssize_t,
) -> libc::ssize_t {
    if event == Event::Read {
        ctx.set_drained(false);
    }
    block_without_fiber(fd, ctx, event, kind, deadline, call)
}
// ANCHOR_END: cannot_park

// ANCHOR: closed_while_waiting
/// Whether `fd`, whose wait has just timed out, was closed while the fiber
/// waited: by our `close` (the generation moved), or past every hook (a
/// bare system call, glibc's internal close in `freopen`). Epoll reports
/// nothing for the second: it drops the registration with the file. What
/// is left to see is a number that is no longer open, which one
/// `fcntl(F_GETFD)` tells: a system call, but only on a path that has just
/// waited out a whole timeout. A number that a call we do not hook (`open`,
/// `pipe`) has handed out again meanwhile looks open, and the wait ends
/// with EAGAIN as before.
#[cold]
#[inline(never)]
fn closed_while_waiting(fd: libc::c_int, ctx: &FdCtx, generation: u64) -> bool {
    // SAFETY: F_GETFD takes no argument and only reads the fd's flags; the
    // real fcntl, not our hook.
    let gone = || unsafe { (real::fcntl())(fd, libc::F_GETFD) } == -1 && errno() == libc::EBADF;
    ctx.generation() != generation || gone()
}
// ANCHOR_END: closed_while_waiting

/// Whether calls on the fd whose context is `ctx` (from
/// `fd_manager::lookup`) get blocking semantics emulated by us (a stream
/// socket of ours that the user wants blocking): then a write must go on
/// until everything is written, as a blocking write does.
pub(crate) fn emulates_blocking_stream(ctx: Option<&FdCtx>) -> bool {
    ctx.is_some_and(|ctx| {
        ctx.is_socket() && ctx.is_ours() && ctx.is_stream() && !ctx.user_nonblock()
    })
}

// ANCHOR: block_without_fiber
/// A blocking call on a socket that *we* made non-blocking, from code that
/// cannot park (a plain thread, or the hook turned off): wait with the real
/// `poll`, so that the caller still sees a blocking call with its timeout
/// (`deadline`: as in [`do_io_on`]).
fn block_without_fiber(
    fd: libc::c_int,
    ctx: &FdCtx,
    event: Event,
    kind: TimeoutKind,
    deadline: &mut Option<Instant>,
    mut call: impl FnMut() -> libc::ssize_t,
) -> libc::ssize_t {
    if !ctx.sys_nonblock() {
        return call(); // a truly blocking socket: the kernel blocks for us
    }
    if deadline.is_none() {
        *deadline = ctx
            .timeout(kind)
            .and_then(|t| Instant::now().checked_add(t));
    }
    let deadline = *deadline;
    loop {
        let n = call();
        if n >= 0 || errno() != libc::EAGAIN {
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return n;
        }
        match real_poll_until(fd, event, deadline) {
            None => return fail(libc::EAGAIN),
            // A signal handler ran. The kernel never restarts a socket call
            // that has a timeout, SA_RESTART or not: it fails with EINTR.
            // (Without one it restarts it, or not, as the handler asked,
            // which we cannot see: we go on, as SA_RESTART asks.)
            Some(-1) if deadline.is_some() && errno() == libc::EINTR => return -1,
            Some(_) => {}
        }
    }
}

/// Blocks the thread in the real `poll` until `fd` is ready for `event` or
/// `deadline` passes. `None` when the deadline had already passed (nothing
/// was polled); otherwise what `poll` returned.
pub(crate) fn real_poll_until(
    fd: libc::c_int,
    event: Event,
    deadline: Option<Instant>,
) -> Option<libc::c_int> {
    let wait_ms = match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            left.as_millis().clamp(1, i32::MAX as u128) as i32
        }
    };
    let mut pfd = libc::pollfd {
        fd,
        events: match event {
            Event::Read => libc::POLLIN,
            Event::Write => libc::POLLOUT,
        },
        revents: 0,
    };
    // SAFETY: one valid pollfd; the real poll, not our hook.
    Some(unsafe { (real::poll())(&mut pfd, 1, wait_ms) })
}
// ANCHOR_END: block_without_fiber
