//! Listeners run after the value is stored, only on change, in store order, and
//! never under a lock they could need. Each step that could deadlock runs under a
//! watchdog, so a deadlock fails the test instead of hanging it.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::within_deadline;
use sylar_config::{ConfigVar, Registry};
use sylar_log::{FileAppender, PatternFormatter};

/// A shared log of what listeners saw.
type Seen<T> = Arc<Mutex<Vec<T>>>;

fn seen<T>() -> Seen<T> {
    Arc::new(Mutex::new(Vec::new()))
}

#[test]
fn listeners_get_old_and_new_only_when_the_value_changes() {
    let registry = Registry::new();
    let var = registry.lookup("n", 1, "").unwrap();
    let log = seen();
    let log_in = Arc::clone(&log);
    var.add_listener(move |old: &i32, new: &i32| log_in.lock().unwrap().push((*old, *new)));
    var.set(2);
    var.set(2); // no change, no call
    registry.load_yaml_str("n: 2\n").unwrap(); // no change either
    registry.load_yaml_str("n: 3\n").unwrap();
    assert_eq!(*log.lock().unwrap(), [(1, 2), (2, 3)]);
}

/// `NaN != NaN` under `PartialEq`, so comparing with `==` alone called every
/// value holding a NaN changed on every load of the same document.
#[test]
fn a_nan_loaded_again_is_no_change() {
    let registry = Registry::new();
    let ratio = registry.lookup("ratio", 1.0_f64, "").unwrap();
    let ratios = registry.lookup("ratios", vec![0.5_f64], "").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let calls_in = Arc::clone(&calls);
    ratio.add_listener(move |_, _| {
        calls_in.fetch_add(1, Ordering::SeqCst);
    });
    let calls_in = Arc::clone(&calls);
    ratios.add_listener(move |_, _| {
        calls_in.fetch_add(1, Ordering::SeqCst);
    });
    let text = "ratio: .nan\nratios: [1.0, .nan]\n";
    assert_eq!(
        registry.load_yaml_str(text).unwrap().changed,
        ["ratio", "ratios"]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    for _ in 0..3 {
        let again = registry.load_yaml_str(text).unwrap();
        assert!(again.changed.is_empty(), "changed: {:?}", again.changed);
        assert_eq!(again.applied, ["ratio", "ratios"]);
    }
    ratio.set(f64::NAN);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a NaN over a NaN is no change"
    );
    // Away from NaN, and back, are changes.
    let away = registry
        .load_yaml_str("ratio: 2.5\nratios: [1.0, 2.0]\n")
        .unwrap();
    assert_eq!(away.changed, ["ratio", "ratios"]);
    ratio.set(f64::NAN);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert!(ratio.get().is_nan());
}

/// `-0.0 == 0.0` under `PartialEq`: the type says they are the same number, so
/// loading one over the other is no change and the value held stays as it was.
#[test]
fn negative_zero_over_zero_is_no_change() {
    let registry = Registry::new();
    let offset = registry.lookup("offset", 0.0_f64, "").unwrap();
    let report = registry.load_yaml_str("offset: -0.0\n").unwrap();
    assert!(report.changed.is_empty(), "changed: {:?}", report.changed);
    assert!(offset.get().is_sign_positive());
    assert_eq!(
        registry.load_yaml_str("offset: -1.5\n").unwrap().changed,
        ["offset"]
    );
}

#[test]
fn a_listener_reading_its_variable_sees_the_new_value() {
    within_deadline("listener reads its own variable", || {
        let registry = Registry::new();
        let var: Arc<ConfigVar<String>> = registry.lookup("name", "old".into(), "").unwrap();
        let log = seen();
        let (var_in, log_in) = (Arc::clone(&var), Arc::clone(&log));
        var.add_listener(move |_, new| {
            log_in
                .lock()
                .unwrap()
                .push((new.clone(), var_in.get(), var_in.to_yaml()));
        });
        var.set("new".into());
        assert_eq!(
            *log.lock().unwrap(),
            [("new".into(), "new".into(), "new\n".into())]
        );
    });
}

#[test]
fn a_listener_may_set_another_variable_and_its_listeners_run() {
    within_deadline("listener sets another variable", || {
        let registry = Registry::new();
        let celsius = registry.lookup("celsius", 0_i64, "").unwrap();
        let fahrenheit = registry.lookup("fahrenheit", 32_i64, "").unwrap();
        let to_f = Arc::clone(&fahrenheit);
        celsius.add_listener(move |_, c| to_f.set(c * 9 / 5 + 32));
        let log = seen();
        let log_in = Arc::clone(&log);
        fahrenheit.add_listener(move |_, f| log_in.lock().unwrap().push(*f));
        registry.load_yaml_str("celsius: 100\n").unwrap();
        assert_eq!(fahrenheit.get(), 212);
        assert_eq!(*log.lock().unwrap(), [212]);
    });
}

