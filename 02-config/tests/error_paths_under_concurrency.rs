//! Every error path of a load, taken again and again while two threads read,
//! a third looks variables up (some with the wrong type or name), and
//! listeners fire, read the variable they listen to, set another, and
//! sometimes panic. A watchdog fails the test if anything deadlocks. No
//! reader, listener or looker may ever see a torn value or a value from a
//! refused load, and every accepted change reaches every listener once, in
//! order.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use common::{TempDir, within_deadline};
use serde::{Deserialize, Serialize};
use sylar_config::{ConfigError, ProblemKind, Registry};

/// A value with an invariant a torn read would break: `b == -a` and
/// `label == "v<a>"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Mirror {
    a: i64,
    b: i64,
    label: String,
}

impl Mirror {
    fn of(a: i64) -> Mirror {
        Mirror {
            a,
            b: -a,
            label: format!("v{a}"),
        }
    }

    fn is_whole(&self) -> bool {
        *self == Mirror::of(self.a)
    }

    fn yaml(a: i64) -> String {
        format!(
            "pair:\n  mirror:\n    a: {a}\n    b: {}\n    label: v{a}\n",
            -a
        )
    }
}

/// One load that must be refused, and a check of the error it gives.
type Refusal = (&'static str, fn(&ConfigError) -> bool);

/// Every way a load of text can fail; none may change anything.
const REFUSED: [Refusal; 7] = [
    // A field of the wrong type.
    ("pair:\n  mirror: {a: x, b: 1, label: v}\n", |e| {
        rejected_with(e, |k| matches!(k, ProblemKind::WrongType { .. }))
    }),
    // One good key beside a bad one: all or nothing, so neither applies.
    ("pair:\n  name: changed\n  mirror: {a: 1}\n", |e| {
        rejected_with(e, |k| matches!(k, ProblemKind::WrongType { .. }))
    }),
    // Two spellings of one name.
    ("pair:\n  Name: a\n  name: b\n", |e| {
        rejected_with(e, |k| matches!(k, ProblemKind::Ambiguous { .. }))
    }),
    // Not YAML at all.
    ("pair: {mirror: [\n", |e| {
        matches!(e, ConfigError::Yaml { line: Some(_), .. })
    }),
    // YAML, but not a mapping of names.
    ("- pair\n- mirror\n", |e| {
        matches!(e, ConfigError::NotAMapping { .. })
    }),
    // A number too large for its field.
    (
        "pair:\n  mirror: {a: 9223372036854775808, b: 0, label: v}\n",
        |e| rejected_with(e, |k| matches!(k, ProblemKind::WrongType { .. })),
    ),
    // A number too large for any YAML integer: the variable that reads it refuses it.
    ("pair:\n  count: 18446744073709551616\n", |e| {
        rejected_with(
            e,
            |k| matches!(k, ProblemKind::WrongType { message, .. } if message.contains("out of range")),
        )
    }),
];

fn rejected_with(error: &ConfigError, kind: fn(&ProblemKind) -> bool) -> bool {
    matches!(error, ConfigError::Rejected { problems } if problems.iter().any(|p| kind(&p.kind)))
}

// ANCHOR: error_paths_under_concurrency
#[test]
fn refused_loads_change_nothing_while_readers_listeners_and_lookups_run() {
    within_deadline("error paths under concurrency", || {
        const ROUNDS: i64 = 200;
        let dir = TempDir::new("error-paths");
        let registry = Arc::new(Registry::new());
        let mirror = registry.lookup("pair.mirror", Mirror::of(0), "").unwrap();
        let name = registry
            .lookup("pair.name", "start".to_owned(), "")
            .unwrap();
        let count = registry.lookup("pair.count", 0_u64, "").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(4));

        // Listeners: one checks each change and reads the variable from
        // inside the listener; one sets another variable; one panics now and
        // then (caught, logged, the others still run). A failed check is
        // recorded, not asserted: a listener's panic is caught by design.
        let heard = Arc::new(AtomicU64::new(0));
        let listener_ok = Arc::new(AtomicBool::new(true));
        let (var, last, ok) = (Arc::clone(&mirror), Arc::clone(&heard), listener_ok.clone());
        mirror.add_listener(move |old, new| {
            let now = var.get(); // re-entrant read: must not deadlock
            let whole = old.is_whole() && new.is_whole() && now.is_whole();
            let in_order = old.a + 1 == new.a && now.a >= new.a;
            if !(whole && in_order) {
                ok.store(false, Ordering::SeqCst);
            }
            last.fetch_add(1, Ordering::SeqCst);
        });
        let counter = Arc::clone(&count);
        mirror.add_listener(move |_, new| counter.set(new.a as u64));
        mirror.add_listener(|_, new| {
            if new.a % 50 == 0 {
                panic!("a listener panics on purpose (expected by the test)");
            }
        });

        // Two readers.
        let reads = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (mirror, name) = (Arc::clone(&mirror), Arc::clone(&name));
                let (stop, start, reads) = (stop.clone(), start.clone(), reads.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let mut last = 0;
                    while !stop.load(Ordering::Acquire) {
                        let value = mirror.get();
                        assert!(value.is_whole(), "torn value: {value:?}");
                        assert!(value.a >= last, "went back in time");
                        last = value.a;
                        assert_eq!(name.get(), "start", "a refused load leaked");
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();

        // A thread looking variables up, rightly and wrongly.
        let looker = {
            let (registry, stop, start) = (registry.clone(), stop.clone(), start.clone());
            let mirror = Arc::clone(&mirror);
            std::thread::spawn(move || {
                start.wait();
                while !stop.load(Ordering::Acquire) {
                    let same = registry.lookup("pair.mirror", Mirror::of(-1), "").unwrap();
                    assert!(Arc::ptr_eq(&same, &mirror));
                    assert!(same.get().is_whole());
                    let wrong = registry.lookup("pair.mirror", String::new(), "");
                    assert!(matches!(wrong, Err(ConfigError::TypeMismatch { .. })));
                    let bad = registry.lookup("pair.Bad-Name", 0_u8, "");
                    assert!(matches!(bad, Err(ConfigError::InvalidName { .. })));
                }
            })
        };

        // The loader: a good load, then every kind of refused one.
        let path = dir.write("pair.yml", "");
        let missing = dir.path().join("no-such-dir");
        let elsewhere = TempDir::new("error-paths-file");
        let not_utf8 = elsewhere.write("not-utf8.yml", "");
        std::fs::write(&not_utf8, b"pair:\n  name: \xff\xfe\n").unwrap();
        start.wait();
        for a in 1..=ROUNDS {
            std::fs::write(&path, Mirror::yaml(a)).unwrap();
            let report = registry.load_dir(dir.path(), false).unwrap();
            assert_eq!(report.changed, ["pair.mirror"], "round {a}");
            for (text, expected) in REFUSED {
                let error = registry.load_yaml_str(text).unwrap_err();
                assert!(expected(&error), "{text:?} gave {error}");
            }
            let error = registry.load_dir(&missing, false).unwrap_err();
            assert!(matches!(error, ConfigError::Io { .. }), "{error}");
            let error = registry.load_file(&not_utf8).unwrap_err();
            assert!(matches!(error, ConfigError::Io { .. }), "{error}");
            assert_eq!(mirror.get(), Mirror::of(a), "round {a}");
        }
        stop.store(true, Ordering::Release);
        for reader in readers {
            reader.join().expect("a reader saw a torn or refused value");
        }
        looker.join().expect("a lookup misbehaved");
        assert!(
            listener_ok.load(Ordering::SeqCst),
            "a listener saw a torn or reordered change"
        );
        assert_eq!(heard.load(Ordering::SeqCst), ROUNDS as u64);
        assert_eq!(count.get(), ROUNDS as u64);
        assert_eq!(name.get(), "start");
        assert!(reads.load(Ordering::Relaxed) >= 2);
    });
}
// ANCHOR_END: error_paths_under_concurrency
