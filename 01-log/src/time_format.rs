//! `%d{...}`: local time through libc's `localtime_r` and `strftime`, with milliseconds
//! (`%L`) and a per-thread cache so that the expensive part runs once a second.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::itoa::push_padded;

/// Gives every [`DateFormat`] its own key in the per-thread caches.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

// ANCHOR: date_format
/// A parsed time format. strftime has no sub-second conversion, so the format is split at
/// each `%L` (our extension, as in Ruby's strftime: milliseconds, 3 digits); the parts in
/// between go to strftime, the milliseconds are inserted by us.
#[derive(Debug)]
pub(crate) struct DateFormat {
    /// Key of this format in [`CACHE`].
    id: u64,
    /// strftime formats; a `%L` sits between each pair of neighbours.
    parts: Vec<CString>,
}
// ANCHOR_END: date_format

impl DateFormat {
    /// Splits `format` at every `%L` (but not `%%L`). `None` if it contains a NUL byte.
    pub(crate) fn new(format: &str) -> Option<DateFormat> {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                current.push(c);
                continue;
            }
            match chars.next() {
                Some('L') => parts.push(CString::new(std::mem::take(&mut current)).ok()?),
                Some(next) => {
                    current.push('%');
                    current.push(next);
                }
                None => current.push('%'),
            }
        }
        parts.push(CString::new(current).ok()?);
        Some(DateFormat {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            parts,
        })
    }

    // ANCHOR: render
    /// Appends `time` in this format to `out`. Reuses this thread's rendering of the same
    /// second when there is one, so the common case is two `memcpy`s and three digits.
    pub(crate) fn render(&self, time: SystemTime, out: &mut Vec<u8>) {
        let (secs, millis) = split_time(time);
        let done = CACHE.try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return false;
            };
            let entry = cache.entry_for(self.id);
            if entry.secs != Some(secs) {
                entry.fill(self, secs);
            }
            entry.write(millis, out);
            true
        });
        if done != Ok(true) {
            // Thread teardown: no cache any more, render directly.
            let mut entry = Rendered::default();
            entry.fill(self, secs);
            entry.write(millis, out);
        }
    }
    // ANCHOR_END: render
}

/// Seconds since the epoch (negative before 1970) and the milliseconds within the second.
fn split_time(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_millis(),
        ),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_millis() {
                0 => (-secs, 0),
                ms => (-secs - 1, 1000 - ms),
            }
        }
    }
}

/// One format rendered for one second.
#[derive(Default)]
struct Rendered {
    /// Which [`DateFormat`] this is.
    id: u64,
    /// Which second `text` shows; `None` until filled.
    secs: Option<i64>,
    /// strftime's output for every part, back to back.
    text: Vec<u8>,
    /// Where each part ends in `text`; milliseconds go after every end but the last.
    ends: Vec<usize>,
}

impl Rendered {
    fn fill(&mut self, format: &DateFormat, secs: i64) {
        self.text.clear();
        self.ends.clear();
        let tm = local_time(secs);
        for part in &format.parts {
            if let Some(tm) = &tm {
                strftime_into(part, tm, &mut self.text);
            }
            self.ends.push(self.text.len());
        }
        self.id = format.id;
        self.secs = Some(secs);
    }

    fn write(&self, millis: u32, out: &mut Vec<u8>) {
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            out.extend_from_slice(&self.text[start..end]);
            if i + 1 < self.ends.len() {
                push_padded(out, u64::from(millis), 3);
            }
            start = end;
        }
    }
}

/// The formats a thread has rendered recently. A handful at most: one per distinct `%d`.
#[derive(Default)]
struct Cache {
    entries: Vec<Rendered>,
    /// Next entry to recycle once the cache is full.
    victim: usize,
}

/// More distinct formats than this on one thread recycle entries round-robin.
const CACHE_ENTRIES: usize = 8;

