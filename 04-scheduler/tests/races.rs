//! The races the C++ scheduler loses: a wake-up racing with a park (double
//! resume), and work scheduled while every worker sleeps (lost wake-up).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sylar_fiber::{Fiber, park};
use sylar_scheduler::{Handle, Scheduler};

const PATIENCE: Duration = Duration::from_secs(30);

#[test]
fn wake_racing_with_park_never_resumes_a_fiber_twice() {
    const FIBERS: usize = 32;
    const ROUNDS: usize = 500;
    let scheduler = Scheduler::new(2, false, "race");
    scheduler.start().unwrap();
    let overlaps = Arc::new(AtomicUsize::new(0));
    let resumes = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    // A waker thread that schedules every fiber it is handed at once, while
    // the worker that parked it may still be returning from the switch.
    let (wake_tx, wake_rx) = mpsc::channel::<Fiber>();
    let handle = scheduler.handle();
    let waker = std::thread::spawn(move || {
        for fiber in wake_rx {
            handle.schedule_fiber(fiber).unwrap();
        }
    });
    let wake_tx = Arc::new(Mutex::new(wake_tx));
    for _ in 0..FIBERS {
        let (overlaps, resumes, wake_tx) = (overlaps.clone(), resumes.clone(), wake_tx.clone());
        let finished = finished.clone();
        let inside = Arc::new(AtomicBool::new(false));
        scheduler
            .schedule(move || {
                for _ in 0..ROUNDS {
                    if inside.swap(true, Ordering::SeqCst) {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                    resumes.fetch_add(1, Ordering::SeqCst);
                    inside.store(false, Ordering::SeqCst);
                    let tx = wake_tx.clone();
                    park(move |me| tx.lock().unwrap().send(me).unwrap()).unwrap();
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    // Wait until every fiber has ended (stop does not wait for parked ones).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while finished.load(Ordering::SeqCst) < FIBERS {
        assert!(
            std::time::Instant::now() < deadline,
            "fibers stopped making progress"
        );
        std::thread::yield_now();
    }
    scheduler.stop();
    drop(wake_tx);
    waker.join().unwrap();
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    assert_eq!(resumes.load(Ordering::SeqCst), FIBERS * ROUNDS);
}

#[test]
fn work_scheduled_while_all_workers_sleep_runs_promptly() {
    let scheduler = Scheduler::new(2, false, "lost");
    scheduler.start().unwrap();
    let (tx, rx) = mpsc::channel();
    for round in 0..2000 {
        let tx = tx.clone();
        scheduler.schedule(move || tx.send(round).unwrap()).unwrap();
        // If the wake-up were lost, nobody would run it: no timeout would save us.
        assert_eq!(
            rx.recv_timeout(PATIENCE),
            Ok(round),
            "round {round} was never run"
        );
    }
    scheduler.stop();
}

#[test]
fn work_scheduled_from_inside_wakes_the_other_sleeping_worker() {
    let scheduler = Scheduler::new(2, false, "inside");
    scheduler.start().unwrap();
    let (tx, rx) = mpsc::channel();
    // A long task occupies one worker and schedules a short one: the other,
    // sleeping, worker must wake for it while the first is still busy.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    scheduler
        .schedule(move || {
            let handle = Handle::current().unwrap();
            let tx2 = tx.clone();
            handle
                .schedule(move || tx2.send(Handle::current_worker()).unwrap())
                .unwrap();
            release_rx.recv_timeout(PATIENCE).unwrap();
            tx.send(Handle::current_worker()).unwrap();
        })
        .unwrap();
    let short = rx
        .recv_timeout(PATIENCE)
        .expect("the short task ran while the long one blocked");
    release_tx.send(()).unwrap();
    let long = rx.recv_timeout(PATIENCE).unwrap();
    assert_ne!(short, long);
    scheduler.stop();
}
