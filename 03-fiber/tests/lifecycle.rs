//! A fiber's life: states, yields from any call depth, ids, reset.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sylar_fiber::{Fiber, Outcome, State, current_id, in_fiber, main_fiber_id, yield_now};

fn expect_yielded(outcome: Outcome) -> Fiber {
    match outcome {
        Outcome::Yielded(fiber) => fiber,
        other => panic!("expected Yielded, got {other:?}"),
    }
}

fn expect_finished(outcome: Outcome) -> Fiber {
    match outcome {
        Outcome::Finished(fiber) => fiber,
        other => panic!("expected Finished, got {other:?}"),
    }
}

#[test]
fn states_follow_the_article_state_machine() {
    let fiber = Fiber::new(yield_now);
    assert_eq!(fiber.state(), State::Init);
    let fiber = expect_yielded(fiber.resume());
    assert_eq!(fiber.state(), State::Ready);
    let fiber = expect_finished(fiber.resume());
    assert_eq!(fiber.state(), State::Term);
}

#[test]
fn yield_resumes_where_it_left_off_in_order() {
    let steps = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = steps.clone();
    let mut fiber = Fiber::new(move || {
        for i in 0..3 {
            log.lock().unwrap().push(i);
            yield_now();
        }
    });
    let mut resumes = 0;
    loop {
        resumes += 1;
        match fiber.resume() {
            Outcome::Yielded(f) => fiber = f,
            Outcome::Finished(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(*steps.lock().unwrap(), vec![0, 1, 2]);
    assert_eq!(resumes, 4);
}

#[inline(never)]
fn deep(depth: usize, seen: &AtomicUsize) {
    if depth == 0 {
        seen.fetch_add(1, Ordering::SeqCst);
        yield_now();
        seen.fetch_add(1, Ordering::SeqCst);
    } else {
        deep(depth - 1, seen);
    }
}

#[test]
fn yield_works_from_any_call_depth() {
    let seen = Arc::new(AtomicUsize::new(0));
    let inner = seen.clone();
    let fiber = Fiber::new(move || deep(200, &inner));
    let fiber = expect_yielded(fiber.resume());
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    expect_finished(fiber.resume());
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[test]
fn current_id_is_the_fiber_inside_and_the_main_fiber_outside() {
    let (tx, rx) = std::sync::mpsc::channel();
    let fiber = Fiber::new(move || tx.send((current_id(), in_fiber())).unwrap());
    let id = fiber.id();
    assert!(!in_fiber());
    assert_eq!(current_id(), main_fiber_id());
    expect_finished(fiber.resume());
    assert_eq!(rx.recv().unwrap(), (id, true));
    assert_eq!(
        current_id(),
        main_fiber_id(),
        "the main fiber is current again"
    );
}

#[test]
fn main_fiber_ids_are_per_thread_and_stable() {
    let here = main_fiber_id();
    assert_eq!(here, main_fiber_id());
    let there = std::thread::spawn(main_fiber_id).join().unwrap();
    assert_ne!(here, there);
}

#[test]
fn fiber_ids_are_unique() {
    let fibers: Vec<Fiber> = (0..100).map(|_| Fiber::new(|| {})).collect();
    let mut ids: Vec<u64> = fibers.iter().map(Fiber::id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 100);
}

#[test]
fn nested_fibers_restore_the_outer_current_id() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outer = Fiber::new(move || {
        let before = current_id();
        let inner = Fiber::new(yield_now);
        let inner_id = inner.id();
        let inner = expect_yielded(inner.resume());
        let after = current_id();
        drop(expect_finished(inner.resume()));
        tx.send((before, inner_id, after)).unwrap();
    });
    let outer_id = outer.id();
    expect_finished(outer.resume());
    let (before, inner_id, after) = rx.recv().unwrap();
    assert_eq!(before, outer_id);
    assert_eq!(after, outer_id);
    assert_ne!(inner_id, outer_id);
}

#[test]
fn reset_runs_a_new_function_on_the_same_fiber() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let mut fiber = expect_finished(
        Fiber::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .resume(),
    );
    let id = fiber.id();
    for _ in 0..3 {
        let c = count.clone();
        fiber
            .reset(move || {
                c.fetch_add(10, Ordering::SeqCst);
            })
            .unwrap();
        assert_eq!(fiber.state(), State::Init);
        fiber = expect_finished(fiber.resume());
        assert_eq!(fiber.id(), id);
    }
    assert_eq!(count.load(Ordering::SeqCst), 31);
}

#[test]
fn reset_refuses_a_suspended_fiber() {
    let mut fiber = expect_yielded(Fiber::new(yield_now).resume());
    let err = fiber.reset(|| {}).unwrap_err();
    assert_eq!(err.0, State::Ready);
    // It still runs to its end afterwards.
    expect_finished(fiber.resume());
}

#[test]
fn resuming_a_finished_fiber_reports_it_finished() {
    let fiber = expect_finished(Fiber::new(|| {}).resume());
    let fiber = expect_finished(fiber.resume());
    assert_eq!(fiber.state(), State::Term);
}

#[test]
fn never_started_fiber_drops_its_closure() {
    let token = Arc::new(());
    let held = token.clone();
    let fiber = Fiber::new(move || drop(held));
    assert_eq!(Arc::strong_count(&token), 2);
    drop(fiber);
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn custom_stack_sizes_are_validated() {
    assert!(Fiber::with_stack_size(1024, || {}).is_err());
    let fiber = Fiber::with_stack_size(64 * 1024, || {}).unwrap();
    assert_eq!(fiber.stack_size(), 64 * 1024);
    expect_finished(fiber.resume());
}
