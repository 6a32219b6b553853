//! Loggers described as data: `LogDefine` reads sylar's YAML shape, and `apply_config`
//! builds, replaces and resets loggers, refusing bad definitions without changing
//! anything; `check_config` refuses the same definitions, with the same text, and
//! applies nothing, creates nothing and writes nothing.
//!
//! `apply_config` remembers what the previous call configured (to reset loggers that
//! disappear), so the tests of this binary take turns through `SERIAL`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use common::{MemoryAppender, temp_path};
use sylar_log::{
    AppenderDefine, AppenderKind, Level, LogDefine, LogError, Logger, apply_config, check_config,
    sylar_debug, sylar_info,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn yaml(text: &str) -> Vec<LogDefine> {
    serde_yaml::from_str(text).unwrap()
}

#[test]
fn the_sylar_yaml_shape_deserialises() {
    let defs = yaml(
        r#"
- name: system
  level: INFO
  formatter: "%d%T%m%n"
  appenders:
    - type: file
      file: /tmp/system.txt
      level: debug
      formatter: "%m%n"
      async: true
    - type: stdout
- name: quiet
"#,
    );
    assert_eq!(
        defs,
        [
            LogDefine {
                name: "system".into(),
                level: Level::Info,
                formatter: Some("%d%T%m%n".into()),
                appenders: vec![
                    AppenderDefine {
                        kind: AppenderKind::File,
                        file: Some("/tmp/system.txt".into()),
                        level: Some(Level::Debug),
                        formatter: Some("%m%n".into()),
                        asynchronous: true,
                    },
                    AppenderDefine {
                        kind: AppenderKind::Stdout,
                        file: None,
                        level: None,
                        formatter: None,
                        asynchronous: false,
                    },
                ],
            },
            LogDefine {
                name: "quiet".into(),
                level: Level::Info,
                formatter: None,
                appenders: vec![],
            },
        ]
    );
    // And back: serialising gives YAML that reads as the same definitions.
    let text = serde_yaml::to_string(&defs).unwrap();
    assert_eq!(yaml(&text), defs);
    assert!(text.contains("level: info"), "{text}");
}

#[test]
fn malformed_definitions_are_refused_with_a_reason() {
    for (text, reason) in [
        ("- name: a\n  fromatter: x\n", "unknown field `fromatter`"),
        ("- name: a\n  level: loud\n", "unknown log level `loud`"),
        (
            "- name: a\n  appenders: [{type: syslog}]\n",
            "unknown variant `syslog`",
        ),
        ("- level: info\n", "missing field `name`"),
    ] {
        let error = serde_yaml::from_str::<Vec<LogDefine>>(text).unwrap_err();
        assert!(error.to_string().contains(reason), "{text:?}: {error}");
    }
}

#[test]
fn applying_builds_loggers_that_write_the_configured_pattern_to_the_configured_file() {
    let _serial = serial();
    let path = temp_path("configured.log");
    let defs = yaml(&format!(
        r#"
- name: cfg-system
  level: debug
  formatter: "[%p] %c: %m%n"
  appenders:
    - type: file
      file: {path}
    - type: file
      file: {path}.errors
      level: error
      formatter: "E %m%n"
"#,
        path = path.display()
    ));
    apply_config(&defs).unwrap();
    let logger = sylar_log::logger("cfg-system");
    assert_eq!(logger.level(), Level::Debug);
    sylar_debug!(logger, "configured {}", 1);
    sylar_log::logger("cfg-system").emit(Level::Error, "f.rs", 1, format_args!("bad"));
    sylar_log::flush();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "[DEBUG] cfg-system: configured 1\n[ERROR] cfg-system: bad\n"
    );
    let errors = path.with_extension("log.errors");
    assert_eq!(fs::read_to_string(&errors).unwrap(), "E bad\n");
    fs::remove_file(&path).unwrap();
    fs::remove_file(&errors).unwrap();
}

#[test]
fn an_async_file_appender_can_be_configured() {
    let _serial = serial();
    let path = temp_path("configured-async.log");
    apply_config(&[LogDefine {
        name: "cfg-async".into(),
        level: Level::Info,
        formatter: Some("%m%n".into()),
        appenders: vec![AppenderDefine {
            kind: AppenderKind::File,
            file: Some(path.clone()),
            level: None,
            formatter: None,
            asynchronous: true,
        }],
    }])
    .unwrap();
    let logger = sylar_log::logger("cfg-async");
    assert!(format!("{:?}", logger.appenders()).contains("AsyncAppender"));
    sylar_info!(logger, "through the writer thread");
    logger.flush();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "through the writer thread\n"
    );
    fs::remove_file(&path).unwrap();
}

