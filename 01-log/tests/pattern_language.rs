//! The pattern language: every item, the time format, errors with positions, lenient
//! rendering, and no panic on any input.

use std::time::{Duration, UNIX_EPOCH};

use sylar_log::{DEFAULT_PATTERN, Level, LogEvent, PatternErrorKind, PatternFormatter};

/// 2023-11-14T22:13:20.042 UTC.
const TIME_MS: u64 = 1_700_000_000_042;

/// Renders a fixed event whose message is `message` with `pattern`.
fn render(pattern: &str, message: std::fmt::Arguments<'_>) -> String {
    let formatter = PatternFormatter::new(pattern).unwrap();
    formatter.format_to_string(&LogEvent {
        time: UNIX_EPOCH + Duration::from_millis(TIME_MS),
        elapsed_ms: 1234,
        file: "src/main.rs",
        line: 42,
        thread_id: 4711,
        thread_name: "worker_0",
        fiber_id: 7,
        level: Level::Warn,
        logger: "system",
        message,
    })
}

#[test]
fn every_item_renders_its_field() {
    let cases = [
        ("%m", "hello 5"),
        ("%p", "WARN"),
        ("%r", "1234"),
        ("%c", "system"),
        ("%t", "4711"),
        ("%N", "worker_0"),
        ("%f", "7"),
        ("%F", "src/main.rs"),
        ("%l", "42"),
        ("%T", "\t"),
        ("%n", "\n"),
        ("%%", "%"),
        // `%s` (seconds since the epoch) and `%L` do not depend on the time zone.
        ("%d{%s.%L}", "1700000000.042"),
    ];
    for (pattern, expected) in cases {
        assert_eq!(
            render(pattern, format_args!("hello {}", 5)),
            expected,
            "{pattern}"
        );
    }
}

#[test]
fn items_combine_with_literal_text() {
    assert_eq!(
        render("[%p] %c %F:%l%T%m%n", format_args!("x={}", 1)),
        "[WARN] system src/main.rs:42\tx=1\n"
    );
}

#[test]
fn the_articles_example_pattern_renders_every_field() {
    let line = render(
        "%d{%s}%T%t%T%N%T%f%T[%p]%T[%c]%T%F:%l%T%m%n",
        format_args!("msg"),
    );
    assert_eq!(
        line,
        "1700000000\t4711\tworker_0\t7\t[WARN]\t[system]\tsrc/main.rs:42\tmsg\n"
    );
}

#[test]
fn date_without_argument_shows_milliseconds() {
    let line = render("%d", format_args!(""));
    // YYYY-MM-DD HH:MM:SS.mmm in local time; the milliseconds are zone-independent.
    assert_eq!(line.len(), 23, "{line:?}");
    assert!(line.ends_with(".042"), "{line:?}");
    let digits = line.bytes().filter(u8::is_ascii_digit).count();
    assert_eq!(digits, 17, "{line:?}");
}

#[test]
fn empty_date_argument_means_the_default_format() {
    assert_eq!(
        render("%d{}", format_args!("")),
        render("%d", format_args!(""))
    );
}

#[test]
fn milliseconds_can_appear_several_times_and_be_escaped() {
    assert_eq!(render("%d{%L %%L %S}", format_args!("")), "042 %L 20");
}

#[test]
fn braces_after_an_item_other_than_d_are_plain_text() {
    assert_eq!(render("%m{x}", format_args!("m")), "m{x}");
}

#[test]
fn default_pattern_is_valid_and_ends_with_a_newline() {
    let line = render(DEFAULT_PATTERN, format_args!("the message"));
    assert!(
        line.ends_with("\t[WARN]\t[system]\tsrc/main.rs:42\tthe message\n"),
        "{line:?}"
    );
    assert!(line.contains("\t4711\tworker_0\t7\t"), "{line:?}");
}

#[test]
fn pattern_text_is_kept() {
    let f = PatternFormatter::new("%m%n").unwrap();
    assert_eq!(f.pattern(), "%m%n");
    assert_eq!(PatternFormatter::lenient("%q").pattern(), "%q");
}

#[test]
fn each_malformed_item_is_an_error_naming_its_position() {
    let cases = [
        ("abc%", 3, PatternErrorKind::DanglingPercent),
        ("[%p] %q", 5, PatternErrorKind::UnknownItem('q')),
        ("x%{y}", 1, PatternErrorKind::BraceWithoutItem),
        ("%m %d{%H:%M", 3, PatternErrorKind::UnclosedBrace),
        ("%d{%H\0}", 0, PatternErrorKind::NulInTimeFormat),
        ("é%Z", 2, PatternErrorKind::UnknownItem('Z')),
    ];
    for (pattern, position, kind) in cases {
        let error = PatternFormatter::new(pattern).unwrap_err();
        assert_eq!(error.position(), position, "{pattern:?}");
        assert_eq!(*error.kind(), kind, "{pattern:?}");
        assert!(
            error.to_string().contains(&format!("byte {position}")),
            "{error}"
        );
    }
}

#[test]
fn the_first_of_several_errors_is_reported() {
    let error = PatternFormatter::new("%a %b").unwrap_err();
    assert_eq!(error.to_string(), "unknown item `%a` at byte 0");
}

#[test]
fn lenient_formatter_renders_bad_items_visibly_and_good_items_normally() {
    let formatter = PatternFormatter::lenient("[%p] %q %m");
    let line = formatter.format_to_string(&LogEvent {
        time: UNIX_EPOCH,
        elapsed_ms: 0,
        file: "f",
        line: 1,
        thread_id: 1,
        thread_name: "t",
        fiber_id: 0,
        level: Level::Error,
        logger: "l",
        message: format_args!("still here"),
    });
    assert_eq!(
        line,
        "[ERROR] <<%q: unknown item `%q` at byte 5>> still here"
    );
}

#[test]
fn lenient_formatter_shows_every_kind_of_error() {
    for (pattern, shown) in [
        ("abc%", "<<%: dangling `%` at byte 3>>"),
        (
            "%{x}",
            "<<%{x}: `{` with no item letter before it at byte 0>>",
        ),
        ("%d{%H", "<<%d{%H: `%d{` never closed at byte 0>>"),
        (
            "%d{a\0}",
            "<<%d{a\\0}: NUL byte in the time format at byte 0>>",
        ),
    ] {
        let line = render_lenient(pattern);
        assert!(line.contains(shown), "{pattern:?} rendered {line:?}");
    }
}

fn render_lenient(pattern: &str) -> String {
    PatternFormatter::lenient(pattern).format_to_string(&LogEvent {
        time: UNIX_EPOCH,
        elapsed_ms: 0,
        file: "f",
        line: 1,
        thread_id: 1,
        thread_name: "t",
        fiber_id: 0,
        level: Level::Info,
        logger: "l",
        message: format_args!("m"),
    })
}

#[test]
fn no_pattern_made_of_tricky_characters_panics() {
    // Every pattern of up to 4 characters over an alphabet of the parser's special
    // characters: both constructors must return, and agree on what is valid.
    let alphabet = ['%', 'd', '{', '}', 'm', 'q', 'é', '\0'];
    let mut patterns = vec![String::new()];
    for _ in 0..4 {
        let longer: Vec<String> = patterns
            .iter()
            .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
            .collect();
        for pattern in &longer {
            let strict = PatternFormatter::new(pattern);
            let lenient = render_lenient(pattern);
            assert_eq!(
                strict.is_err(),
                lenient.contains("<<"),
                "{pattern:?} -> {lenient:?}"
            );
        }
        patterns = longer;
    }
    assert_eq!(patterns.len(), 4096);
}
