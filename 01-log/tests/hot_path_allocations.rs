//! The hot path allocates nothing: once a thread has logged a few lines, formatting and
//! writing a line (to a file, or into an async buffer) makes no heap allocation, and a
//! disabled level makes none either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use sylar_log::{
    AsyncAppender, AsyncOptions, FileAppender, Level, PatternFormatter, sylar_debug, sylar_info,
};

/// Counts this thread's allocations, then defers to the system allocator.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counter is a const-initialised thread-local without a destructor, which is safe to
// touch from inside the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged; `ptr` came from `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn logging_a_line_allocates_nothing_once_warm() {
    let dir = std::env::temp_dir();
    let sync_path = dir.join(format!("sylar-log-alloc-{}-sync.log", std::process::id()));
    let async_path = dir.join(format!("sylar-log-alloc-{}-async.log", std::process::id()));
    let logger = sylar_log::logger("no-alloc");
    logger.set_level(Level::Info);
    logger.set_appenders(vec![
        Arc::new(FileAppender::new(&sync_path).unwrap()),
        Arc::new(
            AsyncAppender::file(&async_path, AsyncOptions::default())
                .unwrap()
                .with_formatter(PatternFormatter::new("%d{%H:%M:%S.%L} %m%n").unwrap()),
        ),
    ]);
    // Warm up: the thread's line buffer grows to the line's size, and its thread info
    // and time cache are created.
    for i in 0..100 {
        sylar_info!(
            logger,
            "request {i} from {} took {:.3} ms",
            "127.0.0.1",
            0.25
        );
    }

    let before = allocations();
    for i in 0..10_000 {
        sylar_info!(
            logger,
            "request {i} from {} took {:.3} ms",
            "127.0.0.1",
            0.25
        );
        sylar_debug!(logger, "disabled {}", i);
    }
    let during = allocations() - before;

    logger.clear_appenders();
    sylar_log::flush();
    let _ = std::fs::remove_file(&sync_path);
    let _ = std::fs::remove_file(&async_path);
    assert_eq!(during, 0, "allocations while logging 10,000 lines");
}
