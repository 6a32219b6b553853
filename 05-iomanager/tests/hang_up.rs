//! A hang-up is reported by one edge-triggered notification only, often the
//! same one that reports the peer's last bytes. A fiber woken by it that
//! reads those bytes and waits to read again must not sleep for ever: once
//! the peer hung up, a read wait returns at once.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::{PATIENCE, pair, within};
use sylar_iomanager::{Event, IoHandle, IoManager, WakeReason};

// ANCHOR: hang_up_test
#[test]
fn a_read_wait_after_the_peer_hung_up_returns_at_once() {
    within(PATIENCE, || {
        // One worker: while it is busy, nobody reads the notifications.
        let iom = IoManager::new(1, false, "hangup").unwrap();
        let (mut ours, mut theirs) = pair();
        let fd = ours.as_raw_fd();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let first = io.wait(fd, Event::Read, None).unwrap();
            let mut buf = [0u8; 64];
            let n = ours.read(&mut buf).unwrap(); // the bytes, not yet the end
            // Waiting again: the hang-up came with the bytes, in the same
            // notification, and no other will follow.
            let second = io.wait(fd, Event::Read, None).unwrap();
            let end = ours.read(&mut buf).unwrap();
            tx.send((first, n, second, end)).unwrap();
        })
        .unwrap();
        while iom.pending_events() == 0 {
            std::thread::sleep(Duration::from_millis(1)); // until it waits
        }
        // Occupy the worker while the bytes and the hang-up both arrive.
        let go = Arc::new(AtomicBool::new(false));
        let release = go.clone();
        let (busy_tx, busy_rx) = mpsc::channel();
        iom.schedule(move || {
            busy_tx.send(()).unwrap();
            while !release.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
        })
        .unwrap();
        busy_rx.recv().unwrap();
        theirs.write_all(b"last words").unwrap();
        theirs.shutdown(Shutdown::Write).unwrap();
        go.store(true, Ordering::Release);
        let (first, n, second, end) = rx.recv().unwrap();
        assert_eq!((first, n), (WakeReason::Woken, 10));
        assert_eq!((second, end), (WakeReason::Woken, 0));
        iom.stop();
    });
}
// ANCHOR_END: hang_up_test