#[test]
fn a_bad_pattern_from_config_is_rendered_visibly() {
    let _serial = serial();
    let capture = MemoryAppender::with_pattern("%m");
    apply_config(&yaml("- name: cfg-lenient\n  formatter: '%p %q %m'\n")).unwrap();
    let logger = sylar_log::logger("cfg-lenient");
    assert_eq!(logger.formatter().pattern(), "%p %q %m");
    // The configured formatter is the logger's: an appender without its own uses it.
    let inherits = std::sync::Arc::new(MemoryAppender::default());
    logger.set_appenders(vec![inherits.clone(), capture.clone()]);
    sylar_info!(logger, "shown");
    assert_eq!(
        inherits.lines(),
        ["INFO <<%q: unknown item `%q` at byte 3>> shown"]
    );
    assert_eq!(capture.lines(), ["shown"]);
}

/// Logger `name` at `Warn`, writing its messages (`%m`) to a capture: set up
/// by hand, so that a refused configuration can be seen to leave it alone.
fn watched(name: &str) -> (Arc<Logger>, Arc<MemoryAppender>) {
    let capture = MemoryAppender::with_pattern("%m");
    let logger = sylar_log::logger(name);
    logger.set_appenders(vec![capture.clone()]);
    logger.set_level(Level::Warn);
    (logger, capture)
}

#[test]
fn an_error_changes_nothing() {
    let _serial = serial();
    let (logger, capture) = watched("cfg-unchanged");
    let unopenable = temp_path("cfg-dir");
    fs::create_dir(&unopenable).unwrap();

    let good = LogDefine {
        name: "cfg-unchanged".into(),
        level: Level::Debug,
        formatter: None,
        appenders: vec![],
    };
    let bad_file = LogDefine {
        name: "cfg-other".into(),
        level: Level::Debug,
        formatter: None,
        appenders: vec![AppenderDefine {
            kind: AppenderKind::File,
            file: Some(unopenable.clone()),
            level: None,
            formatter: None,
            asynchronous: false,
        }],
    };
    let error = apply_config(&[good.clone(), bad_file]).unwrap_err();
    assert!(
        matches!(&error, LogError::Open { path, .. } if *path == unopenable),
        "{error}"
    );

    let no_file = yaml("- name: cfg-x\n  appenders: [{type: file}]\n");
    let error = apply_config(&[good.clone(), no_file[0].clone()]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad log configuration: logger `cfg-x`: a file appender needs `file: <path>`"
    );

    let stdout_with_file = yaml("- name: cfg-y\n  appenders: [{type: stdout, file: /tmp/x}]\n");
    let error = apply_config(&stdout_with_file).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("takes neither `file` nor `async`"),
        "{error}"
    );

    let error = apply_config(&[good.clone(), good]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad log configuration: logger `cfg-unchanged` is defined twice"
    );

    // After four refused configurations the logger is exactly as it was.
    assert_eq!(logger.level(), Level::Warn);
    sylar_info!(logger, "dropped");
    sylar_log::sylar_warn!(logger, "still captured");
    assert_eq!(capture.lines(), ["still captured"]);
    fs::remove_dir(&unopenable).unwrap();
}

/// A one-logger list for `cfg-checked` at `debug`, writing to the file `path`.
fn file_list(path: &Path) -> Vec<LogDefine> {
    yaml(&format!(
        "- name: cfg-checked\n  level: debug\n  appenders: [{{type: file, file: {}}}]\n",
        path.display()
    ))
}

/// Every entry under `root` (itself included, links not followed), with its size and
/// modification time: equal listings mean nothing was created, removed or written.
fn tree(root: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut entries = Vec::new();
    let mut todo = vec![root.to_owned()];
    while let Some(path) = todo.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            todo.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        entries.push((path, meta.len(), meta.modified().unwrap()));
    }
    entries.sort();
    entries
}

