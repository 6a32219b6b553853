//! Validators: a value of the right type that its variable's validator refuses
//! rejects the whole load, is never stored, and loads once the validator accepts it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{TempDir, within_deadline};
use sylar_config::{ConfigError, ConfigVar, ProblemKind, Registry};

/// A positive stack size; 0 is refused.
fn stack_size(registry: &Registry) -> Arc<ConfigVar<usize>> {
    let var = registry
        .lookup("fiber.stack_size", 131_072_usize, "bytes per fiber stack")
        .unwrap();
    var.add_validator(|size| match size {
        0 => Err("a stack of 0 bytes cannot hold a frame".to_owned()),
        _ => Ok(()),
    })
    .unwrap();
    var
}

/// `log.dir`, whose default is on the root disk; any other directory is
/// refused until the returned flag says its disk is mounted.
fn log_dir(registry: &Registry) -> (Arc<ConfigVar<String>>, Arc<AtomicBool>) {
    let dir = registry
        .lookup("log.dir", String::from("/var/log"), "where logs go")
        .unwrap();
    let mounted = Arc::new(AtomicBool::new(false));
    let cause = Arc::clone(&mounted);
    dir.add_validator(
        move |dir| match dir == "/var/log" || cause.load(Ordering::SeqCst) {
            true => Ok(()),
            false => Err("the disk is not mounted yet".to_owned()),
        },
    )
    .unwrap();
    (dir, mounted)
}

