//! No lost wake-ups: queued work and new timers wake sleeping workers.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{PATIENCE, within};
use sylar_iomanager::IoManager;

#[test]
fn work_scheduled_from_another_thread_wakes_an_idle_worker() {
    within(PATIENCE * 4, || {
        let iom = IoManager::new(2, false, "lost").unwrap();
        let (tx, rx) = mpsc::channel();
        for round in 0..2000 {
            let tx = tx.clone();
            iom.schedule(move || tx.send(round).unwrap()).unwrap();
            // Workers sleep in epoll_wait with no timer: only the tickle
            // can wake them. A lost one would hang here.
            assert_eq!(rx.recv_timeout(PATIENCE), Ok(round));
        }
        iom.stop();
    });
}

#[test]
fn a_timer_added_while_workers_sleep_fires_on_time() {
    within(PATIENCE, || {
        let iom = IoManager::new(2, false, "front").unwrap();
        // A far timer first: the workers sleep until it...
        iom.add_timer(Duration::from_secs(3600), || {});
        std::thread::sleep(Duration::from_millis(20));
        // ...so an earlier one must wake them to recompute their timeout.
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        iom.add_timer(Duration::from_millis(50), move || {
            tx.send(start.elapsed()).unwrap()
        });
        let waited = rx.recv_timeout(PATIENCE).expect("the earlier timer fired");
        assert!(waited >= Duration::from_millis(50));
        iom.stop();
    });
}
