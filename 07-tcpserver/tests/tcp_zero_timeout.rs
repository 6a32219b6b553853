//! A read timeout of 0 (config `tcp_server.read_timeout: 0`) means none,
//! and leaves the write timeout in force. Alone in its binary: it changes
//! the process-wide configuration.

mod common;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::mpsc;

use common::{PATIENCE, within};
use sylar_iomanager::IoManager;
use sylar_tcpserver::{Address, ClientHandler, Connection, TcpServer};

/// Writes to its client until a write fails, and reports how it failed.
struct Flood(Mutex<mpsc::Sender<ErrorKind>>);

impl ClientHandler for Flood {
    fn handle_client(&self, mut connection: Connection) {
        let piece = [b'x'; 64 * 1024];
        let kind = loop {
            if let Err(err) = connection.write_all(&piece) {
                break err.kind();
            }
        };
        let _ = self.0.lock().unwrap().send(kind);
    }
}

#[test]
fn a_zero_read_timeout_keeps_the_write_timeout() {
    sylar_config::global()
        .load_yaml_str("tcp_server:\n  read_timeout: 0\n  write_timeout: 200\n")
        .unwrap();
    let (tx, rx) = mpsc::channel();
    within(PATIENCE, move || {
        let iom = IoManager::new(1, false, "zero").unwrap();
        let server = TcpServer::new("zero", Flood(Mutex::new(tx)), &iom, &iom, &iom);
        server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
        server.start().unwrap();
        let Address::Inet(addr) = server.local_addresses()[0] else {
            panic!()
        };
        // Connected, and never reads: the server's writes fill the buffers.
        let client = TcpStream::connect(addr).unwrap();
        let kind = rx
            .recv_timeout(PATIENCE / 2)
            .expect("the write to a client that never reads did not time out");
        assert!(
            matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{kind:?}"
        );
        drop(client);
        server.stop(std::time::Duration::from_secs(1));
        iom.stop();
    });
}
