//! The older reentrant lookups: `gethostbyname_r`, `gethostbyname2_r` and
//! the reverse `gethostbyaddr_r`, on a helper thread while their fiber
//! parks, like `getaddrinfo`.
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
//! goes to `h_errno`, a thread-local of the helper's.) `gethostbyaddr` is
//! the same case.

use std::ffi::{CStr, CString};
use std::ptr;

use libc::{c_char, c_int, c_void, hostent, in6_addr, size_t, socklen_t};

use crate::enable::parking_io;
use crate::original::real;
use crate::resolve::off_the_worker;

// ANCHOR: host_args
/// The four outputs of the three lookups, all the caller's: the `hostent`,
/// the buffer its pointers point into (`buflen` bytes), the result pointer
/// and the `h_errno` slot.
#[derive(Clone, Copy)]
struct HostOut {
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
}

impl HostOut {
    /// The outputs, in the order the three functions take them.
    fn new(
        ret: *mut hostent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut hostent,
        h_errnop: *mut c_int,
    ) -> HostOut {
        HostOut {
            ret,
            buf,
            buflen,
            result,
            h_errnop,
        }
    }
}

/// What the caller asked, as it gave it: which real function, and its
/// inputs.
#[derive(Clone, Copy)]
enum Query {
    /// `gethostbyname_r` (family `None`) or `gethostbyname2_r`.
    Name(*const c_char, Option<c_int>),
    /// `gethostbyaddr_r`: the address, its length, its family.
    Addr(*const c_void, socklen_t, c_int),
}

/// The longest address `gethostbyaddr_r` reads: an IPv6 one. glibc reads
/// at most the family's size, 4 bytes for `AF_INET` and 16 for `AF_INET6`
/// (and 16 of any family whose `len` is 16, to spot `::`): an unknown
/// family or a shorter `len` fails before reading, a longer `len` is
/// looked up by its first bytes (DNS), and nscd takes exact lengths only.
const ADDR_MAX: usize = size_of::<in6_addr>();

/// A [`Query`]'s inputs, copied to cross to the helper thread: the name
/// (or `None` for a null one), or the first [`ADDR_MAX`] bytes at most of
/// the address (the caller's `len` goes on unchanged, so that the real
/// function sees the same arguments and fails the same way).
enum Copied {
    Name(Option<CString>, Option<c_int>),
    Addr(Option<[u8; ADDR_MAX]>, socklen_t, c_int),
}

impl Copied {
    /// Copies the caller's inputs.
    ///
    /// # Safety
    /// The real function's contract: a name that is null or a C string; an
    /// address that is null or valid for `len` bytes.
    unsafe fn of(query: Query) -> Copied {
        match query {
            Query::Name(name, family) => {
                // SAFETY: forwarded from this function's contract.
                let copy = (!name.is_null()).then(|| unsafe { CStr::from_ptr(name) }.to_owned());
                Copied::Name(copy, family)
            }
            Query::Addr(addr, len, af) => {
                let copy = (!addr.is_null()).then(|| {
                    let mut copy = [0u8; ADDR_MAX];
                    let n = (len as usize).min(ADDR_MAX);
                    // SAFETY: `addr` is valid for `len` >= `n` bytes (the
                    // contract), `copy` for ADDR_MAX >= `n`; no overlap.
                    unsafe { ptr::copy_nonoverlapping(addr.cast::<u8>(), copy.as_mut_ptr(), n) };
                    copy
                });
                Copied::Addr(copy, len, af)
            }
        }
    }

    /// The query again, now pointing into the copy.
    fn query(&self) -> Query {
        match self {
            Copied::Name(name, family) => {
                Query::Name(name.as_ref().map_or(ptr::null(), |n| n.as_ptr()), *family)
            }
            Copied::Addr(addr, len, af) => Query::Addr(
                addr.as_ref().map_or(ptr::null(), |a| a.as_ptr().cast()),
                *len,
                *af,
            ),
        }
    }
}

