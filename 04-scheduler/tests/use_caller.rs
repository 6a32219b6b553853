//! `use_caller`: the creating thread is worker 0 and works during `stop`.

use std::sync::mpsc;
use std::thread::ThreadId;

use sylar_scheduler::{Handle, Scheduler, Task};

fn run_and_collect(scheduler: &Scheduler, tasks: usize) -> Vec<(ThreadId, Option<usize>)> {
    let (tx, rx) = mpsc::channel();
    for _ in 0..tasks {
        let tx = tx.clone();
        scheduler
            .schedule(move || {
                tx.send((std::thread::current().id(), Handle::current_worker()))
                    .unwrap()
            })
            .unwrap();
    }
    drop(tx);
    scheduler.stop();
    rx.iter().collect()
}

#[test]
fn with_use_caller_and_one_thread_everything_runs_on_the_caller_during_stop() {
    let scheduler = Scheduler::new(1, true, "caller1");
    scheduler.start().unwrap();
    let me = std::thread::current().id();
    let ran = run_and_collect(&scheduler, 20);
    assert_eq!(ran.len(), 20);
    assert!(
        ran.iter()
            .all(|&(thread, worker)| thread == me && worker == Some(0))
    );
}

#[test]
fn with_use_caller_worker_zero_is_the_caller_and_pinned_work_waits_for_stop() {
    let scheduler = Scheduler::new(2, true, "caller2");
    scheduler.start().unwrap();
    let (tx, rx) = mpsc::channel();
    scheduler
        .schedule_task(
            Task::call(move || tx.send(std::thread::current().id()).unwrap()),
            Some(0),
        )
        .unwrap();
    // Worker 1 is a real thread; worker 0 only exists once we call stop.
    assert!(rx.try_recv().is_err());
    scheduler.stop();
    assert_eq!(rx.recv().unwrap(), std::thread::current().id());
}

#[test]
fn without_use_caller_nothing_runs_on_the_caller() {
    let scheduler = Scheduler::new(2, false, "nocaller");
    scheduler.start().unwrap();
    let me = std::thread::current().id();
    let ran = run_and_collect(&scheduler, 200);
    assert_eq!(ran.len(), 200);
    assert!(ran.iter().all(|&(thread, _)| thread != me));
}
