//! The older reentrant lookups: `gethostbyname_r` and `gethostbyname2_r`,
//! on a helper thread while their fiber parks, like `getaddrinfo`.
//!
//! They can go to another thread because everything they write is the
//! caller's: the `hostent` struct, the buffer its pointers point into, the
//! result pointer and the `h_errno` slot are all passed in. Nothing of the
//! answer lives on the helper thread, or in it (its thread-locals), once the
//! call returns.
//!
//! The plain `gethostbyname` is *not* hooked. Its answer lives in one static
//! buffer of glibc's, which the next call, from any thread, overwrites. On a
//! worker today, a fiber that calls it blocks the thread, and reads the
//! answer before any other fiber there runs. Parked instead, it would resume
//! only after other fibers ran, and their own `gethostbyname` calls, on
//! other helpers, could overwrite its answer first: a call that is safe for
//! fibers sharing a thread would become one that is not. (Its error also
//! goes to `h_errno`, a thread-local of the helper's.)

use std::ffi::{CStr, CString};
use std::ptr;

use libc::{c_char, c_int, hostent, size_t};

use crate::original::real;
use crate::resolve::{off_the_worker, parking_io};

// ANCHOR: host_args
/// The four outputs of `gethostbyname_r` and `gethostbyname2_r`, all the
/// caller's: the `hostent`, the buffer its pointers point into (`buflen`
/// bytes), the result pointer and the `h_errno` slot.
#[derive(Clone, Copy)]
struct HostOut {
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
}

/// A lookup carried to the helper thread: the name copied, the family
/// (`None`: `gethostbyname_r`), the outputs where the caller wants them.
struct HostArgs {
    name: Option<CString>,
    family: Option<c_int>,
    out: HostOut,
}

// SAFETY: the name is owned. The outputs are the caller's: by the contract
// of the `_r` functions they stay valid, and the caller leaves them alone,
// until the call returns. It returns only after the helper thread has
// finished with them: the calling fiber stays parked inside `run_blocking`
// until then, and a parked fiber's stack, where these usually live, is
// neither freed nor moved. What the helper writes points only into that
// same memory (`ret`'s fields into `buf`, `*result` at `ret`), never into
// the helper's own.
unsafe impl Send for HostArgs {}

impl HostArgs {
    /// Calls the real function (by value, for `Send`).
    fn call(self) -> c_int {
        let name = self.name.as_ref().map_or(ptr::null(), |n| n.as_ptr());
        // SAFETY: our copy of the name (or null, as the caller gave it) and
        // the caller's outputs, as argued at `HostArgs`.
        unsafe { real_lookup(name, self.family, self.out) }
    }
}

/// The real `gethostbyname_r` (`family` `None`) or `gethostbyname2_r`.
///
/// # Safety
/// The real function's contract: `name` null or a C string, `out` valid.
unsafe fn real_lookup(name: *const c_char, family: Option<c_int>, out: HostOut) -> c_int {
    let HostOut {
        ret,
        buf,
        buflen,
        result,
        h_errnop,
    } = out;
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match family {
            None => (real::gethostbyname_r())(name, ret, buf, buflen, result, h_errnop),
            Some(af) => (real::gethostbyname2_r())(name, af, ret, buf, buflen, result, h_errnop),
        }
    }
}
// ANCHOR_END: host_args

/// Copies the caller's name.
///
/// # Safety
/// `name` is null or a valid C string.
unsafe fn copy_name(name: *const c_char) -> Option<CString> {
    // SAFETY: forwarded from this function's contract.
    (!name.is_null()).then(|| unsafe { CStr::from_ptr(name) }.to_owned())
}

// ANCHOR: gethostbyname_r
/// Both hooks: in a fiber of an I/O manager with the hook on, the real
/// function runs on a helper thread while the fiber parks; elsewhere it is
/// called directly.
///
/// # Safety
/// The real function's contract, as at [`real_lookup`].
unsafe fn lookup(name: *const c_char, family: Option<c_int>, out: HostOut) -> c_int {
    if let Some(io) = parking_io() {
        let args = HostArgs {
            // SAFETY: the caller's name, under the same contract.
            name: unsafe { copy_name(name) },
            family,
            out,
        };
        return off_the_worker(&io, move || args.call());
    }
    // SAFETY: the caller's own arguments and contract.
    unsafe { real_lookup(name, family, out) }
}

/// Hooked `gethostbyname_r(3)` (see [`lookup`]). The return value, the
/// outputs and errno are the real function's.
///
/// # Safety
/// The same contract as glibc's `gethostbyname_r`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyname_r(
    name: *const c_char,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> c_int {
    let out = HostOut {
        ret,
        buf,
        buflen,
        result,
        h_errnop,
    };
    // SAFETY: the caller's arguments, under the same contract.
    unsafe { lookup(name, None, out) }
}
// ANCHOR_END: gethostbyname_r

/// Hooked `gethostbyname2_r(3)`: [`gethostbyname_r`] for one address
/// family, taking the same path.
///
/// # Safety
/// The same contract as glibc's `gethostbyname2_r`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyname2_r(
    name: *const c_char,
    af: c_int,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> c_int {
    let out = HostOut {
        ret,
        buf,
        buflen,
        result,
        h_errnop,
    };
    // SAFETY: the caller's arguments, under the same contract.
    unsafe { lookup(name, Some(af), out) }
}
