//! The resolver: `getaddrinfo` and `getnameinfo` run on a helper thread
//! while their fiber parks.
//!
//! std's `ToSocketAddrs` — and so `TcpStream::connect("host:port")` — calls
//! `getaddrinfo`, which may read files and talk to a DNS server for seconds;
//! `getnameinfo`, the reverse lookup, may too. Hooking the socket calls does
//! not reach inside them: glibc's resolver calls its own internal aliases
//! (`__socket`, `__poll`...), not the symbols we interpose. So we interpose
//! the lookups themselves and hand each whole call to
//! [`IoHandle::run_blocking`]: the worker runs other fibers meanwhile.
//! `freeaddrinfo` only frees memory and needs no hook. The `gethostbyname_r`
//! family, which takes the same path, is in `hostent`.

use std::ffi::{CStr, CString};
use std::ptr;

use libc::{addrinfo, c_char, c_int, sockaddr, sockaddr_storage, socklen_t};
use sylar_iomanager::IoHandle;

use crate::enable::{errno, parking_io, set_errno};
use crate::original::real;

// ANCHOR: args
/// `getaddrinfo`'s arguments, carried to the helper thread: the inputs
/// copied (so that nothing the helper reads can change under it, whatever
/// the caller's other fibers do meanwhile), the output where the caller
/// wants it.
struct Args {
    node: Option<CString>,
    service: Option<CString>,
    hints: Option<addrinfo>,
    res: *mut *mut addrinfo,
}

// SAFETY: all but `res` is owned (the `hints` copy holds pointers only
// because the C type does; POSIX wants them null in hints, and getaddrinfo
// reads none of them). `res` is the caller's out-parameter, which by
// getaddrinfo's contract stays valid, and is not used by the caller, until
// the call returns; and the call returns only after the helper thread has
// finished with it: the calling fiber is parked inside `run_blocking`
// until then (most often `res` is a local on that parked fiber's stack,
// which is neither freed nor moved while it is parked).
unsafe impl Send for Args {}

impl Args {
    /// Copies the caller's inputs.
    ///
    /// # Safety
    /// `getaddrinfo`'s contract: `node` and `service` are null or valid C
    /// strings, `hints` is null or valid.
    unsafe fn copy(
        node: *const c_char,
        service: *const c_char,
        hints: *const addrinfo,
        res: *mut *mut addrinfo,
    ) -> Args {
        // SAFETY: forwarded from this function's contract.
        let text =
            |p: *const c_char| (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_owned());
        Args {
            node: text(node),
            service: text(service),
            // SAFETY: as above; `addrinfo` is plain data, copied bit for bit.
            hints: unsafe { hints.as_ref() }.copied(),
            res,
        }
    }

    /// Calls the real `getaddrinfo`. By value, so that a closure calling it
    /// captures the whole struct (and its `Send`), not its fields one by one.
    fn call(self) -> c_int {
        let text = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        let hints = self
            .hints
            .as_ref()
            .map_or(ptr::null(), |h| h as *const addrinfo);
        // SAFETY: valid C strings or null, valid hints or null, and the
        // caller's `res`, as argued at `Args`.
        unsafe { (real::getaddrinfo())(text(&self.node), text(&self.service), hints, self.res) }
    }
}
// ANCHOR_END: args

// ANCHOR: off_the_worker
/// Runs `call` on a helper thread of chapter 5's blocking pool while the
/// calling fiber parks on `io`, and returns its result, with the errno it
/// left on the helper's thread set on the caller's. The helper starts from
/// the caller's errno, so that a call that sets none (glibc's "not found"
/// for `::` in `gethostbyaddr_r`, most successes) leaves the caller's as it
/// was, not whatever the helper's last job left there.
pub(crate) fn off_the_worker(
    io: &IoHandle,
    call: impl FnOnce() -> c_int + Send + 'static,
) -> c_int {
    let callers = errno();
    let (rc, error) = io.run_blocking(move || {
        set_errno(callers);
        let rc = call();
        (rc, errno())
    });
    set_errno(error);
    rc
}
// ANCHOR_END: off_the_worker

