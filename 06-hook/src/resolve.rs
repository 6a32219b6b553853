//! The resolver: `getaddrinfo` runs on a helper thread while its fiber parks.
//!
//! std's `ToSocketAddrs` — and so `TcpStream::connect("host:port")` — calls
//! `getaddrinfo`, which may read files and talk to a DNS server for seconds.
//! Hooking the socket calls does not reach inside it: glibc's resolver calls
//! its own internal aliases (`__socket`, `__poll`...), not the symbols we
//! interpose. So we interpose `getaddrinfo` itself and hand the whole call
//! to [`IoHandle::run_blocking`]: the worker runs other fibers meanwhile.
//! `freeaddrinfo` only frees memory and needs no hook.

use std::ffi::{CStr, CString};
use std::ptr;

use libc::{addrinfo, c_char, c_int};
use sylar_fiber::in_fiber;
use sylar_iomanager::IoHandle;

use crate::enable::{errno, is_hook_enabled, set_errno};
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

    /// Calls the real `getaddrinfo`; returns its result and the errno it
    /// left (meaningful with `EAI_SYSTEM`), which belongs to this thread.
    /// By value, so that a closure calling it captures the whole struct
    /// (and its `Send`), not its fields one by one.
    fn call(self) -> (c_int, c_int) {
        let text = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        let hints = self
            .hints
            .as_ref()
            .map_or(ptr::null(), |h| h as *const addrinfo);
        // SAFETY: valid C strings or null, valid hints or null, and the
        // caller's `res`, as argued at `Args`.
        let rc = unsafe {
            (real::getaddrinfo())(text(&self.node), text(&self.service), hints, self.res)
        };
        (rc, errno())
    }
}
// ANCHOR_END: args

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
    if is_hook_enabled()
        && in_fiber()
        && let Some(io) = IoHandle::current()
    {
        // SAFETY: the caller's arguments, under the same contract.
        let args = unsafe { Args::copy(node, service, hints, res) };
        let (rc, error) = io.run_blocking(move || args.call());
        set_errno(error);
        return rc;
    }
    // SAFETY: the caller's own arguments and contract.
    unsafe { (real::getaddrinfo())(node, service, hints, res) }
}
// ANCHOR_END: getaddrinfo
