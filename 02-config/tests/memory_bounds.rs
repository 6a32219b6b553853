//! What a load keeps in memory grows with the size of the text, not with the size
//! times the nesting depth. In a binary of its own: it counts the heap through a
//! global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sylar_config::Registry;

/// Tracks the bytes in use and their peak, then defers to the system allocator.
struct Measuring;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = IN_USE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged;
// the counters are plain atomics, safe to touch from inside the allocator.
unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: forwarded unchanged; `ptr` came from `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;

/// Every level of a nested mapping gets a name (a variable may hold a whole
/// section), and none of these names is registered, so all are kept as early
/// values. Each used to hold its own copy of everything below it: 40 KB of text,
/// 120 levels over a list of 20,000 scalars, took half a gigabyte, and kept it.
#[test]
fn a_deep_document_costs_memory_in_proportion_to_its_text() {
    let depth = 120;
    let text = format!(
        "a: {}{{big: [{}]}}{}\n",
        "{a: ".repeat(depth),
        vec!["x"; 20_000].join(","),
        "}".repeat(depth)
    );
    let registry = Registry::new();
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let report = registry.load_yaml_str(&text).unwrap();
    let kept = IN_USE.load(Ordering::Relaxed).saturating_sub(before);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    drop(report);

    // The tree itself takes about 100 bytes per scalar, and the parser's events
    // as much again for a moment (measured: 61 times the text kept, 140 at the
    // peak); 500 times the text is room for that, not for a copy per level (it
    // kept 4,480 times the text, 182 MB).
    let bound = 500 * text.len();
    assert!(
        kept < bound,
        "kept {kept} bytes for {} bytes of text",
        text.len()
    );
    assert!(
        peak < bound,
        "peaked at {peak} bytes for {} bytes of text",
        text.len()
    );

    // The values are all there: a variable registered now finds its early value.
    let big = registry.lookup(
        &format!("{}big", "a.".repeat(depth + 1)),
        Vec::<String>::new(),
        "",
    );
    assert_eq!(big.unwrap().get().len(), 20_000);
}
