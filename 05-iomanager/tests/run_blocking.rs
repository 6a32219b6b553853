//! `IoHandle::run_blocking`: a blocking call leaves its worker free, returns
//! its value (or its panic) to the calling fiber, holds `stop` up until it
//! returns, and runs inline outside a fiber.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{PATIENCE, within};
use sylar_iomanager::{IoHandle, IoManager};

/// Fiber A blocks in `run_blocking` until fiber B, scheduled after it on the
/// same single worker, sends: only possible if A's call left the worker free.
#[test]
fn a_blocking_call_leaves_the_only_worker_free() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "blocking-free").unwrap();
        let (to_call, in_call) = mpsc::channel::<u32>();
        let (started_tx, started_rx) = mpsc::channel();
        let (result_tx, result_rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let worker = std::thread::current().id();
            let got = io.run_blocking(move || {
                started_tx.send(()).unwrap();
                // Blocks this (helper) thread until fiber B sends.
                let n = in_call.recv().unwrap();
                (n * 2, std::thread::current().name().map(str::to_owned))
            });
            result_tx
                .send((got, worker, std::thread::current().id()))
                .unwrap();
        })
        .unwrap();
        // B is queued only once A's call has started, so it runs after A parked.
        started_rx.recv_timeout(PATIENCE).unwrap();
        iom.schedule(move || to_call.send(21).unwrap()).unwrap();
        let ((value, helper), before, after) = result_rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(value, 42);
        assert_eq!(helper.as_deref(), Some("sylar-blocking"));
        assert_eq!(
            before, after,
            "the fiber came back to its own (only) worker"
        );
        iom.stop();
    });
}

/// A panic in the closure is resumed in the calling fiber, with its payload.
#[test]
fn a_panic_in_the_call_surfaces_in_the_fiber() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "blocking-panic").unwrap();
        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                io.run_blocking(|| -> u8 { panic!("resolver exploded") })
            }));
            let message = caught
                .unwrap_err()
                .downcast_ref::<&str>()
                .map(|s| s.to_string());
            // The fiber goes on normally afterwards.
            let after = io.run_blocking(|| 7);
            tx.send((message, after)).unwrap();
        })
        .unwrap();
        let (message, after) = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(message.as_deref(), Some("resolver exploded"));
        assert_eq!(after, 7);
        iom.stop();
    });
}

/// `stop` does not return while a call is still out. Each party writes
/// into one log when it gets there: the call when it is released, the
/// fiber when it ends, the stopping thread when `stop` has returned. The
/// order must be exactly that. The call is released only after `stop` had
/// a while to finish wrongly (without the pending count it does, within
/// microseconds); the assertion does not depend on that while.
#[test]
fn stop_waits_for_a_call_still_out() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "blocking-stop").unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let (call_log, fiber_log, stop_log) = (log.clone(), log.clone(), log.clone());
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            io.run_blocking(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                call_log.lock().unwrap().push("call returned");
            });
            fiber_log.lock().unwrap().push("fiber ended");
        })
        .unwrap();
        started_rx.recv_timeout(PATIENCE).unwrap();
        let stopper = std::thread::spawn(move || {
            iom.stop();
            stop_log.lock().unwrap().push("stop returned");
            stopped_tx.send(()).unwrap();
        });
        let early = stopped_rx.recv_timeout(Duration::from_millis(300));
        release_tx.send(()).unwrap();
        if early.is_err() {
            stopped_rx.recv_timeout(PATIENCE).unwrap();
        }
        stopper.join().unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            ["call returned", "fiber ended", "stop returned"],
            "stop returned while a blocking call was still out"
        );
    });
}

/// Outside a fiber, the closure runs inline on the calling thread.
#[test]
fn outside_a_fiber_it_runs_inline() {
    let iom = IoManager::new(1, false, "blocking-inline").unwrap();
    let here = std::thread::current().id();
    let there = iom.run_blocking(|| std::thread::current().id());
    assert_eq!(here, there);
    assert_eq!(iom.run_blocking(|| "inline"), "inline");
    iom.stop();
}

/// A fiber of another scheduler is not parked on this I/O manager (that
/// scheduler's `stop` would not wait for the call, and the fiber could be
/// stranded): the call runs inline, on the fiber's own thread, and nothing
/// is counted here.
#[test]
fn a_fiber_of_another_scheduler_runs_the_call_inline() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "blocking-other").unwrap();
        let io = iom.handle();
        let plain = sylar_scheduler::Scheduler::new(1, false, "blocking-plain");
        plain.start().unwrap();
        let (tx, rx) = mpsc::channel();
        plain
            .handle()
            .schedule(move || {
                let here = std::thread::current().id();
                let there = io.run_blocking(|| std::thread::current().id());
                tx.send((here == there, io.pending_events())).unwrap();
            })
            .unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), (true, 0));
        plain.stop();
        iom.stop();
    });
}

/// `blocking_calls_sent` counts exactly the calls that parked their fiber:
/// one per call in a fiber of this I/O manager, none for a call made in
/// place (outside a fiber, or in another scheduler's fiber), whose result
/// is the same and so cannot tell the two paths apart by itself.
#[test]
fn only_calls_that_parked_are_counted_as_sent() {
    within(PATIENCE, || {
        let iom = IoManager::new(1, false, "blocking-count").unwrap();
        assert_eq!(iom.blocking_calls_sent(), 0);
        assert_eq!(iom.run_blocking(|| 1), 1);
        assert_eq!(iom.blocking_calls_sent(), 0, "a call outside a fiber");

        let (tx, rx) = mpsc::channel();
        iom.schedule(move || {
            let io = IoHandle::current().unwrap();
            let before = io.blocking_calls_sent();
            let sum = io.run_blocking(|| 2) + io.run_blocking(|| 3);
            tx.send((before, sum, io.blocking_calls_sent())).unwrap();
        })
        .unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), (0, 5, 2));

        let plain = sylar_scheduler::Scheduler::new(1, false, "blocking-count-plain");
        plain.start().unwrap();
        let (io, (tx, rx)) = (iom.handle(), mpsc::channel());
        plain
            .handle()
            .schedule(move || tx.send(io.run_blocking(|| 4)).unwrap())
            .unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), 4);
        plain.stop();
        assert_eq!(iom.blocking_calls_sent(), 2, "another scheduler's fiber");
        iom.stop();
    });
}
