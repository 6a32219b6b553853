//! The real libc functions, found with `dlsym(RTLD_NEXT, name)`.
//!
//! Our crate defines `read`, `write`, `connect`... with the C names. The
//! linker binds every call in the program — std's included — to ours. To
//! reach the real one we ask the dynamic linker for the *next* definition
//! after our own object: `dlsym(RTLD_NEXT, "read")` finds glibc's. Calling
//! `libc::read` from here would call our own hook again, forever.
//!
//! Each original is looked up once and cached in an atomic: a hooked call
//! costs one load and an indirect call on top of the real function.
//!
//! The reads and writes also come as bare system calls (`direct`), which
//! `do_io` makes instead of glibc's functions where that is safe ([`Via`]).

use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

// ANCHOR: dlsym
/// Looks `name` up after our own object in the search order; 0 if missing.
fn lookup(name: &CStr) -> usize {
    // SAFETY: dlsym with RTLD_NEXT and a NUL-terminated name only reads.
    unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) as usize }
}
// ANCHOR_END: dlsym

// ANCHOR: original
/// A cached pointer to one real libc function.
pub(crate) struct Original {
    name: &'static CStr,
    address: AtomicUsize,
}

impl Original {
    pub const fn new(name: &'static CStr) -> Original {
        Original {
            name,
            address: AtomicUsize::new(0),
        }
    }

    /// The function's address (looked up on first use). A hook runs only
    /// when something called it, so the real function exists in this glibc
    /// (a program cannot call `close_range` on a glibc without it). If it
    /// were missing all the same, we abort with a message rather than call
    /// address 0.
    #[inline]
    pub fn get(&self) -> usize {
        match self.address.load(Ordering::Relaxed) {
            0 => self.resolve(),
            address => address,
        }
    }

    /// Looks the function up now if it exists; never aborts.
    fn try_resolve(&self) {
        if self.address.load(Ordering::Relaxed) == 0 {
            self.address.store(lookup(self.name), Ordering::Relaxed);
        }
    }

    #[cold]
    fn resolve(&self) -> usize {
        let address = lookup(self.name);
        if address == 0 {
            let message = b"sylar-hook: dlsym(RTLD_NEXT) found no original libc function\n";
            // SAFETY: a raw write(2) of a static buffer to stderr, then abort.
            unsafe {
                libc::syscall(libc::SYS_write, 2, message.as_ptr(), message.len());
                libc::abort();
            }
        }
        self.address.store(address, Ordering::Relaxed);
        address
    }
}
// ANCHOR_END: original

// ANCHOR: originals
/// Declares a cached original and a typed accessor for it.
macro_rules! originals {
    ($($name:ident: $ty:ty;)*) => {
        $(
            #[allow(non_upper_case_globals)]
            pub(crate) static $name: Original = Original::new(
                // SAFETY: the literal is NUL-terminated by `concat!` below.
                unsafe { CStr::from_bytes_with_nul_unchecked(concat!(stringify!($name), "\0").as_bytes()) }
            );
        )*
        /// Typed accessors: `real::read()` is the real `read`.
        pub(crate) mod real {
            use super::{FILE, addrinfo, c_char, hostent, c_int, c_uint, c_ulong, c_void, clockid_t, iovec, msghdr, nfds_t, pollfd, size_t, sockaddr, socklen_t, ssize_t, timespec, useconds_t};
            $(
                #[inline]
                pub(crate) fn $name() -> $ty {
                    // SAFETY: the address is glibc's definition of this very
                    // symbol, whose C signature is `$ty`.
                    unsafe { std::mem::transmute::<usize, $ty>(super::$name.get()) }
                }
            )*
        }
    };
}

use libc::{
    FILE, addrinfo, c_char, c_int, c_uint, c_ulong, c_void, clockid_t, hostent, iovec, msghdr,
    nfds_t, pollfd, size_t, sockaddr, socklen_t, ssize_t, timespec, useconds_t,
};

