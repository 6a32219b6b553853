//! Thread counts at the edges: 0 means one worker; a count no machine can run
//! is refused with a clear error instead of aborting the process.

use std::io::ErrorKind;
use std::sync::mpsc;

use sylar_scheduler::{MAX_WORKERS, Rejection, Scheduler, Task};

#[test]
fn zero_threads_means_one_worker() {
    let scheduler = Scheduler::new(0, false, "zero");
    assert_eq!(scheduler.worker_count(), 1);
    scheduler.start().unwrap();
    let (tx, rx) = mpsc::channel();
    scheduler.schedule(move || tx.send(()).unwrap()).unwrap();
    rx.recv().unwrap();
    scheduler.stop();
}

#[test]
fn a_thread_count_beyond_the_maximum_is_refused_and_loses_nothing() {
    // `usize::MAX` used to panic in `new` (capacity overflow); counts around
    // 2^40 aborted the process (allocation failure), before any thread.
    for (threads, use_caller) in [
        (usize::MAX, false),
        (usize::MAX, true),
        (1 << 40, false),
        (MAX_WORKERS + 1, true),
    ] {
        let scheduler = Scheduler::new(threads, use_caller, "huge");
        let error = scheduler.start().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let text = error.to_string();
        assert!(
            text.contains(&threads.to_string()) && text.contains(&MAX_WORKERS.to_string()),
            "{text}"
        );
        // It never runs anything, so it takes nothing: each task comes back.
        let refused = scheduler.schedule(|| {}).unwrap_err();
        assert_eq!(refused.reason, Rejection::Stopped);
        let refused = scheduler
            .schedule_task(Task::call(|| {}), Some(0))
            .unwrap_err();
        assert_eq!(refused.reason, Rejection::Stopped);
        // Stopping (and dropping) it returns at once, with or without use_caller.
        scheduler.stop();
    }
}
