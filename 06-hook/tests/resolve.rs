//! The hooked lookups (`getaddrinfo`, `getnameinfo`, `gethostbyname_r`,
//! `gethostbyname2_r`, `gethostbyaddr_r`) in a fiber go through chapter 5's blocking pool (the
//! I/O manager's `blocking_calls_sent` counts them), and give what they give
//! outside any fiber: the same answers, the same errors. With the hook off,
//! or outside a fiber, they run in place. Nothing here needs DNS:
//! "localhost" and 127.0.0.1 come from /etc/hosts, the rest is numeric or
//! fails before any lookup.

mod common;

use std::collections::BTreeSet;
use std::ffi::{CStr, CString};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};

use common::in_fiber;
use libc::{c_char, c_int, hostent, size_t, sockaddr, socklen_t};
use sylar_iomanager::{IoHandle, IoManager};

// glibc's reentrant lookups, which the libc crate does not declare. The
// definitions the linker finds first are this crate's hooks.
unsafe extern "C" {
    fn gethostbyname_r(
        name: *const c_char,
        ret: *mut hostent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
    fn gethostbyname2_r(
        name: *const c_char,
        af: c_int,
        ret: *mut hostent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
    fn gethostbyaddr_r(
        addr: *const libc::c_void,
        len: socklen_t,
        af: c_int,
        ret: *mut hostent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
}

/// The set of addresses `target` resolves to, or the error's kind.
fn resolve(target: (&'static str, u16)) -> Result<BTreeSet<SocketAddr>, std::io::ErrorKind> {
    target
        .to_socket_addrs()
        .map(|addrs| addrs.collect())
        .map_err(|e| e.kind())
}

/// Calls `getaddrinfo` (ours, which is the one linked) with `node`,
/// `service` and a hints struct changed by `hints`; returns its result code
/// and how many addresses it gave.
fn raw_getaddrinfo(node: &str, service: &str, hints: fn(&mut libc::addrinfo)) -> (i32, usize) {
    let (node, service) = (CString::new(node).unwrap(), CString::new(service).unwrap());
    // SAFETY: all-zero is a valid addrinfo (null pointers, zero fields).
    let mut h: libc::addrinfo = unsafe { std::mem::zeroed() };
    h.ai_socktype = libc::SOCK_STREAM;
    hints(&mut h);
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: NUL-terminated strings, a valid hints struct and out-pointer.
    let rc = unsafe { libc::getaddrinfo(node.as_ptr(), service.as_ptr(), &h, &mut res) };
    let mut count = 0;
    let mut next = res;
    while !next.is_null() {
        count += 1;
        // SAFETY: a node of the list getaddrinfo returned.
        next = unsafe { (*next).ai_next };
    }
    if !res.is_null() {
        // SAFETY: the list getaddrinfo returned, freed once.
        unsafe { libc::freeaddrinfo(res) };
    }
    (rc, count)
}

#[test]
fn localhost_and_numeric_addresses_resolve_the_same_in_a_fiber() {
    let outside = (resolve(("localhost", 80)), resolve(("127.0.0.1", 9)));
    assert!(
        outside.0.as_ref().is_ok_and(|a| !a.is_empty()),
        "{outside:?}"
    );
    let inside = in_fiber(|| {
        assert!(sylar_hook::is_hook_enabled());
        (resolve(("localhost", 80)), resolve(("127.0.0.1", 9)))
    });
    assert_eq!(inside, outside);
    assert_eq!(
        inside.1,
        Ok(BTreeSet::from(["127.0.0.1:9".parse().unwrap()]))
    );
}

#[test]
fn errors_are_the_same_in_a_fiber() {
    fn cases() -> [(i32, usize); 3] {
        [
            raw_getaddrinfo("localhost", "no-such-service-xyz", |_| {}),
            raw_getaddrinfo("127.0.0.1", "9", |h| h.ai_family = 12345),
            raw_getaddrinfo("127.0.0.1", "9", |h| h.ai_flags = -1),
        ]
    }
    let outside = cases();
    assert!(
        outside.iter().all(|&(rc, n)| rc != 0 && n == 0),
        "{outside:?}"
    );
    let inside = in_fiber(cases);
    assert_eq!(inside, outside);
    // And a good call through the same path succeeds.
    let good = in_fiber(|| raw_getaddrinfo("127.0.0.1", "9", |_| {}));
    assert_eq!(good, (0, 1));
}

/// What `getnameinfo` said: its result code, then (on success) the host
/// and service names, or (on `EAI_SYSTEM`) errno.
#[derive(Debug, PartialEq, Eq)]
struct Names {
    rc: i32,
    host: Option<String>,
    serv: Option<String>,
    errno: Option<i32>,
}

/// Calls `getnameinfo` (ours) on `addr` with output buffers of `hostlen`
/// and `servlen` bytes and `flags`.
fn raw_getnameinfo(addr: SocketAddr, hostlen: usize, servlen: usize, flags: c_int) -> Names {
    let (storage, len) = to_sockaddr(addr);
    let (mut host, mut serv) = (vec![0 as c_char; hostlen], vec![0 as c_char; servlen]);
    // SAFETY: an address valid for `len` bytes, buffers of the lengths given.
    let rc = unsafe {
        libc::getnameinfo(
            (&raw const storage).cast::<sockaddr>(),
            len,
            host.as_mut_ptr(),
            hostlen as socklen_t,
            serv.as_mut_ptr(),
            servlen as socklen_t,
            flags,
        )
    };
    let errno = std::io::Error::last_os_error().raw_os_error();
    // SAFETY: on success both buffers hold NUL-terminated names.
    let text = |b: &[c_char]| (rc == 0).then(|| unsafe { CStr::from_ptr(b.as_ptr()) });
    Names {
        rc,
        host: text(&host).map(|s| s.to_string_lossy().into_owned()),
        serv: text(&serv).map(|s| s.to_string_lossy().into_owned()),
        errno: (rc == libc::EAI_SYSTEM).then_some(errno).flatten(),
    }
}

/// `addr` as a C socket address, in a `sockaddr_storage`, and its length.
fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: a sockaddr_storage is large and aligned enough for any address.
            let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as socklen_t)
}

/// What `gethostbyname_r` or `gethostbyname2_r` said: the return value,
/// `*h_errnop`, errno on failure, and on success the official name, the
/// family and the addresses, and whether the answer lives in the caller's
/// `hostent` and buffer (the only memory the call may write).
#[derive(Debug, PartialEq, Eq)]
struct HostAnswer {
    rc: i32,
    h_errno: i32,
    errno: Option<i32>,
    name: Option<String>,
    family: i32,
    addrs: BTreeSet<Vec<u8>>,
    in_callers_memory: bool,
}

/// Calls `gethostbyname_r` (`family` `None`) or `gethostbyname2_r` (ours)
/// for `name` with a buffer of `buflen` bytes.
fn raw_gethostbyname(name: &str, family: Option<c_int>, buflen: usize) -> HostAnswer {
    let name = CString::new(name).unwrap();
    // SAFETY: a C string, and outputs valid for the lengths given.
    host_answer(buflen, |ret, buf, result, h_errno| unsafe {
        match family {
            None => gethostbyname_r(name.as_ptr(), ret, buf, buflen, result, h_errno),
            Some(af) => gethostbyname2_r(name.as_ptr(), af, ret, buf, buflen, result, h_errno),
        }
    })
}

/// Calls `gethostbyaddr_r` (ours) for the `len` first bytes of `addr`, of
/// family `af`, with a buffer of `buflen` bytes.
fn raw_gethostbyaddr(addr: &[u8], len: socklen_t, af: c_int, buflen: usize) -> HostAnswer {
    assert!(len as usize <= addr.len());
    // SAFETY: an address valid for `len` bytes, and outputs valid for the
    // lengths given.
    host_answer(buflen, |ret, buf, result, h_errno| unsafe {
        gethostbyaddr_r(
            addr.as_ptr().cast(),
            len,
            af,
            ret,
            buf,
            buflen,
            result,
            h_errno,
        )
    })
}

/// Makes one of the three lookups (`call`, given the `hostent`, a buffer of
/// `buflen` bytes, the result pointer and the `h_errno` slot) and reads
/// what it said.
fn host_answer(
    buflen: usize,
    call: impl FnOnce(*mut hostent, *mut c_char, *mut *mut hostent, *mut c_int) -> c_int,
) -> HostAnswer {
    // SAFETY: all-zero is a valid hostent (null pointers, zero fields).
    let mut ret: hostent = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as c_char; buflen];
    let mut result: *mut hostent = std::ptr::null_mut();
    let mut h_errno: c_int = -7; // a value the call must replace to change
    // So is errno: a call that fails without setting it (`::` is "not
    // found" before any lookup) must leave the caller's.
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = libc::EDOM };
    let rc = call(&mut ret, buf.as_mut_ptr(), &mut result, &mut h_errno);
    let errno = std::io::Error::last_os_error().raw_os_error();
    let mut answer = HostAnswer {
        rc,
        h_errno,
        errno: (rc != 0).then_some(errno).flatten(),
        name: None,
        family: 0,
        addrs: BTreeSet::new(),
        in_callers_memory: false,
    };
    if rc == 0 && !result.is_null() {
        let in_buf = |p: *const c_char| buf.as_ptr_range().contains(&p);
        answer.in_callers_memory = std::ptr::eq(result, &ret) && in_buf(ret.h_name);
        // SAFETY: on success `ret` is filled: a C string name, and a
        // null-terminated list of h_length-byte addresses.
        unsafe {
            answer.name = Some(CStr::from_ptr(ret.h_name).to_string_lossy().into_owned());
            answer.family = ret.h_addrtype;
            let mut next = ret.h_addr_list;
            while !(*next).is_null() {
                answer.in_callers_memory &= in_buf(*next);
                let bytes = std::slice::from_raw_parts((*next).cast::<u8>(), ret.h_length as usize);
                answer.addrs.insert(bytes.to_vec());
                next = next.add(1);
            }
        }
    }
    answer
}