// ANCHOR: getaddrinfo
/// Hooked `getaddrinfo(3)`: in a fiber of an I/O manager with the hook on,
/// the real function runs on a helper thread while the fiber parks;
/// elsewhere it is called directly. Results, error codes and errno are the
/// real function's.
///
/// # Safety
/// The same contract as libc's `getaddrinfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    if let Some(io) = parking_io() {
        // SAFETY: the caller's arguments, under the same contract.
        let args = unsafe { Args::copy(node, service, hints, res) };
        return off_the_worker(&io, move || args.call());
    }
    // SAFETY: the caller's own arguments and contract.
    unsafe { (real::getaddrinfo())(node, service, hints, res) }
}
// ANCHOR_END: getaddrinfo

// ANCHOR: name_args
/// `getnameinfo`'s arguments, carried to the helper thread: the address
/// copied, the two output buffers where the caller wants the names.
struct NameArgs {
    /// The caller's address, or `None` for a null one (the real function
    /// then fails with `EAI_FAMILY`, as it would have).
    addr: Option<(sockaddr_storage, socklen_t)>,
    host: *mut c_char,
    hostlen: socklen_t,
    serv: *mut c_char,
    servlen: socklen_t,
    flags: c_int,
}

// SAFETY: the address is owned. `host` and `serv` are the caller's output
// buffers (or null), which by getnameinfo's contract stay valid for
// `hostlen` and `servlen` bytes, and are not used by the caller, until the
// call returns; it returns only after the helper thread has finished with
// them, since the calling fiber stays parked inside `run_blocking` until
// then (the argument made for `res` at `Args`).
unsafe impl Send for NameArgs {}

impl NameArgs {
    /// Copies the caller's address: at most a `sockaddr_storage`, which
    /// holds every address family glibc can name; a longer `salen` is
    /// shortened to it, which changes nothing for those families.
    ///
    /// # Safety
    /// `getnameinfo`'s contract: `sa` is null or valid for `salen` bytes.
    unsafe fn copy(
        sa: *const sockaddr,
        salen: socklen_t,
        host: *mut c_char,
        hostlen: socklen_t,
        serv: *mut c_char,
        servlen: socklen_t,
        flags: c_int,
    ) -> NameArgs {
        let addr = (!sa.is_null()).then(|| {
            // SAFETY: all-zero is a valid sockaddr_storage.
            let mut copy: sockaddr_storage = unsafe { std::mem::zeroed() };
            let len = (salen as usize).min(size_of::<sockaddr_storage>());
            // SAFETY: `sa` is valid for `salen` >= `len` bytes (the contract),
            // `copy` for its whole size >= `len`; they cannot overlap.
            unsafe { ptr::copy_nonoverlapping(sa.cast::<u8>(), (&raw mut copy).cast::<u8>(), len) };
            (copy, len as socklen_t)
        });
        NameArgs {
            addr,
            host,
            hostlen,
            serv,
            servlen,
            flags,
        }
    }

    /// Calls the real `getnameinfo` (by value, for `Send`, as at `Args`).
    fn call(self) -> c_int {
        let (sa, salen) = self.addr.as_ref().map_or((ptr::null(), 0), |(a, len)| {
            ((a as *const sockaddr_storage).cast::<sockaddr>(), *len)
        });
        // SAFETY: our copy of the address or null, and the caller's
        // buffers, as argued at `NameArgs`.
        unsafe {
            (real::getnameinfo())(
                sa,
                salen,
                self.host,
                self.hostlen,
                self.serv,
                self.servlen,
                self.flags,
            )
        }
    }
}
// ANCHOR_END: name_args

// ANCHOR: getnameinfo
/// Hooked `getnameinfo(3)`: a reverse lookup, which may ask DNS, on a
/// helper thread while the fiber parks, like [`getaddrinfo`]; elsewhere
/// the real function, directly. Results, error codes and errno are the
/// real function's.
///
/// # Safety
/// The same contract as libc's `getnameinfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getnameinfo(
    sa: *const sockaddr,
    salen: socklen_t,
    host: *mut c_char,
    hostlen: socklen_t,
    serv: *mut c_char,
    servlen: socklen_t,
    flags: c_int,
) -> c_int {
    if let Some(io) = parking_io() {
        // SAFETY: the caller's arguments, under the same contract.
        let args = unsafe { NameArgs::copy(sa, salen, host, hostlen, serv, servlen, flags) };
        return off_the_worker(&io, move || args.call());
    }
    // SAFETY: the caller's own arguments and contract.
    unsafe { (real::getnameinfo())(sa, salen, host, hostlen, serv, servlen, flags) }
}
// ANCHOR_END: getnameinfo
