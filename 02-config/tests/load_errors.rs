//! Bad input gives an error that says where, and changes nothing.

mod common;

use common::TempDir;
use sylar_config::{ConfigError, ProblemKind, Registry};

#[test]
fn invalid_yaml_text_names_line_and_column() {
    let registry = Registry::new();
    let err = registry
        .load_yaml_str("a: 1\nb: [1, 2\nc: 3\n")
        .unwrap_err();
    match &err {
        ConfigError::Yaml {
            file,
            line,
            column,
            message,
        } => {
            assert_eq!(*file, None);
            assert!(line.is_some_and(|l| l >= 2), "line {line:?}");
            assert!(column.is_some(), "column");
            assert!(!message.is_empty());
        }
        other => panic!("expected Yaml, got {other:?}"),
    }
    assert!(err.to_string().starts_with("<string>:"), "{err}");
}

#[test]
fn invalid_yaml_in_a_file_names_the_file_line_and_column() {
    let dir = TempDir::new("bad-yaml");
    let path = dir.write("bad.yml", "ok: 1\nname: value\n  nested: oops\n");
    let registry = Registry::new();
    let ok = registry.lookup("ok", 0, "").unwrap();
    let err = registry.load_file(&path).unwrap_err();
    let ConfigError::Yaml {
        file, line, column, ..
    } = &err
    else {
        panic!("expected Yaml, got {err:?}");
    };
    assert_eq!(file.as_deref(), Some(path.as_path()));
    assert_eq!(*line, Some(3));
    assert!(column.is_some());
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}:3:", path.display())),
        "{shown}"
    );
    assert_eq!(ok.get(), 0, "a malformed file applies nothing");
}

#[test]
fn a_wrong_type_names_the_key_and_file_and_keeps_the_old_value() {
    let dir = TempDir::new("wrong-type");
    let path = dir.write("app.yml", "space:\n  num: seven\n");
    let registry = Registry::new();
    let num = registry.lookup("space.num", 7_i32, "").unwrap();
    let err = registry.load_file(&path).unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "space.num");
    assert_eq!(problems[0].file.as_deref(), Some(path.as_path()));
    let ProblemKind::WrongType { expected, message } = &problems[0].kind else {
        panic!("expected WrongType, got {:?}", problems[0].kind);
    };
    assert_eq!(*expected, "i32");
    assert!(message.contains("seven"), "{message}");
    let shown = err.to_string();
    assert!(
        shown.contains("space.num") && shown.contains("app.yml"),
        "{shown}"
    );
    assert_eq!(num.get(), 7);
}

#[test]
fn a_load_with_one_bad_value_applies_none_and_lists_every_bad_key() {
    let registry = Registry::new();
    let good = registry.lookup("good", 1_u8, "").unwrap();
    let small = registry.lookup("small", 1_u8, "").unwrap();
    let list = registry.lookup("list", vec![1_u8], "").unwrap();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&calls);
    good.add_listener(move |_, _| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let err = registry
        .load_yaml_str("good: 2\nsmall: 300\nlist: {a: 1}\n")
        .unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["list", "small"]);
    assert_eq!(good.get(), 1, "the good value was not applied either");
    assert_eq!(small.get(), 1);
    assert_eq!(list.get(), vec![1]);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);

    // The same file with the mistakes fixed applies everything.
    let report = registry
        .load_yaml_str("good: 2\nsmall: 30\nlist: [4]\n")
        .unwrap();
    assert_eq!(report.changed, ["good", "list", "small"]);
    assert_eq!((good.get(), small.get(), list.get()), (2, 30, vec![4]));
}