/// A lookup carried to the helper thread: its inputs copied, the outputs
/// where the caller wants them.
struct HostArgs {
    query: Copied,
    out: HostOut,
}

// SAFETY: the inputs are owned. The outputs are the caller's: by the
// contract of the `_r` functions they stay valid, and the caller leaves them
// alone, until the call returns. It returns only after the helper thread has
// finished with them: the calling fiber stays parked inside `run_blocking`
// until then, and a parked fiber's stack, where these usually live, is
// neither freed nor moved. What the helper writes points only into that
// same memory (`ret`'s fields into `buf`, `*result` at `ret`), never into
// the helper's own.
unsafe impl Send for HostArgs {}

impl HostArgs {
    /// Calls the real function (by value, for `Send`).
    fn call(self) -> c_int {
        // SAFETY: our copy of the inputs (an address shortened to ADDR_MAX
        // bytes, all that glibc reads) and the caller's outputs, as argued
        // at `HostArgs`.
        unsafe { real_lookup(self.query.query(), self.out) }
    }
}

/// The real `gethostbyname_r`, `gethostbyname2_r` or `gethostbyaddr_r`, as
/// the query says.
///
/// # Safety
/// The real function's contract: valid inputs, valid outputs.
unsafe fn real_lookup(query: Query, out: HostOut) -> c_int {
    let HostOut {
        ret,
        buf,
        buflen,
        result,
        h_errnop,
    } = out;
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match query {
            Query::Name(name, None) => {
                (real::gethostbyname_r())(name, ret, buf, buflen, result, h_errnop)
            }
            Query::Name(name, Some(af)) => {
                (real::gethostbyname2_r())(name, af, ret, buf, buflen, result, h_errnop)
            }
            Query::Addr(addr, len, af) => {
                (real::gethostbyaddr_r())(addr, len, af, ret, buf, buflen, result, h_errnop)
            }
        }
    }
}
// ANCHOR_END: host_args

// ANCHOR: gethostbyname_r
/// All three hooks: in a fiber of an I/O manager with the hook on, the real
/// function runs on a helper thread while the fiber parks; elsewhere it is
/// called directly.
///
/// # Safety
/// The real function's contract, as at [`real_lookup`].
unsafe fn lookup(query: Query, out: HostOut) -> c_int {
    if let Some(io) = parking_io() {
        let args = HostArgs {
            // SAFETY: the caller's inputs, under the same contract.
            query: unsafe { Copied::of(query) },
            out,
        };
        return off_the_worker(&io, move || args.call());
    }
    // SAFETY: the caller's own arguments and contract.
    unsafe { real_lookup(query, out) }
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
    let out = HostOut::new(ret, buf, buflen, result, h_errnop);
    // SAFETY: the caller's arguments, under the same contract.
    unsafe { lookup(Query::Name(name, None), out) }
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
    let out = HostOut::new(ret, buf, buflen, result, h_errnop);
    // SAFETY: the caller's arguments, under the same contract.
    unsafe { lookup(Query::Name(name, Some(af)), out) }
}

// ANCHOR: gethostbyaddr_r
/// Hooked `gethostbyaddr_r(3)`: the reverse lookup, from an address of
/// `len` bytes and family `af` to a `hostent`, taking the same path as
/// [`gethostbyname_r`] (it may ask DNS as long).
///
/// # Safety
/// The same contract as glibc's `gethostbyaddr_r`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gethostbyaddr_r(
    addr: *const c_void,
    len: socklen_t,
    af: c_int,
    ret: *mut hostent,
    buf: *mut c_char,
    buflen: size_t,
    result: *mut *mut hostent,
    h_errnop: *mut c_int,
) -> c_int {
    let out = HostOut::new(ret, buf, buflen, result, h_errnop);
    // SAFETY: the caller's arguments, under the same contract.
    unsafe { lookup(Query::Addr(addr, len, af), out) }
}
// ANCHOR_END: gethostbyaddr_r
