//! A directory of YAML files: all of them the first time, then only the files whose
//! content changed, unless forced. No sleeps: change is detected by content, so a
//! rewrite within the same clock tick is still seen.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::TempDir;
use sylar_config::{ConfigError, Registry};

/// Counts the changes a variable reports to its listeners.
fn counter<T: sylar_config::ConfigValue>(var: &sylar_config::ConfigVar<T>) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    var.add_listener(move |_, _| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    count
}

#[test]
fn a_directory_loads_yml_and_yaml_files_including_subdirectories() {
    let dir = TempDir::new("dir-all");
    dir.write("a.yml", "a: 1\n");
    dir.write("b.yaml", "b: 2\n");
    dir.write("sub/c.YML", "c: 3\n");
    dir.write("notes.txt", "d: 4\n");
    dir.write(".hidden.yml", "e: 5\n");
    let registry = Registry::new();
    let vars: Vec<_> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|name| registry.lookup(name, 0, "").unwrap())
        .collect();
    let report = registry.load_dir(dir.path(), false).unwrap();
    let values: Vec<i32> = vars.iter().map(|v| v.get()).collect();
    assert_eq!(values, [1, 2, 3, 0, 0]);
    assert_eq!(report.files.len(), 3);
    assert!(report.unchanged_files.is_empty());
}

#[test]
fn a_reload_applies_only_the_files_that_changed() {
    let dir = TempDir::new("dir-changed");
    let a = dir.write("a.yml", "a: 1\n");
    let b = dir.write("b.yml", "b: 1\n");
    let registry = Registry::new();
    let var_a = registry.lookup("a", 0, "").unwrap();
    let var_b = registry.lookup("b", 0, "").unwrap();
    registry.load_dir(dir.path(), false).unwrap();
    let (count_a, count_b) = (counter(&var_a), counter(&var_b));

    // Code changes both values; only the edited file is applied again, so b keeps
    // the value the program gave it. Same length text: size alone would not tell.
    var_a.set(10);
    var_b.set(20);
    std::fs::write(&a, "a: 2\n").unwrap();
    let report = registry.load_dir(dir.path(), false).unwrap();
    assert_eq!(report.files, std::slice::from_ref(&a));
    assert_eq!(report.unchanged_files, std::slice::from_ref(&b));
    assert_eq!((var_a.get(), var_b.get()), (2, 20));
    assert_eq!(
        count_a.load(Ordering::SeqCst),
        2,
        "set(10), then the reload"
    );
    assert_eq!(count_b.load(Ordering::SeqCst), 1, "only set(20)");

    // Nothing changed: nothing applied.
    let report = registry.load_dir(dir.path(), false).unwrap();
    assert!(report.files.is_empty());
    assert_eq!(report.unchanged_files.len(), 2);
    assert_eq!((var_a.get(), var_b.get()), (2, 20));
}

#[test]
fn a_forced_reload_applies_every_file() {
    let dir = TempDir::new("dir-force");
    dir.write("a.yml", "a: 1\n");
    let registry = Registry::new();
    let var = registry.lookup("a", 0, "").unwrap();
    registry.load_dir(dir.path(), false).unwrap();
    var.set(5);
    let report = registry.load_dir(dir.path(), true).unwrap();
    assert_eq!(report.files.len(), 1);
    assert_eq!(report.changed, ["a"]);
    assert_eq!(var.get(), 1);
}

#[test]
fn the_later_file_wins_and_keeps_winning_when_only_the_earlier_one_changes() {
    let dir = TempDir::new("dir-order");
    let first = dir.write("10-base.yml", "port: 80\nhost: base\n");
    dir.write("20-local.yml", "port: 8080\n");
    let registry = Registry::new();
    let port = registry.lookup("port", 0_u16, "").unwrap();
    let host = registry.lookup("host", String::new(), "").unwrap();
    registry.load_dir(dir.path(), false).unwrap();
    assert_eq!((port.get(), host.get().as_str()), (8080, "base"));

    std::fs::write(&first, "port: 81\nhost: edited\n").unwrap();
    let report = registry.load_dir(dir.path(), false).unwrap();
    assert_eq!(report.files, [first]);
    assert_eq!(
        report.applied,
        ["host"],
        "port is still decided by 20-local.yml"
    );
    assert_eq!((port.get(), host.get().as_str()), (8080, "edited"));
}

