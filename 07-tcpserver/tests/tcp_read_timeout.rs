//! The read timeout (config `tcp_server.read_timeout`) frees a silent client.
//! Alone in its binary: it changes the process-wide configuration.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Echo, PATIENCE, within};
use sylar_iomanager::IoManager;
use sylar_tcpserver::{Address, TcpServer};

#[test]
fn a_silent_client_is_closed_after_the_read_timeout() {
    sylar_config::global()
        .load_yaml_str("tcp_server:\n  read_timeout: 200\n")
        .unwrap();
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "slow").unwrap();
        let server = TcpServer::new("slow", Echo, &iom, &iom, &iom);
        server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
        server.start().unwrap();
        let Address::Inet(addr) = server.local_addresses()[0] else {
            panic!()
        };
        let mut silent = TcpStream::connect(addr).unwrap();
        let start = Instant::now();
        let n = silent.read(&mut [0u8; 8]).unwrap_or(0);
        let waited = start.elapsed();
        assert_eq!(n, 0, "the server closed the connection");
        assert!(
            waited >= Duration::from_millis(200),
            "closed too early: {waited:?}"
        );
        // Its fiber is gone too.
        let deadline = Instant::now() + PATIENCE;
        while server.connections() > 0 {
            assert!(Instant::now() < deadline);
            std::thread::yield_now();
        }
        server.stop(Duration::from_secs(1));
        iom.stop();
    });
}
