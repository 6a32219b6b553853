//! cancel, del, cancel_all, forget_fd; timeouts end only their own wait.

mod common;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::{PATIENCE, pair, within};
use sylar_iomanager::{Event, IoHandle, IoManager, Waiter, WakeReason};

#[test]
fn cancel_event_wakes_a_parked_fiber_with_cancelled() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "cancel").unwrap();
        let (a, _b) = pair();
        let fd = a.as_raw_fd();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            tx.send(io.wait(fd, Event::Read, None).unwrap()).unwrap();
        })
        .unwrap();
        // Cancel until the waiter is there (it registers asynchronously).
        while !iom.cancel_event(fd, Event::Read) {
            std::thread::yield_now();
        }
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), WakeReason::Cancelled);
        assert_eq!(iom.pending_events(), 0);
        drop(a);
        iom.stop();
    });
}

#[test]
fn del_event_removes_without_running_and_hands_the_waiter_back() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "del").unwrap();
        let (a, mut b) = pair();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        iom.add_event(a.as_raw_fd(), Event::Read, move |_| {
            flag.store(true, Ordering::SeqCst)
        })
        .unwrap();
        assert_eq!(iom.pending_events(), 1);
        let waiter = iom.del_event(a.as_raw_fd(), Event::Read).expect("a waiter");
        assert!(matches!(waiter, Waiter::Call(_)));
        assert_eq!(iom.pending_events(), 0);
        // Data arriving now wakes nobody.
        b.write_all(b"x").unwrap();
        // A later waiter sees the readiness that arrived meanwhile and runs.
        let (tx, rx) = mpsc::channel();
        iom.add_event(a.as_raw_fd(), Event::Read, move |r| tx.send(r).unwrap())
            .unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), WakeReason::Woken);
        assert!(!ran.load(Ordering::SeqCst));
        assert!(iom.del_event(a.as_raw_fd(), Event::Read).is_none());
        iom.stop();
    });
}

#[test]
fn cancel_all_and_forget_fd_wake_both_directions() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "all").unwrap();
        let (mut a, _b) = pair();
        let fd = a.as_raw_fd();
        // Fill `a`'s send buffer, so that a write waiter waits too.
        let chunk = [0_u8; 4096];
        while a.write(&chunk).is_ok() {}
        let (tx, rx) = mpsc::channel();
        let add_both = |tag: &'static str| {
            for event in [Event::Read, Event::Write] {
                let tx = tx.clone();
                iom.add_event(fd, event, move |r| tx.send((tag, event, r)).unwrap())
                    .unwrap();
            }
        };
        let both_cancelled = |tag: &'static str| {
            let mut got: Vec<_> = (0..2).map(|_| rx.recv_timeout(PATIENCE).unwrap()).collect();
            got.sort_by_key(|(_, event, _)| *event == Event::Write);
            assert_eq!(
                got,
                [
                    (tag, Event::Read, WakeReason::Cancelled),
                    (tag, Event::Write, WakeReason::Cancelled)
                ]
            );
        };
        add_both("cancel_all");
        assert_eq!(iom.pending_events(), 2, "both directions wait");
        assert!(iom.cancel_all(fd));
        both_cancelled("cancel_all");
        assert!(!iom.cancel_all(fd));
        add_both("forget_fd");
        assert!(iom.forget_fd(fd));
        both_cancelled("forget_fd");
        iom.stop();
    });
}

#[test]
fn a_wait_with_a_deadline_times_out() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "deadline").unwrap();
        let (a, _b) = pair();
        let fd = a.as_raw_fd();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let start = Instant::now();
            let reason = io
                .wait(fd, Event::Read, Some(start + Duration::from_millis(50)))
                .unwrap();
            tx.send((reason, start.elapsed())).unwrap();
        })
        .unwrap();
        let (reason, waited) = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(reason, WakeReason::TimedOut);
        assert!(
            waited >= Duration::from_millis(50),
            "woke early: {waited:?}"
        );
        assert_eq!(iom.pending_events(), 0);
        iom.stop();
    });
}

