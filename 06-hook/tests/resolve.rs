//! getaddrinfo in a fiber (run on a helper thread while the fiber parks)
//! gives what it gives outside any fiber: the same addresses, the same
//! errors. Nothing here needs DNS: "localhost" comes from /etc/hosts, the
//! rest is numeric or fails before any lookup.

mod common;

use std::collections::BTreeSet;
use std::ffi::CString;
use std::net::{SocketAddr, ToSocketAddrs};

use common::in_fiber;

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
