//! A panic inside a fiber ends the fiber, not the thread.

use sylar_fiber::{Fiber, Outcome, State, panic_message};

#[test]
fn panic_ends_the_fiber_in_except_and_keeps_the_payload() {
    let fiber = Fiber::new(|| panic!("boom in a fiber"));
    let mut fiber = match fiber.resume() {
        Outcome::Panicked(f) => f,
        other => panic!("expected Panicked, got {other:?}"),
    };
    assert_eq!(fiber.state(), State::Except);
    let payload = fiber.take_panic().expect("payload kept");
    assert_eq!(panic_message(&*payload), "boom in a fiber");
    // The thread carries on, and the fiber can be reused.
    fiber.reset(|| {}).unwrap();
    assert!(matches!(fiber.resume(), Outcome::Finished(_)));
}

#[test]
fn formatted_panic_messages_are_kept() {
    let n = 7;
    let fiber = Fiber::new(move || panic!("bad value {n}"));
    let Outcome::Panicked(mut fiber) = fiber.resume() else {
        panic!("expected a panic")
    };
    assert_eq!(panic_message(&*fiber.take_panic().unwrap()), "bad value 7");
}

#[test]
fn a_panicked_fiber_stays_panicked_when_resumed() {
    let Outcome::Panicked(fiber) = Fiber::new(|| panic!("once")).resume() else {
        panic!("expected a panic")
    };
    assert!(matches!(fiber.resume(), Outcome::Panicked(_)));
}
