//! A table indexed by file descriptor that grows without ever moving an entry.
//!
//! sylar keeps its fd contexts in a `std::vector` that it resizes (by 1.5×)
//! when a larger fd shows up, under a write lock — while other threads may
//! hold pointers into the old storage that epoll handed back to them. Here the
//! table is a fixed array of pointers to chunks of 1024 entries. A chunk is
//! allocated the first time one of its fds is used, installed with one
//! compare-and-swap, and never moved or freed until the table itself goes. So
//! `get` hands out plain references that stay valid, with no lock at all.
//!
//! ```text
//!   chunks: [ ptr | ptr | null | null | ... ]     (1024 pointers: fds up to 2^20)
//!              │     │
//!              │     └──▶ [ T ; 1024 ]   fds 1024..2047
//!              └────────▶ [ T ; 1024 ]   fds 0..1023
//! ```

use std::fmt;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Entries per chunk.
const CHUNK: usize = 1024;
/// Chunks in a table: fds `0..CHUNK * CHUNKS` (about a million) can be stored.
const CHUNKS: usize = 1024;

// ANCHOR: fd_table
/// Per-fd entries of type `T`, created (with `T::default()`) on first use.
pub struct FdTable<T> {
    /// Held inline (8 KiB), not boxed: a lookup follows one pointer, and a
    /// table can be a plain `static`, built at compile time.
    chunks: [AtomicPtr<T>; CHUNKS],
}

impl<T: Default> FdTable<T> {
    /// An empty table; no chunk is allocated yet. `const`, so that a table
    /// can be a `static` without lazy initialisation.
    pub const fn new() -> Self {
        FdTable {
            chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS],
        }
    }

    /// The largest number of fds the table can hold.
    pub const fn capacity() -> usize {
        CHUNK * CHUNKS
    }

    /// The entry for `fd`, creating its chunk if needed; `None` for a
    /// negative fd or one beyond [`FdTable::capacity`].
    pub fn get(&self, fd: i32) -> Option<&T> {
        let (chunk, index) = Self::position(fd)?;
        let mut base = self.chunks[chunk].load(Ordering::Acquire);
        if base.is_null() {
            base = self.install(chunk);
        }
        // SAFETY: `base` points at a live chunk of CHUNK initialised entries
        // (see `install`) that is never freed or moved while `self` lives, and
        // `index < CHUNK`. Only shared references are ever handed out.
        Some(unsafe { &*base.add(index) })
    }

    /// The entry for `fd` if its chunk exists; never allocates.
    pub fn get_existing(&self, fd: i32) -> Option<&T> {
        let (chunk, index) = Self::position(fd)?;
        let base = self.chunks[chunk].load(Ordering::Acquire);
        // SAFETY: as in `get`, for a non-null chunk.
        (!base.is_null()).then(|| unsafe { &*base.add(index) })
    }

    fn position(fd: i32) -> Option<(usize, usize)> {
        let fd = usize::try_from(fd).ok()?;
        (fd < Self::capacity()).then_some((fd / CHUNK, fd % CHUNK))
    }

    /// Allocates chunk `chunk` and publishes it, unless another thread won the race.
    #[cold]
    fn install(&self, chunk: usize) -> *mut T {
        let fresh: Box<[T]> = (0..CHUNK).map(|_| T::default()).collect();
        let fresh = Box::into_raw(fresh).cast::<T>();
        match self.chunks[chunk].compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: `fresh` came from Box::into_raw of a CHUNK-long
                // boxed slice just above and was never published.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(fresh, CHUNK)) });
                winner
            }
        }
    }

    /// Calls `f` on every entry of every allocated chunk.
    pub fn for_each(&self, mut f: impl FnMut(i32, &T)) {
        for (c, chunk) in self.chunks.iter().enumerate() {
            let base = chunk.load(Ordering::Acquire);
            if base.is_null() {
                continue;
            }
            for i in 0..CHUNK {
                // SAFETY: as in `get`.
                f((c * CHUNK + i) as i32, unsafe { &*base.add(i) });
            }
        }
    }
}
// ANCHOR_END: fd_table

impl<T: Default> Default for FdTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for FdTable<T> {
    fn drop(&mut self) {
        for chunk in self.chunks.iter_mut() {
            let base = *chunk.get_mut();
            if !base.is_null() {
                // SAFETY: every non-null chunk pointer came from `install`'s
                // Box::into_raw of a CHUNK-long boxed slice; `&mut self`
                // means no reference into it is still alive.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(base, CHUNK)) });
            }
        }
    }
}

// SAFETY: the table hands out `&T` to any thread, so `T` must be `Sync`; it
// owns `T`s and drops them wherever the table is dropped, so `T` must be `Send`.
unsafe impl<T: Send + Sync> Sync for FdTable<T> {}
// SAFETY: as above; moving the table moves ownership of its `T`s.
unsafe impl<T: Send> Send for FdTable<T> {}

impl<T> fmt::Debug for FdTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allocated = self
            .chunks
            .iter()
            .filter(|c| !c.load(Ordering::Relaxed).is_null())
            .count();
        f.debug_struct("FdTable")
            .field("allocated_chunks", &allocated)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn entries_are_created_on_first_use_and_stay_put() {
        let table: FdTable<AtomicUsize> = FdTable::new();
        assert!(table.get_existing(5).is_none());
        let first = table.get(5).unwrap() as *const _;
        table.get(5).unwrap().store(7, Ordering::Relaxed);
        table.get(100_000).unwrap();
        assert_eq!(table.get(5).unwrap() as *const _, first);
        assert_eq!(table.get_existing(5).unwrap().load(Ordering::Relaxed), 7);
    }

    #[test]
    fn out_of_range_fds_have_no_entry() {
        let table: FdTable<AtomicUsize> = FdTable::new();
        assert!(table.get(-1).is_none());
        assert!(
            table
                .get(FdTable::<AtomicUsize>::capacity() as i32)
                .is_none()
        );
    }

    #[test]
    fn concurrent_first_use_of_a_chunk_yields_one_entry() {
        let table: FdTable<AtomicUsize> = FdTable::new();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for fd in 0..4096 {
                        table.get(fd).unwrap().fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        let mut total = 0;
        table.for_each(|_, v| total += v.load(Ordering::Relaxed));
        assert_eq!(total, 4 * 4096);
    }
}
