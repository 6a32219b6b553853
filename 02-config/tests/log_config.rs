//! The global registry's `logs` variable configures chapter 1's loggers: load a file,
//! find the configured lines, in the configured pattern, in the configured file;
//! change the file, reload, and the loggers follow.

mod common;

use std::sync::Mutex;

use common::TempDir;
use sylar_config::{ConfigError, ProblemKind, global};
use sylar_log::{sylar_debug, sylar_info, sylar_warn};

/// Tests in this file all drive the one global `logs` variable: one at a time.
static LOGS_IN_USE: Mutex<()> = Mutex::new(());

/// A `logs:` document for one logger writing to `file` with `pattern`.
fn logs_yaml(logger: &str, level: &str, pattern: &str, file: &std::path::Path) -> String {
    format!(
        "logs:\n  - name: {logger}\n    level: {level}\n    formatter: \"{pattern}\"\n    \
         appenders:\n      - type: file\n        file: {}\n",
        file.display()
    )
}

#[test]
fn a_logs_file_configures_the_logger_and_a_changed_file_reconfigures_it() {
    let _one_at_a_time = LOGS_IN_USE.lock().unwrap_or_else(|p| p.into_inner());
    let dir = TempDir::new("logs");
    let conf = TempDir::new("logs-conf");
    let first_log = dir.path().join("first.log");
    let second_log = dir.path().join("second.log");
    let config = conf.write(
        "log.yml",
        &logs_yaml("cfg_test", "info", "%p|%c|%m%n", &first_log),
    );

    let report = global().load_dir(conf.path(), false).unwrap();
    assert_eq!(report.changed, ["logs"]);
    let logger = sylar_log::logger("cfg_test");
    sylar_info!(logger, "hello {}", 1);
    sylar_debug!(logger, "below the configured level");
    sylar_log::flush();
    assert_eq!(
        std::fs::read_to_string(&first_log).unwrap(),
        "INFO|cfg_test|hello 1\n"
    );

    // Edit the file: another level, pattern and destination. Reload re-applies it.
    std::fs::write(
        &config,
        logs_yaml("cfg_test", "debug", "[%p] %m%n", &second_log),
    )
    .unwrap();
    let report = global().load_dir(conf.path(), false).unwrap();
    assert_eq!(report.files, std::slice::from_ref(&config));
    assert_eq!(report.changed, ["logs"]);
    sylar_debug!(logger, "now visible");
    sylar_warn!(logger, "in the new pattern");
    sylar_log::flush();
    assert_eq!(
        std::fs::read_to_string(&second_log).unwrap(),
        "[DEBUG] now visible\n[WARN] in the new pattern\n"
    );
    assert_eq!(
        std::fs::read_to_string(&first_log).unwrap(),
        "INFO|cfg_test|hello 1\n",
        "the old file gets nothing more"
    );

    // An unchanged file is not applied again.
    let report = global().load_dir(conf.path(), false).unwrap();
    assert!(report.changed.is_empty() && report.files.is_empty());
    assert!(global().dump_yaml().contains("cfg_test"));
}

#[test]
fn a_bad_logs_value_is_rejected_and_the_loggers_keep_their_setup() {
    let _one_at_a_time = LOGS_IN_USE.lock().unwrap_or_else(|p| p.into_inner());
    let dir = TempDir::new("logs-bad");
    let log = dir.path().join("kept.log");
    global()
        .load_yaml_str(&logs_yaml("cfg_bad", "info", "%m%n", &log))
        .unwrap();

    let err = global()
        .load_yaml_str("logs:\n  - name: cfg_bad\n    level: loudest\n")
        .unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems[0].key, "logs");
    assert!(err.to_string().contains("loudest"), "{err}");

    let logger = sylar_log::logger("cfg_bad");
    sylar_info!(logger, "still configured");
    sylar_log::flush();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "still configured\n");
}

#[test]
fn a_logs_value_the_loggers_refuse_is_rejected_and_loads_once_its_cause_is_fixed() {
    let _one_at_a_time = LOGS_IN_USE.lock().unwrap_or_else(|p| p.into_inner());
    let dir = TempDir::new("logs-refused");
    let log = dir.path().join("kept.log");
    global()
        .load_yaml_str(&logs_yaml("cfg_refused", "info", "%m%n", &log))
        .unwrap();
    let before = global().dump_yaml();

    // Valid YAML for `LogDefine`, but a file appender needs a file: the load is
    // rejected, naming `logs` and why, and the loggers keep their setup.
    let err = global()
        .load_yaml_str("logs:\n  - name: cfg_refused\n    appenders:\n      - type: file\n")
        .unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems[0].key, "logs");
    assert!(
        matches!(&problems[0].kind, ProblemKind::Refused { reason } if reason.contains("needs `file")),
        "{err}"
    );

    // A file that cannot be created, because its directory is a regular file.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let moved = blocker.join("moved.log");
    let text = logs_yaml("cfg_refused", "info", "%m%n", &moved);
    let err = global().load_yaml_str(&text).unwrap_err();
    assert!(err.to_string().contains("cannot open log file"), "{err}");
    assert_eq!(global().dump_yaml(), before, "a refused list is not stored");
    let logger = sylar_log::logger("cfg_refused");
    sylar_info!(logger, "the old appender still works");
    sylar_log::flush();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "the old appender still works\n"
    );

    // Fix the cause; the very same text now loads and applies.
    std::fs::remove_file(&blocker).unwrap();
    let report = global().load_yaml_str(&text).unwrap();
    assert_eq!(report.changed, ["logs"]);
    sylar_info!(logger, "to the new file");
    sylar_log::flush();
    assert_eq!(
        std::fs::read_to_string(&moved).unwrap(),
        "to the new file\n"
    );
}

#[test]
fn a_load_refused_for_another_key_leaves_no_log_file_behind() {
    let _one_at_a_time = LOGS_IN_USE.lock().unwrap_or_else(|p| p.into_inner());
    let port = global()
        .lookup(
            "cfg_nocreate.port",
            8080_u16,
            "a port, for a second key to refuse",
        )
        .unwrap();
    port.add_validator(|p| {
        if *p == 0 {
            Err("port 0 is not allowed".to_owned())
        } else {
            Ok(())
        }
    })
    .unwrap();
    let dir = TempDir::new("logs-nocreate");
    let new_dir = dir.path().join("new");
    let log = new_dir.join("app.log");
    let before = global().dump_yaml();

    // `logs` alone would pass its check; the other key is refused, so the whole load
    // is, and checking `logs` created neither the file nor its directory.
    let text = format!(
        "{}cfg_nocreate:\n  port: 0\n",
        logs_yaml("cfg_nocreate", "info", "%m%n", &log)
    );
    let err = global().load_yaml_str(&text).unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert!(
        problems.iter().all(|p| p.key == "cfg_nocreate.port"),
        "{err}"
    );
    assert!(
        !new_dir.exists(),
        "validating `logs` created {}",
        new_dir.display()
    );
    assert_eq!(global().dump_yaml(), before, "nothing was stored");
}
