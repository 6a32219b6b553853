//! What the hook knows about each file descriptor (sylar's `FdCtx` / `FdManager`).
//!
//! Per fd: is it a socket; did *we* make it non-blocking (so that a hooked
//! call can return EAGAIN to us and park instead of blocking the thread);
//! did the *user* ask for non-blocking (then they get EAGAIN, hook or not);
//! its receive and send timeouts (SO_RCVTIMEO / SO_SNDTIMEO, which the hook
//! must emulate because the kernel never sees a blocking call); whether it
//! was closed.
//!
//! A context is (re)initialised whenever a socket is created with that
//! number (socket, accept, socketpair, dup...) and wiped when the number is
//! closed (close, dup2/dup3 onto it, close_range), so that a new fd never
//! inherits an old one's state. An fd we never saw created is classified on
//! first use with `fstat` and `fcntl(F_GETFL)`.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use sylar_iomanager::FdTable;

use crate::original::real;

// ANCHOR: flags
const KNOWN: u8 = 1;
const SOCKET: u8 = 2;
const SYS_NONBLOCK: u8 = 4;
const USER_NONBLOCK: u8 = 8;
/// Created in this process by one of our hooks (socket, accept, socketpair,
/// dup): ours to make non-blocking. A socket we only discover (inherited
/// from a parent, like a stdout that is a socket) shares its O_NONBLOCK flag
/// with other processes, so we never touch it: calls on it pass through.
const OURS: u8 = 16;
/// A stream socket (TCP, Unix stream): a short read means it is drained.
const STREAM: u8 = 32;
/// A read returned less than asked since the last wait: the socket was
/// empty then, so the next read can wait for readiness without trying.
const DRAINED: u8 = 64;
// ANCHOR_END: flags

// ANCHOR: fd_ctx
/// The hook's view of one fd. All fields are atomics: hooked calls on
/// different threads read them without a lock.
#[derive(Debug, Default)]
pub struct FdCtx {
    flags: AtomicU8,
    /// Receive timeout in nanoseconds; 0 means none.
    recv_timeout: AtomicU64,
    /// Send timeout in nanoseconds; 0 means none.
    send_timeout: AtomicU64,
    /// Bumped whenever the number is closed or reused, so that a fiber woken
    /// from a wait can tell "my fd was closed under me" from a plain cancel.
    generation: AtomicU64,
}
// ANCHOR_END: fd_ctx

/// Which timeout a call is bound by.
#[derive(Clone, Copy, Debug)]
pub enum TimeoutKind {
    /// SO_RCVTIMEO: reads, accept.
    Recv,
    /// SO_SNDTIMEO: writes. (`connect` has its own timeout: `tcp.connect.timeout`.)
    Send,
}

impl FdCtx {
    fn has(&self, bit: u8) -> bool {
        self.flags.load(Ordering::Acquire) & bit != 0
    }

    /// Whether the fd is a socket.
    pub fn is_socket(&self) -> bool {
        self.has(SOCKET)
    }

    /// Whether a hook of ours created this socket (see the `OURS` flag):
    /// only then may the hook make it non-blocking and park on it.
    pub fn is_ours(&self) -> bool {
        self.has(OURS)
    }

    /// Whether it is a stream socket.
    pub fn is_stream(&self) -> bool {
        self.has(STREAM)
    }

    pub(crate) fn is_drained(&self) -> bool {
        self.has(DRAINED)
    }

    pub(crate) fn set_drained(&self, on: bool) {
        if self.has(DRAINED) != on {
            self.set(DRAINED, on);
        }
    }

    /// Whether we set O_NONBLOCK on it.
    pub fn sys_nonblock(&self) -> bool {
        self.has(SYS_NONBLOCK)
    }

    /// Whether the user asked for non-blocking I/O on it.
    pub fn user_nonblock(&self) -> bool {
        self.has(USER_NONBLOCK)
    }

    /// Records the user's non-blocking choice.
    pub fn set_user_nonblock(&self, on: bool) {
        self.set(USER_NONBLOCK, on);
    }

    pub(crate) fn set_sys_nonblock(&self, on: bool) {
        self.set(SYS_NONBLOCK, on);
    }

    fn set(&self, bit: u8, on: bool) {
        if on {
            self.flags.fetch_or(bit, Ordering::AcqRel);
        } else {
            self.flags.fetch_and(!bit, Ordering::AcqRel);
        }
    }