#[test]
fn check_config_refuses_what_apply_would_with_the_same_text_and_creates_nothing() {
    let _serial = serial();
    let (logger, capture) = watched("cfg-checked");
    let base = temp_path("cfg-check-refused");
    let a_dir = base.join("a-dir");
    fs::create_dir_all(&a_dir).unwrap();
    let blocker = base.join("blocker");
    fs::write(&blocker, "").unwrap();

    // (list, what the error says); apply_config is asked the same, and must agree.
    let refused = [
        (file_list(&a_dir), "Is a directory"),
        (file_list(&blocker.join("app.log")), "Not a directory"),
        (
            file_list(&blocker.join("sub").join("app.log")),
            "Not a directory",
        ),
        // Paths that can only name a directory, existing or not: refused by
        // what they say, before anything looks at the disk.
        (
            yaml("- name: cfg-e\n  appenders: [{type: file, file: \"\"}]\n"),
            "names a directory",
        ),
        (file_list(&base.join("new-dir/")), "names a directory"),
        (file_list(&base.join("new-dir/.")), "names a directory"),
        (file_list(&base.join("..")), "names a directory"),
        (
            yaml("- name: cfg-x\n  appenders: [{type: file}]\n"),
            "needs `file: <path>`",
        ),
        (
            yaml("- name: cfg-y\n  appenders: [{type: stdout, async: true}]\n"),
            "takes neither `file` nor `async`",
        ),
        (
            yaml("- name: cfg-z\n- name: cfg-z\n"),
            "`cfg-z` is defined twice",
        ),
    ];
    let before = tree(&base);
    for (defs, reason) in &refused {
        let checked = check_config(defs).unwrap_err().to_string();
        assert!(checked.contains(reason), "{checked}");
        assert_eq!(
            tree(&base),
            before,
            "check_config changed the disk: {checked}"
        );
        assert_eq!(checked, apply_config(defs).unwrap_err().to_string());
    }

    // No logger changed either.
    assert_eq!(logger.level(), Level::Warn);
    sylar_log::sylar_warn!(logger, "still captured");
    assert_eq!(capture.lines(), ["still captured"]);
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn check_config_passes_a_good_list_without_creating_or_writing_anything() {
    let _serial = serial();
    let (logger, capture) = watched("cfg-checked");

    // A file whose directories do not exist yet: the list passes, and afterwards
    // neither the file nor any of its directories exists.
    let top = temp_path("cfg-check-new");
    let fresh = top.join("sub").join("app.log");
    check_config(&file_list(&fresh)).unwrap();
    assert!(!top.exists(), "check_config created {}", top.display());

    // A file in an existing directory: nothing is created beside it.
    let dir = temp_path("cfg-check-dir");
    fs::create_dir(&dir).unwrap();
    let before = tree(&dir);
    check_config(&file_list(&dir.join("app.log"))).unwrap();
    assert_eq!(tree(&dir), before, "check_config created the file");

    // An existing file keeps its content, byte for byte, and its modification time.
    let kept = dir.join("kept.log");
    fs::write(&kept, "one line\n").unwrap();
    let before = tree(&dir);
    check_config(&file_list(&kept)).unwrap();
    assert_eq!(fs::read(&kept).unwrap(), b"one line\n");
    assert_eq!(tree(&dir), before);

    // The logger is untouched until a list is applied.
    assert_eq!(logger.level(), Level::Warn);
    sylar_log::sylar_warn!(logger, "still captured");
    assert_eq!(capture.lines(), ["still captured"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_logger_left_out_of_the_next_configuration_is_reset() {
    let _serial = serial();
    let path = temp_path("cfg-reset.log");
    let defs = yaml(&format!(
        "- name: cfg-reset\n  level: error\n  formatter: '%m%n'\n  appenders: [{{type: file, file: {}}}]\n- name: cfg-stays\n  level: warn\n",
        path.display()
    ));
    apply_config(&defs).unwrap();
    let reset = sylar_log::logger("cfg-reset");
    assert_eq!(reset.level(), Level::Error);
    assert_eq!(reset.appenders().len(), 1);

    apply_config(&defs[1..]).unwrap();
    assert_eq!(reset.level(), Level::Info);
    assert!(reset.appenders().is_empty(), "writes through root again");
    assert_eq!(reset.formatter().pattern(), sylar_log::DEFAULT_PATTERN);
    assert_eq!(sylar_log::logger("cfg-stays").level(), Level::Warn);
    fs::remove_file(&path).unwrap();
}

#[test]
fn root_left_out_of_the_next_configuration_gets_its_stdout_appender_back() {
    let _serial = serial();
    let root = sylar_log::root();
    let saved = root.appenders();
    apply_config(&yaml("- name: root\n  level: warn\n")).unwrap();
    assert!(root.appenders().is_empty());
    assert_eq!(root.level(), Level::Warn);
    apply_config(&[]).unwrap();
    assert_eq!(root.level(), Level::Info);
    let appenders = format!("{:?}", root.appenders());
    assert!(appenders.starts_with("[StdoutAppender"), "{appenders}");
    root.set_appenders(saved);
}
