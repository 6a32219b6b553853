//! Tasks pinned to a worker run on that worker; thread names and `current`.

use std::sync::mpsc;

use sylar_scheduler::{Handle, Rejection, Scheduler, Task};

#[test]
fn pinned_tasks_run_on_their_worker_thread() {
    let scheduler = Scheduler::new(3, false, "pin");
    scheduler.start().unwrap();
    let (tx, rx) = mpsc::channel();
    for round in 0..50 {
        for worker in 0..3 {
            let tx = tx.clone();
            scheduler
                .schedule_task(
                    Task::call(move || {
                        let name = std::thread::current().name().map(String::from);
                        tx.send((round, worker, Handle::current_worker(), name))
                            .unwrap();
                    }),
                    Some(worker),
                )
                .unwrap();
        }
    }
    drop(tx);
    scheduler.stop();
    let results: Vec<_> = rx.iter().collect();
    assert_eq!(results.len(), 150);
    for (_, wanted, ran_on, name) in results {
        assert_eq!(ran_on, Some(wanted));
        assert_eq!(name, Some(format!("pin_{wanted}")));
    }
}

#[test]
fn pinning_to_a_missing_worker_is_refused_and_returns_the_task() {
    let scheduler = Scheduler::new(2, false, "nopin");
    let err = scheduler
        .schedule_task(Task::call(|| {}), Some(2))
        .unwrap_err();
    assert_eq!(err.reason, Rejection::NoSuchWorker(2));
    assert!(matches!(err.task, Task::Call(_)));
}

#[test]
fn current_is_the_running_scheduler_inside_and_none_outside() {
    assert!(Handle::current().is_none());
    let scheduler = Scheduler::new(1, false, "cur");
    let mine = scheduler.handle();
    scheduler.start().unwrap();
    let (tx, rx) = mpsc::channel();
    scheduler
        .schedule(move || {
            let current = Scheduler::current().expect("inside a task");
            tx.send((current.same_as(&mine), current.name().to_string()))
                .unwrap();
        })
        .unwrap();
    assert_eq!(rx.recv().unwrap(), (true, "cur".to_string()));
    scheduler.stop();
}