    /// The timeout of the given kind, if one is set.
    pub fn timeout(&self, kind: TimeoutKind) -> Option<Duration> {
        let ns = match kind {
            TimeoutKind::Recv => self.recv_timeout.load(Ordering::Acquire),
            TimeoutKind::Send => self.send_timeout.load(Ordering::Acquire),
        };
        (ns != 0).then(|| Duration::from_nanos(ns))
    }

    /// Records a timeout (`None`: no timeout).
    pub fn set_timeout(&self, kind: TimeoutKind, timeout: Option<Duration>) {
        let ns = timeout.map_or(0, |t| t.as_nanos().clamp(1, u64::MAX as u128) as u64);
        match kind {
            TimeoutKind::Recv => self.recv_timeout.store(ns, Ordering::Release),
            TimeoutKind::Send => self.send_timeout.store(ns, Ordering::Release),
        }
    }

    /// The current generation (see the field's docs).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    // ANCHOR: reset
    /// Starts afresh: a new fd with this number.
    fn reset(&self, flags: u8) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.recv_timeout.store(0, Ordering::Release);
        self.send_timeout.store(0, Ordering::Release);
        self.flags.store(flags, Ordering::Release);
    }
    // ANCHOR_END: reset

    /// Copies another context's state (for `dup`: both fds share one open
    /// file, and so its O_NONBLOCK flag and socket options).
    fn copy_from(&self, other: &FdCtx) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.recv_timeout.store(
            other.recv_timeout.load(Ordering::Acquire),
            Ordering::Release,
        );
        self.send_timeout.store(
            other.send_timeout.load(Ordering::Acquire),
            Ordering::Release,
        );
        self.flags
            .store(other.flags.load(Ordering::Acquire), Ordering::Release);
    }
}

/// Every fd's context, for the whole process.
static FDS: FdTable<FdCtx> = FdTable::new();

// ANCHOR: lookup
/// The context of `fd`, classifying an fd we have not seen created.
/// `None` for numbers outside the table.
pub fn lookup(fd: libc::c_int) -> Option<&'static FdCtx> {
    let ctx = FDS.get(fd)?;
    if !ctx.has(KNOWN) {
        classify(fd, ctx);
    }
    Some(ctx)
}
// ANCHOR_END: lookup

/// The context of `fd` if it was ever looked at; never classifies.
pub(crate) fn existing(fd: libc::c_int) -> Option<&'static FdCtx> {
    FDS.get_existing(fd)
}

// ANCHOR: classify
/// First sight of an fd created behind our back (a socket inherited from a
/// parent, or made by a library): ask the kernel what it is.
#[cold]
fn classify(fd: libc::c_int, ctx: &FdCtx) {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `stat` for a valid fd; we read it only on success.
    let is_socket = unsafe {
        libc::fstat(fd, stat.as_mut_ptr()) == 0
            && stat.assume_init().st_mode & libc::S_IFMT == libc::S_IFSOCK
    };
    if !is_socket {
        ctx.reset(KNOWN);
        return;
    }
    // SAFETY: F_GETFL takes no argument and only reads the fd's flags.
    let flags = unsafe { (real::fcntl())(fd, libc::F_GETFL) };
    let user_nonblock = flags >= 0 && flags & libc::O_NONBLOCK != 0;
    ctx.reset(KNOWN | SOCKET | if user_nonblock { USER_NONBLOCK } else { 0 });
}
// ANCHOR_END: classify

// ANCHOR: on_created
/// The flags to create a socket with (`socket`'s type, `accept4`'s flags),
/// given the caller's: with hooking on, a socket the caller wants blocking
/// is made non-blocking underneath from the start, by asking the kernel for
/// `SOCK_NONBLOCK` (two `fcntl` calls fewer than setting it afterwards).
/// The caller still sees a blocking socket: [`on_socket_created`] records
/// the flag as ours, not theirs.
pub(crate) fn creation_flags(flags: libc::c_int, hooking: bool) -> libc::c_int {
    match hooking {
        true => flags | libc::SOCK_NONBLOCK,
        false => flags,
    }
}