impl Cache {
    fn entry_for(&mut self, id: u64) -> &mut Rendered {
        if let Some(i) = self.entries.iter().position(|e| e.id == id) {
            return &mut self.entries[i];
        }
        let i = if self.entries.len() < CACHE_ENTRIES {
            self.entries.push(Rendered::default());
            self.entries.len() - 1
        } else {
            self.victim = (self.victim + 1) % CACHE_ENTRIES;
            self.victim
        };
        let entry = &mut self.entries[i];
        entry.id = id;
        entry.secs = None;
        entry
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::default();
}

/// Broken-down local time, or `None` if libc cannot represent `secs`.
fn local_time(secs: i64) -> Option<libc::tm> {
    let t = libc::time_t::try_from(secs).ok()?;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: `t` and `tm` are valid for reading and writing respectively, and
    // `localtime_r` is the re-entrant variant that writes only into `tm`.
    let result = unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) };
    if result.is_null() {
        return None;
    }
    // SAFETY: `localtime_r` succeeded, so it initialised `tm` (which was zeroed anyway).
    Some(unsafe { tm.assume_init() })
}

/// Appends strftime's rendering of `format` to `out`. Output longer than 4 KiB, or a
/// format that renders as nothing, appends nothing.
fn strftime_into(format: &CString, tm: &libc::tm, out: &mut Vec<u8>) {
    if format.as_bytes().is_empty() {
        return;
    }
    let mut stack = [0u8; 256];
    if let Some(n) = strftime(format, tm, &mut stack) {
        out.extend_from_slice(&stack[..n]);
        return;
    }
    let mut heap = vec![0u8; 4096];
    if let Some(n) = strftime(format, tm, &mut heap) {
        out.extend_from_slice(&heap[..n]);
    }
}

/// One call of strftime into `buf`: the length written, `None` if it did not fit.
fn strftime(format: &CString, tm: &libc::tm, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes, `format` is NUL-terminated,
    // `tm` is a valid broken-down time; strftime writes at most `buf.len()` bytes
    // including the terminating NUL and returns 0 when the output does not fit.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len(),
            format.as_ptr(),
            tm,
        )
    };
    (n > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn render(format: &str, time: SystemTime) -> String {
        let mut out = Vec::new();
        DateFormat::new(format).unwrap().render(time, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn milliseconds_are_inserted_at_each_percent_l() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_042);
        assert_eq!(render("%L|%S.%L|%%L", t), "042|20.042|%L");
    }

    #[test]
    fn cached_second_still_shows_the_new_milliseconds() {
        let format = DateFormat::new("%S.%L").unwrap();
        let base = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut out = Vec::new();
        format.render(base + Duration::from_millis(5), &mut out);
        out.push(b' ');
        format.render(base + Duration::from_millis(999), &mut out);
        out.push(b' ');
        format.render(base + Duration::from_millis(1000), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "20.005 20.999 21.000");
    }

    #[test]
    fn times_before_the_epoch_split_into_floor_seconds() {
        let t = UNIX_EPOCH - Duration::from_millis(1);
        assert_eq!(split_time(t), (-1, 999));
        assert_eq!(split_time(UNIX_EPOCH - Duration::from_secs(2)), (-2, 0));
    }

    #[test]
    fn huge_output_falls_back_to_the_heap_and_absurd_output_to_nothing() {
        let t = UNIX_EPOCH;
        assert_eq!(render(&"x".repeat(1000), t).len(), 1000);
        assert_eq!(render(&"x".repeat(5000), t), "");
    }

    #[test]
    fn nul_in_a_format_is_refused() {
        assert!(DateFormat::new("%Y\0").is_none());
    }

    #[test]
    fn more_formats_than_cache_entries_still_render_correctly() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let formats: Vec<_> = (0..CACHE_ENTRIES * 2)
            .map(|i| DateFormat::new(&format!("{i}-%S")).unwrap())
            .collect();
        for _ in 0..2 {
            for (i, f) in formats.iter().enumerate() {
                let mut out = Vec::new();
                f.render(t, &mut out);
                assert_eq!(String::from_utf8(out).unwrap(), format!("{i}-20"));
            }
        }
    }
}
