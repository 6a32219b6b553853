//! Stacks of finished fibers are reused; the pool is bounded.

use sylar_fiber::{Fiber, Outcome, STACK_POOL};

#[test]
fn finished_fibers_return_their_stacks_for_reuse() {
    // A size no other test in this binary uses, so the counts are ours.
    const SIZE: usize = 72 * 1024;
    let run = || {
        let fiber = Fiber::with_stack_size(SIZE, || {}).unwrap();
        assert!(matches!(fiber.resume(), Outcome::Finished(_)));
    };
    run();
    let (hits_before, _) = STACK_POOL.hits_and_misses();
    for _ in 0..10 {
        run();
    }
    let (hits_after, _) = STACK_POOL.hits_and_misses();
    assert!(
        hits_after - hits_before >= 10,
        "every new fiber reused a pooled stack"
    );
}
