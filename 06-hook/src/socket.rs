//! Sockets coming and going: creation, accept, connect, close, dup, options.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use libc::{c_int, c_uint, sockaddr, socklen_t};
use sylar_iomanager::{Event, WakeReason, forget_fd_everywhere};

use crate::do_io::{do_io, real_poll_until};
use crate::enable::{errno, fail, is_hook_enabled, parking_io};
use crate::fd_manager::{self, TimeoutKind};
use crate::original::real;

// ANCHOR: socket
/// Hooked `socket(2)`: registers the new fd, non-blocking underneath when hooking is on.
///
/// # Safety
/// The same contract as libc's `socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let hooking = is_hook_enabled();
    let kernel_ty = fd_manager::creation_flags(ty, hooking);
    // SAFETY: the real function, with the caller's arguments (plus, maybe,
    // SOCK_NONBLOCK, which the user will not see).
    let fd = unsafe { (real::socket())(domain, kernel_ty, protocol) };
    if fd >= 0 {
        fd_manager::on_socket_created(fd, ty, hooking);
    }
    fd
}
// ANCHOR_END: socket

/// Hooked `socketpair(2)`: registers both fds.
///
/// # Safety
/// The same contract as libc's `socketpair`: `sv` points at two ints.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn socketpair(
    domain: c_int,
    ty: c_int,
    protocol: c_int,
    sv: *mut c_int,
) -> c_int {
    let hooking = is_hook_enabled();
    let kernel_ty = fd_manager::creation_flags(ty, hooking);
    // SAFETY: the real function, with the caller's arguments (plus, maybe,
    // SOCK_NONBLOCK, which the user will not see).
    let rc = unsafe { (real::socketpair())(domain, kernel_ty, protocol, sv) };
    if rc == 0 {
        for i in 0..2 {
            // SAFETY: on success the kernel wrote both entries of `sv`.
            let fd = unsafe { *sv.add(i) };
            fd_manager::on_socket_created(fd, ty, hooking);
        }
    }
    rc
}

// ANCHOR: accept
/// Hooked `accept(2)`: `accept4` without flags.
///
/// # Safety
/// The same contract as libc's `accept`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: the caller's contract, forwarded; accept is accept4 with no flags.
    unsafe { accept4(fd, addr, len, 0) }
}

/// Hooked `accept4(2)`, what std's `TcpListener::accept` calls: parks until
/// a connection arrives; registers it.
///
/// # Safety
/// The same contract as libc's `accept4`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    let hooking = is_hook_enabled();
    let kernel_flags = fd_manager::creation_flags(flags, hooking);
    // SAFETY: the real function, with the caller's arguments (plus, maybe,
    // SOCK_NONBLOCK, which the user will not see).
    let new = do_io(fd, Event::Read, TimeoutKind::Recv, None, |_| unsafe {
        (real::accept4())(fd, addr, len, kernel_flags) as libc::ssize_t
    }) as c_int;
    if new >= 0 {
        fd_manager::on_accepted(new, fd, flags, hooking);
    }
    new
}
// ANCHOR_END: accept

// ANCHOR: connect_timeout_config
/// The default connect timeout in milliseconds: config `tcp.connect.timeout`.
fn connect_timeout_ms() -> u64 {
    static TIMEOUT: AtomicU64 = AtomicU64::new(5000);
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        if let Ok(var) = sylar_config::lookup(
            "tcp.connect.timeout",
            5000_u64,
            "milliseconds a hooked connect waits before failing with ETIMEDOUT",
        ) {
            TIMEOUT.store(var.get(), Ordering::Relaxed);
            var.add_listener(|_, &new| TIMEOUT.store(new, Ordering::Relaxed));
        }
    });
    TIMEOUT.load(Ordering::Relaxed)
}
// ANCHOR_END: connect_timeout_config

/// Registers the chapter's config variables (`tcp.connect.timeout`), so
/// that they show in a config dump before the first connect.
pub fn init_config() {
    connect_timeout_ms();
}