/// A lookup, named, that returns whether it succeeded.
type Lookup = (&'static str, fn() -> bool);

/// Each hooked lookup, with arguments it succeeds on without DNS.
const LOOKUPS: [Lookup; 5] = [
    ("getaddrinfo", || {
        raw_getaddrinfo("localhost", "80", |_| {}).0 == 0
    }),
    ("getnameinfo", || {
        let numeric = libc::NI_NUMERICHOST | libc::NI_NUMERICSERV;
        raw_getnameinfo((Ipv4Addr::LOCALHOST, 9).into(), 64, 16, numeric).rc == 0
    }),
    ("gethostbyname_r", || {
        raw_gethostbyname("localhost", None, 1024).rc == 0
    }),
    ("gethostbyname2_r", || {
        raw_gethostbyname("localhost", Some(libc::AF_INET), 1024).rc == 0
    }),
    ("gethostbyaddr_r", || {
        // 127.0.0.1 is in /etc/hosts, whatever name it has there.
        raw_gethostbyaddr(&[127, 0, 0, 1], 4, libc::AF_INET, 1024).rc == 0
    }),
];

/// Runs each of [`LOOKUPS`] and reports, for each, whether it succeeded and
/// how many calls `io` sent to the blocking pool while it ran.
fn sent_per_lookup(io: &IoHandle) -> Vec<(&'static str, bool, u64)> {
    LOOKUPS
        .iter()
        .map(|&(name, lookup)| {
            let before = io.blocking_calls_sent();
            let ok = lookup();
            (name, ok, io.blocking_calls_sent() - before)
        })
        .collect()
}

/// What [`sent_per_lookup`] must report when every lookup sent `n` calls.
fn each_sent(n: u64) -> Vec<(&'static str, bool, u64)> {
    LOOKUPS.iter().map(|&(name, _)| (name, true, n)).collect()
}

/// In a fiber with the hook on, each lookup parks its fiber and goes to the
/// pool: exactly one call sent each. (With a hook removed, its lookup is
/// glibc's and sends nothing: same answer, count 0.)
#[test]
fn each_lookup_in_a_fiber_goes_through_the_blocking_pool() {
    let sent = in_fiber(|| {
        assert!(sylar_hook::is_hook_enabled());
        sent_per_lookup(&IoHandle::current().unwrap())
    });
    assert_eq!(sent, each_sent(1));
}

/// With the hook turned off in the fiber, and on a plain thread, every
/// lookup runs in place: the same success, nothing sent.
#[test]
fn with_the_hook_off_or_outside_a_fiber_lookups_run_in_place() {
    let sent = in_fiber(|| {
        sylar_hook::set_hook_enabled(false);
        let sent = sent_per_lookup(&IoHandle::current().unwrap());
        sylar_hook::set_hook_enabled(true);
        sent
    });
    assert_eq!(sent, each_sent(0));
    let iom = IoManager::new(1, false, "resolve-outside").unwrap();
    assert_eq!(sent_per_lookup(&iom), each_sent(0));
    iom.stop();
}

#[test]
fn getnameinfo_gives_the_same_names_and_errors_in_a_fiber() {
    fn cases() -> Vec<Names> {
        let v4: SocketAddr = (Ipv4Addr::LOCALHOST, 9).into();
        let v6 = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 443, 0, 0));
        let numeric = libc::NI_NUMERICHOST | libc::NI_NUMERICSERV;
        let mut bad_family = to_sockaddr(v4);
        bad_family.0.ss_family = 12345;
        // SAFETY: a valid address and buffers of the lengths given.
        let unknown_family = unsafe {
            let (mut host, mut serv) = ([0 as c_char; 64], [0 as c_char; 16]);
            libc::getnameinfo(
                (&raw const bad_family.0).cast::<sockaddr>(),
                bad_family.1,
                host.as_mut_ptr(),
                64,
                serv.as_mut_ptr(),
                16,
                numeric,
            )
        };
        vec![
            raw_getnameinfo(v4, 64, 16, numeric),
            raw_getnameinfo(v6, 64, 16, numeric),
            // From /etc/hosts and /etc/services.
            raw_getnameinfo(v4, 1025, 32, 0),
            // A host buffer too small for "127.0.0.1".
            raw_getnameinfo(v4, 4, 16, numeric),
            Names {
                rc: unknown_family,
                host: None,
                serv: None,
                errno: None,
            },
        ]
    }
    let outside = cases();
    assert_eq!(outside[0].host.as_deref(), Some("127.0.0.1"));
    assert_eq!(outside[0].serv.as_deref(), Some("9"));
    assert_eq!(outside[1].host.as_deref(), Some("::1"));
    assert_eq!(outside[3].rc, libc::EAI_OVERFLOW);
    assert_eq!(outside[4].rc, libc::EAI_FAMILY);
    let inside = in_fiber(cases);
    assert_eq!(inside, outside);
}

