//! From YAML text to a flat list of dotted names, each with its YAML node.
//!
//! ```text
//! space:                 space      -> {vec: [10, 20], num: 7}
//!   vec: [10, 20]   ==>  space.vec  -> [10, 20]
//!   num: 7               space.num  -> 7
//! ```
//!
//! Like sylar's `ListAllMember`, every mapping is walked and *every* level gets a
//! name, not only the leaves: a variable may hold a whole section (`space`, as a
//! struct) as well as a single number. Sequences and scalars are not walked; a
//! tagged mapping (`server: !tls {port: 1}`) is walked through its tag.
//!
//! Keys are folded to lowercase ([`fold_key`]). Two keys that land on the same name
//! (`Port` and `port`, or `a: {b: 1}` next to `a.b: 2`) make an ambiguous entry,
//! which the loader rejects if a variable has that name. A key that cannot be a name
//! at all (`max-conn`, or a null, float, sequence or mapping key) is
//! recorded with its parent and not walked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml::{Mapping, Value};

use crate::aliases::check_expansion;
use crate::error::ConfigError;
use crate::name::{fold_key, join};
use crate::nesting::{MAX_FLOW_DEPTH, too_deep_at};
use crate::tree::{beyond_64_bits, parse_tree, untagged};
use crate::value::kind_of;

/// One YAML document, flattened.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// The file it was read from, for error messages and the report.
    pub(crate) file: Option<PathBuf>,
    /// Every name the document sets, folded, with what it says.
    pub(crate) entries: BTreeMap<String, Entry>,
    /// Keys that cannot be names, in document order.
    pub(crate) invalid_keys: Vec<InvalidKey>,
}

// ANCHOR: node_ref
/// The parsed tree of a document, shared by every name that points into it.
///
/// Every level of a nested mapping gets a name, so giving each name its own copy
/// of its node would copy the deepest nodes once per level above them: 40 KB of
/// text nested 120 levels deep kept 182 MB of heap. A name holds a [`NodeRef`]
/// instead, and the memory stays in proportion to the text.
#[derive(Debug)]
pub(crate) struct Tree {
    /// The whole document.
    root: Value,
    /// For each named node: its parent's index (`None` under the root) and its
    /// key in the parent's mapping.
    keys: Vec<(Option<usize>, Value)>,
}

/// One node of a shared [`Tree`]: cheap to clone and to keep.
#[derive(Debug, Clone)]
pub(crate) struct NodeRef {
    tree: Arc<Tree>,
    index: usize,
}

impl NodeRef {
    /// The node: found by following the keys from the root, one mapping lookup a
    /// level.
    pub(crate) fn get(&self) -> &Value {
        static NULL: Value = Value::Null;
        let mut path = Vec::new();
        let mut at = Some(self.index);
        while let Some(index) = at {
            let (parent, key) = &self.tree.keys[index];
            path.push(key);
            at = *parent;
        }
        let mut node = &self.tree.root;
        for key in path.into_iter().rev() {
            // Always there: the keys were read from this very tree.
            node = untagged(node)
                .as_mapping()
                .and_then(|m| m.get(key))
                .unwrap_or(&NULL);
        }
        node
    }
}
// ANCHOR_END: node_ref

/// What a document says about one name.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// One key sets the name.
    Value {
        /// The YAML node under the key.
        node: NodeRef,
    },
    /// Several keys fold onto the name; the document does not say which it means.
    Ambiguous {
        /// The key paths as spelled, in document order.
        spellings: Vec<String>,
    },
}

/// A key that is not a valid name even after folding.
#[derive(Debug, Clone)]
pub(crate) struct InvalidKey {
    /// The (folded) name of the mapping that holds it; `None` at the top level.
    pub(crate) parent: Option<String>,
    /// The key path as spelled in the file.
    pub(crate) spelled: String,
}

