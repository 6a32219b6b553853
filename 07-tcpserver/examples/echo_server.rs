//! The smallest TcpServer: it echoes whatever each client sends.
//!
//! Run: `cargo run -p sylar-tcpserver --example echo_server -- 127.0.0.1:8021`
//! then, in another terminal: `echo hello | nc -q1 127.0.0.1 8021`

use std::io::{Read, Write};

use sylar_iomanager::IoManager;
use sylar_tcpserver::{Address, ClientHandler, Connection, TcpServer};

// ANCHOR: echo
/// Echoes bytes back until the client closes. Blocking-style code: in a
/// fiber, each `read` parks until data arrives.
struct Echo;

impl ClientHandler for Echo {
    fn handle_client(&self, mut connection: Connection) {
        let mut buf = [0u8; 4096];
        loop {
            match connection.read(&mut buf) {
                Ok(0) | Err(_) => return, // closed, reset, timed out or stopped
                Ok(n) => {
                    if connection.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    }
}
// ANCHOR_END: echo

fn main() {
    let address: Address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8021".into())
        .parse()
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2);
        });
    sylar_log::init();
    let iom = IoManager::new(2, false, "echo").expect("create the I/O manager");
    let server = TcpServer::new("echo", Echo, &iom, &iom, &iom);
    if let Err(e) = server.bind(&[address]) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    server.start().expect("start the accept fiber");
    for address in server.local_addresses() {
        println!("echo server listening on {address}");
    }
    // Serve until killed.
    loop {
        std::thread::park();
    }
}
