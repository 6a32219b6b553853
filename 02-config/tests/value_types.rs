//! Every std collection, nesting and a user struct go through YAML and back: what
//! sylar needs a `LexicalCast` specialisation for, serde gives us for free.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, LinkedList, VecDeque};
use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use sylar_config::{ConfigValue, Registry};

/// Registers `name` with `default`, loads `yaml`, and checks the value became
/// `expected`; then checks that the variable's YAML text loads back to the same value.
fn loads_and_round_trips<T: ConfigValue + Debug>(name: &str, default: T, yaml: &str, expected: T) {
    let registry = Registry::new();
    let var = registry.lookup(name, default.clone(), "test").unwrap();
    assert_eq!(var.get(), default, "{name} starts at its default");
    let report = registry.load_yaml_str(yaml).unwrap();
    assert_eq!(var.get(), expected, "{name} after loading:\n{yaml}");
    assert_eq!(report.changed, [name]);

    // The YAML text of the value is itself valid input for the same variable.
    let other = Registry::new();
    let copy = other.lookup(name, default, "test").unwrap();
    let text = var.to_yaml();
    let nested = format!("{name}:\n{}", indent(&text));
    other.load_yaml_str(&nested).unwrap();
    assert_eq!(copy.get(), expected, "{name} round trip through:\n{nested}");
}

/// Indents every line of `text` by two spaces, to nest it under a key.
fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

#[test]
fn the_articles_example_flattens_space_vec_and_space_num() {
    let registry = Registry::new();
    let vec = registry.lookup("space.vec", vec![1, 2], "a list").unwrap();
    let num = registry.lookup("space.num", 1_i32, "a number").unwrap();
    let report = registry
        .load_yaml_str("space:\n  vec: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  num: 7\n")
        .unwrap();
    assert_eq!(vec.get(), (0..10).collect::<Vec<i32>>());
    assert_eq!(num.get(), 7);
    assert_eq!(report.applied, ["space.num", "space.vec"]);
    assert!(report.unregistered.is_empty(), "{report:?}");
}

#[test]
fn scalars_load() {
    loads_and_round_trips("port", 80_u16, "port: 8080", 8080);
    loads_and_round_trips("ratio", 0.5_f64, "ratio: 2.25", 2.25);
    loads_and_round_trips("enabled", false, "enabled: true", true);
    loads_and_round_trips(
        "host",
        String::from("a"),
        "host: example.org",
        "example.org".into(),
    );
    loads_and_round_trips("maybe", Some(1_u8), "maybe: ~", None);
}

#[test]
fn vec_loads() {
    loads_and_round_trips("v", vec![1_i64], "v: [3, 2, 1]", vec![3, 2, 1]);
}

#[test]
fn vec_deque_loads() {
    let expected: VecDeque<i32> = [5, 6].into();
    loads_and_round_trips("v", VecDeque::new(), "v:\n  - 5\n  - 6\n", expected);
}

#[test]
fn linked_list_loads() {
    let expected: LinkedList<String> = ["a".to_owned(), "b".to_owned()].into();
    loads_and_round_trips("v", LinkedList::new(), "v: [a, b]", expected);
}

#[test]
fn btree_set_loads_and_deduplicates() {
    let expected: BTreeSet<u32> = [1, 2, 3].into();
    loads_and_round_trips("s", BTreeSet::new(), "s: [3, 1, 2, 1]", expected);
}

#[test]
fn hash_set_loads_and_deduplicates() {
    let expected: HashSet<String> = ["x".to_owned(), "y".to_owned()].into();
    loads_and_round_trips("s", HashSet::new(), "s: [x, y, x]", expected);
}

#[test]
fn btree_map_with_string_keys_loads() {
    let expected: BTreeMap<String, u16> = [("http".into(), 80), ("https".into(), 443)].into();
    loads_and_round_trips(
        "ports",
        BTreeMap::new(),
        "ports: {http: 80, https: 443}",
        expected,
    );
}

#[test]
fn hash_map_with_string_keys_loads() {
    let expected: HashMap<String, bool> = [("a".into(), true), ("b".into(), false)].into();
    loads_and_round_trips(
        "flags",
        HashMap::new(),
        "flags:\n  a: true\n  b: false\n",
        expected,
    );
}

#[test]
fn nested_collections_load() {
    let expected: BTreeMap<String, Vec<HashSet<i32>>> =
        [("k".into(), vec![[1, 2].into(), HashSet::new()])].into();
    loads_and_round_trips(
        "deep",
        BTreeMap::new(),
        "deep:\n  k: [[1, 2, 2], []]\n",
        expected,
    );

    let expected: Vec<BTreeMap<String, LinkedList<String>>> =
        vec![[("names".into(), ["x".into()].into())].into()];
    loads_and_round_trips(
        "list_of_maps",
        Vec::new(),
        "list_of_maps:\n  - names: [x]\n",
        expected,
    );
}

/// A user type: sylar needs a hand-written `LexicalCast` pair for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Person {
    name: String,
    age: u32,
    #[serde(default)]
    sex: bool,
}

#[test]
fn a_user_struct_with_serde_derive_loads() {
    let default = Person {
        name: "nobody".into(),
        age: 0,
        sex: false,
    };
    let expected = Person {
        name: "sylar".into(),
        age: 31,
        sex: false,
    };
    loads_and_round_trips(
        "class.person",
        default,
        "class:\n  person: {name: sylar, age: 31}\n",
        expected,
    );
}

#[test]
fn a_map_of_user_structs_loads() {
    let expected: HashMap<String, Person> = [(
        "p1".into(),
        Person {
            name: "a".into(),
            age: 1,
            sex: true,
        },
    )]
    .into();
    loads_and_round_trips(
        "class.map",
        HashMap::new(),
        "class:\n  map:\n    p1: {name: a, age: 1, sex: true}\n",
        expected,
    );
}

#[test]
fn a_section_and_a_field_inside_it_can_both_be_variables() {
    let registry = Registry::new();
    let whole = registry
        .lookup(
            "server",
            BTreeMap::<String, u16>::new(),
            "the whole section",
        )
        .unwrap();
    let port = registry.lookup("server.port", 0_u16, "one field").unwrap();
    registry
        .load_yaml_str("server: {port: 8080, workers: 4}")
        .unwrap();
    assert_eq!(port.get(), 8080);
    assert_eq!(
        whole.get(),
        [("port".into(), 8080), ("workers".into(), 4)].into()
    );
}

#[test]
fn variables_remember_name_description_default_and_yaml_text() {
    let registry = Registry::new();
    let var = registry
        .lookup("space.vec", vec![1, 2], "a list of ints")
        .unwrap();
    assert_eq!(var.name(), "space.vec");
    assert_eq!(var.description(), "a list of ints");
    assert_eq!(var.default_value(), &vec![1, 2]);
    assert_eq!(var.to_yaml(), "- 1\n- 2\n");
    var.set(vec![9]);
    assert_eq!(var.to_yaml(), "- 9\n");
    assert_eq!(
        var.default_value(),
        &vec![1, 2],
        "set does not change the default"
    );
    var.reset();
    assert_eq!(var.get(), vec![1, 2]);
    assert!(var.type_name().contains("Vec<i32>"), "{}", var.type_name());
}
