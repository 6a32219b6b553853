//! Readers on two threads while another thread reloads: every value they read is
//! one that was loaded, never a mix of two.

mod common;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use common::{TempDir, Touchy, within_deadline};
use serde::{Deserialize, Serialize};
use sylar_config::Registry;

/// A value with an internal invariant: every element equals `generation`, and there
/// are `generation % 50 + 1` of them. A torn read would break it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Snapshot {
    generation: u64,
    copies: Vec<u64>,
    label: String,
}

impl Snapshot {
    fn of(generation: u64) -> Snapshot {
        Snapshot {
            generation,
            copies: vec![generation; (generation % 50 + 1) as usize],
            label: format!("generation-{generation}"),
        }
    }

    fn is_whole(&self) -> bool {
        *self == Snapshot::of(self.generation)
    }
}

#[test]
fn readers_never_see_a_torn_value_during_reloads() {
    within_deadline("readers during reloads", || {
        let dir = TempDir::new("concurrency");
        let registry = Arc::new(Registry::new());
        let var = registry.lookup("snapshot", Snapshot::of(0), "").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicUsize::new(0));
        // Both readers are running before the first reload starts.
        let start = Arc::new(Barrier::new(3));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let var = Arc::clone(&var);
                let (stop, reads, start) =
                    (Arc::clone(&stop), Arc::clone(&reads), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    let mut last = 0;
                    loop {
                        let value = var.get();
                        assert!(value.is_whole(), "torn value: {value:?}");
                        assert!(value.generation >= last, "went back in time");
                        last = value.generation;
                        reads.fetch_add(1, Ordering::Relaxed);
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                })
            })
            .collect();
        let listener_saw_whole = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&listener_saw_whole);
        var.add_listener(move |old, new| {
            if !(old.is_whole() && new.is_whole()) {
                flag.store(false, Ordering::SeqCst);
            }
        });

        let path = dir.write("snapshot.yml", "");
        start.wait();
        for generation in 1..=300 {
            let text = serde_yaml::to_string(&Snapshot::of(generation)).unwrap();
            let yaml = format!("snapshot:\n{}", indent(&text));
            std::fs::write(&path, yaml).unwrap();
            let report = registry.load_dir(dir.path(), false).unwrap();
            assert_eq!(report.changed, ["snapshot"]);
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.join().expect("a reader saw a torn value");
        }
        assert_eq!(var.get(), Snapshot::of(300));
        assert!(listener_saw_whole.load(Ordering::SeqCst));
        assert!(
            reads.load(Ordering::Relaxed) >= 2,
            "each reader read at least once"
        );
    });
}

#[test]
fn concurrent_lookups_of_one_name_share_one_variable() {
    within_deadline("concurrent lookups", || {
        let registry = Arc::new(Registry::new());
        let vars: Vec<_> = (0..4)
            .map(|_| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || registry.lookup("shared", 1_u32, "").unwrap())
            })
            .map(|t| t.join().unwrap())
            .collect();
        assert!(vars.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
    });
}

#[test]
fn a_lookup_racing_a_load_always_ends_with_the_loaded_value() {
    // Either the variable exists when the load runs (the load sets it) or it is
    // registered after (it starts from the early value): never the default.
    within_deadline("lookup racing a load", || {
        for round in 0..200 {
            let registry = Arc::new(Registry::new());
            let name = format!("race.n{round}");
            let yaml = format!("{name}: 7\n");
            let loader = {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || registry.load_yaml_str(&yaml).unwrap())
            };
            let var = registry.lookup(&name, 0_u32, "").unwrap();
            loader.join().unwrap();
            assert_eq!(var.get(), 7, "round {round}");
        }
    });
}

/// Indents every line of `text` by two spaces.
fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

