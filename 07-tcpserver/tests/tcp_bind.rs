//! Binding: several addresses, every family, failures reported with reasons.

mod common;

use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use common::{Echo, PATIENCE, echo_round_trip, within};
use sylar_iomanager::IoManager;
use sylar_tcpserver::{Address, TcpServer};

#[test]
fn a_failing_address_is_reported_and_the_others_serve() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "bind").unwrap();
        let first = TcpServer::new("first", Echo, &iom, &iom, &iom);
        first.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
        let taken = first.local_addresses()[0].clone();

        let server = TcpServer::new("second", Echo, &iom, &iom, &iom);
        let err = server
            .bind(&["127.0.0.1:0".parse().unwrap(), taken.clone()])
            .unwrap_err();
        assert_eq!(err.failed.len(), 1);
        assert_eq!(err.failed[0].0, taken);
        assert_eq!(err.failed[0].1.kind(), std::io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&taken.to_string()), "{err}");

        // The address that worked serves.
        let bound = server.local_addresses();
        assert_eq!(bound.len(), 1);
        server.start().unwrap();
        let Address::Inet(addr) = bound[0] else {
            panic!("TCP expected")
        };
        let mut client = TcpStream::connect(addr).unwrap();
        assert_eq!(echo_round_trip(&mut client, b"still here"), b"still here");
        server.stop(PATIENCE);
        iom.stop();
    });
}

#[test]
fn ipv4_ipv6_and_unix_listeners_serve_side_by_side() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "families").unwrap();
        let server = TcpServer::new("families", Echo, &iom, &iom, &iom);
        let path = std::env::temp_dir().join(format!("sylar-tcp-{}.sock", std::process::id()));
        let mut wanted = vec!["127.0.0.1:0".parse().unwrap(), Address::Unix(path.clone())];
        let has_ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
        if has_ipv6 {
            wanted.push("[::1]:0".parse().unwrap());
        }
        server.bind(&wanted).unwrap();
        server.start().unwrap();
        for address in server.local_addresses() {
            let reply = match &address {
                Address::Inet(addr) => {
                    echo_round_trip(&mut TcpStream::connect(addr).unwrap(), b"inet")
                }
                Address::Unix(path) => {
                    echo_round_trip(&mut UnixStream::connect(path).unwrap(), b"inet")
                }
            };
            assert_eq!(reply, b"inet", "through {address}");
        }
        assert_eq!(server.local_addresses().len(), if has_ipv6 { 3 } else { 2 });
        server.stop(PATIENCE);
        iom.stop();
        assert!(!path.exists(), "the Unix socket file is removed at stop");
    });
}

#[test]
fn a_unix_path_in_use_is_refused_and_a_stale_one_reused() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "unix-reuse").unwrap();
        let path = std::env::temp_dir().join(format!("sylar-reuse-{}.sock", std::process::id()));
        // A stale socket file, as a crashed server leaves it: bound, never removed.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let first = TcpServer::new("first", Echo, &iom, &iom, &iom);
        first.bind(&[Address::Unix(path.clone())]).unwrap();
        first.start().unwrap();

        // A second server on the same path while the first listens: refused.
        let second = TcpServer::new("second", Echo, &iom, &iom, &iom);
        let err = second.bind(&[Address::Unix(path.clone())]).unwrap_err();
        assert_eq!(err.failed[0].1.kind(), std::io::ErrorKind::AddrInUse);
        let mut client = UnixStream::connect(&path).unwrap();
        assert_eq!(echo_round_trip(&mut client, b"first"), b"first");

        first.stop(PATIENCE);
        iom.stop();
        assert!(!path.exists());
    });
}

#[test]
fn addresses_that_do_not_parse_are_errors() {
    assert!("not an address".parse::<Address>().is_err());
    assert!("unix:".parse::<Address>().is_err());
}