// ANCHOR: connect_with_timeout
/// `connect(2)` that waits for the connection at most `timeout` (`None`:
/// for ever) by parking the fiber, then reports the socket's real error.
/// Fails with ETIMEDOUT when the time runs out.
///
/// # Safety
/// The same contract as libc's `connect`: `addr` points at `len` bytes.
pub unsafe fn connect_with_timeout(
    fd: c_int,
    addr: *const sockaddr,
    len: socklen_t,
    timeout: Option<Duration>,
) -> c_int {
    // SAFETY: the real function, with the caller's arguments and contract.
    let connect = || unsafe { (real::connect())(fd, addr, len) };
    let Some(ctx) = fd_manager::lookup(fd) else {
        return connect();
    };
    if !ctx.is_socket() || !ctx.is_ours() || ctx.user_nonblock() {
        return connect();
    }
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    // Parking needs a fiber of this thread's I/O manager, not merely a
    // fiber on its thread (see `parking_io`).
    let Some(io) = parking_io() else {
        if !ctx.sys_nonblock() {
            return connect(); // a truly blocking socket: the kernel waits
        }
        // Ours, non-blocking underneath, connected where nothing can park
        // (a plain thread, hooking off, or a fiber of another scheduler on
        // a worker's thread): the caller expects a blocking connect.
        return connect_without_fiber(fd, addr, connect, deadline);
    };
    if !ctx.sys_nonblock() {
        fd_manager::make_sys_nonblocking(fd, ctx);
    }
    let park_for = |d| io.sleep(d).is_ok_and(|r| r == WakeReason::Woken);
    let rc = until_backlog_has_room(addr, deadline, connect, park_for);
    if rc == 0 || errno() != libc::EINPROGRESS {
        return rc;
    }
    let generation = ctx.generation();
    match io.wait(fd, Event::Write, deadline) {
        // Closed and reused while we slept: not our socket any more.
        Ok(WakeReason::Woken) if ctx.generation() != generation => return fail(libc::EBADF),
        Ok(WakeReason::Woken) => {}
        Ok(WakeReason::TimedOut) => return fail(libc::ETIMEDOUT),
        Ok(WakeReason::Cancelled) => {
            let closed = ctx.generation() != generation;
            return fail(if closed { libc::EBADF } else { libc::ECANCELED });
        }
        // The C++ original reports success here; the wait never happened.
        Err(e) => return fail(std::io::Error::from(e).raw_os_error().unwrap_or(libc::EIO)),
    }
    socket_error(fd)
}
// ANCHOR_END: connect_with_timeout

// ANCHOR: connect_without_fiber
/// `connect` on a socket we made non-blocking, called where no fiber can
/// park: wait for the outcome with the real `poll`, as `do_io` does for reads
/// and writes, so that the caller sees the blocking connect it asked for.
fn connect_without_fiber(
    fd: c_int,
    addr: *const sockaddr,
    connect: impl Fn() -> c_int,
    deadline: Option<Instant>,
) -> c_int {
    let rc = until_backlog_has_room(addr, deadline, connect, sleep_thread);
    if rc == 0 || errno() != libc::EINPROGRESS {
        return rc;
    }
    loop {
        match real_poll_until(fd, Event::Write, deadline) {
            None => return fail(libc::ETIMEDOUT),
            Some(n) if n > 0 => return socket_error(fd),
            Some(n) if n < 0 && errno() != libc::EINTR => return -1,
            Some(_) => {} // interrupted, or woken without readiness: again
        }
    }
}
// ANCHOR_END: connect_without_fiber

// ANCHOR: unix_backlog
/// The longest pause between two tries of a connect to a full Unix backlog.
const MAX_BACKLOG_PAUSE: Duration = Duration::from_millis(50);

/// Calls `connect` (the real one, on a non-blocking socket) and returns
/// what it returns, except for one case. A Unix socket whose listener's
/// backlog is full answers a non-blocking connect with EAGAIN at once,
/// where a blocking connect waits for room. No readiness event announces
/// that room, so we pause (`pause`, which says whether to go on) and try
/// again, the pauses growing from 1 ms to [`MAX_BACKLOG_PAUSE`], until
/// `deadline`; then the caller gets EAGAIN, as the kernel's own timeout
/// (SO_SNDTIMEO) gives. (Over TCP, EAGAIN means no local port is free,
/// which a blocking connect reports at once too.)
fn until_backlog_has_room(
    addr: *const sockaddr,
    deadline: Option<Instant>,
    connect: impl Fn() -> c_int,
    pause: impl Fn(Duration) -> bool,
) -> c_int {
    let mut next = Duration::from_millis(1);
    loop {
        let rc = connect();
        if rc == 0 || errno() != libc::EAGAIN {
            return rc;
        }
        // SAFETY: the connect did not fail with EFAULT or EINVAL, so `addr`
        // points at an address at least as long as its family field.
        if c_int::from(unsafe { (*addr).sa_family }) != libc::AF_UNIX {
            return rc;
        }
        let left = deadline.map_or(next, |d| d.saturating_duration_since(Instant::now()));
        if left.is_zero() || !pause(next.min(left)) {
            return fail(libc::EAGAIN);
        }
        next = (next * 2).min(MAX_BACKLOG_PAUSE);
    }
}

