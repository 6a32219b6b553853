//! One worker runs queued tasks in the order they were queued, whether it
//! takes them one at a time or in batches (all of the queue, or part of it).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sylar_scheduler::{Handle, Scheduler};

#[test]
fn one_worker_runs_tasks_in_the_order_they_were_queued() {
    let scheduler = Scheduler::new(1, false, "order");
    scheduler.start().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel();
    // Queued from a task, so that the worker is busy and takes them in
    // batches: 5 (all of the queue at once), then 40 (more than a batch).
    for count in [5usize, 40] {
        let (log, done_tx) = (seen.clone(), done_tx.clone());
        scheduler
            .schedule(move || {
                let here = Handle::current().unwrap();
                log.lock().unwrap().clear();
                for i in 0..count {
                    let seen = log.clone();
                    here.schedule(move || seen.lock().unwrap().push(i)).unwrap();
                }
                let done_tx = done_tx.clone();
                here.schedule(move || done_tx.send(()).unwrap()).unwrap();
            })
            .unwrap();
        done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(*seen.lock().unwrap(), (0..count).collect::<Vec<_>>());
    }
    scheduler.stop();
}
