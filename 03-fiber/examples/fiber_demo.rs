//! Chapter 3's demo: a fiber through its states, a yield from three calls
//! deep, a fiber that continues on another thread, a park hand-off with a
//! wake reason, a panic that ends a fiber and not the thread, a reset, the
//! stack pool at work, and what happens to a fiber dropped half-way.
//!
//! Every line that starts with `[fiber N on T]` comes from chapter 1's logger,
//! whose `%f` asks this crate for the running fiber's id.
//!
//! Run with `cargo run -p sylar-fiber --example fiber_demo`.

use std::panic;
use std::sync::{Arc, Mutex};

use sylar_fiber::{
    Fiber, Outcome, STACK_POOL, WakeReason, main_fiber_id, panic_message, park, yield_now,
};
use sylar_log::{Logger, PatternFormatter, StdoutAppender, sylar_info};

// ANCHOR: logger
/// A logger whose lines say which fiber, on which thread, wrote them. The
/// `system` target (where fibers report panics and leaks) goes through the
/// root logger, given a short pattern here.
fn demo_logger() -> Arc<Logger> {
    let pattern = |p: &str| PatternFormatter::new(p).expect("a valid pattern");
    let log = sylar_log::logger("demo");
    log.add_appender(Arc::new(
        StdoutAppender::new().with_formatter(pattern("    [fiber %f on %N] %m%n")),
    ));
    sylar_log::root().set_formatter(pattern("    [%c %p] %m%n"));
    sylar_log::init();
    log
}
// ANCHOR_END: logger

// ANCHOR: deep
/// Calls itself `levels` times, then yields: the whole chain of frames waits
/// on the fiber's stack until the fiber is resumed.
#[inline(never)]
fn deep(levels: u32, log: &Logger) {
    if levels > 0 {
        return deep(levels - 1, log);
    }
    sylar_info!(log, "three calls deep, yielding");
    yield_now();
    sylar_info!(log, "resumed right where it stopped");
}
// ANCHOR_END: deep

fn main() {
    let log = demo_logger();
    println!("main fiber of this thread: {}", main_fiber_id());

    // ANCHOR: states
    println!("\n1. states, and a yield from deep inside");
    let inner = log.clone();
    let fiber = Fiber::new(move || deep(3, &inner));
    println!("fiber {} created: {:?}", fiber.id(), fiber.state());
    let Outcome::Yielded(fiber) = fiber.resume() else {
        unreachable!("it yields first")
    };
    println!("resume -> Yielded, state {:?}", fiber.state());
    let Outcome::Finished(fiber) = fiber.resume() else {
        unreachable!("then it returns")
    };
    println!("resume -> Finished, state {:?}", fiber.state());
    sylar_info!(log, "back on the thread's own stack");
    drop(fiber);
    // ANCHOR_END: states

    // ANCHOR: migrate
    println!("\n2. a fiber suspended on one thread continues on another");
    let inner = log.clone();
    let fiber = Fiber::new(move || {
        sylar_info!(inner, "before the yield");
        yield_now();
        sylar_info!(inner, "after the yield: same fiber, another thread");
    });
    let Outcome::Yielded(fiber) = fiber.resume() else {
        unreachable!("it yields first")
    };
    std::thread::Builder::new()
        .name("other".into())
        .spawn(move || drop(fiber.resume()))
        .expect("spawn a thread")
        .join()
        .expect("the other thread finished");
    // ANCHOR_END: migrate

    // ANCHOR: park
    println!("\n3. park: the fiber is handed over only once it is off its stack");
    let slot: Arc<Mutex<Option<Fiber>>> = Arc::new(Mutex::new(None));
    let (into, inner) = (slot.clone(), log.clone());
    let fiber = Fiber::new(move || {
        sylar_info!(inner, "parking");
        let reason = park(move |me| *into.lock().unwrap() = Some(me)).expect("in a fiber");
        sylar_info!(inner, "woken: {reason:?}");
    });
    assert!(matches!(fiber.resume(), Outcome::Parked));
    let mut parked = slot.lock().unwrap().take().expect("the hand-off kept it");
    println!(
        "resume -> Parked; the hand-off holds fiber {} in state {:?}",
        parked.id(),
        parked.state()
    );
    parked.set_wake_reason(WakeReason::Cancelled);
    drop(parked.resume());
    // ANCHOR_END: park

    // ANCHOR: panic
    println!("\n4. a panic ends the fiber, not the thread; reset reuses it");
    // The fiber reports its panic on the `system` logger; silence the default
    // hook's stderr message (it names a source line) for this one panic.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let fiber = Fiber::new(|| panic!("bad input {}", 42));
    let Outcome::Panicked(mut fiber) = fiber.resume() else {
        unreachable!("it panics")
    };
    panic::set_hook(default_hook);
    let payload = fiber.take_panic().expect("the payload is kept");
    println!(
        "resume -> Panicked, state {:?}, payload {:?}",
        fiber.state(),
        panic_message(&*payload)
    );
    let inner = log.clone();
    fiber
        .reset(move || sylar_info!(inner, "a new function on the same stack"))
        .expect("a finished fiber can be reset");
    println!(
        "reset: fiber {} again, state {:?}",
        fiber.id(),
        fiber.state()
    );
    let Outcome::Finished(fiber) = fiber.resume() else {
        unreachable!("it returns")
    };
    println!("resume -> Finished, state {:?}", fiber.state());
    drop(fiber);
    // ANCHOR_END: panic

    // ANCHOR: pool
    println!("\n5. stacks of finished fibers are reused");
    let (hits, misses) = STACK_POOL.hits_and_misses();
    for _ in 0..10 {
        drop(Fiber::new(|| {}).resume());
    }
    let (hits_after, misses_after) = STACK_POOL.hits_and_misses();
    println!(
        "10 fibers created, run and dropped: {} stacks from the pool, {} newly mapped",
        hits_after - hits,
        misses_after - misses
    );
    // ANCHOR_END: pool

    // ANCHOR: leak
    println!("\n6. dropping a suspended fiber leaks its stack, and says so");
    let Outcome::Yielded(fiber) = Fiber::new(yield_now).resume() else {
        unreachable!("it yields")
    };
    println!("live fibers before the drop: {}", Fiber::live_count());
    drop(fiber);
    println!("live fibers after the drop: {}", Fiber::live_count());
    // ANCHOR_END: leak
}
