//! Every variable as one YAML document, nested by the dotted names: the page a later
//! chapter serves at `/_/config`, and a file that loads back to the same values.
//!
//! ```text
//! space.num = 7            space:
//! space.vec = [1, 2]  ==>    num: 7
//! port      = 8080           vec: [1, 2]
//!                          port: 8080
//! ```
//!
//! A variable's own value is never opened to nest another variable inside it: with
//! variables `a` (a map) and `a.b`, writing `b` into `a`'s map would change `a`'s
//! value when the dump is loaded back. The deeper one is written with a dotted key
//! (`a.b: ...`) beside `a` instead, which flattens to the same name on loading.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use crate::flatten::nested_node;
use crate::global::log_error;
use crate::registry::Registry;
use crate::value::cannot_show;

/// A node of the tree being built: a section holding names, or a variable's value.
enum Node {
    /// An intermediate level (`space` above `space.num`).
    Section(BTreeMap<String, Node>),
    /// A variable's value, never opened.
    Leaf(Value),
}

impl Registry {
    // ANCHOR: dump_yaml
    /// Every variable's current value as one YAML document, nested by the dotted
    /// names, keys sorted. Loading it into a registry with the same variables gives
    /// them the same values.
    ///
    /// A value whose `Serialize` fails (returns an error or panics), or whose
    /// YAML form does not load back into its type (a field that is never
    /// serialized, a `u128` beyond 64 bits), is left out, and a comment at the
    /// top of the document names the variable and says why (the `system`
    /// logger is told too). Written, it would make the whole dump fail to load
    /// back; and a placeholder would be stored by a variable of type `String`.
    pub fn dump_yaml(&self) -> String {
        let mut root = BTreeMap::new();
        let mut failed = Vec::new();
        for (name, var) in self.read_vars().iter() {
            match var.yaml_value() {
                // Names come sorted, so `a` is placed before `a.b` and `a.c`.
                Ok(value) => insert(&mut root, name, value),
                Err(err) => failed.push((name.clone(), cannot_show(&err))),
            }
        }
        // Reported with the registry's lock released: a logger's appender is
        // program code, and may look variables up.
        let mut comments = String::new();
        for (name, why) in failed {
            log_error(format_args!("config {name}: not dumped: {why}"));
            comments.push_str(&format!("# {name}: not shown: {why}\n"));
        }
        let body = if root.is_empty() {
            "{}\n".to_owned()
        } else {
            serde_yaml::to_string(&to_value(root)).unwrap_or_default()
        };
        comments + &body
    }
    // ANCHOR_END: dump_yaml
}

// ANCHOR: insert
/// Places `value` at the dotted `name` under `section`, stopping at the first level
/// that is a variable's value and using the rest of the name as one dotted key there.
fn insert(section: &mut BTreeMap<String, Node>, name: &str, value: Value) {
    let (head, rest) = match name.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (name, None),
    };
    match (section.get_mut(head), rest) {
        (Some(Node::Section(children)), Some(rest)) => insert(children, rest, value),
        (None, Some(rest)) => {
            let mut children = BTreeMap::new();
            insert(&mut children, rest, value);
            section.insert(head.to_owned(), Node::Section(children));
        }
        // `head` is a variable: keep the whole remaining name as one key
        // beside it, unless loading `head`'s value sets this name already,
        // to this value (writing it twice would make the load refuse the
        // name as ambiguous). If it would set another value, the two were
        // set apart and no document can say both: the dotted key is written,
        // and loading the dump reports the conflict.
        (Some(Node::Leaf(outer)), Some(_)) => {
            if nested_node(outer, head, name).as_ref() != Some(&value) {
                section.insert(name.to_owned(), Node::Leaf(value));
            }
        }
        // The last part: a new leaf (sorted names never reach an existing section).
        (_, None) => {
            section.insert(head.to_owned(), Node::Leaf(value));
        }
    }
}
// ANCHOR_END: insert

/// Converts the built tree into a YAML mapping.
fn to_value(section: BTreeMap<String, Node>) -> Value {
    let mut mapping = Mapping::new();
    for (key, node) in section {
        let value = match node {
            Node::Section(children) => to_value(children),
            Node::Leaf(value) => value,
        };
        mapping.insert(Value::String(key), value);
    }
    Value::Mapping(mapping)
}