#[test]
fn a_stale_timeout_never_ends_a_later_wait() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "stale").unwrap();
        let (a, mut b) = pair();
        let fd = a.as_raw_fd();
        let (tx, rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            // First wait: a 100 ms deadline, but data comes first.
            let first = io.wait(
                fd,
                Event::Read,
                Some(Instant::now() + Duration::from_millis(100)),
            );
            let mut buf = [0u8; 8];
            let _ = std::io::Read::read(&mut &a, &mut buf);
            // Second wait: no deadline; data arrives 300 ms later.
            go_tx.send(()).unwrap();
            let second = io.wait(fd, Event::Read, None);
            tx.send((first.unwrap(), second.unwrap())).unwrap();
        })
        .unwrap();
        b.write_all(b"1").unwrap();
        go_rx.recv_timeout(PATIENCE).unwrap();
        let late = iom.handle();
        let mut b2 = b.try_clone().unwrap();
        iom.add_timer(Duration::from_millis(300), move || {
            let _ = &late;
            b2.write_all(b"2").unwrap();
        });
        assert_eq!(
            rx.recv_timeout(PATIENCE).unwrap(),
            (WakeReason::Woken, WakeReason::Woken)
        );
        iom.stop();
    });
}

#[test]
fn after_forget_fd_a_new_fd_with_the_same_number_starts_clean() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "reuse").unwrap();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let mut numbers = Vec::new();
            for round in 0..3 {
                let (mut a, mut b) = pair();
                numbers.push(a.as_raw_fd());
                // Make the fd known to epoll, then close it the right way.
                b.write_all(&[round]).unwrap();
                let mut buf = [0u8; 1];
                assert_eq!(common::read_parked(&io, &mut a, &mut buf), Ok(1));
                // Next round's read must park and be woken by new data.
                let late = b.try_clone().unwrap();
                io.add_timer(Duration::from_millis(20), move || {
                    (&late).write_all(b"x").unwrap();
                });
                assert_eq!(common::read_parked(&io, &mut a, &mut buf), Ok(1));
                common::close(&io, a);
                drop(b);
            }
            tx.send(numbers).unwrap();
        })
        .unwrap();
        let numbers = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(numbers.len(), 3);
        iom.stop();
    });
}

#[test]
fn del_event_if_removes_only_the_wait_its_key_names() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "keyed").unwrap();
        let (a, _b) = pair();
        let fd = a.as_raw_fd();
        let first = iom.add_event(fd, Event::Read, |_| {}).unwrap();
        assert!(iom.del_event_if(fd, Event::Read, first).is_some());
        let second = iom.add_event(fd, Event::Read, |_| {}).unwrap();
        // The first key is stale: it must not remove the second wait.
        assert!(iom.del_event_if(fd, Event::Read, first).is_none());
        assert_eq!(iom.pending_events(), 1);
        assert!(iom.del_event_if(fd, Event::Read, second).is_some());
        assert_eq!(iom.pending_events(), 0);
        iom.stop();
    });
}

#[test]
fn a_key_from_before_the_fd_was_forgotten_names_no_later_wait() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "stale_key").unwrap();
        let (a, _b) = pair();
        let fd = a.as_raw_fd();
        let old = iom.add_event(fd, Event::Read, |_| {}).unwrap();
        // What the close hook does before the number is reused.
        assert!(iom.forget_fd(fd));
        let new = iom.add_event(fd, Event::Read, |_| {}).unwrap();
        assert_ne!(old, new);
        assert!(iom.del_event_if(fd, Event::Read, old).is_none());
        assert!(iom.del_event_if(fd, Event::Read, new).is_some());
        iom.stop();
    });
}

#[test]
fn the_direction_timer_re_arms_for_a_later_waits_deadline() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "rearm").unwrap();
        let (a, mut b) = pair();
        let fd = a.as_raw_fd();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            // Wait 1 arms the timer for +100 ms, and data ends it at once.
            let first = io.wait(
                fd,
                Event::Read,
                Some(Instant::now() + Duration::from_millis(100)),
            );
            let mut buf = [0u8; 1];
            let _ = std::io::Read::read(&mut &a, &mut buf);
            // Wait 2: deadline +400 ms. The armed timer fires at +100 ms,
            // finds this later deadline, and must re-arm instead of ending it.
            let start = Instant::now();
            let second = io.wait(fd, Event::Read, Some(start + Duration::from_millis(400)));
            tx.send((first.unwrap(), second.unwrap(), start.elapsed()))
                .unwrap();
        })
        .unwrap();
        b.write_all(b"1").unwrap();
        let (first, second, waited) = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(first, WakeReason::Woken);
        assert_eq!(second, WakeReason::TimedOut);
        assert!(
            waited >= Duration::from_millis(400),
            "ended early: {waited:?}"
        );
        iom.stop();
    });
}
