//! The showcase: unchanged std::net code serves 1,000 concurrent clients on
//! one I/O manager thread.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::{PATIENCE, raise_fd_limit, within};
use sylar_iomanager::{IoHandle, IoManager};

#[test]
fn plain_std_code_serves_a_thousand_concurrent_clients_on_one_thread() {
    const CLIENTS: usize = 1_000;
    let limit = raise_fd_limit(2 * CLIENTS as u64 + 200);
    assert!(
        limit >= 2 * CLIENTS as u64 + 100,
        "fd limit {limit} too low"
    );
    let (max_at_once, echoed) = within(PATIENCE * 2, || {
        let server = IoManager::new(1, false, "server").unwrap();
        let clients = IoManager::new(1, false, "clients").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let live = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let (l, m) = (live.clone(), max.clone());
        server
            .schedule(move || {
                let io = IoHandle::current().unwrap();
                for conn in listener.incoming() {
                    // Stop cancels the parked accept: end the loop then.
                    let Ok(mut conn) = conn else { break };
                    let (l, m) = (l.clone(), m.clone());
                    io.schedule(move || {
                        let now = l.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(now, Ordering::SeqCst);
                        let mut buf = [0u8; 8];
                        while let Ok(n @ 1..) = conn.read(&mut buf) {
                            conn.write_all(&buf[..n]).unwrap();
                        }
                        l.fetch_sub(1, Ordering::SeqCst);
                    })
                    .unwrap();
                }
            })
            .unwrap();
        let connected = Arc::new(AtomicUsize::new(0));
        let echoed = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for i in 0..CLIENTS {
            let (connected, echoed, tx) = (connected.clone(), echoed.clone(), tx.clone());
            clients
                .schedule(move || {
                    let mut conn = TcpStream::connect(addr).unwrap();
                    connected.fetch_add(1, Ordering::SeqCst);
                    while connected.load(Ordering::SeqCst) < CLIENTS {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    let msg = (i as u64).to_le_bytes();
                    conn.write_all(&msg).unwrap();
                    let mut back = [0u8; 8];
                    conn.read_exact(&mut back).unwrap();
                    // Hold the connection until every client has its echo:
                    // then all server fibers have started before any ends.
                    echoed.fetch_add(1, Ordering::SeqCst);
                    while echoed.load(Ordering::SeqCst) < CLIENTS {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    tx.send(back == msg).unwrap();
                })
                .unwrap();
        }
        let echoed = (0..CLIENTS).filter(|_| rx.recv().unwrap()).count();
        clients.stop();
        server.stop();
        (max.load(Ordering::SeqCst), echoed)
    });
    assert_eq!(echoed, CLIENTS);
    assert!(
        max_at_once >= CLIENTS,
        "only {max_at_once} connections were open at once"
    );
}