// ANCHOR: parse_document
/// Parses YAML text and flattens it. Errors carry the file, line and column.
pub(crate) fn parse_document(text: &str, file: Option<&Path>) -> Result<Document, ConfigError> {
    // Before the parser, whose time grows with the square of the nesting depth.
    if let Some((line, column)) = too_deep_at(text) {
        return Err(ConfigError::Yaml {
            file: file.map(Path::to_path_buf),
            line: Some(line),
            column: Some(column),
            message: format!(
                "`[` or `{{` nested deeper than {MAX_FLOW_DEPTH} levels at line {line} column {column}"
            ),
        });
    }
    // Before the tree is built: aliases may not expand it beyond the text's size.
    check_expansion(text).map_err(|err| ConfigError::yaml(file, &err))?;
    // serde_yaml's tree, except that an integer beyond 64 bits is kept as a
    // marker for the variable that reads it to refuse, not refused here.
    let mut root = parse_tree(text).map_err(|err| ConfigError::yaml(file, &err))?;
    // Resolve `<<: *anchor` merge keys, so shared sections work as YAML users expect.
    root.apply_merge()
        .map_err(|err| ConfigError::yaml(file, &err))?;
    let file = file.map(Path::to_path_buf);
    let document = match root {
        Value::Null => flatten(Value::Mapping(Mapping::new()), None, file), // no text
        _ if untagged(&root).is_mapping() => flatten(root, None, file),
        other => {
            return Err(ConfigError::NotAMapping {
                file,
                found: kind_of(&other),
            });
        }
    };
    Ok(document)
}
// ANCHOR_END: parse_document

/// The node that loading `value` as the value of `name` also gives the deeper
/// name `inner`, as the loader's walk finds it; `None` if it gives it none (or
/// gives it ambiguously).
pub(crate) fn nested_node(value: &Value, name: &str, inner: &str) -> Option<Value> {
    if !untagged(value).is_mapping() {
        return None;
    }
    let doc = flatten(value.clone(), Some(name), None);
    match doc.entries.get(inner) {
        Some(Entry::Value { node, .. }) => Some(node.get().clone()),
        _ => None,
    }
}

/// Names every level of `root` (a mapping), under `prefix` if given, each
/// pointing into the shared tree.
fn flatten(root: Value, prefix: Option<&str>, file: Option<PathBuf>) -> Document {
    let mut walk = Walk::default();
    if let Value::Mapping(mapping) = untagged(&root) {
        walk.mapping(mapping, None, prefix, prefix);
    }
    let tree = Arc::new(Tree {
        root,
        keys: walk.keys,
    });
    let entries = walk
        .entries
        .into_iter()
        .map(|(name, entry)| {
            let entry = match entry {
                Found::Once { index, .. } => Entry::Value {
                    node: NodeRef {
                        tree: Arc::clone(&tree),
                        index,
                    },
                },
                Found::Often(spellings) => Entry::Ambiguous { spellings },
            };
            (name, entry)
        })
        .collect();
    Document {
        file,
        entries,
        invalid_keys: walk.invalid_keys,
    }
}

/// What the walk collects before the tree is shared.
#[derive(Default)]
struct Walk {
    /// As [`Tree::keys`].
    keys: Vec<(Option<usize>, Value)>,
    /// Every name found, with the index of its node in `keys`.
    entries: BTreeMap<String, Found>,
    /// As [`Document::invalid_keys`].
    invalid_keys: Vec<InvalidKey>,
}

/// How often the walk found a name.
enum Found {
    /// Once, at this node, under the key path spelled so (`Space.NUM`).
    Once { spelled: String, index: usize },
    /// Under several keys, spelled so, in document order.
    Often(Vec<String>),
}

