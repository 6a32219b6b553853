//! `schedule_batch` takes its tasks from the caller's iterator, which is user
//! code and may panic half-way (a `map` that builds a fiber whose stack cannot
//! be mapped, say). The tasks taken before the panic are queued; a worker must
//! still be woken for them, and for what comes next.

mod common;

use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::{Watch, within};
use sylar_scheduler::{Scheduler, Task};

#[test]
fn a_batch_whose_iterator_panics_still_wakes_a_worker_for_what_it_queued() {
    within(Duration::from_secs(60), || {
        let watch = Arc::new(Watch::default());
        let scheduler = Scheduler::with_extension(1, false, "batch-panic", watch.clone());
        scheduler.start().unwrap();
        watch.wait_until(|s| s.sleeping == 1);

        let (ran_tx, ran_rx) = mpsc::channel();
        let first = ran_tx.clone();
        let mut tasks = [0, 1].into_iter().map(move |i| match i {
            0 => {
                let first = first.clone();
                Task::call(move || first.send("queued before the panic").unwrap())
            }
            _ => panic!("cannot build the second task"),
        });
        let batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scheduler.schedule_batch(&mut tasks)
        }));
        assert!(batch.is_err(), "the iterator's panic reaches its caller");
        scheduler
            .schedule(move || ran_tx.send("queued after").unwrap())
            .unwrap();
        for expected in ["queued before the panic", "queued after"] {
            assert_eq!(
                ran_rx.recv_timeout(Duration::from_secs(10)),
                Ok(expected),
                "the sleeping worker was never woken"
            );
        }
        scheduler.stop();
    });
}
