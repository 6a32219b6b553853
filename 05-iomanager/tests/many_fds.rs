//! 10,000 fds waited on at once, on two worker threads.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use common::{PATIENCE, close, pair, raise_fd_limit, read_parked, within, write_parked};
use sylar_iomanager::{IoHandle, IoManager};

#[test]
fn ten_thousand_fds_waited_on_at_once_all_wake() {
    const PAIRS: usize = 5_000; // 10,000 fds
    let limit = raise_fd_limit(2 * PAIRS as u64 + 256);
    assert!(
        limit >= 2 * PAIRS as u64 + 64,
        "fd limit {limit} too low for this test"
    );
    within(PATIENCE * 4, || {
        let iom = IoManager::new(2, false, "many").unwrap();
        let woken = Arc::new(AtomicUsize::new(0));
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut writers = Vec::with_capacity(PAIRS);
        for i in 0..PAIRS {
            let (mut reader, writer) = pair();
            writers.push(writer);
            let (woken, ready_tx) = (woken.clone(), ready_tx.clone());
            iom.schedule(move || {
                let io = IoHandle::current().unwrap();
                ready_tx.send(()).unwrap();
                let mut buf = [0u8; 8];
                let n = read_parked(&io, &mut reader, &mut buf).unwrap();
                assert_eq!(&buf[..n], (i as u64).to_le_bytes());
                close(&io, reader);
                woken.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        for _ in 0..PAIRS {
            ready_rx.recv_timeout(PATIENCE).unwrap();
        }
        // Every fiber has started; most are parked now. Wake them all.
        for (i, writer) in writers.iter_mut().enumerate() {
            writer.write_all(&(i as u64).to_le_bytes()).unwrap();
        }
        let deadline = std::time::Instant::now() + PATIENCE;
        while woken.load(Ordering::SeqCst) < PAIRS {
            assert!(
                std::time::Instant::now() < deadline,
                "only {} woke",
                woken.load(Ordering::SeqCst)
            );
            std::thread::yield_now();
        }
        assert_eq!(iom.pending_events(), 0);
        iom.stop();
    });
}

#[test]
fn fibers_on_two_threads_ping_pong_over_many_sockets() {
    within(PATIENCE * 2, || {
        let iom = IoManager::new(2, false, "pingpong").unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..50 {
            let (mut left, mut right) = pair();
            iom.schedule(move || {
                let io = IoHandle::current().unwrap();
                let mut buf = [0u8; 4];
                for _ in 0..200 {
                    let n = read_parked(&io, &mut right, &mut buf).unwrap();
                    write_parked(&io, &mut right, &buf[..n]);
                }
                close(&io, right);
            })
            .unwrap();
            let done_tx = done_tx.clone();
            iom.schedule(move || {
                let io = IoHandle::current().unwrap();
                let mut buf = [0u8; 4];
                for round in 0u32..200 {
                    write_parked(&io, &mut left, &round.to_le_bytes());
                    let mut got = 0;
                    while got < 4 {
                        got += read_parked(&io, &mut left, &mut buf[got..]).unwrap();
                    }
                    assert_eq!(u32::from_le_bytes(buf), round);
                }
                close(&io, left);
                done_tx.send(()).unwrap();
            })
            .unwrap();
        }
        for _ in 0..50 {
            done_rx.recv_timeout(PATIENCE).unwrap();
        }
        iom.stop();
    });
}