#[test]
fn gethostbyname_r_gives_the_same_answers_and_errors_in_a_fiber() {
    fn cases() -> Vec<HostAnswer> {
        vec![
            raw_gethostbyname("localhost", None, 1024),
            raw_gethostbyname("127.0.0.1", None, 1024),
            raw_gethostbyname("localhost", Some(libc::AF_INET), 1024),
            raw_gethostbyname("::1", Some(libc::AF_INET6), 1024),
            // A buffer too small for any answer: ERANGE, try a larger one.
            raw_gethostbyname("localhost", None, 8),
            raw_gethostbyname("127.0.0.1", Some(libc::AF_INET6), 8),
        ]
    }
    let outside = cases();
    let loopback = BTreeSet::from([vec![127, 0, 0, 1]]);
    assert_eq!(outside[1].addrs, loopback);
    assert!(
        outside[..4]
            .iter()
            .all(|a| a.rc == 0 && a.in_callers_memory),
        "{outside:#?}"
    );
    assert_eq!(outside[3].family, libc::AF_INET6);
    assert_eq!(outside[4].rc, libc::ERANGE);
    let inside = in_fiber(cases);
    assert_eq!(inside, outside);
}

#[test]
fn gethostbyaddr_r_gives_the_same_answers_and_errors_in_a_fiber() {
    fn cases() -> Vec<HostAnswer> {
        let v4 = [127, 0, 0, 1];
        vec![
            // From /etc/hosts: the name is whatever it says there.
            raw_gethostbyaddr(&v4, 4, libc::AF_INET, 1024),
            // A buffer too small for the answer: ERANGE.
            raw_gethostbyaddr(&v4, 4, libc::AF_INET, 8),
            // A length that is not the family's, an unknown family: glibc
            // fails before any lookup (and before reading the address).
            raw_gethostbyaddr(&v4, 3, libc::AF_INET, 1024),
            raw_gethostbyaddr(&v4, 4, 12345, 1024),
            // No buffer at all: ERANGE too.
            raw_gethostbyaddr(&v4, 4, libc::AF_INET, 0),
            // The IPv6 unspecified address `::`, of either family: glibc
            // answers "not found" without asking anyone.
            raw_gethostbyaddr(&[0; 16], 16, libc::AF_INET6, 1024),
            raw_gethostbyaddr(&[0; 16], 16, libc::AF_INET, 1024),
            // An IPv6 family with an IPv4 length: refused.
            raw_gethostbyaddr(&v4, 4, libc::AF_INET6, 1024),
        ]
    }
    let outside = cases();
    assert_eq!(outside[0].rc, 0, "{outside:#?}");
    assert!(outside[0].in_callers_memory, "{outside:#?}");
    assert_eq!(outside[0].family, libc::AF_INET);
    assert_eq!(outside[0].addrs, BTreeSet::from([vec![127, 0, 0, 1]]));
    assert_eq!(outside[1].rc, libc::ERANGE);
    assert!(outside[2..].iter().all(|a| a.rc != 0), "{outside:#?}");
    assert_eq!(outside[4].rc, libc::ERANGE);
    const HOST_NOT_FOUND: c_int = 1; // <netdb.h>
    assert_eq!(
        (outside[5].rc, outside[5].h_errno),
        (libc::ENOENT, HOST_NOT_FOUND)
    );
    let (inside, sent) = in_fiber(|| {
        let io = IoHandle::current().unwrap();
        let before = io.blocking_calls_sent();
        let inside = cases();
        (inside, io.blocking_calls_sent() - before)
    });
    assert_eq!(inside, outside);
    assert_eq!(sent, 8, "each lookup went through the blocking pool");
}
