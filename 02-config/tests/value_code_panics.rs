//! A value type's own code (`Clone`, `PartialEq`, `Serialize`) is program code,
//! but it runs on values a file brought: a panic in it must end in an error that
//! names the variable, never in an unwinding load or a load applied half-way.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Touchy;
use serde::{Deserialize, Serialize};
use sylar_config::{ConfigError, ProblemKind, Registry};

/// Counts the calls of the listeners it is given.
fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Loads `text`, which must be rejected; a panic out of the load fails the test
/// with what it left stored (`shown`).
fn rejected(registry: &Registry, text: &str, shown: impl Fn() -> String) -> ConfigError {
    match catch_unwind(AssertUnwindSafe(|| registry.load_yaml_str(text))) {
        Ok(outcome) => outcome.expect_err("the load should be rejected"),
        Err(_) => panic!("the load unwound, leaving {}", shown()),
    }
}

/// The one problem of a rejected load: its key and its `Panicked` message.
fn the_panic(err: &ConfigError) -> (&str, &str) {
    let ConfigError::Rejected { problems } = err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    let ProblemKind::Panicked { message, .. } = &problems[0].kind else {
        panic!("expected Panicked, got {:?}", problems[0].kind);
    };
    (&problems[0].key, message)
}

#[test]
fn a_panicking_partial_eq_rejects_the_whole_load_naming_the_variable() {
    let registry = Registry::new();
    // `a` is stored before `b` (name order), `c` after it.
    let a = registry.lookup("a", 0_i32, "").unwrap();
    let b = registry.lookup("b", Touchy(0), "").unwrap();
    let c = registry.lookup("c", String::from("old"), "").unwrap();
    let calls = counter();
    let calls_in = Arc::clone(&calls);
    a.add_listener(move |_, _| {
        calls_in.fetch_add(1, Ordering::SeqCst);
    });

    let shown = || format!("a = {}, c = {}", a.get(), c.get());
    let err = rejected(&registry, "a: 1\nb: 13\nc: new\n", shown);
    let (key, message) = the_panic(&err);
    assert_eq!(key, "b");
    assert!(message.contains("comparing 13"), "{message}");
    assert!(err.to_string().contains("b (in <string>)"), "{err}");
    assert_eq!((a.get(), b.get(), c.get()), (0, Touchy(0), "old".into()));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing changed");

    // The registry is fine afterwards, and the same keys load.
    let report = registry.load_yaml_str("a: 1\nb: 2\nc: new\n").unwrap();
    assert_eq!(report.changed, ["a", "b", "c"]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_clone_rejects_the_whole_load_naming_the_variable() {
    let registry = Registry::new();
    let a = registry.lookup("a", 0_i32, "").unwrap();
    let b = registry.lookup("b", Touchy(0), "").unwrap();
    // A listener makes a change worth a copy of the new value.
    let calls = counter();
    let calls_in = Arc::clone(&calls);
    b.add_listener(move |_, _| {
        calls_in.fetch_add(1, Ordering::SeqCst);
    });

    let err = rejected(&registry, "a: 1\nb: 66\n", || format!("a = {}", a.get()));
    let (key, message) = the_panic(&err);
    assert_eq!(key, "b");
    assert!(message.contains("cloning 66"), "{message}");
    assert_eq!((a.get(), b.get()), (0, Touchy(0)));
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let file_error = registry.load_yaml_str("b: 66\nc: [").unwrap_err();
    assert!(
        matches!(file_error, ConfigError::Yaml { .. }),
        "{file_error}"
    );
    assert_eq!(
        registry.load_yaml_str("a: 1\nb: 5\n").unwrap().changed,
        ["a", "b"]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A value whose `Serialize` panics on 13.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
struct Shy(i32);

impl Serialize for Shy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        assert!(self.0 != 13, "showing 13");
        serializer.serialize_i32(self.0)
    }
}

#[test]
fn a_panicking_serialize_is_reported_in_the_dump_naming_the_variable() {
    let registry = Registry::new();
    registry.lookup("port", 80_u16, "").unwrap();
    let secret = registry.lookup("secret", Shy(13), "").unwrap();
    registry.lookup("zone", String::from("eu"), "").unwrap();

    let dump = catch_unwind(AssertUnwindSafe(|| registry.dump_yaml()))
        .unwrap_or_else(|_| panic!("dump_yaml unwound"));
    assert!(dump.starts_with("# secret: not shown: "), "{dump}");
    assert!(dump.contains("showing 13"), "{dump}");
    assert!(
        dump.contains("port: 80\n") && dump.contains("zone: eu\n"),
        "{dump}"
    );
    // The dump still loads back, and changes nothing: `secret` is left out,
    // not replaced by a placeholder.
    let report = registry.load_yaml_str(&dump).unwrap();
    assert_eq!(report.applied, ["port", "zone"]);
    assert!(report.changed.is_empty(), "{:?}", report.changed);

    let text = catch_unwind(AssertUnwindSafe(|| secret.to_yaml()))
        .unwrap_or_else(|_| panic!("to_yaml unwound"));
    assert!(
        text.starts_with('#') && text.contains("showing 13"),
        "{text}"
    );
    let shown = catch_unwind(AssertUnwindSafe(|| format!("{secret:?}")))
        .unwrap_or_else(|_| panic!("Debug unwound"));
    assert!(shown.contains("secret"), "{shown}");

    secret.set(Shy(7));
    assert_eq!(registry.dump_yaml(), "port: 80\nsecret: 7\nzone: eu\n");
}

/// A value whose `Drop` panics for 99 (unless a panic is already unwinding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Fragile(i32);

impl Drop for Fragile {
    fn drop(&mut self) {
        if self.0 == 99 && !std::thread::panicking() {
            panic!("dropping 99");
        }
    }
}

/// Old values are dropped after the listeners saw them, and after a load
/// stored everything. A `Drop` that panicked there unwound out of `set` with
/// the variable marked as delivering, and its listeners never ran again.
#[test]
fn a_panicking_drop_of_an_old_value_is_contained() {
    let registry = Registry::new();
    let quiet = registry.lookup("quiet", Fragile(0), "").unwrap();
    let heard = registry.lookup("heard", Fragile(0), "").unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_in = Arc::clone(&seen);
    heard.add_listener(move |old, new| seen_in.lock().unwrap().push((old.0, new.0)));

    for (step, value) in [(1, 99), (2, 1), (3, 99), (4, 2)] {
        let set = catch_unwind(AssertUnwindSafe(|| heard.set(Fragile(value))));
        assert!(set.is_ok(), "set #{step} unwound");
    }
    assert_eq!(*seen.lock().unwrap(), [(0, 99), (99, 1), (1, 99), (99, 2)]);

    // A load drops what it replaced once it is over.
    for text in ["quiet: 99\n", "quiet: 1\n"] {
        let load = catch_unwind(AssertUnwindSafe(|| registry.load_yaml_str(text)));
        assert!(load.is_ok_and(|report| report.is_ok()), "{text:?} unwound");
    }
    assert_eq!(quiet.get(), Fragile(1));
}
