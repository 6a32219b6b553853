//! Counting what a thread allocates, and a connection in memory to serve
//! from: shared by the tests that prove a session's memory does not grow
//! (`http_allocation.rs`, `http_streaming.rs`). Each of them installs the
//! allocator as its own `#[global_allocator]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};

thread_local! {
    /// Allocations made by this thread and the bytes they asked for (const,
    /// no destructor: usable from inside the allocator).
    static ALLOCATED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Allocations made by the calling thread so far, and their bytes.
pub fn allocated() -> (u64, u64) {
    ALLOCATED.with(Cell::get)
}

fn count(size: usize) {
    let _ = ALLOCATED.try_with(|c| {
        let (n, bytes) = c.get();
        c.set((n + 1, bytes + size as u64));
    });
}

/// The system allocator, counting each thread's allocations and their sizes.
pub struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter is a thread-local `Cell` that neither
// allocates nor panics (`try_with` fails quietly during thread teardown).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's `layout` contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through the methods above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// A connection in memory: reads come from `input`, writes are counted and
/// dropped (so the test's own side allocates nothing).
pub struct Memory<'a> {
    /// What the client sends, read by the session.
    pub input: &'a [u8],
    /// Bytes the session wrote back.
    pub written: u64,
}

impl Read for Memory<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl sylar_tcpserver::http::SessionStream for Memory<'_> {}

impl Write for Memory<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