#[test]
fn a_listener_setting_its_own_variable_sees_the_changes_in_order() {
    within_deadline("listener sets its own variable", || {
        let registry = Registry::new();
        let var = registry.lookup("countdown", 0_u32, "").unwrap();
        let var_in = Arc::clone(&var);
        // Counts down to zero by setting itself from inside its own listener.
        var.add_listener(move |_, new| {
            if *new > 0 {
                var_in.set(new - 1);
            }
        });
        let log = seen();
        let log_in = Arc::clone(&log);
        var.add_listener(move |old, new| log_in.lock().unwrap().push((*old, *new)));
        var.set(3);
        assert_eq!(var.get(), 0);
        // The second listener saw every change, each `old` the previous `new`.
        assert_eq!(*log.lock().unwrap(), [(0, 3), (3, 2), (2, 1), (1, 0)]);
    });
}

#[test]
fn a_listener_may_add_and_remove_listeners() {
    within_deadline("listener adds and removes listeners", || {
        let registry = Registry::new();
        let var = registry.lookup("v", 0, "").unwrap();
        let late_calls = Arc::new(AtomicUsize::new(0));
        let (var_in, late_in) = (Arc::clone(&var), Arc::clone(&late_calls));
        let added = Arc::new(Mutex::new(None));
        let added_in = Arc::clone(&added);
        let id = var.add_listener(move |_, new| {
            if *new == 1 {
                let late = Arc::clone(&late_in);
                let id = var_in.add_listener(move |_, _| {
                    late.fetch_add(1, Ordering::SeqCst);
                });
                *added_in.lock().unwrap() = Some(id);
            } else if let Some(id) = added_in.lock().unwrap().take() {
                assert!(var_in.remove_listener(id));
            }
        });
        var.set(1); // adds the late listener (it does not see this change)
        var.set(2); // the late listener sees this one, then is removed
        var.set(3); // nobody but the first listener
        assert_eq!(late_calls.load(Ordering::SeqCst), 1);
        assert!(var.remove_listener(id));
        assert!(!var.remove_listener(id), "removing twice says so");
    });
}

#[test]
fn a_listener_may_look_up_variables_and_load_configuration() {
    within_deadline("listener uses the registry", || {
        let registry = Arc::new(Registry::new());
        let trigger = registry.lookup("trigger", false, "").unwrap();
        let registry_in = Arc::clone(&registry);
        trigger.add_listener(move |_, _| {
            let follower = registry_in.lookup("follower", 0, "").unwrap();
            registry_in.load_yaml_str("follower: 42\n").unwrap();
            assert_eq!(follower.get(), 42);
            assert!(!registry_in.dump_yaml().is_empty());
        });
        registry.load_yaml_str("trigger: true\n").unwrap();
        let follower = registry.lookup("follower", 0, "").unwrap();
        assert_eq!(follower.get(), 42);
    });
}

#[test]
fn removed_listeners_are_not_called_and_ids_are_per_listener() {
    let registry = Registry::new();
    let var = registry.lookup("v", 0, "").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (Arc::clone(&calls), Arc::clone(&calls));
    let first = var.add_listener(move |_, _| {
        c1.fetch_add(1, Ordering::SeqCst);
    });
    let second = var.add_listener(move |_, _| {
        c2.fetch_add(10, Ordering::SeqCst);
    });
    assert_ne!(first, second);
    var.set(1);
    assert!(var.remove_listener(first));
    var.set(2);
    assert_eq!(calls.load(Ordering::SeqCst), 11 + 10);
}

#[test]
fn a_panicking_listener_does_not_stop_the_others_or_later_changes() {
    // The panic is reported on sylar's `system` logger: send it to a file.
    let dir = common::TempDir::new("listener-panic");
    let log_path = dir.path().join("system.log");
    let appender = FileAppender::new(&log_path)
        .unwrap()
        .with_formatter(PatternFormatter::new("%c: %m%n").unwrap());
    sylar_log::logger("system").set_appenders(vec![Arc::new(appender)]);

    let registry = Registry::new();
    let var = registry.lookup("v", 0, "").unwrap();
    var.add_listener(|_, new| {
        if *new == 1 {
            panic!("listener failure on purpose");
        }
    });
    let log = seen();
    let log_in = Arc::clone(&log);
    var.add_listener(move |_, new| log_in.lock().unwrap().push(*new));
    var.set(1);
    var.set(2);
    assert_eq!(*log.lock().unwrap(), [1, 2]);
    assert_eq!(var.get(), 2);
    sylar_log::flush();
    assert_eq!(
        std::fs::read_to_string(&log_path).unwrap(),
        "system: config v: a change listener panicked: listener failure on purpose\n"
    );
}

#[test]
fn concurrent_setters_are_reported_as_one_unbroken_chain() {
    within_deadline("two setters", || {
        let registry = Registry::new();
        let var = registry.lookup("v", 0_u64, "").unwrap();
        let log = seen();
        let log_in = Arc::clone(&log);
        var.add_listener(move |old, new| log_in.lock().unwrap().push((*old, *new)));
        std::thread::scope(|scope| {
            for offset in [1_u64, 2] {
                let var = Arc::clone(&var);
                scope.spawn(move || {
                    for i in 0..2_000 {
                        var.set(i * 4 + offset); // distinct per thread, never equal
                    }
                });
            }
        });
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 4_000, "every change delivered exactly once");
        assert_eq!(log[0].0, 0);
        for pair in log.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "each old is the previous new");
        }
        assert_eq!(log.last().unwrap().1, var.get());
    });
}
