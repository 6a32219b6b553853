//! Fiber stacks and the pool that recycles them.
//!
//! A fresh stack is an `mmap` of the requested size plus a guard page made
//! inaccessible with `mprotect`; creating one, touching its first pages and
//! unmapping it again costs 6–17 µs on our machines. A fiber that reuses a
//! stack from the pool starts in about 100 ns. So stacks of finished
//! fibers go back to a bounded pool instead of being unmapped.
//!
//! ```text
//!   high addresses ┌──────────────────────┐ ◀─ base: the first frame starts here
//!                  │  frames of the fiber │    and the stack grows downwards
//!                  │          │           │
//!                  │          ▼           │
//!                  │      (unused)        │
//!                  ├──────────────────────┤ ◀─ limit + page
//!                  │  guard page (no R/W) │    touching it raises SIGSEGV
//!   low addresses  └──────────────────────┘ ◀─ limit
//! ```

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use corosensei::stack::{DefaultStack, Stack};

/// The smallest stack we hand out: below this even a `log` call can overflow.
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// The largest stack we hand out, to turn a typo in the config into an error
/// instead of a 100 GB address-space reservation.
pub const MAX_STACK_SIZE: usize = 256 * 1024 * 1024;

/// The default stack size, as in sylar: 128 KiB (corosensei's own default is 1 MiB).
pub const DEFAULT_STACK_SIZE: usize = 128 * 1024;

/// The default number of stacks the pool keeps.
pub const DEFAULT_POOL_CAPACITY: usize = 1024;

// ANCHOR: fiber_stack
/// A stack a fiber runs on: corosensei's `mmap`ed stack with its guard page,
/// remembering the size that was asked for so the pool can match it.
pub struct FiberStack {
    inner: DefaultStack,
    size: usize,
}

impl std::fmt::Debug for FiberStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiberStack")
            .field("base", &self.inner.base())
            .field("size", &self.size)
            .finish()
    }
}

impl FiberStack {
    /// Maps a new stack of `size` usable bytes (rounded up to whole pages)
    /// below a guard page.
    pub fn new(size: usize) -> io::Result<Self> {
        if !(MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&size) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "fiber stack size {size} is outside {MIN_STACK_SIZE}..={MAX_STACK_SIZE} bytes"
                ),
            ));
        }
        Ok(FiberStack {
            inner: DefaultStack::new(size)?,
            size,
        })
    }

    /// The usable size that was requested.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The address range of the guard page: a fault in it is a stack overflow.
    pub fn guard_range(&self) -> std::ops::Range<usize> {
        let limit = self.inner.limit().get();
        limit..limit + page_size()
    }
}

// SAFETY: every method forwards to `DefaultStack`, which upholds the trait's
// contract (a guard page below at least MIN_STACK_SIZE usable bytes, aligned
// base and limit); we never change the mapping.
unsafe impl Stack for FiberStack {
    fn base(&self) -> corosensei::stack::StackPointer {
        self.inner.base()
    }
    fn limit(&self) -> corosensei::stack::StackPointer {
        self.inner.limit()
    }
}
// ANCHOR_END: fiber_stack

/// The page size, read once.
pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions; it only reads a constant.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let size = if size > 0 { size as usize } else { 4096 };
            PAGE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

// ANCHOR: stack_pool
/// A bounded pool of stacks, shared by all threads.
///
/// `take` hands out a pooled stack of exactly the requested size when there is
/// one and maps a new one otherwise; `give` keeps a stack unless the pool is
/// full, in which case the stack is unmapped. One short critical section each.
#[derive(Debug)]
pub struct StackPool {
    stacks: Mutex<Vec<FiberStack>>,
    capacity: AtomicUsize,
    hits: AtomicUsize,
    misses: AtomicUsize,
}

impl StackPool {
    /// An empty pool that keeps at most `capacity` stacks.
    pub const fn new(capacity: usize) -> Self {
        StackPool {
            stacks: Mutex::new(Vec::new()),
            capacity: AtomicUsize::new(capacity),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
        }
    }

    // ANCHOR: take_give
    /// A stack of `size` usable bytes, from the pool if it has one.
    pub fn take(&self, size: usize) -> io::Result<FiberStack> {
        {
            let mut stacks = self.lock();
            if let Some(i) = stacks.iter().rposition(|s| s.size == size) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(stacks.swap_remove(i));
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        FiberStack::new(size)
    }

    /// Returns a stack to the pool, or unmaps it if the pool is full.
    pub fn give(&self, stack: FiberStack) {
        let mut stacks = self.lock();
        if stacks.len() < self.capacity.load(Ordering::Relaxed) {
            stacks.push(stack);
            return;
        }
        drop(stacks);
        drop(stack); // unmapped outside the lock
    }
    // ANCHOR_END: take_give

    /// Changes the bound; stacks beyond it are unmapped now.
    pub fn set_capacity(&self, capacity: usize) {
        self.capacity.store(capacity, Ordering::Relaxed);
        let surplus: Vec<FiberStack> = {
            let mut stacks = self.lock();
            let keep = stacks.len().min(capacity);
            stacks.split_off(keep)
        };
        drop(surplus);
    }

    /// How many stacks the pool holds right now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the pool holds no stack.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound set by [`StackPool::new`] or [`StackPool::set_capacity`].
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    /// How many `take`s were served from the pool and how many mapped a new stack.
    pub fn hits_and_misses(&self) -> (usize, usize) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FiberStack>> {
        // A panic while holding this lock cannot leave the Vec inconsistent.
        self.stacks.lock().unwrap_or_else(|e| e.into_inner())
    }
}
// ANCHOR_END: stack_pool

// ANCHOR: global_pool
/// The pool every fiber takes its stack from.
pub static STACK_POOL: StackPool = StackPool::new(DEFAULT_POOL_CAPACITY);
// ANCHOR_END: global_pool

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_reuses_a_stack_of_the_same_size_only() {
        let pool = StackPool::new(4);
        let stack = pool.take(64 * 1024).unwrap();
        let base = stack.base();
        pool.give(stack);
        assert_eq!(pool.len(), 1);
        let other = pool.take(32 * 1024).unwrap();
        assert_eq!(
            pool.len(),
            1,
            "a different size must not take the pooled stack"
        );
        let again = pool.take(64 * 1024).unwrap();
        assert_eq!(again.base(), base);
        assert_eq!(pool.hits_and_misses(), (1, 2));
        drop((other, again));
    }

    #[test]
    fn pool_is_bounded() {
        let pool = StackPool::new(2);
        let stacks: Vec<_> = (0..3).map(|_| pool.take(MIN_STACK_SIZE).unwrap()).collect();
        for s in stacks {
            pool.give(s);
        }
        assert_eq!(pool.len(), 2);
        pool.set_capacity(1);
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn sizes_out_of_range_are_errors() {
        assert!(FiberStack::new(1024).is_err());
        assert!(FiberStack::new(MAX_STACK_SIZE + 1).is_err());
    }

    #[test]
    fn guard_page_is_below_the_usable_stack() {
        let stack = FiberStack::new(MIN_STACK_SIZE).unwrap();
        let guard = stack.guard_range();
        assert_eq!(guard.start, stack.limit().get());
        assert!(guard.end + MIN_STACK_SIZE <= stack.base().get());
    }
}