/// Blocks the thread for `d` with the real `nanosleep`.
fn sleep_thread(d: Duration) -> bool {
    let ts = crate::sleep::to_timespec(d);
    // SAFETY: a valid timespec; the real function, not our hook.
    unsafe { (real::nanosleep())(&ts, std::ptr::null_mut()) };
    true
}
// ANCHOR_END: unix_backlog

/// The outcome of a finished non-blocking connect: 0, or -1 with errno set
/// to the socket's `SO_ERROR`.
fn socket_error(fd: c_int) -> c_int {
    let mut error: c_int = 0;
    let mut size = std::mem::size_of::<c_int>() as socklen_t;
    // SAFETY: SO_ERROR writes one int into `error`.
    let rc = unsafe {
        (real::getsockopt())(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut error).cast(),
            &mut size,
        )
    };
    if rc != 0 {
        return -1;
    }
    if error != 0 {
        return fail(error);
    }
    0
}

// ANCHOR: connect
/// Hooked `connect(2)`: [`connect_with_timeout`] with `tcp.connect.timeout`.
///
/// # Safety
/// The same contract as libc's `connect`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let timeout = Duration::from_millis(connect_timeout_ms());
    // SAFETY: the caller's contract, forwarded.
    unsafe { connect_with_timeout(fd, addr, len, Some(timeout)) }
}
// ANCHOR_END: connect

// ANCHOR: close
/// Hooked `close(2)`: wakes every fiber waiting on the fd — with an error,
/// they must not retry on a closed or reused number — makes every I/O
/// manager forget it, then closes it for real.
///
/// # Safety
/// The same contract as libc's `close`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    forget(fd);
    // SAFETY: forwarded unchanged to the real function.
    unsafe { (real::close())(fd) }
}
// ANCHOR_END: close

// ANCHOR: forget
/// Everything that must happen before the number `fd` can be reused.
pub(crate) fn forget(fd: c_int) {
    if fd < 0 {
        return;
    }
    // The generation moves first, so a woken waiter sees "closed" (EBADF).
    fd_manager::on_closed(fd);
    forget_fd_everywhere(fd);
}
// ANCHOR_END: forget

/// Hooked `dup(2)`: the copy shares the open file, so it shares our state.
///
/// # Safety
/// The same contract as libc's `dup`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: forwarded unchanged to the real function.
    let new = unsafe { (real::dup())(fd) };
    if new >= 0 {
        fd_manager::on_duplicated(fd, new);
    }
    new
}

/// Whether `fd` is open: a `dup2`/`dup3` from a closed fd fails and leaves
/// its target alone, so the target must not be forgotten before it.
fn is_open(fd: c_int) -> bool {
    // SAFETY: F_GETFD takes no argument and only reads the fd's flags.
    unsafe { (real::fcntl())(fd, libc::F_GETFD) >= 0 }
}

// ANCHOR: dup2
/// Hooked `dup2(2)`: `new` is closed first if open; forget it (only when the
/// call can succeed: a failed `dup2` leaves `new` as it was).
///
/// # Safety
/// The same contract as libc's `dup2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if old != new && is_open(old) {
        forget(new);
    }
    // SAFETY: forwarded unchanged to the real function.
    let rc = unsafe { (real::dup2())(old, new) };
    if rc >= 0 && old != new {
        fd_manager::on_duplicated(old, new);
    }
    rc
}
// ANCHOR_END: dup2

/// Hooked `dup3(2)`.
///
/// # Safety
/// The same contract as libc's `dup3`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if old != new && flags & !libc::O_CLOEXEC == 0 && is_open(old) {
        forget(new);
    }
    // SAFETY: forwarded unchanged to the real function.
    let rc = unsafe { (real::dup3())(old, new, flags) };
    if rc >= 0 {
        fd_manager::on_duplicated(old, new);
    }
    rc
}

// ANCHOR: close_range
/// Hooked `close_range(2)`.
///
/// # Safety
/// The same contract as libc's `close_range`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    if flags & libc::CLOSE_RANGE_CLOEXEC as c_int == 0 {
        // Only the fds we know of need forgetting; don't walk 2^32 numbers.
        let last = last.min(first.saturating_add(1 << 20));
        for fd in first..=last {
            if fd_manager::existing(fd as c_int).is_some() {
                forget(fd as c_int);
            }
        }
    }
    // SAFETY: forwarded unchanged to the real function.
    unsafe { (real::close_range())(first, last, flags) }
}
// ANCHOR_END: close_range
