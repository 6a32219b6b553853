//! `stop` always finishes: fibers parked on fds that will never be ready are
//! woken with Cancelled, recurring timers are cancelled, sleepers finish.

mod common;

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{PATIENCE, pair, timed_sleep, within};
use sylar_iomanager::{Event, IoHandle, IoManager, WakeReason};

#[test]
fn stop_returns_with_parked_fibers_and_recurring_timers() {
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let ticks = Arc::new(AtomicUsize::new(0));
    let r = reasons.clone();
    let t = ticks.clone();
    within(PATIENCE, move || {
        let iom = IoManager::new(2, false, "stopper").unwrap();
        let mut keep = Vec::new();
        let (parked_tx, parked_rx) = mpsc::channel();
        for _ in 0..20 {
            let (a, b) = pair();
            let fd = a.as_raw_fd();
            keep.push((a, b)); // the peers stay open: never readable
            let (r, parked_tx) = (r.clone(), parked_tx.clone());
            iom.schedule(move || {
                let io = IoHandle::current().unwrap();
                parked_tx.send(()).unwrap();
                let reason = io.wait(fd, Event::Read, None).unwrap();
                r.lock().unwrap().push(reason);
            })
            .unwrap();
        }
        for _ in 0..20 {
            parked_rx.recv_timeout(PATIENCE).unwrap();
        }
        iom.add_recurring_timer(Duration::from_millis(5), move || {
            t.fetch_add(1, Ordering::SeqCst);
        });
        iom.add_timer(Duration::from_secs(3600), || {
            panic!("an hour-long timer must not run")
        });
        iom.stop();
        drop(keep);
    });
    let reasons = reasons.lock().unwrap();
    assert_eq!(
        reasons.len(),
        20,
        "every parked fiber was woken, none dropped"
    );
    assert!(reasons.iter().all(|r| *r == WakeReason::Cancelled));
}

#[test]
fn stop_lets_sleeping_fibers_finish_their_sleep() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "sleepy").unwrap();
        let rx = timed_sleep(&iom, Duration::from_millis(100));
        // Give it a moment to fall asleep, then stop: stop waits for it.
        std::thread::sleep(Duration::from_millis(10));
        iom.stop();
        let (reason, slept) = rx
            .try_recv()
            .expect("the sleeper finished before stop returned");
        assert_eq!(reason, WakeReason::Woken);
        assert!(slept >= Duration::from_millis(100), "{slept:?}");
    });
}

#[test]
fn stop_with_use_caller_runs_queued_io_work_on_the_caller() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, true, "caller").unwrap();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            io.sleep(Duration::from_millis(20)).unwrap();
            tx.send(std::thread::current().id()).unwrap();
        })
        .unwrap();
        iom.stop();
        assert_eq!(rx.try_recv().unwrap(), std::thread::current().id());
    });
}
