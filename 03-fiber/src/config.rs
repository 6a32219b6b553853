//! The fiber chapter's configuration: the default stack size and the pool's bound.
//!
//! TEMPORARY: wired to sylar-config once chapter 2 lands.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::stack::DEFAULT_STACK_SIZE;

static STACK_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE);

/// The stack size new fibers get unless they ask for another.
pub fn stack_size() -> usize {
    STACK_SIZE.load(Ordering::Relaxed)
}

/// Registers the config variables and the `%f` provider, once per process.
pub(crate) fn ensure_initialised() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {});
}
