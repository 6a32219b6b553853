//! The `Date` header: an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
//! formatted by hand and at most once a second on each thread.
//!
//! Every response carries a `Date`; at tens of thousands of responses a second,
//! formatting it each time would be the most expensive thing the server does
//! for a small response. The value only changes once a second, so each thread
//! keeps the last one it formatted and reuses it while the second lasts.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// The length of an IMF-fixdate: always 29 bytes.
pub(crate) const DATE_LEN: usize = 29;

/// The latest second we can write with a four-digit year: 9999-12-31 23:59:59.
const LAST_SECOND: u64 = 253_402_300_799;

// ANCHOR: date_cache
thread_local! {
    /// This thread's last formatted date: (Unix second, text). `Cell` of a `Copy`
    /// value with a `const` initializer: no lazy init, no destructor, so it is
    /// safe on any thread, fiber workers included (see pitfalls: TLS destructors).
    static CACHE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [0; DATE_LEN])) };
}

/// The current Unix time in whole seconds, from the coarse real-time clock:
/// it is read from memory the kernel updates each tick, without the cycle
/// counter a precise read needs, and a one-second header needs no more.
fn unix_seconds_coarse() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
        return ts.tv_sec.max(0) as u64;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Now, as the bytes of an IMF-fixdate. Formats only when the second changed
/// since this thread's last call; otherwise it copies 29 cached bytes.
#[inline] // one call per response: keep the cached path in the caller
pub(crate) fn http_date_now() -> [u8; DATE_LEN] {
    let now = unix_seconds_coarse();
    CACHE.with(|cache| {
        let (second, text) = cache.get();
        if second == now {
            return text;
        }
        let text = format_http_date(now);
        cache.set((now, text));
        text
    })
}
// ANCHOR_END: date_cache

// ANCHOR: format_http_date
/// Formats `unix_seconds` (clamped to year 9999) as an IMF-fixdate, without a
/// date library: days become a civil date with Howard Hinnant's
/// `civil_from_days`, exact for the proleptic Gregorian calendar.
pub(crate) fn format_http_date(unix_seconds: u64) -> [u8; DATE_LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let secs = unix_seconds.min(LAST_SECOND);
    let days = secs / 86_400;
    let in_day = secs % 86_400;

    // civil_from_days, for days >= 0 since 1970-01-01 (a Thursday).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year, from March 1st
    let mp = (5 * doy + 2) / 153; // month, March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[0..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], in_day / 3_600);
    two_digits(&mut out[20..22], in_day / 60 % 60);
    two_digits(&mut out[23..25], in_day % 60);
    out
}
// ANCHOR_END: format_http_date

/// Writes `n` (< 100) as two ASCII digits.
fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(secs: u64) -> String {
        String::from_utf8(format_http_date(secs).to_vec()).unwrap()
    }

    #[test]
    fn known_dates() {
        // Reference values from Python's email.utils.formatdate(s, usegmt=True).
        assert_eq!(text(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(text(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(text(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(text(1_709_251_199), "Thu, 29 Feb 2024 23:59:59 GMT");
        assert_eq!(text(4_102_444_800), "Fri, 01 Jan 2100 00:00:00 GMT");
        assert_eq!(text(253_402_300_799), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn far_future_is_clamped() {
        assert_eq!(text(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn now_is_well_formed_and_cached() {
        let first = http_date_now();
        assert!(first.ends_with(b" GMT"));
        let (second, cached) = CACHE.with(Cell::get);
        assert_ne!(second, u64::MAX);
        assert_eq!(cached, format_http_date(second));
    }
}
