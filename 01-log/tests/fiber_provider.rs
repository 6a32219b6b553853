//! `%f`: 0 until a fiber-id provider is registered, then whatever the provider says.
//! (One test: the provider is process-wide.)

mod common;

use std::cell::Cell;

use common::MemoryAppender;
use sylar_log::sylar_info;

thread_local! {
    /// Stands in for sylar-fiber's "current fiber" thread-local.
    static CURRENT_FIBER: Cell<u64> = const { Cell::new(0) };
}

fn current_fiber() -> u64 {
    CURRENT_FIBER.with(Cell::get)
}

fn always_99() -> u64 {
    99
}

#[test]
fn fiber_id_comes_from_the_registered_provider() {
    let capture = MemoryAppender::with_pattern("%f");
    let logger = sylar_log::logger("fibers");
    logger.add_appender(capture.clone());

    sylar_info!(logger, "before registration");
    assert_eq!(sylar_log::current_fiber_id(), 0);

    sylar_log::set_fiber_id_provider(current_fiber);
    CURRENT_FIBER.with(|f| f.set(17));
    sylar_info!(logger, "in fiber 17");
    CURRENT_FIBER.with(|f| f.set(18));
    sylar_info!(logger, "in fiber 18");
    std::thread::spawn({
        let logger = logger.clone();
        move || sylar_info!(logger, "another thread, no fiber")
    })
    .join()
    .unwrap();

    sylar_log::set_fiber_id_provider(always_99);
    sylar_info!(logger, "replaced provider");

    assert_eq!(capture.lines(), ["0", "17", "18", "0", "99"]);
}
