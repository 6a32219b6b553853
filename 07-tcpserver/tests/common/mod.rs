//! Helpers shared by the TcpServer tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use sylar_tcpserver::{ClientHandler, Connection};

/// Generous: machines are shared and slow; a hang still fails, just later.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `f` on a thread and fails if it has not returned within `limit`.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(limit)
        .expect("did not finish in time (hang?)")
}

/// Echoes until the client closes.
pub struct Echo;

impl ClientHandler for Echo {
    fn handle_client(&self, mut connection: Connection) {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = connection.read(&mut buf) {
            if connection.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    }
}

/// Sends `msg` on `stream` and reads back as many bytes.
pub fn echo_round_trip(stream: &mut (impl Read + Write), msg: &[u8]) -> Vec<u8> {
    stream.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    stream.read_exact(&mut back).unwrap();
    back
}
