//! YAML nodes that serde_yaml reads in a way a config file's author may not
//! expect: keys that are not text (null, floats), tagged sections, and integers
//! beyond 64 bits. Each either does what the text says or is reported, and none
//! costs the rest of the document.

use serde::{Deserialize, Serialize};
use sylar_config::{ConfigError, ProblemKind, Registry};

#[test]
fn a_null_or_float_key_names_no_variable_and_is_listed_as_invalid() {
    let registry = Registry::new();
    let null = registry.lookup("null", 0, "").unwrap();
    let one_five = registry.lookup("1.5", 0, "").unwrap();
    let server_null = registry.lookup("server.null", 0, "").unwrap();
    let port = registry.lookup("server.port", 0, "").unwrap();
    let (number, flag) = (
        registry.lookup("8080", 0, "").unwrap(),
        registry.lookup("true", 0, "").unwrap(),
    );
    let text = "~: 1\n1.50: 2\nserver:\n  null: 3\n  port: 4\n8080: 5\nTrue: 6\n";
    let report = registry.load_yaml_str(text).unwrap();
    assert_eq!(report.invalid_keys, ["~", "1.5", "server.~"]);
    assert_eq!(report.applied, ["8080", "server.port", "true"]);
    assert_eq!((null.get(), one_five.get(), server_null.get()), (0, 0, 0));
    assert_eq!((port.get(), number.get(), flag.get()), (4, 5, 6));
    // Quoted, the word is text and names the variable.
    registry.load_yaml_str("\"null\": 7\n").unwrap();
    assert_eq!(null.get(), 7);
}

#[test]
fn the_names_under_a_tagged_section_are_set_and_the_tag_is_for_serde() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Mode {
        Plain,
        Tls { port: u16 },
    }
    let registry = Registry::new();
    let port = registry.lookup("server.port", 0_u16, "").unwrap();
    let host = registry.lookup("server.host", String::new(), "").unwrap();
    let mode = registry.lookup("mode", Mode::Plain, "").unwrap();
    let mode_port = registry.lookup("mode.port", 0_u16, "").unwrap();
    let text = "server: !anything {port: 1}\nmode: !Tls\n  port: 443\n";
    let report = registry.load_yaml_str(text).unwrap();
    assert_eq!(report.applied, ["mode", "mode.port", "server.port"]);
    assert_eq!(port.get(), 1);
    assert_eq!(mode.get(), Mode::Tls { port: 443 });
    assert_eq!(mode_port.get(), 443);
    registry
        .load_yaml_str("server: !anything\n  host: example.org\n")
        .unwrap();
    assert_eq!(host.get(), "example.org");
}

#[test]
fn an_integer_beyond_64_bits_fails_only_the_variable_that_reads_it() {
    let registry = Registry::new();
    let port = registry.lookup("port", 0_u64, "").unwrap();
    let list = registry.lookup("list", vec![0_i64], "").unwrap();
    // Under a key no variable has: the rest of the document loads.
    let text = "other: 99999999999999999999999\nport: 1\n";
    let report = registry.load_yaml_str(text).unwrap();
    assert_eq!(report.unregistered, ["other"]);
    assert_eq!(port.get(), 1);

    // Read by a variable: that key is rejected, saying why, and nothing changes.
    let err = registry
        .load_yaml_str("port: 2\nlist: [1, -99999999999999999999999]\n")
        .unwrap_err();
    let ConfigError::Rejected { problems } = &err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(problems.len(), 1, "{err}");
    assert_eq!(problems[0].key, "list");
    let ProblemKind::WrongType { message, .. } = &problems[0].kind else {
        panic!("expected WrongType, got {:?}", problems[0].kind);
    };
    assert!(
        message.contains("-99999999999999999999999") && message.contains("out of range"),
        "{message}"
    );
    assert_eq!((port.get(), list.get()), (1, vec![0]));

    // A variable registered later under `other` keeps its default.
    let other = registry.lookup("other", 5_u64, "").unwrap();
    assert_eq!(other.get(), 5);
}
