//! `park`: a fiber is handed to its waker only after it has switched out.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use sylar_fiber::{Fiber, NotInFiber, Outcome, State, WakeReason, park, yield_to_hold};

#[test]
fn park_hands_the_suspended_fiber_to_the_closure() {
    let slot: Arc<Mutex<Option<Fiber>>> = Arc::new(Mutex::new(None));
    let into = slot.clone();
    let (tx, rx) = mpsc::channel();
    let fiber = Fiber::new(move || {
        let into = into.clone();
        let reason = park(move |me| *into.lock().unwrap() = Some(me)).unwrap();
        tx.send(reason).unwrap();
    });
    let id = fiber.id();
    assert!(matches!(fiber.resume(), Outcome::Parked));
    let mut parked = slot
        .lock()
        .unwrap()
        .take()
        .expect("the hand-off got the fiber");
    assert_eq!(parked.id(), id);
    assert_eq!(parked.state(), State::Hold);
    parked.set_wake_reason(WakeReason::TimedOut);
    assert!(matches!(parked.resume(), Outcome::Finished(_)));
    assert_eq!(rx.recv().unwrap(), WakeReason::TimedOut);
}

#[test]
fn wake_reason_defaults_to_woken_and_resets_after_each_resume() {
    let slot: Arc<Mutex<Option<Fiber>>> = Arc::new(Mutex::new(None));
    let into = slot.clone();
    let (tx, rx) = mpsc::channel();
    let fiber = Fiber::new(move || {
        for _ in 0..2 {
            let into = into.clone();
            tx.send(park(move |me| *into.lock().unwrap() = Some(me)).unwrap())
                .unwrap();
        }
    });
    assert!(matches!(fiber.resume(), Outcome::Parked));
    let mut fiber = slot.lock().unwrap().take().unwrap();
    fiber.set_wake_reason(WakeReason::Cancelled);
    assert!(matches!(fiber.resume(), Outcome::Parked));
    let fiber = slot.lock().unwrap().take().unwrap();
    assert!(matches!(fiber.resume(), Outcome::Finished(_)));
    assert_eq!(rx.recv().unwrap(), WakeReason::Cancelled);
    assert_eq!(rx.recv().unwrap(), WakeReason::Woken);
}

#[test]
fn yield_to_hold_gives_the_fiber_back_to_the_resumer() {
    let fiber = Fiber::new(|| {
        assert_eq!(yield_to_hold(), Ok(WakeReason::Woken));
    });
    let fiber = match fiber.resume() {
        Outcome::Held(f) => f,
        other => panic!("expected Held, got {other:?}"),
    };
    assert_eq!(fiber.state(), State::Hold);
    assert!(matches!(fiber.resume(), Outcome::Finished(_)));
}

#[test]
fn park_outside_a_fiber_is_an_error_and_drops_the_closure() {
    let token = Arc::new(());
    let held = token.clone();
    assert_eq!(park(move |_| drop(held)), Err(NotInFiber));
    assert_eq!(Arc::strong_count(&token), 1);
    assert_eq!(yield_to_hold(), Err(NotInFiber));
}

/// The C++ double resume: a waker on another thread gets the fiber while it
/// is still switching out, and resumes it on a second stack. Here two threads
/// take fibers from one queue and resume them; every fiber parks by handing
/// itself straight back to the queue, so the other thread can pick it up the
/// instant the hand-off runs. A fiber that ever ran on two threads at once
/// would find `inside` already set.
#[test]
fn wake_racing_with_park_never_resumes_twice() {
    const FIBERS: usize = 64;
    const PARKS: usize = 2_000;
    let queue: Arc<Mutex<Vec<Fiber>>> = Arc::new(Mutex::new(Vec::new()));
    let resumes = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    for _ in 0..FIBERS {
        let (queue2, resumes2, overlaps2) = (queue.clone(), resumes.clone(), overlaps.clone());
        let inside = Arc::new(AtomicBool::new(false));
        queue.lock().unwrap().push(Fiber::new(move || {
            for _ in 0..PARKS {
                if inside.swap(true, Ordering::SeqCst) {
                    overlaps2.fetch_add(1, Ordering::SeqCst);
                }
                resumes2.fetch_add(1, Ordering::SeqCst);
                inside.store(false, Ordering::SeqCst);
                let back = queue2.clone();
                park(move |me| back.lock().unwrap().push(me)).unwrap();
            }
        }));
    }
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (queue, finished) = (queue.clone(), finished.clone());
            std::thread::spawn(move || {
                while finished.load(Ordering::SeqCst) < FIBERS {
                    let next = queue.lock().unwrap().pop();
                    let Some(fiber) = next else {
                        std::thread::yield_now();
                        continue;
                    };
                    match fiber.resume() {
                        Outcome::Parked => {}
                        Outcome::Finished(_) => {
                            finished.fetch_add(1, Ordering::SeqCst);
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    assert_eq!(resumes.load(Ordering::SeqCst), FIBERS * PARKS);
}

#[test]
fn a_panicking_hand_off_does_not_unwind_into_the_resumer() {
    let fiber = Fiber::new(|| {
        let _ = park(|_me| panic!("the hand-off fails"));
    });
    // The resumer (a scheduler worker, say) carries on; the fiber the
    // hand-off held is dropped with it (leaked, and reported).
    assert!(matches!(fiber.resume(), Outcome::Parked));
}
