//! `dump_yaml` nests the dotted names and loads back to the same values.

use std::collections::BTreeMap;

use sylar_config::Registry;

#[test]
fn an_empty_registry_dumps_an_empty_mapping() {
    assert_eq!(Registry::new().dump_yaml(), "{}\n");
}

#[test]
fn the_dump_nests_dotted_names_in_sorted_order() {
    let registry = Registry::new();
    registry.lookup("space.vec", vec![1, 2], "").unwrap();
    registry.lookup("space.num", 7, "").unwrap();
    registry.lookup("port", 8080_u16, "").unwrap();
    assert_eq!(
        registry.dump_yaml(),
        "port: 8080\nspace:\n  num: 7\n  vec:\n  - 1\n  - 2\n"
    );
}

#[test]
fn a_variable_inside_another_variables_name_is_written_beside_it() {
    let registry = Registry::new();
    let ports: BTreeMap<String, u16> = [("http".into(), 80)].into();
    registry.lookup("server.ports", ports, "").unwrap();
    registry.lookup("server.ports.extra", 9_u16, "").unwrap();
    assert_eq!(
        registry.dump_yaml(),
        "server:\n  ports:\n    http: 80\n  ports.extra: 9\n"
    );
}

#[test]
fn a_dump_loads_back_into_the_same_values() {
    let source = Registry::new();
    let ports: BTreeMap<String, u16> = [("http".into(), 80), ("https".into(), 443)].into();
    source.lookup("server.ports", ports.clone(), "").unwrap();
    source.lookup("server.ports.extra", 9_u16, "").unwrap();
    source
        .lookup("server.name", String::from("sylar"), "")
        .unwrap();
    source.lookup("limits", vec![1_u64, 2, 3], "").unwrap();
    source.lookup("tls", Some(true), "").unwrap();

    let target = Registry::new();
    let t_ports = target.lookup("server.ports", BTreeMap::new(), "").unwrap();
    let t_extra = target.lookup("server.ports.extra", 0_u16, "").unwrap();
    let t_name = target.lookup("server.name", String::new(), "").unwrap();
    let t_limits = target.lookup("limits", Vec::<u64>::new(), "").unwrap();
    let t_tls = target.lookup("tls", None::<bool>, "").unwrap();
    let report = target.load_yaml_str(&source.dump_yaml()).unwrap();
    assert!(report.unregistered.is_empty(), "{report:?}");
    assert_eq!(t_ports.get(), ports);
    assert_eq!(t_extra.get(), 9);
    assert_eq!(t_name.get(), "sylar");
    assert_eq!(t_limits.get(), [1, 2, 3]);
    assert_eq!(t_tls.get(), Some(true));
    assert_eq!(target.dump_yaml(), source.dump_yaml());
}

/// Found by the `config_load` fuzz target: `limits: {extra: 5}` sets both the
/// map `limits` and, walked into, the variable `limits.extra`. The dump wrote
/// `limits.extra: 5` again beside the map, and loading it back refused
/// `limits.extra` as set by two keys.
#[test]
fn a_variable_that_its_enclosing_value_already_sets_is_written_once() {
    let source = Registry::new();
    let limits: BTreeMap<String, u64> = [("body".into(), 1)].into();
    source.lookup("limits", limits, "").unwrap();
    source.lookup("limits.extra", -1_i64, "").unwrap();
    source.load_yaml_str("limits:\n  extra: 5\n").unwrap();
    let dump = source.dump_yaml();
    assert_eq!(dump, "limits:\n  extra: 5\n");

    let target = Registry::new();
    let t_limits = target
        .lookup("limits", BTreeMap::<String, u64>::new(), "")
        .unwrap();
    let t_extra = target.lookup("limits.extra", 0_i64, "").unwrap();
    target.load_yaml_str(&dump).unwrap();
    assert_eq!(t_limits.get(), [("extra".to_owned(), 5)].into());
    assert_eq!(t_extra.get(), 5);
    assert_eq!(target.dump_yaml(), dump);
}

/// A login whose password is kept out of every dump.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Login {
    user: String,
    #[serde(skip_serializing)]
    password: String,
}

/// A value whose YAML form does not load back into its type (a field that is
/// never serialized, a `u128` beyond 64 bits) made the whole dump fail to load
/// back: one such variable cost every other one its round trip.
#[test]
fn a_value_whose_yaml_does_not_load_back_is_left_out_and_named() {
    let source = Registry::new();
    source.lookup("big", u128::MAX, "").unwrap();
    let login = Login {
        user: "admin".into(),
        password: "s3cret".into(),
    };
    source.lookup("login", login, "").unwrap();
    source.lookup("port", 8080_u16, "").unwrap();
    let dump = source.dump_yaml();
    let lines: Vec<&str> = dump.lines().collect();
    assert!(lines[0].starts_with("# big: not shown: "), "{dump}");
    assert!(lines[1].starts_with("# login: not shown: "), "{dump}");
    assert!(lines[1].contains("password"), "says why: {dump}");
    assert_eq!(lines[2..], ["port: 8080"]);

    let target = Registry::new();
    let big = target.lookup("big", 1_u128, "").unwrap();
    let port = target.lookup("port", 0_u16, "").unwrap();
    target.load_yaml_str(&dump).unwrap();
    assert_eq!((big.get(), port.get()), (1, 8080));
}
