//! YAML keys are matched case-insensitively; keys that fold onto the same name are
//! an error for a registered variable; keys that cannot be names are listed.

use std::collections::BTreeMap;

use sylar_config::{ConfigError, ProblemKind, Registry};

#[test]
fn uppercase_keys_set_the_lowercase_variable() {
    let registry = Registry::new();
    let num = registry.lookup("space.num", 0, "").unwrap();
    let report = registry.load_yaml_str("Space:\n  NUM: 7\n").unwrap();
    assert_eq!(num.get(), 7);
    assert_eq!(report.applied, ["space.num"]);
}

#[test]
fn keys_that_fold_onto_a_registered_name_are_rejected() {
    let registry = Registry::new();
    let port = registry.lookup("port", 1_u16, "").unwrap();
    let other = registry.lookup("other", 1_u16, "").unwrap();
    let err = registry
        .load_yaml_str("other: 2\nPort: 80\nport: 8080\n")
        .unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "port");
    assert_eq!(
        problems[0].kind,
        ProblemKind::Ambiguous {
            spellings: vec!["Port".into(), "port".into()]
        }
    );
    assert!(err.to_string().contains("Port, port"), "{err}");
    assert_eq!(port.get(), 1, "nothing applied");
    assert_eq!(other.get(), 1, "nothing applied, not even the good key");
}

#[test]
fn a_dotted_key_and_a_nested_key_for_the_same_name_are_rejected() {
    let registry = Registry::new();
    let num = registry.lookup("space.num", 0, "").unwrap();
    let err = registry
        .load_yaml_str("space:\n  num: 1\nspace.num: 2\n")
        .unwrap_err();
    assert!(matches!(err, ConfigError::Rejected { .. }), "{err:?}");
    assert_eq!(num.get(), 0);
}

#[test]
fn a_dotted_key_alone_sets_the_variable() {
    let registry = Registry::new();
    let num = registry.lookup("space.num", 0, "").unwrap();
    registry.load_yaml_str("space.num: 3\n").unwrap();
    assert_eq!(num.get(), 3);
}

#[test]
fn keys_inside_a_map_value_keep_their_case_and_may_differ_only_in_case() {
    let registry = Registry::new();
    let headers = registry
        .lookup("headers", BTreeMap::<String, String>::new(), "")
        .unwrap();
    let report = registry
        .load_yaml_str("headers:\n  Content-Type: text/html\n  X: upper\n  x: lower\n")
        .unwrap();
    let expected: BTreeMap<String, String> = [
        ("Content-Type".into(), "text/html".into()),
        ("X".into(), "upper".into()),
        ("x".into(), "lower".into()),
    ]
    .into();
    assert_eq!(headers.get(), expected);
    assert!(report.invalid_keys.is_empty(), "{report:?}");
    assert!(report.unregistered.is_empty(), "{report:?}");
}

#[test]
fn unregistered_keys_are_ignored_and_listed_once_per_section() {
    let registry = Registry::new();
    let port = registry.lookup("server.port", 0_u16, "").unwrap();
    let report = registry
        .load_yaml_str(
            "server:\n  port: 80\n  host: a\nlogging:\n  level: info\n  file: x\nTop: 1\n",
        )
        .unwrap();
    assert_eq!(port.get(), 80);
    assert_eq!(report.unregistered, ["logging", "server.host", "top"]);
}

#[test]
fn keys_that_cannot_be_names_are_listed_as_spelled() {
    let registry = Registry::new();
    let port = registry.lookup("server.port", 0_u16, "").unwrap();
    let report = registry
        .load_yaml_str("server:\n  port: 80\n  max-conn: 10\nbad key: 1\n")
        .unwrap();
    assert_eq!(port.get(), 80);
    assert_eq!(report.invalid_keys, ["server.max-conn", "bad key"]);
}
