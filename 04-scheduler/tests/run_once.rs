//! Every task runs exactly once, however many and however many threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use sylar_scheduler::{Scheduler, Task};

#[test]
fn hundred_thousand_tasks_on_two_threads_each_run_exactly_once() {
    const TASKS: usize = 100_000;
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..TASKS).map(|_| AtomicU8::new(0)).collect());
    let scheduler = Scheduler::new(2, false, "once");
    scheduler.start().unwrap();
    for i in 0..TASKS {
        let runs = runs.clone();
        scheduler
            .schedule(move || {
                runs[i].fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    scheduler.stop();
    let wrong: Vec<usize> = (0..TASKS)
        .filter(|&i| runs[i].load(Ordering::Relaxed) != 1)
        .collect();
    assert!(
        wrong.is_empty(),
        "{} tasks did not run exactly once, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert!(scheduler.tasks_executed() >= TASKS as u64);
}

#[test]
fn a_batch_runs_every_task_once() {
    let count = Arc::new(AtomicUsize::new(0));
    let scheduler = Scheduler::new(2, false, "batch");
    scheduler.start().unwrap();
    let mut tasks = (0..1000).map(|_| {
        let count = count.clone();
        Task::call(move || {
            count.fetch_add(1, Ordering::Relaxed);
        })
    });
    scheduler.schedule_batch(&mut tasks).unwrap();
    scheduler.stop();
    assert_eq!(count.load(Ordering::Relaxed), 1000);
}

#[test]
fn tasks_queued_before_start_run_after_it() {
    let count = Arc::new(AtomicUsize::new(0));
    let scheduler = Scheduler::new(1, false, "late");
    for _ in 0..10 {
        let count = count.clone();
        scheduler
            .schedule(move || {
                count.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    assert_eq!(scheduler.queued(), 10);
    scheduler.start().unwrap();
    scheduler.stop();
    assert_eq!(count.load(Ordering::Relaxed), 10);
}

#[test]
fn a_task_scheduling_more_tasks_finishes_before_stop_returns() {
    fn spread(depth: u32, count: Arc<AtomicUsize>) {
        count.fetch_add(1, Ordering::Relaxed);
        if depth == 0 {
            return;
        }
        let handle = sylar_scheduler::Handle::current().expect("inside a task");
        for _ in 0..2 {
            let count = count.clone();
            handle.schedule(move || spread(depth - 1, count)).unwrap();
        }
    }
    let count = Arc::new(AtomicUsize::new(0));
    let scheduler = Scheduler::new(2, false, "tree");
    scheduler.start().unwrap();
    let c = count.clone();
    scheduler.schedule(move || spread(10, c)).unwrap();
    scheduler.stop();
    assert_eq!(count.load(Ordering::Relaxed), (1 << 11) - 1);
}
