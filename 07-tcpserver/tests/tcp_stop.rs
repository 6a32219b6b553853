//! stop: listeners closed, accept fibers gone, idle connections closed, a
//! connection in the middle of its work allowed to finish.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Echo, PATIENCE, within};
use sylar_iomanager::IoManager;
use sylar_tcpserver::{Address, ClientHandler, Connection, TcpServer};

/// A server named `name` with `handler`, on an I/O manager of its own with
/// `threads` threads, listening on 127.0.0.1:0.
fn started(name: &str, threads: usize, handler: impl ClientHandler) -> (IoManager, TcpServer) {
    let iom = IoManager::new(threads, false, name).unwrap();
    let server = TcpServer::new(name, handler, &iom, &iom, &iom);
    server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    server.start().unwrap();
    (iom, server)
}

fn addr(server: &TcpServer) -> std::net::SocketAddr {
    match server.local_addresses()[0] {
        Address::Inet(a) => a,
        _ => panic!("TCP expected"),
    }
}

#[test]
fn stop_with_idle_connections_returns_promptly_and_closes_them() {
    within(PATIENCE, || {
        let (iom, server) = started("idle", 2, Echo);
        let address = addr(&server);
        let mut clients: Vec<TcpStream> = (0..20)
            .map(|_| TcpStream::connect(address).unwrap())
            .collect();
        // Each one is served (echo proves its fiber is up) and then idles.
        for c in &mut clients {
            c.write_all(b"x").unwrap();
            c.read_exact(&mut [0u8; 1]).unwrap();
        }
        assert_eq!(server.connections(), 20);
        let start = Instant::now();
        server.stop(Duration::from_secs(30));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "idle connections must not use the grace period"
        );
        assert_eq!(server.connections(), 0);
        for c in &mut clients {
            assert_eq!(
                c.read(&mut [0u8; 1]).unwrap_or(0),
                0,
                "closed by the server"
            );
        }
        // And nobody listens any more.
        assert!(server.local_addresses().is_empty());
        assert!(
            TcpStream::connect(address).is_err(),
            "the listening socket is closed"
        );
        iom.stop();
    });
}

/// Reads one byte, works 300 ms (a hooked sleep), answers, closes.
struct SlowOnce(mpsc::Sender<()>);

impl ClientHandler for SlowOnce {
    fn handle_client(&self, mut connection: Connection) {
        if connection.read_exact(&mut [0u8; 1]).is_err() {
            return;
        }
        let _ = self.0.send(());
        std::thread::sleep(Duration::from_millis(300));
        let _ = connection.write_all(b"done");
    }
}

#[test]
fn a_connection_in_the_middle_of_its_work_may_finish_within_the_grace() {
    within(PATIENCE, || {
        let (busy_tx, busy_rx) = mpsc::channel();
        let (iom, server) = started("grace", 1, SlowOnce(busy_tx));
        let mut client = TcpStream::connect(addr(&server)).unwrap();
        client.write_all(b"?").unwrap();
        busy_rx.recv().unwrap(); // the handler is working now
        server.stop(Duration::from_secs(30));
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap();
        assert_eq!(answer, b"done");
        iom.stop();
    });
}

#[test]
fn stop_is_idempotent_and_start_after_stop_serves_nothing() {
    within(PATIENCE, || {
        let (iom, server) = started("twice", 1, Echo);
        let address = addr(&server);
        server.stop(Duration::from_secs(1));
        server.stop(Duration::from_secs(1));
        assert!(server.is_stopping());
        // A stopped server stays stopped: its listeners are closed, and a
        // start after stop opens none again.
        server.start().unwrap();
        assert!(server.local_addresses().is_empty());
        let refused = TcpStream::connect(address).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert_eq!(server.accepted(), 0);
        iom.stop();
    });
}

#[test]
fn stop_with_a_grace_too_long_for_the_clock_still_stops() {
    // `Duration::MAX` (or `server.shutdown_grace: 18446744073709551615`)
    // means "as long as it takes", not an overflow: idle connections are
    // closed at once as with any grace.
    within(PATIENCE, || {
        let (iom, server) = started("forever", 1, Echo);
        let mut client = TcpStream::connect(addr(&server)).unwrap();
        client.write_all(b"x").unwrap();
        client.read_exact(&mut [0u8; 1]).unwrap();
        server.stop(Duration::MAX);
        assert_eq!(server.connections(), 0);
        assert_eq!(client.read(&mut [0u8; 1]).unwrap_or(0), 0);
        iom.stop();
    });
}
