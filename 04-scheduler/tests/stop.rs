//! `stop` finishes queued work, never hangs, and can be called from anywhere.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::within;
use sylar_fiber::yield_now;
use sylar_scheduler::{Handle, Rejection, Scheduler};

#[test]
fn stop_runs_pending_work_to_the_end() {
    within(Duration::from_secs(60), || {
        let count = Arc::new(AtomicUsize::new(0));
        let scheduler = Scheduler::new(2, false, "pending");
        scheduler.start().unwrap();
        for _ in 0..1000 {
            let count = count.clone();
            scheduler
                .schedule(move || {
                    for _ in 0..3 {
                        yield_now();
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
        }
        scheduler.stop();
        assert_eq!(count.load(Ordering::Relaxed), 1000);
    });
}

#[test]
fn stop_without_start_runs_what_was_queued() {
    within(Duration::from_secs(60), || {
        for use_caller in [false, true] {
            let scheduler = Scheduler::new(2, use_caller, "never-started");
            let ran = Arc::new(AtomicUsize::new(0));
            for pin in [None, Some(0), Some(1)] {
                let ran = ran.clone();
                let task = sylar_scheduler::Task::call(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                });
                scheduler.schedule_task(task, pin).unwrap();
            }
            scheduler.stop();
            assert_eq!(ran.load(Ordering::SeqCst), 3, "use_caller {use_caller}");
        }
    });
}

#[test]
fn a_refused_batch_loses_nothing() {
    let scheduler = Scheduler::new(1, false, "refused-batch");
    scheduler.start().unwrap();
    scheduler.stop();
    let mut tasks = (0..3).map(|_| sylar_scheduler::Task::call(|| {}));
    let err = scheduler.schedule_batch(&mut tasks).unwrap_err();
    assert_eq!(err.reason, Rejection::Stopped);
    // The first comes back in the error, the other two stay in the iterator.
    assert_eq!(tasks.count(), 2);
}

#[test]
fn stop_without_start_and_twice_returns() {
    within(Duration::from_secs(60), || {
        let scheduler = Scheduler::new(2, false, "idle");
        scheduler.stop();
        scheduler.stop();
        let err = scheduler.schedule(|| {}).unwrap_err();
        assert_eq!(err.reason, Rejection::Stopped);
    });
}

#[test]
fn stop_of_an_idle_scheduler_returns_repeatedly() {
    within(Duration::from_secs(60), || {
        for _ in 0..200 {
            let scheduler = Scheduler::new(2, false, "quick");
            scheduler.start().unwrap();
            scheduler.stop();
        }
    });
}

#[test]
fn stop_from_inside_a_task_requests_the_stop_and_the_owner_finishes_it() {
    within(Duration::from_secs(60), || {
        let scheduler = Arc::new(Scheduler::new(2, false, "inner"));
        scheduler.start().unwrap();
        let (tx, rx) = mpsc::channel();
        let inner = scheduler.clone();
        scheduler
            .schedule(move || {
                inner.stop(); // cannot wait for itself: only requests
                tx.send(Handle::current().unwrap().is_stopping()).unwrap();
            })
            .unwrap();
        assert!(rx.recv().unwrap());
        scheduler.stop();
    });
}

#[test]
fn dropping_the_scheduler_stops_it_after_its_work() {
    within(Duration::from_secs(60), || {
        let count = Arc::new(AtomicUsize::new(0));
        {
            let scheduler = Scheduler::new(2, false, "dropped");
            scheduler.start().unwrap();
            for _ in 0..100 {
                let count = count.clone();
                scheduler
                    .schedule(move || {
                        count.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
            }
        }
        assert_eq!(count.load(Ordering::Relaxed), 100);
    });
}

#[test]
fn a_weak_handle_upgrades_only_while_the_scheduler_exists() {
    let scheduler = Scheduler::new(1, false, "weak");
    scheduler.start().unwrap();
    let weak = scheduler.downgrade();
    let strong = weak.upgrade().expect("the scheduler exists");
    assert!(strong.same_as(&scheduler));
    drop(strong);
    // It knows its own workers, without taking a reference.
    assert!(!weak.is_current(), "the test thread is no worker");
    // What `weak.is_current()` says inside a task of `on`.
    let asked_on = |on: &Scheduler| {
        let (tx, rx) = mpsc::channel();
        let weak = weak.clone();
        on.schedule(move || tx.send(weak.is_current()).unwrap())
            .unwrap();
        rx.recv().unwrap()
    };
    assert!(
        asked_on(&scheduler),
        "a task of the scheduler runs on its worker"
    );
    let other = Scheduler::new(1, false, "other");
    other.start().unwrap();
    assert!(!asked_on(&other), "another scheduler's worker is not ours");
    other.stop();
    scheduler.stop();
    assert!(weak.upgrade().is_some(), "stopped, but not yet dropped");
    drop(scheduler);
    assert!(weak.upgrade().is_none(), "dropped with its last handle");
}

#[test]
fn stopping_a_use_caller_scheduler_from_another_schedulers_task_keeps_that_task_on_its_own() {
    within(Duration::from_secs(60), || {
        let outer = Scheduler::new(1, false, "outer");
        outer.start().unwrap();
        let (tx, rx) = mpsc::channel();
        let seen = tx.clone();
        let outer_handle = outer.handle();
        outer
            .schedule(move || {
                // `inner`'s only worker is whoever stops it: this task, whose
                // thread runs inner's loop inside stop and then comes back.
                let inner = Scheduler::new(1, true, "inner");
                let inner_handle = inner.handle();
                let ran_inside = tx.clone();
                inner
                    .schedule(move || {
                        let here = Handle::current().is_some_and(|h| h.same_as(&inner_handle));
                        ran_inside.send(("inner task", here)).unwrap();
                    })
                    .unwrap();
                inner.stop();
                let here = Handle::current().is_some_and(|h| h.same_as(&outer_handle))
                    && Handle::current_worker() == Some(0);
                tx.send(("after inner.stop", here)).unwrap();
            })
            .unwrap();
        let outer_handle = outer.handle();
        let (done_tx, done_rx) = mpsc::channel();
        // The next task on the same worker thread.
        outer
            .schedule(move || {
                let here = Handle::current().is_some_and(|h| h.same_as(&outer_handle))
                    && Handle::current_worker() == Some(0);
                seen.send(("next outer task", here)).unwrap();
                done_tx.send(()).unwrap();
            })
            .unwrap();
        done_rx.recv().unwrap();
        let answers: Vec<_> = rx.try_iter().collect();
        assert_eq!(
            answers,
            [
                ("inner task", true),
                ("after inner.stop", true),
                ("next outer task", true)
            ],
            "each task must see the scheduler and worker it runs on"
        );
        outer.stop();
    });
}
