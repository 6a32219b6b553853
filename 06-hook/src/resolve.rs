//! The resolver: `getaddrinfo` runs on a helper thread while its fiber parks.
//!
//! std's `ToSocketAddrs` — and so `TcpStream::connect("host:port")` — calls
//! `getaddrinfo`, which may read files and talk to a DNS server for seconds.
//! Hooking the socket calls does not reach inside it: glibc's resolver calls
//! its own internal aliases (`__socket`, `__poll`...), not the symbols we
//! interpose. So we interpose `getaddrinfo` itself and hand the whole call
//! to [`IoHandle::run_blocking`]: the worker runs other fibers meanwhile.
//! `freeaddrinfo` only frees memory and needs no hook.

use libc::{addrinfo, c_char, c_int};
use sylar_fiber::in_fiber;
use sylar_iomanager::IoHandle;

use crate::enable::{errno, is_hook_enabled, set_errno};
use crate::original::real;

// ANCHOR: args
/// `getaddrinfo`'s arguments, carried to the helper thread.
struct Args {
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
}

// SAFETY: the pointers belong to the caller of `getaddrinfo`: most often
// they point into the calling fiber's stack (std's `CString`s and its
// `hints` and `res` locals), the rest into memory that caller owns. That
// fiber is parked inside `run_blocking` until the helper thread has
// returned from the real `getaddrinfo`: a parked fiber's stack is neither
// freed nor moved, and nothing runs on it, so the pointees stay valid and
// untouched for exactly as long as the helper thread uses them. The real
// function is thread-safe (MT-Safe locale env), and nothing else reads or
// writes `*res` meanwhile.
unsafe impl Send for Args {}

impl Args {
    /// Calls the real `getaddrinfo`; returns its result and the errno it
    /// left (meaningful with `EAI_SYSTEM`), which belongs to this thread.
    /// By value, so that a closure calling it captures the whole struct
    /// (and its `Send`), not its fields one by one.
    fn call(self) -> (c_int, c_int) {
        // SAFETY: the caller's own arguments, valid as argued above.
        let rc = unsafe { (real::getaddrinfo())(self.node, self.service, self.hints, self.res) };
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
    let args = Args {
        node,
        service,
        hints,
        res,
    };
    if is_hook_enabled()
        && in_fiber()
        && let Some(io) = IoHandle::current()
    {
        let (rc, error) = io.run_blocking(move || args.call());
        set_errno(error);
        return rc;
    }
    args.call().0
}
// ANCHOR_END: getaddrinfo