originals! {
    sleep: unsafe extern "C" fn(c_uint) -> c_uint;
    usleep: unsafe extern "C" fn(useconds_t) -> c_int;
    nanosleep: unsafe extern "C" fn(*const timespec, *mut timespec) -> c_int;
    clock_nanosleep: unsafe extern "C" fn(clockid_t, c_int, *const timespec, *mut timespec) -> c_int;
    socket: unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
    socketpair: unsafe extern "C" fn(c_int, c_int, c_int, *mut c_int) -> c_int;
    connect: unsafe extern "C" fn(c_int, *const sockaddr, socklen_t) -> c_int;
    accept4: unsafe extern "C" fn(c_int, *mut sockaddr, *mut socklen_t, c_int) -> c_int;
    read: unsafe extern "C" fn(c_int, *mut c_void, size_t) -> ssize_t;
    readv: unsafe extern "C" fn(c_int, *const iovec, c_int) -> ssize_t;
    recv: unsafe extern "C" fn(c_int, *mut c_void, size_t, c_int) -> ssize_t;
    recvfrom: unsafe extern "C" fn(c_int, *mut c_void, size_t, c_int, *mut sockaddr, *mut socklen_t) -> ssize_t;
    recvmsg: unsafe extern "C" fn(c_int, *mut msghdr, c_int) -> ssize_t;
    write: unsafe extern "C" fn(c_int, *const c_void, size_t) -> ssize_t;
    writev: unsafe extern "C" fn(c_int, *const iovec, c_int) -> ssize_t;
    send: unsafe extern "C" fn(c_int, *const c_void, size_t, c_int) -> ssize_t;
    sendto: unsafe extern "C" fn(c_int, *const c_void, size_t, c_int, *const sockaddr, socklen_t) -> ssize_t;
    sendmsg: unsafe extern "C" fn(c_int, *const msghdr, c_int) -> ssize_t;
    close: unsafe extern "C" fn(c_int) -> c_int;
    dup: unsafe extern "C" fn(c_int) -> c_int;
    dup2: unsafe extern "C" fn(c_int, c_int) -> c_int;
    dup3: unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
    close_range: unsafe extern "C" fn(c_uint, c_uint, c_int) -> c_int;
    fcntl: unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
    fcntl64: unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
    ioctl: unsafe extern "C" fn(c_int, c_ulong, ...) -> c_int;
    getsockopt: unsafe extern "C" fn(c_int, c_int, c_int, *mut c_void, *mut socklen_t) -> c_int;
    setsockopt: unsafe extern "C" fn(c_int, c_int, c_int, *const c_void, socklen_t) -> c_int;
    poll: unsafe extern "C" fn(*mut pollfd, nfds_t, c_int) -> c_int;
    getaddrinfo: unsafe extern "C" fn(*const c_char, *const c_char, *const addrinfo, *mut *mut addrinfo) -> c_int;
    getnameinfo: unsafe extern "C" fn(*const sockaddr, socklen_t, *mut c_char, socklen_t, *mut c_char, socklen_t, c_int) -> c_int;
    gethostbyname_r: unsafe extern "C" fn(*const c_char, *mut hostent, *mut c_char, size_t, *mut *mut hostent, *mut c_int) -> c_int;
    gethostbyname2_r: unsafe extern "C" fn(*const c_char, c_int, *mut hostent, *mut c_char, size_t, *mut *mut hostent, *mut c_int) -> c_int;
    fclose: unsafe extern "C" fn(*mut FILE) -> c_int;
    gethostbyaddr_r: unsafe extern "C" fn(*const c_void, socklen_t, c_int, *mut hostent, *mut c_char, size_t, *mut *mut hostent, *mut c_int) -> c_int;
}
// ANCHOR_END: originals

/// Resolves every original now, so that no lookup happens later inside a
/// fiber (dlsym takes a lock and may allocate). A function this glibc lacks
/// (`close_range` before 2.34) is skipped: nothing can call it then.
pub(crate) fn resolve_all() {
    for original in [
        &sleep,
        &usleep,
        &nanosleep,
        &clock_nanosleep,
        &socket,
        &socketpair,
        &connect,
        &accept4,
        &read,
        &readv,
        &recv,
        &recvfrom,
        &recvmsg,
        &write,
        &writev,
        &send,
        &sendto,
        &sendmsg,
        &close,
        &dup,
        &dup2,
        &dup3,
        &close_range,
        &fcntl,
        &fcntl64,
        &ioctl,
        &getsockopt,
        &setsockopt,
        &poll,
        &getaddrinfo,
        &getnameinfo,
        &gethostbyname_r,
        &gethostbyname2_r,
        &gethostbyaddr_r,
        &fclose,
    ] {
        original.try_resolve();
    }
}

// ANCHOR: via
/// How a hooked read or write reaches the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// glibc's function: what the program would have called without us.
    Libc,
    /// The bare system call, `syscall(2)`, which sets errno on failure as the
    /// wrapper does. glibc's `recv`, `send`, `read`... are cancellation
    /// points: each enables and then disables asynchronous thread
    /// cancellation around the system call, about 2 % of a keep-alive
    /// server's CPU. `do_io` calls this way only from a fiber, on a socket it
    /// made non-blocking itself: there the call cannot block, and nothing
    /// cancels a worker thread (its fibers' stacks could not be unwound).
    Syscall,
}

impl Via {
    /// `libc` or `syscall`, as this says.
    #[inline]
    pub(crate) fn pick<F>(self, libc: F, syscall: F) -> F {
        match self {
            Via::Libc => libc,
            Via::Syscall => syscall,
        }
    }
}
// ANCHOR_END: via

