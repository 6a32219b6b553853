//! The log pattern language: any text given to `PatternFormatter::new` and
//! `lenient`, then an event rendered with it at any time from 1970 minus 2^40 ms
//! to plus 2^40 ms (about 35 years either way). Nothing may panic; when the
//! strict parser accepts a pattern, the lenient one renders the same bytes;
//! when it refuses one, the error points at a `%` of the pattern and the
//! lenient rendering shows that error.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use sylar_log::{Level, LogEvent, PatternFormatter};

// ANCHOR: log_pattern_target
fuzz_target!(|input: &[u8]| {
    let Some((control, pattern)) = input.split_first_chunk::<8>() else {
        return;
    };
    let pattern = String::from_utf8_lossy(pattern);
    let offset = i64::from_le_bytes(*control) >> 23; // ±2^40 ms
    let magnitude = Duration::from_millis(offset.unsigned_abs());
    let time = match offset < 0 {
        true => UNIX_EPOCH.checked_sub(magnitude),
        false => UNIX_EPOCH.checked_add(magnitude),
    }
    .unwrap_or(UNIX_EPOCH);
    let head: String = pattern.chars().take(8).collect();
    let event = LogEvent {
        time,
        elapsed_ms: u64::from_le_bytes(*control),
        file: "src/fuzz.rs",
        line: u32::from(control[0]) << 24,
        thread_id: u64::MAX,
        thread_name: "fuzz\u{e9}",
        fiber_id: u64::from(control[1]),
        level: Level::Warn,
        logger: "fuzz",
        message: format_args!("{} {head:?} %m%n", pattern.len()),
    };

    let lenient = PatternFormatter::lenient(&pattern);
    assert_eq!(lenient.pattern(), pattern);
    let mut loose = Vec::new();
    lenient.format(&event, &mut loose);
    match PatternFormatter::new(&pattern) {
        Ok(strict) => {
            let mut out = Vec::new();
            strict.format(&event, &mut out);
            assert_eq!(out, loose, "strict and lenient render differently");
        }
        Err(error) => {
            assert_eq!(pattern.as_bytes().get(error.position()), Some(&b'%'));
            assert!(!error.to_string().is_empty());
            let marker = format!(": {error}>>");
            let rendered = String::from_utf8_lossy(&loose);
            assert!(rendered.contains(&marker), "{rendered:?} lacks {marker:?}");
        }
    }
});
// ANCHOR_END: log_pattern_target