#[test]
fn a_top_level_that_is_not_a_mapping_is_an_error() {
    let registry = Registry::new();
    let err = registry.load_yaml_str("- a\n- b\n").unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::NotAMapping {
                found: "a sequence",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_empty_document_is_an_empty_load() {
    let registry = Registry::new();
    let report = registry.load_yaml_str("# nothing here\n").unwrap();
    assert_eq!(report, Default::default());
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("absent.yml");
    let err = Registry::new().load_file(&path).unwrap_err();
    let ConfigError::Io {
        path: named,
        source,
    } = &err
    else {
        panic!("expected Io, got {err:?}");
    };
    assert_eq!(named, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_missing_directory_is_an_io_error_naming_it() {
    let dir = TempDir::new("missing-dir");
    let path = dir.path().join("nope");
    let err = Registry::new().load_dir(&path, false).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
}

/// YAML's parser (libyaml, inside serde_yaml) spends time proportional to the
/// nesting depth on every token, and reads the whole document before serde_yaml's
/// own depth limit applies: 100,000 unclosed `[` kept a (debug) load busy for six
/// minutes, and twice as many takes four times as long. The
/// loader measures the nesting first and refuses it at once, naming where it went
/// too deep; the watchdog turns the old behaviour into a failure instead of a hang.
#[test]
fn absurdly_deep_flow_nesting_is_refused_at_once_with_its_position() {
    let registry = Registry::new();
    let list = registry.lookup("list", vec![1_i32], "").unwrap();
    for opener in ['[', '{'] {
        let text = format!("list: {}\n", opener.to_string().repeat(200_000));
        let err = common::within_deadline("a deeply nested load", {
            let registry = Registry::new();
            move || registry.load_yaml_str(&text).unwrap_err()
        });
        let ConfigError::Yaml {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("expected Yaml, got {err:?}");
        };
        assert!(message.contains("nested deeper than"), "{message}");
        assert_eq!(*line, Some(1));
        // `list: ` is 6 columns; the error points at the first opener too many.
        assert_eq!(*column, Some(6 + 257), "{message}");
    }
    assert_eq!(list.get(), [1], "a refused load changes nothing");
    // Real documents are nowhere near the limit: 100 levels, brackets inside
    // quotes, comments, plain text and block scalars do not count as nesting.
    let brackets = "{[".repeat(300);
    let text = format!(
        "deep: [{}7{}]\nnote: '{brackets}'\nplain: a{brackets}\n# {brackets}\nblock: |\n  {brackets}\n",
        "[".repeat(99),
        "]".repeat(99),
    );
    let report = registry.load_yaml_str(&text).map_err(|e| e.to_string());
    assert_eq!(
        report.map(|r| r.unregistered),
        Ok(vec![
            "block".into(),
            "deep".into(),
            "note".into(),
            "plain".into()
        ])
    );
}

/// A "billion laughs" document: `a` lists 1,000 scalars, `b` names `a` 100 times,
/// `c` names `b` 10 times. serde_yaml's own guard counts alias *jumps* (at most 100
/// per event of the document), not the nodes they replay, so these 2 KB expand to
/// a million nodes (about 230 MB), and one level more to a hundred million. The
/// loader bounds what aliases may expand to by the size of the text.
#[test]
fn aliases_that_expand_far_beyond_the_text_are_refused() {
    let registry = Registry::new();
    let list = registry.lookup("list", vec![1_i32], "").unwrap();
    let text = format!(
        "list: [2]\na: &a [{}]\nb: &b [{}]\nc: &c [{}]\n",
        ["x"; 1000].join(","),
        ["*a"; 100].join(","),
        ["*b"; 10].join(","),
    );
    assert!(text.len() < 3000);
    let err = registry.load_yaml_str(&text).unwrap_err();
    let ConfigError::Yaml { message, .. } = &err else {
        panic!("expected Yaml, got {err:?}");
    };
    assert!(message.contains("aliases expand"), "{message}");
    assert_eq!(list.get(), [1], "a refused load changes nothing");

    // Anchors used as YAML users use them, a shared section merged into many
    // others, load as before.
    let mut text = String::from("list: [3]\nbase: &base {a: 1, b: [1, 2, 3], c: {d: x, e: y}}\n");
    for i in 0..50 {
        text.push_str(&format!("s{i}:\n  <<: *base\n  own: {i}\n  copy: *base\n"));
    }
    registry.load_yaml_str(&text).unwrap();
    assert_eq!(list.get(), [3]);
}

/// Milliseconds written as `"250ms"`, parsed by a hand-written deserializer that
/// trusts its input, as such helpers often do: `"soon"` makes it panic.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Timeout(#[serde(deserialize_with = "millis")] u64);

fn millis<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    Ok(text.trim_end_matches("ms").parse().unwrap())
}

/// A value type's `Deserialize` is program code that runs on what the file says.
/// When it panics, the load is rejected with the key and the panic's message, as
/// for a value of the wrong type, and nothing changes; a variable registered after
/// such a value was loaded keeps its default. Before, the panic unwound out of the
/// load into its caller.
#[test]
fn a_panicking_deserialize_rejects_the_value_instead_of_unwinding() {
    let registry = Registry::new();
    let timeout = registry.lookup("timeout", Timeout(100), "").unwrap();
    let other = registry.lookup("other", 1, "").unwrap();

    let err = registry
        .load_yaml_str("timeout: soon\nother: 2\n")
        .unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "timeout");
    let ProblemKind::WrongType { message, .. } = &problems[0].kind else {
        panic!("expected WrongType, got {:?}", problems[0].kind);
    };
    assert!(
        message.contains("panicked") && message.contains("ParseIntError"),
        "{message}"
    );
    assert_eq!((timeout.get(), other.get()), (Timeout(100), 1));

    registry.load_yaml_str("timeout: 250ms\n").unwrap();
    assert_eq!(timeout.get(), Timeout(250));

    registry.load_yaml_str("late: soon\n").unwrap();
    let late = registry.lookup("late", Timeout(7), "").unwrap();
    assert_eq!(late.get(), Timeout(7));
}
