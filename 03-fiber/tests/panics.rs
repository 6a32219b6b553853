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

/// A panic payload whose own `Drop` panics (`std::panic::panic_any` takes any
/// value): the fiber keeps it, so whoever drops or resets the fiber drops it.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's drop panics too");
    }
}

#[test]
fn a_payload_that_panics_when_dropped_is_contained_by_drop_and_reset() {
    for reset in [false, true] {
        let Outcome::Panicked(mut fiber) = Fiber::new(|| std::panic::panic_any(Bomb)).resume()
        else {
            panic!("expected a panic")
        };
        // Dropping the fiber, or resetting it, drops the payload: its panic
        // must stay there, not unwind into the owner (a scheduler's worker).
        let owner = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if reset {
                fiber.reset(|| {}).unwrap();
                assert!(matches!(fiber.resume(), Outcome::Finished(_)));
            } else {
                drop(fiber);
            }
        }));
        assert!(owner.is_ok(), "reset {reset}: the payload's panic escaped");
    }
}
