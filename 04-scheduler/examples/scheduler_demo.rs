//! Chapter 4's demo: closures spread over named worker threads, tasks pinned
//! to one worker, a fiber parked and woken from outside, two fibers taking
//! turns on one thread, `use_caller`, and a stop that refuses later work and
//! hands it back.
//!
//! Tasks report through channels and `main` prints, so the output is the
//! same on every run, however the threads interleave.
//!
//! Run with `cargo run -p sylar-scheduler --example scheduler_demo`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use sylar_fiber::{Fiber, WakeReason, park, yield_now};
use sylar_scheduler::{Handle, Rejection, Scheduler, Task};

/// The name of the thread running the caller.
fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

fn main() {
    // ANCHOR: closures
    println!("1. 10,000 closures queued for workers demo_0 and demo_1");
    let scheduler = Scheduler::new(2, false, "demo");
    scheduler.start().expect("start the workers");
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..10_000 {
        let count = count.clone();
        scheduler
            .schedule(move || {
                count.fetch_add(1, Ordering::Relaxed);
            })
            .expect("the scheduler runs");
    }
    // ANCHOR_END: closures

    // ANCHOR: pinned
    println!("\n2. tasks pinned to a worker run on its thread");
    let (tx, rx) = mpsc::channel();
    for worker in [1, 0, 1] {
        let tx = tx.clone();
        let task = Task::call(move || tx.send((worker, thread_name())).unwrap());
        scheduler.schedule_task(task, Some(worker)).unwrap();
    }
    let mut seen: Vec<(usize, String)> = rx.iter().take(3).collect();
    seen.sort();
    for (worker, thread) in seen {
        println!("pinned to worker {worker}: ran on thread {thread}");
    }
    // ANCHOR_END: pinned

    // ANCHOR: park
    println!("\n3. a closure parks its fiber; main wakes it");
    let (parked_tx, parked_rx) = mpsc::channel::<Fiber>();
    let (done_tx, done_rx) = mpsc::channel();
    scheduler
        .schedule(move || {
            let before = thread_name();
            // The hand-off runs once this fiber is off its stack.
            let reason =
                park(move |me| parked_tx.send(me).unwrap()).expect("closures run on fibers");
            done_tx.send((before, reason)).unwrap();
        })
        .unwrap();
    let mut fiber = parked_rx.recv().expect("the fiber parked");
    println!("main holds the parked fiber, state {:?}", fiber.state());
    fiber.set_wake_reason(WakeReason::TimedOut);
    scheduler.schedule_fiber(fiber).unwrap();
    let (before, reason) = done_rx.recv().unwrap();
    println!(
        "it ran on a demo_ thread: {}; its park returned {reason:?}",
        before.starts_with("demo_")
    );
    // ANCHOR_END: park

    // ANCHOR: stop
    println!("\n4. stop runs what is queued, then refuses new work");
    scheduler.stop();
    println!("closures run: {}", count.load(Ordering::Relaxed));
    let err = scheduler.schedule(|| {}).unwrap_err();
    println!(
        "schedule after stop: {err} ({:?}); the task came back: {}",
        err.reason,
        matches!(err.task, Task::Call(_))
    );
    assert_eq!(err.reason, Rejection::Stopped);
    // ANCHOR_END: stop

    // ANCHOR: interleave
    println!("\n5. on one worker, two yielding fibers take turns");
    let order = Arc::new(Mutex::new(Vec::new()));
    let single = Scheduler::new(1, false, "one");
    for name in ["a", "b"] {
        let order = order.clone();
        single
            .schedule(move || {
                for i in 0..3 {
                    order.lock().unwrap().push(format!("{name}{i}"));
                    yield_now(); // back to the queue, behind the other
                }
            })
            .unwrap();
    }
    single.start().unwrap();
    single.stop();
    println!("{}", order.lock().unwrap().join(" "));
    // ANCHOR_END: interleave

    // ANCHOR: use_caller
    println!("\n6. use_caller: the creating thread is worker 0 and works in stop");
    let caller = Scheduler::new(1, true, "caller");
    caller.start().unwrap(); // starts no thread: the only worker is us
    let (tx, rx) = mpsc::channel();
    caller
        .schedule(move || {
            let worker = Handle::current_worker();
            tx.send((thread_name(), worker)).unwrap();
        })
        .unwrap();
    println!("before stop, the task has run: {}", rx.try_recv().is_ok());
    caller.stop();
    let (thread, worker) = rx.recv().unwrap();
    println!("during stop it ran on thread {thread:?} as worker {worker:?}");
    // ANCHOR_END: use_caller
}