/// The reason of the one `Refused` problem in `err`, for key `key`.
fn refusal(err: &ConfigError, key: &str) -> String {
    let ConfigError::Rejected { problems } = err else {
        panic!("expected Rejected, got {err:?}");
    };
    let problem = problems
        .iter()
        .find(|p| p.key == key)
        .expect("the key is named");
    match &problem.kind {
        ProblemKind::Refused { reason } => reason.clone(),
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[test]
fn a_refused_value_rejects_the_whole_load() {
    let registry = Registry::new();
    let size = stack_size(&registry);
    let port = registry.lookup("server.port", 8020_u16, "port").unwrap();
    let changes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&changes);
    size.add_listener(move |old, new| seen.lock().unwrap().push((*old, *new)));

    let err = registry
        .load_yaml_str("fiber:\n  stack_size: 0\nserver:\n  port: 9000\n")
        .unwrap_err();
    assert!(refusal(&err, "fiber.stack_size").contains("cannot hold a frame"));
    assert!(err.to_string().contains("fiber.stack_size"), "{err}");
    assert_eq!(size.get(), 131_072, "the refused value is not stored");
    assert_eq!(port.get(), 8020, "nor is any other value of the load");
    assert!(changes.lock().unwrap().is_empty(), "no listener ran");

    registry
        .load_yaml_str("fiber:\n  stack_size: 65536\nserver:\n  port: 9000\n")
        .unwrap();
    assert_eq!((size.get(), port.get()), (65_536, 9000));
    assert_eq!(*changes.lock().unwrap(), [(131_072, 65_536)]);
}

#[test]
fn the_same_text_loads_once_the_validator_accepts_it() {
    let registry = Registry::new();
    let (path, ready) = log_dir(&registry);
    let text = "log:\n  dir: /srv/logs\n";

    let err = registry.load_yaml_str(text).unwrap_err();
    assert_eq!(refusal(&err, "log.dir"), "the disk is not mounted yet");
    assert_eq!(path.get(), "/var/log");

    ready.store(true, Ordering::SeqCst);
    let report = registry.load_yaml_str(text).unwrap();
    assert_eq!(report.changed, ["log.dir"]);
    assert_eq!(path.get(), "/srv/logs");
}

#[test]
fn a_refused_directory_is_read_again_on_the_next_reload() {
    let registry = Registry::new();
    let (dir, mounted) = log_dir(&registry);
    let conf = TempDir::new("validators-dir");
    conf.write("log.yml", "log:\n  dir: /srv/logs\n");
    assert!(registry.load_dir(conf.path(), false).is_err());
    // The same file, unchanged: a refused load is not remembered as read.
    mounted.store(true, Ordering::SeqCst);
    let report = registry.load_dir(conf.path(), false).unwrap();
    assert_eq!(report.changed, ["log.dir"]);
    assert_eq!(dir.get(), "/srv/logs");
}

#[test]
fn an_early_value_is_checked_when_the_validator_arrives() {
    let registry = Registry::new();
    // Loaded before any variable has the name: kept as an early value.
    registry.load_yaml_str("fiber:\n  stack_size: 0\n").unwrap();
    let size = registry
        .lookup("fiber.stack_size", 131_072_usize, "bytes per fiber stack")
        .unwrap();
    assert_eq!(size.get(), 0, "the early value was taken at registration");
    let err = size
        .add_validator(|size| match size {
            0 => Err("a stack of 0 bytes cannot hold a frame".to_owned()),
            _ => Ok(()),
        })
        .unwrap_err();
    assert!(refusal(&err, "fiber.stack_size").contains("cannot hold a frame"));
    assert_eq!(size.get(), 131_072, "back to the default");
}

#[test]
fn a_validator_may_look_variables_up_while_others_register() {
    within_deadline("validator lookups", || {
        let registry = Arc::new(Registry::new());
        let low = registry.lookup("range.low", 0_i64, "lower bound").unwrap();
        let high = registry
            .lookup("range.high", 10_i64, "upper bound")
            .unwrap();
        let lookups = Arc::clone(&registry);
        high.add_validator(move |high| {
            // Reads another variable through the registry, during the load.
            let low = lookups.lookup("range.low", 0_i64, "lower bound").unwrap();
            match *high >= low.get() {
                true => Ok(()),
                false => Err(format!("{high} is below range.low")),
            }
        })
        .unwrap();
        // Another thread registers variables all the while: a queued writer
        // must not leave the validator's lookup waiting behind the load.
        let stop = Arc::new(AtomicBool::new(false));
        let registrar = {
            let (registry, stop) = (Arc::clone(&registry), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    registry
                        .lookup(&format!("extra.v{n}"), n, "filler")
                        .unwrap();
                    n += 1;
                }
            })
        };
        for round in 0..200_i64 {
            registry
                .load_yaml_str(&format!("range:\n  high: {}\n", 20 + round))
                .unwrap();
            assert!(registry.load_yaml_str("range:\n  high: -1\n").is_err());
        }
        stop.store(true, Ordering::SeqCst);
        registrar.join().unwrap();
        assert_eq!(high.get(), 219);
        assert_eq!(low.get(), 0);
    });
}

#[test]
fn a_panicking_validator_refuses_instead_of_unwinding_into_the_load() {
    let registry = Registry::new();
    let name = registry
        .lookup("server.name", String::from("sylar"), "name")
        .unwrap();
    name.add_validator(|value| {
        assert!(!value.is_empty(), "an empty name slipped through");
        Ok(())
    })
    .unwrap();
    let err = registry.load_yaml_str("server:\n  name: ''\n").unwrap_err();
    assert!(refusal(&err, "server.name").contains("an empty name slipped through"));
    assert_eq!(name.get(), "sylar");
}

#[test]
fn try_set_checks_and_set_trusts_the_program() {
    let registry = Registry::new();
    let size = stack_size(&registry);
    assert_eq!(
        size.validate(&0).unwrap_err(),
        "a stack of 0 bytes cannot hold a frame"
    );
    assert_eq!(size.validate(&1), Ok(()));

    let err = size.try_set(0).unwrap_err();
    assert!(refusal(&err, "fiber.stack_size").contains("cannot hold a frame"));
    assert_eq!(size.get(), 131_072);
    size.try_set(8192).unwrap();
    assert_eq!(size.get(), 8192);

    // `set` is the program's own word: validators guard what comes from outside.
    size.set(0);
    assert_eq!(size.get(), 0);
}
