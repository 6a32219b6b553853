//! `stop` called by two threads at once: each returns only when the work is
//! done, and a running task may still queue more until then.
//!
//! `Scheduler` is `Sync` and `stop` takes `&self`, so a scheduler shared in an
//! `Arc` can be stopped from two places at the same time (a signal handler's
//! thread and the main thread, say). Both calls make the same promise: they
//! return once every task queued before, and every task those queue in turn,
//! has run.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::{Watch, within};
use sylar_scheduler::Scheduler;

#[test]
fn two_threads_stopping_at_once_both_wait_for_the_work_and_lose_nothing() {
    within(Duration::from_secs(60), two_stoppers);
}

fn two_stoppers() {
    let watch = Arc::new(Watch::default());
    let scheduler = Arc::new(Scheduler::with_extension(
        2,
        false,
        "two-stops",
        watch.clone(),
    ));
    scheduler.start().unwrap();

    // A task that waits for a gate, then queues a follow-up, which marks the
    // work finished.
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (accepted_tx, accepted_rx) = mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    let handle = scheduler.handle();
    let flag = finished.clone();
    scheduler
        .schedule(move || {
            gate_rx.recv().unwrap();
            let follow_up = handle.schedule(move || flag.store(true, Ordering::SeqCst));
            accepted_tx.send(follow_up.map_err(|e| e.reason)).unwrap();
        })
        .unwrap();

    // Two threads stop the scheduler; each reports, when its stop returns,
    // whether the work was finished by then.
    let (returned_tx, returned_rx) = mpsc::channel();
    let stoppers: Vec<_> = ["stopper-a", "stopper-b"]
        .into_iter()
        .map(|name| {
            let scheduler = scheduler.clone();
            let finished = finished.clone();
            let returned = returned_tx.clone();
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    scheduler.stop();
                    returned
                        .send((name, finished.load(Ordering::SeqCst)))
                        .unwrap();
                })
                .unwrap()
        })
        .collect();
    // `stop` tickles: a stopper thread that tickled has entered `stop`.
    watch.wait_until(|s| {
        s.tickled_by
            .iter()
            .filter(|n| n.starts_with("stopper"))
            .count()
            == 2
    });

    // Both are inside `stop` and the task still waits at its gate, so neither
    // may return yet. A stop that returns early does so at once; give it a
    // moment to show itself before the gate opens (a correct stop passes
    // whatever this wait is).
    let early = returned_rx.recv_timeout(Duration::from_millis(200)).ok();
    gate_tx.send(()).unwrap();
    assert_eq!(
        accepted_rx.recv().unwrap(),
        Ok(()),
        "a task queued by a running task was refused while stop was still waiting for it"
    );
    let mut reports: Vec<_> = early.into_iter().collect();
    for stopper in stoppers {
        stopper.join().unwrap();
    }
    reports.extend(returned_rx.try_iter());
    assert_eq!(reports.len(), 2);
    for (name, work_finished) in reports {
        assert!(
            work_finished,
            "{name}: stop returned before the queued work had run"
        );
    }
}
