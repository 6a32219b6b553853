//! What happens when a program depends on `sylar-hook` but never names it:
//! the crate is not linked, no hook exists, and the first `accept` blocks
//! the I/O manager's only thread.
//!
//! Run: `cargo run --release -p sylar-hook --example forgot_the_hook`
//!
//! This file deliberately lacks the line `use sylar_hook as _;`. Add it and
//! run again: the two fibers then share the thread and the program reports
//! the greeting.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use sylar_iomanager::IoManager;

fn main() {
    let iom = IoManager::new(1, false, "forgot").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    // Fiber 1 accepts; fiber 2, queued behind it on the same thread, connects.
    iom.schedule(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut greeting = String::new();
        conn.read_to_string(&mut greeting).unwrap();
        tx.send(greeting).unwrap();
    })
    .unwrap();
    iom.schedule(move || {
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.write_all(b"hello from fiber 2").unwrap();
    })
    .unwrap();
    match rx.recv_timeout(Duration::from_secs(2)) {
        Ok(greeting) => {
            println!("fiber 1 received {greeting:?}: the hooks are linked");
            iom.stop();
        }
        Err(_) => {
            println!("nothing after 2 s: fiber 1's accept blocked the only worker thread,");
            println!("so fiber 2 never ran. The hooks are not linked in this program.");
            // `stop` would wait for ever for the blocked worker: leave now.
            std::process::exit(1);
        }
    }
}
