//! The fiber chapter's configuration: `fiber.stack_size` and
//! `fiber.stack_pool_size`, and the `%f` provider for chapter 1's logger.
//!
//! Both values are read on hot paths (every fiber creation, every stack
//! returned to the pool), so we copy them into atomics and let a config
//! listener keep the copies current, instead of asking the registry each time.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::stack::{
    DEFAULT_POOL_CAPACITY, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE, STACK_POOL,
};

static STACK_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE);

// ANCHOR: stack_size
/// The stack size new fibers get unless they ask for another: the config
/// variable `fiber.stack_size`, 128 KiB by default.
pub fn stack_size() -> usize {
    ensure_initialised();
    STACK_SIZE.load(Ordering::Relaxed)
}
// ANCHOR_END: stack_size

// ANCHOR: ensure_initialised
/// Registers the config variables and the `%f` provider, once per process.
/// Creating a fiber does it; so does creating a scheduler. Call it earlier if
/// your log lines before that should show fiber ids too.
pub fn ensure_initialised() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        sylar_log::set_fiber_id_provider(crate::current_id);
        match sylar_config::lookup(
            "fiber.stack_size",
            DEFAULT_STACK_SIZE,
            "bytes of stack for each new fiber (16 KiB to 256 MiB)",
        ) {
            Ok(var) => {
                store_stack_size(var.get());
                var.add_listener(|_, &new| store_stack_size(new));
            }
            Err(e) => log::error!(target: "system", "fiber.stack_size: {e}"),
        }
        match sylar_config::lookup(
            "fiber.stack_pool_size",
            DEFAULT_POOL_CAPACITY,
            "how many stacks of finished fibers are kept for reuse",
        ) {
            Ok(var) => {
                STACK_POOL.set_capacity(var.get());
                var.add_listener(|_, &new| STACK_POOL.set_capacity(new));
            }
            Err(e) => log::error!(target: "system", "fiber.stack_pool_size: {e}"),
        }
    });
}

/// Accepts a configured size only within the bounds a stack can have; an
/// out-of-range value is reported and the previous size kept.
fn store_stack_size(size: usize) {
    if (MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&size) {
        STACK_SIZE.store(size, Ordering::Relaxed);
    } else {
        log::error!(
            target: "system",
            "fiber.stack_size = {size} is outside {MIN_STACK_SIZE}..={MAX_STACK_SIZE}; keeping {}",
            STACK_SIZE.load(Ordering::Relaxed)
        );
    }
}
// ANCHOR_END: ensure_initialised