// ANCHOR: walk
impl Walk {
    /// Records every key of `mapping` (the node `at`, or the root) under `parent`,
    /// then walks the nested mappings.
    fn mapping(
        &mut self,
        mapping: &Mapping,
        at: Option<usize>,
        parent: Option<&str>,
        spelled: Option<&str>,
    ) {
        for (key, node) in mapping {
            let (text, may_name) = key_text(key);
            let key_spelled = join(spelled, &text);
            let Some(part) = fold_key(&text).filter(|_| may_name) else {
                self.invalid_keys.push(InvalidKey {
                    parent: parent.map(str::to_owned),
                    spelled: key_spelled,
                });
                continue;
            };
            let name = join(parent, &part);
            let index = self.keys.len();
            self.keys.push((at, key.clone()));
            match self.entries.get_mut(&name) {
                None => {
                    let found = Found::Once {
                        spelled: key_spelled.clone(),
                        index,
                    };
                    self.entries.insert(name.clone(), found);
                }
                Some(found) => found.add_spelling(key_spelled.clone()),
            }
            // Through a tag: `server: !tls {port: 1}` names `server.port`.
            if let Value::Mapping(children) = untagged(node) {
                self.mapping(children, Some(index), Some(&name), Some(&key_spelled));
            }
        }
    }
}
// ANCHOR_END: walk

impl Found {
    /// Turns the entry into (or extends) an ambiguous one.
    fn add_spelling(&mut self, spelled: String) {
        match self {
            Found::Once { spelled: first, .. } => {
                let first = std::mem::take(first);
                *self = Found::Often(vec![first, spelled]);
            }
            Found::Often(spellings) => spellings.push(spelled),
        }
    }
}

// ANCHOR: key_text
/// The text of a mapping key, and whether it may name a variable: a string, an
/// integer (`8080:`) or a boolean may, if its text folds to a valid name. A null
/// key (`~:` or `null:`) may not: it is YAML's null, not the text "null" (quote
/// it to mean the word). Nor may a float, whose text is not the one written
/// (`1.50:` reads as 1.5), nor a sequence, mapping or tagged node.
fn key_text(key: &Value) -> (String, bool) {
    match key {
        Value::String(text) => (text.clone(), true),
        Value::Number(number) => (number.to_string(), !number.is_f64()),
        Value::Bool(flag) => (flag.to_string(), true),
        Value::Null => ("~".to_owned(), false),
        other => {
            let text = beyond_64_bits(other).map_or_else(
                || {
                    serde_yaml::to_string(other)
                        .map(|text| text.trim_end().to_owned())
                        .unwrap_or_else(|_| "?".to_owned())
                },
                str::to_owned,
            );
            (text, false)
        }
    }
}
// ANCHOR_END: key_text

#[cfg(test)]
mod tests {
    use super::*;

    fn names(doc: &Document) -> Vec<&str> {
        doc.entries.keys().map(String::as_str).collect()
    }

    #[test]
    fn every_level_of_a_nested_mapping_gets_a_name() {
        let doc = parse_document("space:\n  vec: [1, 2]\n  num: 7\n", None).unwrap();
        assert_eq!(names(&doc), ["space", "space.num", "space.vec"]);
    }

    #[test]
    fn keys_fold_and_collisions_become_ambiguous() {
        let doc = parse_document("Port: 1\nport: 2\na: {b: 1}\na.b: 2\n", None).unwrap();
        let Some(Entry::Ambiguous { spellings }) = doc.entries.get("port") else {
            panic!("port should be ambiguous");
        };
        assert_eq!(spellings, &["Port", "port"]);
        assert!(matches!(
            doc.entries.get("a.b"),
            Some(Entry::Ambiguous { .. })
        ));
    }

    #[test]
    fn invalid_keys_are_recorded_with_their_parent_and_not_walked() {
        let doc = parse_document("server:\n  max-conn: {x: 1}\n", None).unwrap();
        assert_eq!(names(&doc), ["server"]);
        assert_eq!(doc.invalid_keys.len(), 1);
        assert_eq!(doc.invalid_keys[0].parent.as_deref(), Some("server"));
        assert_eq!(doc.invalid_keys[0].spelled, "server.max-conn");
    }

    #[test]
    fn merge_keys_are_resolved() {
        let text = "base: &b {port: 1}\nhttp:\n  <<: *b\n  host: x\n";
        let doc = parse_document(text, None).unwrap();
        assert!(doc.entries.contains_key("http.port"));
    }
}