// ANCHOR: direct
/// The hooked reads and writes as bare system calls, with the signatures of
/// glibc's functions (see [`Via::Syscall`]). Each is what the glibc wrapper
/// does, minus the cancellation bookkeeping: `recv` and `send` are
/// `recvfrom` and `sendto` without an address, as in glibc.
pub(crate) mod direct {
    use libc::{c_int, c_long, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};
    use std::ptr::{null, null_mut};

    /// `read(2)`.
    ///
    /// # Safety
    /// As libc's `read`: `buf` is valid for `count` bytes.
    pub(crate) unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
        // SAFETY: the caller upholds read's contract; the kernel checks the rest.
        unsafe { libc::syscall(libc::SYS_read, c_long::from(fd), buf, count) as ssize_t }
    }

    /// `recv(2)`: `recvfrom` without an address.
    ///
    /// # Safety
    /// As libc's `recv`.
    pub(crate) unsafe extern "C" fn recv(
        fd: c_int,
        buf: *mut c_void,
        len: size_t,
        flags: c_int,
    ) -> ssize_t {
        // SAFETY: the caller upholds recv's contract; no address is asked for.
        unsafe { recvfrom(fd, buf, len, flags, null_mut(), null_mut()) }
    }

    /// `recvfrom(2)`.
    ///
    /// # Safety
    /// As libc's `recvfrom`.
    pub(crate) unsafe extern "C" fn recvfrom(
        fd: c_int,
        buf: *mut c_void,
        len: size_t,
        flags: c_int,
        addr: *mut sockaddr,
        addrlen: *mut socklen_t,
    ) -> ssize_t {
        // SAFETY: the caller upholds recvfrom's contract.
        unsafe {
            libc::syscall(
                libc::SYS_recvfrom,
                c_long::from(fd),
                buf,
                len,
                c_long::from(flags),
                addr,
                addrlen,
            ) as ssize_t
        }
    }

    // The others (readv, recvmsg, write, writev, send, sendto, sendmsg)
    // are written the same way.
    // ANCHOR_END: direct

    /// `readv(2)`.
    ///
    /// # Safety
    /// As libc's `readv`.
    pub(crate) unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
        // SAFETY: the caller upholds readv's contract.
        unsafe {
            libc::syscall(libc::SYS_readv, c_long::from(fd), iov, c_long::from(iovcnt)) as ssize_t
        }
    }

    /// `recvmsg(2)`.
    ///
    /// # Safety
    /// As libc's `recvmsg`.
    pub(crate) unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
        // SAFETY: the caller upholds recvmsg's contract.
        unsafe {
            libc::syscall(
                libc::SYS_recvmsg,
                c_long::from(fd),
                msg,
                c_long::from(flags),
            ) as ssize_t
        }
    }

    /// `write(2)`.
    ///
    /// # Safety
    /// As libc's `write`: `buf` is valid for `count` bytes.
    pub(crate) unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
        // SAFETY: the caller upholds write's contract.
        unsafe { libc::syscall(libc::SYS_write, c_long::from(fd), buf, count) as ssize_t }
    }

    /// `writev(2)`.
    ///
    /// # Safety
    /// As libc's `writev`.
    pub(crate) unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
        // SAFETY: the caller upholds writev's contract.
        unsafe {
            libc::syscall(
                libc::SYS_writev,
                c_long::from(fd),
                iov,
                c_long::from(iovcnt),
            ) as ssize_t
        }
    }

    /// `send(2)`: `sendto` without an address.
    ///
    /// # Safety
    /// As libc's `send`.
    pub(crate) unsafe extern "C" fn send(
        fd: c_int,
        buf: *const c_void,
        len: size_t,
        flags: c_int,
    ) -> ssize_t {
        // SAFETY: the caller upholds send's contract; no address is given.
        unsafe { sendto(fd, buf, len, flags, null(), 0) }
    }

    /// `sendto(2)`.
    ///
    /// # Safety
    /// As libc's `sendto`.
    pub(crate) unsafe extern "C" fn sendto(
        fd: c_int,
        buf: *const c_void,
        len: size_t,
        flags: c_int,
        addr: *const sockaddr,
        addrlen: socklen_t,
    ) -> ssize_t {
        // SAFETY: the caller upholds sendto's contract.
        unsafe {
            libc::syscall(
                libc::SYS_sendto,
                c_long::from(fd),
                buf,
                len,
                c_long::from(flags),
                addr,
                c_long::from(addrlen),
            ) as ssize_t
        }
    }

    /// `sendmsg(2)`.
    ///
    /// # Safety
    /// As libc's `sendmsg`.
    pub(crate) unsafe extern "C" fn sendmsg(
        fd: c_int,
        msg: *const msghdr,
        flags: c_int,
    ) -> ssize_t {
        // SAFETY: the caller upholds sendmsg's contract.
        unsafe {
            libc::syscall(
                libc::SYS_sendmsg,
                c_long::from(fd),
                msg,
                c_long::from(flags),
            ) as ssize_t
        }
    }
    // ANCHOR: direct
}
// ANCHOR_END: direct
