//! A fiber task (or a closure) that panics with a payload whose own `Drop`
//! panics: the worker that drops the finished fiber carries on. Before, the second panic
//! unwound out of the worker loop and killed its thread, with the task still
//! counted as running, so `stop` waited for ever.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::within;
use sylar_fiber::Fiber;
use sylar_scheduler::Scheduler;

/// A payload that panics when dropped.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's drop panics too");
    }
}

#[test]
fn a_panic_payload_that_panics_on_drop_does_not_kill_the_worker() {
    within(Duration::from_secs(60), || {
        let scheduler = Scheduler::new(1, false, "bomb");
        scheduler.start().unwrap();
        scheduler
            .schedule_fiber(Fiber::new(|| std::panic::panic_any(Bomb)))
            .unwrap();
        // A closure does the same on its runner fiber, which drops the
        // payload it caught: that second panic ends the runner, not the worker.
        scheduler.schedule(|| std::panic::panic_any(Bomb)).unwrap();
        // The one worker must still be there for the next task...
        let (ran_tx, ran_rx) = mpsc::channel();
        scheduler
            .schedule(move || ran_tx.send(()).unwrap())
            .unwrap();
        ran_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the next task never ran: the worker died");
        // ...and for stop, which must not wait for a task counted as running.
        scheduler.stop();
    });
}
