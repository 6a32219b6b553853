//! Yield-to-ready re-queues a fiber; a parked fiber waits until scheduled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sylar_fiber::{Fiber, park, yield_now};
use sylar_scheduler::{Handle, Rejection, Scheduler, Task};

const PATIENCE: Duration = Duration::from_secs(30);

#[test]
fn yielding_fibers_interleave_on_one_thread() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let scheduler = Scheduler::new(1, false, "interleave");
    for name in ["a", "b"] {
        let order = order.clone();
        scheduler
            .schedule(move || {
                for i in 0..3 {
                    order.lock().unwrap().push(format!("{name}{i}"));
                    yield_now();
                }
            })
            .unwrap();
    }
    scheduler.start().unwrap();
    scheduler.stop();
    assert_eq!(*order.lock().unwrap(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn a_scheduled_fiber_yields_and_is_requeued_until_it_ends() {
    let (tx, rx) = mpsc::channel();
    let scheduler = Scheduler::new(2, false, "fiber");
    scheduler.start().unwrap();
    let fiber = Fiber::new(move || {
        for i in 0..5 {
            tx.send(i).unwrap();
            yield_now();
        }
    });
    scheduler.schedule_fiber(fiber).unwrap();
    scheduler.stop();
    assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

#[test]
fn a_parked_fiber_stays_parked_until_scheduled() {
    let slot: Arc<Mutex<Option<Fiber>>> = Arc::new(Mutex::new(None));
    let resumed = Arc::new(AtomicBool::new(false));
    let scheduler = Scheduler::new(2, false, "park");
    scheduler.start().unwrap();
    let (parked_tx, parked_rx) = mpsc::channel();
    let (into, flag) = (slot.clone(), resumed.clone());
    scheduler
        .schedule(move || {
            let into2 = into.clone();
            let tx = parked_tx.clone();
            park(move |me| {
                *into2.lock().unwrap() = Some(me);
                tx.send(()).unwrap();
            })
            .unwrap();
            flag.store(true, Ordering::SeqCst);
        })
        .unwrap();
    parked_rx.recv_timeout(PATIENCE).unwrap();
    // Let plenty of other work through the workers: none of it may resume it.
    let (probe_tx, probe_rx) = mpsc::channel();
    for _ in 0..100 {
        let probe_tx = probe_tx.clone();
        scheduler
            .schedule(move || probe_tx.send(()).unwrap())
            .unwrap();
    }
    for _ in 0..100 {
        probe_rx.recv_timeout(PATIENCE).unwrap();
    }
    assert!(!resumed.load(Ordering::SeqCst));
    let fiber = slot.lock().unwrap().take().expect("parked fiber");
    scheduler.schedule_fiber(fiber).unwrap();
    scheduler.stop();
    assert!(resumed.load(Ordering::SeqCst));
}

#[test]
fn stop_returns_with_a_fiber_still_parked_and_refuses_it_afterwards() {
    let slot: Arc<Mutex<Option<Fiber>>> = Arc::new(Mutex::new(None));
    let scheduler = Scheduler::new(2, false, "parkstop");
    scheduler.start().unwrap();
    let into = slot.clone();
    scheduler
        .schedule(move || {
            let into = into.clone();
            park(move |me| *into.lock().unwrap() = Some(me)).unwrap();
        })
        .unwrap();
    scheduler.stop();
    let fiber = slot
        .lock()
        .unwrap()
        .take()
        .expect("the fiber parked before stop returned");
    let err = scheduler.schedule_fiber(fiber).unwrap_err();
    assert_eq!(err.reason, Rejection::Stopped);
    // Nothing is lost: the fiber comes back and can still be finished by hand.
    let Task::Fiber(fiber) = err.task else {
        panic!("expected the fiber back")
    };
    assert!(matches!(fiber.resume(), sylar_fiber::Outcome::Finished(_)));
}

#[test]
fn a_woken_fiber_continues_on_whichever_worker_takes_it() {
    let scheduler = Scheduler::new(2, false, "wake");
    scheduler.start().unwrap();
    let (tx, rx) = mpsc::channel();
    let handle = scheduler.handle();
    scheduler
        .schedule(move || {
            let waker = handle.clone();
            // Hand ourselves to a plain thread, which schedules us back.
            park(move |me| {
                std::thread::spawn(move || waker.schedule_fiber(me).unwrap());
            })
            .unwrap();
            tx.send(Handle::current().is_some()).unwrap();
        })
        .unwrap();
    assert!(rx.recv_timeout(PATIENCE).unwrap());
    scheduler.stop();
}
