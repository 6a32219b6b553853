//! A fiber suspended on one thread continues on another.

use std::sync::mpsc;

use sylar_fiber::{Fiber, Outcome, current_id, yield_now};

#[test]
fn fiber_resumes_on_another_thread_and_sees_that_thread() {
    let (tx, rx) = mpsc::channel();
    let fiber = Fiber::new(move || {
        let first = (
            std::thread::current().name().map(String::from),
            current_id(),
        );
        yield_now();
        let second = (
            std::thread::current().name().map(String::from),
            current_id(),
        );
        tx.send((first, second)).unwrap();
    });
    let id = fiber.id();
    let fiber = std::thread::Builder::new()
        .name("first".into())
        .spawn(move || match fiber.resume() {
            Outcome::Yielded(f) => f,
            other => panic!("unexpected {other:?}"),
        })
        .unwrap()
        .join()
        .unwrap();
    std::thread::Builder::new()
        .name("second".into())
        .spawn(move || assert!(matches!(fiber.resume(), Outcome::Finished(_))))
        .unwrap()
        .join()
        .unwrap();
    let (first, second) = rx.recv().unwrap();
    assert_eq!(first, (Some("first".to_string()), id));
    assert_eq!(second, (Some("second".to_string()), id));
}
