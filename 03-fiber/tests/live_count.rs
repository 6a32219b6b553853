//! The count of live fibers. Alone in its own test binary, so no other test's
//! fibers come and go while it counts.

use sylar_fiber::{Fiber, Outcome};

#[test]
fn live_count_tracks_created_and_dropped_fibers() {
    let before = Fiber::live_count();
    let fibers: Vec<Fiber> = (0..50).map(|_| Fiber::new(|| {})).collect();
    assert_eq!(Fiber::live_count(), before + 50);
    let finished: Vec<Fiber> = fibers
        .into_iter()
        .map(|f| match f.resume() {
            Outcome::Finished(f) => f,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(Fiber::live_count(), before + 50, "finished but not dropped");
    drop(finished);
    assert_eq!(Fiber::live_count(), before);
}
