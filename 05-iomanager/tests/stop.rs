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

#[test]
fn stopping_a_use_caller_io_manager_from_another_ones_fiber_leaves_that_fiber_its_reactor() {
    within(PATIENCE, || {
        let outer = IoManager::new(1, false, "outer").unwrap();
        let (tx, rx) = mpsc::channel();
        let seen = tx.clone();
        let (a, mut b) = pair();
        let fd = a.as_raw_fd();
        outer
            .schedule(move || {
                // `inner`'s only worker is whoever stops it: this fiber,
                // whose thread runs inner's loop inside stop and comes back.
                let inner = IoManager::new(1, true, "inner").unwrap();
                let ran_inside = tx.clone();
                inner
                    .schedule(move || {
                        let name = IoHandle::current().map(|io| io.name().to_owned());
                        ran_inside.send(("inner task", name)).unwrap();
                    })
                    .unwrap();
                inner.stop();
                let name = IoHandle::current().map(|io| io.name().to_owned());
                tx.send(("after inner.stop", name)).unwrap();
                // The thread-local path the hooks take: a wait on the outer
                // reactor, woken by the byte written below.
                let woke = IoHandle::wait_current(fd, Event::Read, None);
                tx.send(("wait_current", Some(format!("{woke:?}"))))
                    .unwrap();
            })
            .unwrap();
        // The fiber above parks in wait_current (or has failed); the byte
        // wakes it.
        let (stage, _) = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(stage, "inner task");
        let after = rx.recv_timeout(PATIENCE).unwrap();
        std::io::Write::write_all(&mut b, b"x").unwrap();
        let waited = rx.recv_timeout(PATIENCE).unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        // The next fiber on the same worker thread.
        outer
            .schedule(move || {
                let name = IoHandle::current().map(|io| io.name().to_owned());
                seen.send(("next outer task", name)).unwrap();
                done_tx.send(()).unwrap();
            })
            .unwrap();
        done_rx.recv_timeout(PATIENCE).unwrap();
        let next = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(
            [after, waited, next],
            [
                ("after inner.stop", Some("outer".to_owned())),
                ("wait_current", Some("Ok(Woken)".to_owned())),
                ("next outer task", Some("outer".to_owned())),
            ],
            "each fiber must see the I/O manager whose worker runs it"
        );
        outer.stop();
        drop(a);
    });
}

/// A value whose `Drop` panics, captured by a callback that `stop` drops.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("this capture cannot be dropped");
    }
}

#[test]
fn stop_survives_a_dropped_callback_whose_capture_panics_and_still_wakes_everyone() {
    let (reason_tx, reason_rx) = mpsc::channel();
    let (sleep_tx, sleep_rx) = mpsc::channel();
    within(PATIENCE, move || {
        let iom = IoManager::new(1, false, "bomb").unwrap();
        let (a, b) = pair(); // b stays open: a never becomes readable
        let fd = a.as_raw_fd();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            reason_tx
                .send(io.wait(fd, Event::Read, None).unwrap())
                .unwrap();
        })
        .unwrap();
        let slept = timed_sleep(&iom, Duration::from_millis(200));
        let deadline = std::time::Instant::now() + PATIENCE;
        while iom.pending_events() != 1 || iom.timers().sleeping_fibers() != 1 {
            assert!(std::time::Instant::now() < deadline, "never parked");
            std::thread::yield_now();
        }
        let capture = PanicsWhenDropped;
        iom.add_timer(Duration::from_secs(3600), move || {
            let _ = &capture;
            panic!("an hour-long timer must not run");
        });
        iom.stop();
        sleep_tx.send(slept.try_recv()).unwrap();
        drop((a, b));
    });
    assert_eq!(
        reason_rx.try_recv().ok(),
        Some(WakeReason::Cancelled),
        "the fiber parked on the socket was woken by stop"
    );
    let (reason, slept) = sleep_rx
        .recv()
        .unwrap()
        .expect("the sleeper finished before stop returned");
    assert_eq!(reason, WakeReason::Woken);
    assert!(slept >= Duration::from_millis(200), "{slept:?}");
}

#[test]
fn a_plain_scheduler_stopped_in_an_io_managers_fiber_gets_no_reactor_and_never_parks_on_it() {
    within(PATIENCE, || {
        let host = IoManager::new(1, false, "host").unwrap();
        let (a, b) = pair(); // the peer stays open and silent: never readable
        let fd = a.as_raw_fd();
        let (tx, rx) = mpsc::channel();
        host.schedule(move || {
            // `guest`'s only worker is whoever stops it: this fiber, whose
            // thread runs guest's loop inside stop, with host's reactor
            // still published on the thread.
            let guest = sylar_scheduler::Scheduler::new(1, true, "guest");
            guest.start().unwrap();
            let (from_guest, guest_rx) = mpsc::channel();
            guest
                .schedule(move || {
                    let io = IoHandle::current().map(|io| io.name().to_owned());
                    let waited = IoHandle::wait_current(fd, Event::Read, None);
                    from_guest.send(format!("{io:?} {waited:?}")).unwrap();
                })
                .unwrap();
            guest.stop();
            // The guest's task must have *finished* inside guest.stop:
            // parked on host's reactor, it would be woken only to be
            // refused by the stopped guest, and leaked.
            let guest_saw = guest_rx.try_recv().ok();
            let host_sees = IoHandle::current().map(|io| io.name().to_owned());
            tx.send((guest_saw, host_sees)).unwrap();
        })
        .unwrap();
        let (guest_saw, host_sees) = rx.recv_timeout(PATIENCE).unwrap();
        host.stop();
        drop((a, b));
        assert_eq!(guest_saw.as_deref(), Some("None Err(NotInFiber)"));
        assert_eq!(host_sees.as_deref(), Some("host"));
    });
}