#[test]
fn new_and_deleted_files_are_noticed() {
    let dir = TempDir::new("dir-new");
    let a = dir.write("a.yml", "a: 1\n");
    let registry = Registry::new();
    let var_a = registry.lookup("a", 0, "").unwrap();
    let var_b = registry.lookup("b", 0, "").unwrap();
    registry.load_dir(dir.path(), false).unwrap();
    let b = dir.write("b.yml", "b: 2\n");
    std::fs::remove_file(&a).unwrap();
    let report = registry.load_dir(dir.path(), false).unwrap();
    assert_eq!(report.files, [b]);
    assert!(report.unchanged_files.is_empty());
    assert_eq!(
        (var_a.get(), var_b.get()),
        (1, 2),
        "a deleted file's values stay"
    );
}

#[test]
fn a_failed_directory_load_applies_nothing_and_is_retried() {
    let dir = TempDir::new("dir-fail");
    let a = dir.write("a.yml", "a: 1\n");
    let b = dir.write("b.yml", "b: 1\n");
    let registry = Registry::new();
    let var_a = registry.lookup("a", 0, "").unwrap();
    let var_b = registry.lookup("b", 0, "").unwrap();
    registry.load_dir(dir.path(), false).unwrap();

    std::fs::write(&a, "a: 2\n").unwrap();
    std::fs::write(&b, "b: [oops]\n").unwrap();
    let err = registry.load_dir(dir.path(), false).unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems[0].file.as_deref(), Some(b.as_path()));
    assert_eq!(
        (var_a.get(), var_b.get()),
        (1, 1),
        "a.yml was not applied either"
    );

    std::fs::write(&b, "b: 3\n").unwrap();
    let report = registry.load_dir(dir.path(), false).unwrap();
    assert_eq!(report.files, [a, b], "both files count as changed again");
    assert_eq!((var_a.get(), var_b.get()), (2, 3));
}

#[test]
fn malformed_yaml_in_a_directory_names_the_file() {
    let dir = TempDir::new("dir-malformed");
    dir.write("a.yml", "a: 1\n");
    let bad = dir.write("b.yml", "b: [1\n");
    let registry = Registry::new();
    let var = registry.lookup("a", 0, "").unwrap();
    let err = registry.load_dir(dir.path(), false).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Yaml { file: Some(f), line: Some(_), .. } if *f == bad),
        "{err:?}"
    );
    assert_eq!(var.get(), 0);
}

/// A `*.yml` link whose target is missing is a file the directory says it has
/// and that cannot be read: an error naming it, as for an unreadable file, not a
/// file silently left out (whose settings would then silently not apply).
#[test]
fn a_config_link_to_nothing_is_an_io_error_naming_it() {
    let dir = TempDir::new("dir-dangling");
    dir.write("a.yml", "a: 1\n");
    let link = dir.path().join("b.yml");
    std::os::unix::fs::symlink(dir.path().join("gone.yml"), &link).unwrap();
    let registry = Registry::new();
    let var = registry.lookup("a", 0, "").unwrap();
    let err = registry.load_dir(dir.path(), false).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { path, .. } if *path == link),
        "{err:?}"
    );
    assert_eq!(var.get(), 0, "nothing applied");
    // A link to a file is followed as before.
    std::fs::remove_file(&link).unwrap();
    dir.write("gone.yml", "a: 2\n");
    std::os::unix::fs::symlink(dir.path().join("gone.yml"), &link).unwrap();
    registry.load_dir(dir.path(), false).unwrap();
    assert_eq!(var.get(), 2);
}

#[test]
fn listeners_of_a_reload_see_every_value_of_the_same_load() {
    let dir = TempDir::new("dir-consistent");
    let path = dir.write("a.yml", "low: 1\nhigh: 2\n");
    let registry = Arc::new(Registry::new());
    let low = registry.lookup("low", 0, "").unwrap();
    let high = registry.lookup("high", 0, "").unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (high_in, seen_in) = (Arc::clone(&high), Arc::clone(&seen));
    low.add_listener(move |_, new| seen_in.lock().unwrap().push((*new, high_in.get())));
    registry.load_dir(dir.path(), false).unwrap();
    std::fs::write(&path, "low: 10\nhigh: 20\n").unwrap();
    registry.load_dir(dir.path(), false).unwrap();
    assert_eq!(*seen.lock().unwrap(), [(1, 2), (10, 20)]);
}
