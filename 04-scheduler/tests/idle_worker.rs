//! Work queued while a worker sleeps reaches that worker, even when it was
//! queued right behind other work that woke a different worker.

use std::sync::mpsc;
use std::time::Duration;

use sylar_scheduler::Scheduler;

/// How long the first task waits for the second to run beside it. Long, for
/// a slow machine: with the bug the second never runs until the first ends.
const PATIENCE: Duration = Duration::from_secs(10);

#[test]
fn two_tasks_queued_back_to_back_run_on_both_idle_workers() {
    let scheduler = Scheduler::new(2, false, "pair");
    scheduler.start().unwrap();
    let mut failures = 0;
    for round in 0..20 {
        // Let both workers fall asleep. (A worker still awake can only make
        // the round pass without proving anything, never fail it.)
        std::thread::sleep(Duration::from_millis(20));
        // The first task holds its worker until the second has run: on one
        // worker that is never, so the second must run on the other one.
        let (ran_tx, ran_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        scheduler
            .schedule(move || done_tx.send(ran_rx.recv_timeout(PATIENCE).is_ok()).unwrap())
            .unwrap();
        scheduler
            .schedule(move || {
                let _ = ran_tx.send(());
            })
            .unwrap();
        if !done_rx.recv().unwrap() {
            failures += 1;
            eprintln!("round {round}: the second task waited for the first");
            break;
        }
    }
    scheduler.stop();
    assert_eq!(failures, 0, "a worker slept while a task was queued");
}
