//! Loading configuration: any text given to `Registry::load_yaml_str`, with
//! variables of a dozen types registered (numbers, a float, a string, lists,
//! maps, a set, an option, a tuple, a struct; a section and a variable inside
//! another's value), listeners that read their own variable and set another,
//! and a variable registered after the load from what it left behind.
//!
//! Nothing may panic or hang. A refused load changes nothing (the dump is
//! the same before and after); an accepted one reports only what it applied,
//! and its dump loads back into a fresh registry, which then dumps the same.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use sylar_config::Registry;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Peer {
    host: String,
    port: u16,
    #[serde(default)]
    weights: Vec<u32>,
}

// ANCHOR: registry_under_test
/// A registry with one variable of each kind a program registers.
fn registry() -> Registry {
    let registry = Registry::new();
    let port = registry.lookup("server.port", 8080_u16, "a port").unwrap();
    let name = registry
        .lookup("server.name", "sylar".to_owned(), "a name")
        .unwrap();
    registry.lookup("server.ratio", 0.5_f64, "a float").unwrap();
    registry
        .lookup("server.tags", vec!["a".to_owned()], "a list")
        .unwrap();
    registry.lookup("server.debug", false, "a flag").unwrap();
    registry
        .lookup(
            "limits",
            BTreeMap::from([("body".to_owned(), 1_u64)]),
            "a map",
        )
        .unwrap();
    registry
        .lookup("limits.extra", -1_i64, "inside another's value")
        .unwrap();
    registry
        .lookup("ids", BTreeSet::from([1_i32, 2]), "a set")
        .unwrap();
    registry.lookup("maybe", None::<i32>, "an option").unwrap();
    registry
        .lookup("pair", (1_u8, "x".to_owned()), "a tuple")
        .unwrap();
    let peer = Peer {
        host: "h".to_owned(),
        port: 1,
        weights: vec![],
    };
    let peer = registry.lookup("upstream.peer", peer, "a struct").unwrap();
    // Listeners that re-enter: one reads its own variable, one sets another.
    // (Weak: a variable holding its own Arc in a listener would never be freed.)
    let again = Arc::downgrade(&peer);
    peer.add_listener(move |_, new| {
        if let Some(peer) = again.upgrade() {
            assert_eq!(&peer.get(), new);
        }
    });
    port.add_listener(move |_, new| name.set(format!("port-{new}")));
    registry
}
// ANCHOR_END: registry_under_test

// ANCHOR: config_load_target
fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let registry = registry();
    let before = registry.dump_yaml();
    match registry.load_yaml_str(text) {
        Err(error) => {
            assert!(!error.to_string().is_empty());
            assert_eq!(
                registry.dump_yaml(),
                before,
                "a refused load changed something"
            );
        }
        Ok(report) => {
            assert!(
                report
                    .changed
                    .iter()
                    .all(|name| report.applied.contains(name))
            );
            let dump = registry.dump_yaml();
            let fresh = self::registry();
            if let Err(error) = fresh.load_yaml_str(&dump) {
                panic!("the dump does not load back: {error}\n{dump}");
            }
            assert_eq!(fresh.dump_yaml(), dump, "the dump did not round-trip");
        }
    }
    // A variable registered after the load starts from what the load left for
    // it, or from its default if that does not fit.
    let late = registry
        .lookup("late.value", 7_i32, "registered late")
        .unwrap();
    std::hint::black_box(late.get());
});
// ANCHOR_END: config_load_target