thread_local! {
    /// What `Meddler`'s comparison does on this test's thread: stands in for
    /// another thread calling `set` at exactly that moment.
    static MEDDLE: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// A value whose `PartialEq` runs `MEDDLE` while a load compares it, between
/// the load's comparisons and its stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
struct Meddler(i32);

impl PartialEq for Meddler {
    fn eq(&self, other: &Self) -> bool {
        MEDDLE.with_borrow(|meddle| meddle.as_ref().map(|meddle| meddle()));
        self.0 == other.0
    }
}

#[test]
fn a_set_between_a_loads_comparison_and_its_store_is_not_reported_twice() {
    let registry = Registry::new();
    let a = registry.lookup("a", 0_i32, "").unwrap();
    let b = registry.lookup("b", Meddler(0), "").unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in = Arc::clone(&seen);
    a.add_listener(move |old, new| seen_in.lock().unwrap().push((*old, *new)));
    let a_in = Arc::clone(&a);
    MEDDLE.set(Some(Box::new(move || a_in.set(1))));
    // The load compares `a` (0 -> 1, a change), then `b`, whose comparison
    // sets `a` to 1. Storing `a` now would report 1 -> 1.
    let report = registry.load_yaml_str("a: 1\nb: 2\n").unwrap();
    assert_eq!(*seen.lock().unwrap(), [(0, 1)], "one change, told once");
    assert_eq!(a.get(), 1);
    assert_eq!(b.get().0, 2);
    assert_eq!(
        report.changed,
        ["b"],
        "`a` was changed by the set, not the load"
    );
}

#[test]
fn a_value_that_lost_to_a_racing_set_is_reported_superseded_not_applied() {
    let registry = Registry::new();
    let a = registry.lookup("a", 0_i32, "").unwrap();
    registry.lookup("b", Meddler(0), "").unwrap();
    let a_in = Arc::clone(&a);
    MEDDLE.set(Some(Box::new(move || a_in.set(5))));
    // The load compares `a` (0 -> 1), then `b`, whose comparison sets `a` to
    // 5: the set is the later word, and the file's 1 is never stored.
    let report = registry.load_yaml_str("a: 1\nb: 2\n").unwrap();
    MEDDLE.set(None);
    assert_eq!(a.get(), 5, "the racing set stays");
    assert_eq!(report.applied, ["b"], "`a` does not hold the loaded value");
    assert_eq!(report.changed, ["b"]);
    assert_eq!(report.superseded, ["a"]);
}

#[test]
fn a_set_that_panicked_before_storing_does_not_cost_a_load_its_store() {
    let registry = Registry::new();
    let a = registry.lookup("a", Touchy(0), "").unwrap();
    a.add_listener(|_, _| {}); // so that `set` copies the value, and panics
    registry.lookup("b", Meddler(0), "").unwrap();
    let a_in = Arc::clone(&a);
    MEDDLE.set(Some(Box::new(move || {
        let set = catch_unwind(AssertUnwindSafe(|| a_in.set(Touchy(66))));
        assert!(set.is_err(), "the set panics and stores nothing");
    })));
    let report = registry.load_yaml_str("a: 1\nb: 2\n").unwrap();
    assert_eq!(a.get(), Touchy(1), "the load's value is stored");
    assert_eq!(report.changed, ["a", "b"]);
}

#[test]
fn a_listener_added_while_a_load_compares_hears_its_change() {
    let registry = Registry::new();
    let a = registry.lookup("a", 0_i32, "").unwrap();
    registry.lookup("b", Meddler(0), "").unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (a_in, seen_in) = (Arc::clone(&a), Arc::clone(&seen));
    // Once `a` is compared (it had no listener then), `b`'s comparison adds
    // one; the load stores `a` after that, so the listener must hear of it.
    MEDDLE.set(Some(Box::new(move || {
        if seen_in.lock().unwrap().is_empty() {
            seen_in.lock().unwrap().push((-1, -1));
            let seen_in = Arc::clone(&seen_in);
            a_in.add_listener(move |old, new| seen_in.lock().unwrap().push((*old, *new)));
        }
    })));
    registry.load_yaml_str("a: 1\nb: 2\n").unwrap();
    assert_eq!(*seen.lock().unwrap(), [(-1, -1), (0, 1)]);
}

/// The copy for a listener added during the load is made at the store, after
/// the comparisons: a panic there must not stop the load half-way.
#[test]
fn a_panicking_copy_for_a_listener_added_during_a_load_costs_only_that_change() {
    let registry = Registry::new();
    let a = registry.lookup("a", Touchy(0), "").unwrap();
    let b = registry.lookup("b", Meddler(0), "").unwrap();
    let c = registry.lookup("c", 0_i32, "").unwrap();
    let heard = Arc::new(AtomicUsize::new(0));
    let (a_in, heard_in) = (Arc::clone(&a), Arc::clone(&heard));
    MEDDLE.set(Some(Box::new(move || {
        let heard_in = Arc::clone(&heard_in);
        a_in.add_listener(move |_, _| {
            heard_in.fetch_add(1, Ordering::SeqCst);
        });
    })));
    let load = catch_unwind(AssertUnwindSafe(|| {
        registry.load_yaml_str("a: 66\nb: 2\nc: 3\n")
    }));
    let report = load.expect("the load unwound").unwrap();
    assert_eq!(report.changed, ["a", "b", "c"]);
    assert_eq!((b.get().0, c.get()), (2, 3));
    assert_eq!(heard.load(Ordering::SeqCst), 0, "the copy for it failed");
    MEDDLE.set(None);
    a.set(Touchy(1)); // a later change reaches the listeners
    assert!(heard.load(Ordering::SeqCst) >= 1);
}