/// A socket was just created with number `fd`, from the caller's `flags`
/// (its type, or `accept4`'s flags) by a call that was given
/// [`creation_flags`]`(flags, hooking)`. `SOCK_NONBLOCK` in `flags` is the
/// user's wish; one that only we added is ours.
pub(crate) fn on_socket_created(fd: libc::c_int, flags: libc::c_int, hooking: bool) {
    register_socket(fd, flags, hooking, is_stream_socket(fd));
}

/// [`on_socket_created`] for a connection accepted on `listener`. It is the
/// same kind of socket as its listener, so when the listener is ours (we
/// asked its kind when it was made) the connection needs no `getsockopt`.
/// (`listener` is still the socket `accept` used: a program that closes a
/// listening socket while another thread accepts on it has a race of its own.)
pub(crate) fn on_accepted(
    fd: libc::c_int,
    listener: libc::c_int,
    flags: libc::c_int,
    hooking: bool,
) {
    let stream = match existing(listener) {
        Some(ctx) if ctx.is_ours() => ctx.is_stream(),
        _ => is_stream_socket(fd),
    };
    register_socket(fd, flags, hooking, stream);
}

/// Starts `fd`'s context afresh as a socket of ours (see [`on_socket_created`]).
fn register_socket(fd: libc::c_int, flags: libc::c_int, hooking: bool, stream: bool) {
    let unseen = closed_unseen(fd);
    let Some(ctx) = FDS.get(fd) else { return };
    let stream = if stream { STREAM } else { 0 };
    let nonblock = match (flags & libc::SOCK_NONBLOCK != 0, hooking) {
        (true, _) => USER_NONBLOCK,
        (false, true) => SYS_NONBLOCK,
        (false, false) => 0,
    };
    ctx.reset(KNOWN | SOCKET | OURS | stream | nonblock);
    forget_if(unseen, fd);
}

/// Whether the number `fd`, which the kernel has just handed out again, may
/// have been closed past the `close` hook, which wipes the context to 0.
/// Not every close is ours to see: a bare `close` system call, or glibc's
/// own internal close (`freopen`, `fcloseall`), closes the fd where no hook
/// runs. An I/O manager may then still count the number as registered
/// with epoll, and would never register the new file: its waits would sleep
/// until their timeout. A number we never saw may have been watched by
/// chapter 5's API directly.
/// One atomic load on the usual path (a number we saw closed).
fn closed_unseen(fd: libc::c_int) -> bool {
    existing(fd).is_none_or(|ctx| ctx.flags.load(Ordering::Acquire) != 0)
}

/// Makes every I/O manager forget `fd` if `unseen` (see [`closed_unseen`]).
/// Called after the context is reset, as `close` does it: a waiter left
/// from the old fd is woken, sees the generation moved, and fails with EBADF.
fn forget_if(unseen: bool, fd: libc::c_int) {
    if unseen {
        sylar_iomanager::forget_fd_everywhere(fd);
    }
}

/// Whether `fd` is a SOCK_STREAM socket.
fn is_stream_socket(fd: libc::c_int) -> bool {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_TYPE writes one int; the real getsockopt, not our hook.
    let rc = unsafe {
        (real::getsockopt())(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &mut len,
        )
    };
    rc == 0 && kind == libc::SOCK_STREAM
}

/// Makes `fd` non-blocking at the system level (our flag, not the user's).
pub(crate) fn make_sys_nonblocking(fd: libc::c_int, ctx: &FdCtx) {
    // SAFETY: F_GETFL/F_SETFL on an fd number; errors are reported as -1.
    unsafe {
        let flags = (real::fcntl())(fd, libc::F_GETFL);
        if flags >= 0 && (real::fcntl())(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0 {
            ctx.set_sys_nonblock(true);
        }
    }
}

/// `fd` is closed (or about to be reused by dup2): forget everything.
pub(crate) fn on_closed(fd: libc::c_int) {
    if let Some(ctx) = FDS.get_existing(fd) {
        ctx.reset(0);
    }
}

/// `new` is a duplicate of `old`.
pub(crate) fn on_duplicated(old: libc::c_int, new: libc::c_int) {
    let unseen = closed_unseen(new);
    let (Some(from), Some(to)) = (lookup(old), FDS.get(new)) else {
        return;
    };
    to.copy_from(from);
    forget_if(unseen, new);
}
// ANCHOR_END: on_created
